"""neo family samples: files laid out as their writers lay them out (Blackrock Central's
NSx 2.1 and 2.2, Neuralynx Cheetah's ``.ncs``, Axona dacqUSB's ``.eeg``/``.egf``), so
that neo itself (for the rawio formats) and file-size arithmetic serve as second readers.

Layouts follow neo 0.14.6's readers (``neo/rawio/blackrockrawio.py``,
``neuralynxrawio/``) and the real files in ``../shared/corpus3``.
"""

from __future__ import annotations

import datetime
import json
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

EXTRACTOR = "neo"


def write_nsx21(path: Path, *, n_channels: int = 4, n_samples: int = 50, period: int = 3,
                extra: bytes = b"") -> Path:
    """NSx 2.1 (``NEURALSG``): 32-byte header, channel ids, int16 frames; rate 30 kHz/period."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = struct.pack("<8s16sII", b"NEURALSG", b"1 kS/s".ljust(16, b"\0"), period, n_channels)
    ids = struct.pack(f"<{n_channels}I", *range(1, n_channels + 1))
    data = (np.arange(n_samples * n_channels) % 1000).astype("<i2").tobytes()
    path.write_bytes(head + ids + data + extra)
    return path


def write_nsx22(path: Path, *, n_channels: int = 3, segments: Sequence[int] = (40,),
                period: int = 1, timestamps: Sequence[int] | None = None,
                analog: tuple[int, int] = (-5000, 5000), digital: tuple[int, int] = (-32764, 32764),
                units: bytes = b"uV", declared_channels: int | None = None,
                labels: Sequence[str] | None = None) -> Path:
    """NSx 2.2 (``NEURALCD``): 314-byte basic header, one 66-byte ``CC`` extended header per
    channel, then data packets (0x01, timestamp u32, sample count u32, int16 frames)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n_decl = n_channels if declared_channels is None else declared_channels
    bytes_in_headers = 314 + 66 * n_channels
    basic = struct.pack("<8sBBI16s256sII8HI", b"NEURALCD", 2, 2, bytes_in_headers,
                        b"30 kS/s".ljust(16, b"\0"), b"".ljust(256, b"\0"), period, 30000,
                        2024, 3, 0, 14, 9, 30, 0, 0, n_decl)
    ext = b""
    for c in range(n_channels):
        label = labels[c] if labels is not None else f"elec{c + 1}"
        ext += struct.pack("<2sH16sBBhhhh16sIIHIIH", b"CC", c + 1, label.encode()
                           .ljust(16, b"\0"), 1, c + 1, digital[0], digital[1], analog[0],
                           analog[1], units.ljust(16, b"\0"), 300, 1, 1, 7500000, 3, 1)
    body = b""
    starts = list(timestamps) if timestamps is not None else [0] * len(segments)
    for n, ts in zip(segments, starts, strict=True):
        data = (np.arange(n * n_channels) % 500).astype("<i2").tobytes()
        body += struct.pack("<BII", 1, ts, n) + data
    path.write_bytes(basic + ext + body)
    return path


NCS_HEADER = 16384
NCS_RECORD = 1044  # u64 timestamp (µs), u32 channel, u32 rate, u32 valid, 512 x int16


def write_ncs(path: Path, *, sr: float = 2000.0, bit_volts: float = 3.0517578125e-07,
              valid: Sequence[int] = (512, 512, 300), inverted: bool = True,
              gap_after: int | None = None, header_rate: str | None = None) -> Path:
    """A Cheetah 6 ``.ncs``: 16 KiB text header, then 1044-byte records."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "######## Neuralynx Data File Header",
        "-FileType CSC", "-FileVersion 3.4", "-RecordSize 1044",
        "-TimeCreated 2024/03/14 09:30:00", "-TimeClosed 2024/03/14 09:40:00",
        "-ApplicationName Cheetah \"6.4.1 Development\"",
        "-AcquisitionSystem AcqSystem1 DigitalLynxSX",
        f"-SamplingFrequency {header_rate or f'{sr:g}'}", "-ADMaxValue 32767",
        f"-ADBitVolts {bit_volts:.12g}", f"-AcqEntName {path.stem}", "-NumADChannels 1",
        "-ADChannel 3", "-InputRange 1000", f"-InputInverted {inverted}",
        "-DSPLowCutFilterEnabled True", "-DspLowCutFrequency 0.1",
        "-DSPHighCutFilterEnabled True", "-DspHighCutFrequency 500",
        "-DspDelayCompensation Enabled",
    ]
    header = ("\r\n".join(lines) + "\r\n").encode("latin-1").ljust(NCS_HEADER, b"\0")
    body = b""
    t = 1_000_000
    for i, n in enumerate(valid):
        samples = (np.arange(512) % 100).astype("<i2").tobytes()
        body += struct.pack("<QIII", t, 3, int(sr), n) + samples
        t += round(n / sr * 1e6)
        if gap_after is not None and i == gap_after:
            t += 2_000_000
    path.write_bytes(header + body)
    return path


def write_axona_lfp(path: Path, *, n: int = 1000, sr: str = "250.0 hz", width: int = 1,
                    declared: int | None = None) -> Path:
    """An Axona ``.eeg`` (``width`` 1) or ``.egf`` (``width`` 2): text header, samples of one
    channel between ``data_start`` and ``\\r\\ndata_end``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = "num_EGF_samples" if path.suffix.lower().startswith(".egf") else "num_EEG_samples"
    lines = ["trial_date Tuesday, 12 Mar 2024", "trial_time 14:05:09", "experimenter test",
             "comments ", "duration 4", "sw_version 1.2.2.16", "num_chans 1",
             f"sample_rate {sr}", "EEG_samples_per_position 5", f"bytes_per_sample {width}",
             f"{key} {n if declared is None else declared}"]
    head = ("\r\n".join(lines) + "\r\ndata_start").encode("latin-1")
    dtype = "<i1" if width == 1 else "<i2"
    data = (np.arange(n) % 100).astype(dtype).tobytes()
    path.write_bytes(head + data + b"\r\ndata_end\r\n")
    return path


def write_mcs_h5(path: Path, *, streams: Sequence[tuple[str, int, int, int]] = (
        ("Filter Data1", 4, 200, 40), ("Analog Data", 2, 100, 100)),
        conversion: int = 59605, exponent: int = -12, unit: str = "V") -> Path:
    """An MCS HDF5 ``RawData`` file as Multi Channel DataManager exports it: per stream
    (label, channels, samples, Tick in µs) a ``ChannelData`` and its ``InfoChannel``."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    info_dtype = np.dtype([("ChannelID", "<i4"), ("RowIndex", "<i4"), ("GroupID", "<i4"),
                           ("ElectrodeGroup", "<i4"), ("Label", "S8"), ("RawDataType", "S8"),
                           ("Unit", "S4"), ("Exponent", "<i4"), ("ADZero", "<i4"),
                           ("Tick", "<i8"), ("ConversionFactor", "<i8"), ("ADCBits", "<i4")])
    with h5py.File(path, "w") as f:
        f.attrs["McsHdf5ProtocolType"] = np.bytes_("RawData")
        f.attrs["McsHdf5ProtocolVersion"] = 3
        data = f.create_group("Data")
        # .NET DateTime ticks: 100 ns steps since 0001-01-01
        since = datetime.datetime(2024, 3, 12, 14, 5, 9) - datetime.datetime(1, 1, 1)
        data.attrs["DateInTicks"] = np.int64(since // datetime.timedelta(microseconds=1) * 10)
        analog = data.create_group("Recording_0").create_group("AnalogStream")
        for i, (label, n_ch, n, tick) in enumerate(streams):
            g = analog.create_group(f"Stream_{i}")
            g.attrs["Label"] = np.bytes_(label)
            g.create_dataset("ChannelData", data=(np.arange(n_ch * n) % 77)
                             .astype("<i4").reshape(n_ch, n))
            info = np.zeros(n_ch, dtype=info_dtype)
            info["ChannelID"] = info["RowIndex"] = np.arange(n_ch)
            info["Label"] = [f"E{c}".encode() for c in range(n_ch)]
            info["RawDataType"], info["Unit"] = b"Int", unit.encode()
            info["Exponent"], info["Tick"] = exponent, tick
            info["ConversionFactor"], info["ADCBits"] = conversion, 24
            g.create_dataset("InfoChannel", data=info)
    return path


def write_axona_bin(path: Path, *, tetrodes: Sequence[int] = (1, 2), packets: int = 20,
                    gain: int = 10000, fullscale_mv: int = 1500, raw_rate: int = 48000) -> Path:
    """An Axona raw ``.bin`` (432-byte packets: ``ADU1``, 28 more header bytes, 3 samples x
    64 channels of int16, 16 tail bytes) and its ``.set`` (``collectMask_N`` per tetrode,
    ``gain_ch_N`` per channel, ``ADC_fullscale_mv``, ``rawRate``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["trial_date Tuesday, 12 Mar 2024", "trial_time 14:05:09", "experimenter test",
             "sw_version 1.2.2.16", f"ADC_fullscale_mv {fullscale_mv}", f"rawRate {raw_rate}"]
    lines += [f"gain_ch_{c} {gain}" for c in range(64)]
    lines += [f"collectMask_{t} {int(t in tetrodes)}" for t in range(1, 17)]
    path.with_suffix(".set").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    body = bytearray()
    for k in range(packets):
        body += b"ADU1" + struct.pack("<I", k) + b"\0" * 24
        body += (np.arange(192) % 50).astype("<i2").tobytes() + b"\0" * 16
    path.write_bytes(bytes(body))
    return path


def write_spikegadgets_rec(path: Path, *, n_trodes: int = 8, per_trode: int = 4,
                           packets: int = 100, rate: int = 30000,
                           scaling: float | None = 0.195) -> Path:
    """A SpikeGadgets Trodes ``.rec``: the XML ``<Configuration>`` header (hardware devices
    with their byte counts, nTrodes with their channels and ``spikeScalingToUv``), then
    packets of 1 sync byte, the devices' bytes, a u32 timestamp and int16 neural samples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n_channels = n_trodes * per_trode
    trodes = "".join(
        f'<SpikeNTrode id="{t + 1}"'
        + (f' spikeScalingToUv="{scaling}"' if scaling is not None else "") + ">"
        + "".join(f'<SpikeChannel hwChan="{t * per_trode + c}" maxDisp="200" thresh="60"/>'
                  for c in range(per_trode)) + "</SpikeNTrode>" for t in range(n_trodes))
    xml = ('<?xml version="1.0"?>\n<Configuration>\n'
           '<GlobalConfiguration realtimeMode="0" timestampAtCreation="0"/>\n'
           f'<HardwareConfiguration samplingRate="{rate}" numChannels="{n_channels}">\n'
           '<Device name="ECU" numBytes="32" available="1">'
           '<Channel id="ECU_Ain1" dataType="analog" startByte="8" bit="0"/></Device>\n'
           '</HardwareConfiguration>\n'
           f'<SpikeConfiguration>{trodes}</SpikeConfiguration>\n</Configuration>\n')
    packet = 1 + 32 + 4 + 2 * n_channels
    body = (np.arange(packet * packets) % 200).astype("u1").tobytes()
    path.write_bytes(xml.encode() + body)
    return path


_TRC_ZONES = ("ORDER", "LABCOD", "NOTE", "FLAGS", "TRONCA", "IMPED_B", "IMPED_E", "MONTAGE",
              "COMPRESS", "AVERAGE", "HISTORY", "DVIDEO", "EVENT A", "EVENT B", "TRIGGER")


def write_trc(path: Path, *, n_channels: int = 4, n_samples: int = 256, rate: int = 256,
              width: int = 2, physical: tuple[int, int] = (-3200, 3200),
              logical: tuple[int, int, int] = (0, 65535, 32768), unit_code: int = 0) -> Path:
    """A Micromed System Plus ``.trc`` (header type 4): the 640-byte header (title, patient,
    date at 128, data offset / channels / rate / sample width at 138, version at 175, the
    zone table at 176), the ORDER, LABCOD and TRONCA zones, then the multiplexed samples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    order, labcod, tronca, events = 1024, 2048, 1536, 1600
    data_start = labcod + 128 * (n_channels + 1)
    head = bytearray(data_start)
    head[0:32] = b"* MICROMED  Brain-Quick file *".ljust(32)
    head[64:86] = b"Doe".ljust(22)
    head[86:106] = b"Jane".ljust(20)
    struct.pack_into("<bbbbbb", head, 128, 12, 3, 124, 14, 5, 9)  # 12 Mar 2024 14:05:09
    struct.pack_into("<IHHHH", head, 138, data_start, n_channels, 0, 1, width)
    head[175] = 4
    for i, name in enumerate(_TRC_ZONES):
        pos, length = {"ORDER": (order, 2 * n_channels), "LABCOD": (labcod, 128 * n_channels),
                       "TRONCA": (tronca, 8)}.get(name, (events, 16))
        struct.pack_into("<8sII", head, 176 + 16 * i, name.encode().ljust(8), pos, length)
    struct.pack_into(f"<{n_channels}H", head, order, *range(n_channels))
    for c in range(n_channels):
        at = labcod + 128 * c + 2
        struct.pack_into("<6s6s5ih8xH", head, at, f"C{c + 1}".encode().ljust(6, b"\0"),
                         b"G2".ljust(6, b"\0"), *logical, *physical, unit_code, rate)
    dtype = f"<u{width}"
    data = (np.arange(n_samples * n_channels) % 1000).astype(dtype).tobytes()
    path.write_bytes(bytes(head) + data)
    return path


def write_brw3(path: Path, *, n_channels: int = 16, n_frames: int = 500,
               rate: float = 7022.0, bits: int = 12, volts: tuple[float, float] = (-4125, 4125)
               ) -> Path:
    """A 3Brain BrainWave 3 ``.brw`` (HDF5): ``3BRecInfo/3BRecVars`` (BitDepth, MaxVolt,
    MinVolt in µV, NRecFrames, SamplingRate, SignalInversion), the channel table
    ``3BRecInfo/3BMeaStreams/Raw/Chs`` and ``3BData/Raw`` (frames x channels, version 101)."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        rv = f.create_group("3BRecInfo/3BRecVars")
        rv["BitDepth"] = np.array([bits], dtype="u1")
        rv["MaxVolt"], rv["MinVolt"] = np.array([volts[1]]), np.array([volts[0]])
        rv["NRecFrames"] = np.array([n_frames], dtype="<i8")
        rv["SamplingRate"] = np.array([rate])
        rv["SignalInversion"] = np.array([1.0])
        chs = np.zeros(n_channels, dtype=[("Row", "<i2"), ("Col", "<i2")])
        chs["Row"], chs["Col"] = np.arange(n_channels) // 4 + 1, np.arange(n_channels) % 4 + 1
        f["3BRecInfo/3BMeaStreams/Raw/Chs"] = chs
        raw = f.create_dataset("3BData/Raw", data=(np.arange(n_frames * n_channels) % 4096)
                               .astype("<u2"))
        raw.parent.attrs["Version"] = 101
    return path


def write_mcs_raw(path: Path, *, n_channels: int = 8, n_samples: int = 120,
                  rate: int = 25000, step: str = "0.1\u00b5V") -> Path:
    """An MC_DataTool binary export with its header: ``key = value`` lines (Windows-1252,
    CRLF) ending in ``EOH``, then uint16 frames around ``ADC zero``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = ";".join(f"El_{c + 1:02d}" for c in range(n_channels))
    lines = ["MC_DataTool binary conversion", "Version 2.6.15",
             "MC_REC file = \"C:\\data\\rec.mcd\"", f"Sample rate = {rate}",
             "ADC zero = 32768", f"El = {step}/AD", f"Streams = {names}", "EOH"]
    head = ("\r\n".join(lines) + "\r\n").encode("cp1252")
    data = (32768 + np.arange(n_samples * n_channels) % 300).astype("<u2").tobytes()
    path.write_bytes(head + data)
    return path


def good(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "lfp.set").write_text("trial_date Tuesday, 12 Mar 2024\r\nADC_fullscale_mv 1500\r\n")
    return [
        write_nsx21(tmp / "sg.ns2"),
        write_nsx22(tmp / "cd.ns5", segments=(40, 25), timestamps=(0, 100)),
        write_ncs(tmp / "CSC1.ncs"),
        write_axona_lfp(tmp / "lfp.eeg"),
        write_axona_lfp(tmp / "lfp.egf", n=600, sr="4800 hz", width=2),
        write_mcs_h5(tmp / "mea.h5"),
        write_axona_bin(tmp / "raw.bin"),
        write_spikegadgets_rec(tmp / "trodes.rec"),
        write_trc(tmp / "eeg.trc"),
        write_brw3(tmp / "chip.brw"),
        write_mcs_raw(tmp / "mea.raw"),
        write_plx(tmp / "rig.plx"),
        write_xdat(tmp),
        write_axograph(tmp / "patch.axgx"),
        write_edr(tmp / "cell.EDR"),
        write_elan(tmp / "scalp.eeg"),
        write_bci2000(tmp / "bci.dat"),
    ]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    cut = write_nsx22(tmp / "cut.ns5")
    cut.write_bytes(cut.read_bytes()[:200])  # inside the basic header
    absurd = write_nsx22(tmp / "absurd.ns6", declared_channels=2**31 - 1)
    eeg_short = write_axona_lfp(tmp / "short.eeg", n=100, declared=10**9)
    ncs_cut = write_ncs(tmp / "cut.ncs")
    ncs_cut.write_bytes(ncs_cut.read_bytes()[:NCS_HEADER + 100])
    rate = write_axona_lfp(tmp / "rate.eeg", sr="inf hz")
    tick = write_mcs_h5(tmp / "tick.h5", streams=(("Filter", 2, 10, 0),))
    period = write_nsx22(tmp / "period0.ns5", period=0)
    plx_cut = write_plx(tmp / "cut.plx")
    plx_cut.write_bytes(plx_cut.read_bytes()[:5000])  # inside the global header
    bci_cut = write_bci2000(tmp / "bci_cut.dat")
    bci_cut.write_bytes(bci_cut.read_bytes()[:300])  # inside the text header
    xdat_short = write_xdat(tmp, "short", declared=10**6)  # the metadata promises more
    edr_short = write_edr(tmp / "short.EDR", declared=10**7)
    elan_odd = write_elan(tmp / "odd.eeg", extra=b"\0")  # half a sample at the end
    elan_v9 = write_elan(tmp / "v9.eeg")
    Path(f"{elan_v9}.ent").write_text("V9\n", encoding="ascii")
    axg_cut = write_axograph(tmp / "cut.axgx", cut=3000)  # inside the data columns
    return [cut, absurd, eeg_short, ncs_cut, rate, tick, period, plx_cut, bci_cut, xdat_short,
            edr_short, elan_odd, elan_v9, axg_cut]


def write_plx(path: Path, *, slow: Sequence[tuple[str, int, int, int, int]] = (
        ("WB01", 0, 1000, 2, 1000), ("WB02", 1, 1000, 2, 1000), ("FP01", 2, 500, 4, 1000)),
        blocks: int = 30, per_block: int = 20, spikes: int = 10, events: int = 3,
        version: int = 106, bits: tuple[int, int] = (12, 12), slow_max_mv: int = 5000,
        counts: bool = True, when: tuple[int, ...] = (2024, 3, 12, 14, 9, 30)) -> Path:
    """A Plexon ``.plx`` as Plexon's writers lay it out (``Plexon.h``): the 7,504-byte
    global header (with the TSCounts/WFCounts/EVCounts tallies, ``EVCounts[300 + ch]`` the
    samples of continuous channel ``ch`` when ``counts``), one 1,020-byte header per spike
    channel, 296 per event channel, 296 per continuous channel (``slow``: name, channel,
    ADFreq, Gain, PreampGain), then 16-byte data block headers each followed by its words:
    per round, one block of ``per_block`` samples per continuous channel (a channel at half
    the rate writes every other round), spike waveforms (32 words) and events interleaved."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ts_counts = np.zeros((130, 5), "<i4")
    ev_counts = np.zeros(512, "<i4")
    body = bytearray()
    top = max(r for _, _, r, _, _ in slow) if slow else 1
    samples = {ch: 0 for _, ch, _, _, _ in slow}
    for i in range(blocks):
        ts = i * per_block * 40
        for _, ch, rate, _, _ in slow:
            if i % max(top // rate, 1):
                continue
            body += struct.pack("<HHIHHHH", 5, 0, ts, ch, 0, 1, per_block)
            body += (np.arange(per_block) + i).astype("<i2").tobytes()
            samples[ch] += per_block
        if i < spikes:
            body += struct.pack("<HHIHHHH", 1, 0, ts + 7, 1, 0, 1, 32)
            body += np.arange(32).astype("<i2").tobytes()
            ts_counts[1, 0] += 1
        if i < events:
            body += struct.pack("<HHIHHHH", 4, 0, ts + 9, 257, 0, 0, 0)
            ev_counts[257] += 1
    if counts:
        for ch, n in samples.items():
            if ch < 212:
                ev_counts[300 + ch] = n
    head = struct.pack("<Ii128s14i d BBBBHHH 18s18s10s", 0x58454C50, version,
                       b"written by the tests", 40000, 1, 1, len(slow), 32, 8, *when, 0,
                       40000, float(blocks * per_block * 40), 1, 1, bits[0], bits[1], 3000,
                       slow_max_mv, 1000, b"", b"", b"")
    head += ts_counts.tobytes() + ts_counts.tobytes() + ev_counts.tobytes()
    assert len(head) == 7504
    dsp = struct.pack("<32s32s9i", b"sig001", b"sig001", 1, 0, 1, 0, 2, 0, -100, 1, 0)
    dsp = dsp.ljust(1020, b"\0")
    event = struct.pack("<32si", b"Strobed", 257).ljust(296, b"\0")
    chans = b"".join(struct.pack("<32s6i", name.encode(), ch, rate, gain, 1, preamp, 0)
                     .ljust(296, b"\0") for name, ch, rate, gain, preamp in slow)
    path.write_bytes(head + dsp + event + chans + bytes(body))
    return path


# --- formats added for issue 22's remainder: NeuroNexus, AxoGraph, WinEDR, Elan, BCI2000 ---

def write_xdat(folder: Path, base: str = "allego_0__uid0312-14-09-30", *,
               n_samples: int = 600, pri: int = 32, din: int = 1, aux: int = 2,
               sr: float = 30000.0, start: str = "2024-03-12T14:09:30.4972245-04:00",
               first_timestamp: int = 123456, declared: int | None = None) -> Path:
    """An Allego recording as NeuroNexus writes it: ``<base>.xdat.json`` (``status``: rate,
    ``shape`` [samples, channels], timestamp and time ranges, start time;
    ``sapiens_base.biointerface_map``: per channel its name, native name and type ``ai0``
    (primary, µV), ``din0``, ``aux``), ``<base>_data.xdat`` (float32, sample-interleaved, no
    header) and ``<base>_timestamp.xdat`` (int64 sample counter). Returns the data file."""
    folder.mkdir(parents=True, exist_ok=True)
    n_channels = pri + din + aux
    kinds = ["ai0"] * pri + ["din0"] * din + ["aux"] * aux
    names = ([f"pri_{i}" for i in range(pri)] + [f"din_{i}" for i in range(din)]
             + [f"aux_{i}" for i in range(aux)])
    stated = n_samples if declared is None else declared
    meta = {
        "status": {"samp_freq": sr, "shape": [stated, n_channels],
                   "timestamp_range": [first_timestamp, first_timestamp + stated],
                   "t_range": [first_timestamp / sr, (first_timestamp + stated) / sr],
                   "start_time": start, "signal_types": ["pri", "din", "aux"]},
        "sapiens_base": {"biointerface_map": {
            "chan_name": names, "ntv_chan_name": [f"{k[:2]}{i}" for i, k in enumerate(kinds)],
            "chan_type": kinds, "samp_freq": [sr] * n_channels,
            "sig_units": ["uV"] * pri + ["a.u."] * din + ["V"] * aux,
            "site_num": list(range(n_channels))}},
    }
    (folder / f"{base}.xdat.json").write_text(json.dumps(meta, indent=2))
    data = folder / f"{base}_data.xdat"
    values = (np.arange(n_samples * n_channels) % 97).astype("<f4") * np.float32(0.5)
    data.write_bytes(values.tobytes())
    stamps = np.arange(first_timestamp, first_timestamp + n_samples, dtype="<i8")
    (folder / f"{base}_timestamp.xdat").write_bytes(stamps.tobytes())
    return data


def _axg(fmt: str, *values: object) -> bytes:
    """AxoGraph's big-endian fields; ``S`` a UTF-16BE string after its byte length (i4),
    ``Z`` a boolean as an i4."""
    out = b""
    rest = list(values)
    for part in fmt.split(","):
        if part == "S":
            text = str(rest.pop(0)).encode("utf-16-be")
            out += struct.pack(">l", len(text)) + text
        elif part == "Z":
            out += struct.pack(">l", int(bool(rest.pop(0))))
        else:
            n = len(struct.unpack(">" + part, b"\0" * struct.calcsize(">" + part)))
            out += struct.pack(">" + part, *rest[:n])
            del rest[:n]
    return out


def write_axograph(path: Path, *, channels: Sequence[tuple[str, str, float]] = (
        ("Ch1", "V", 1e-5), ("Ch2", "V", 1e-5)), episodes: int = 3, n_points: int = 400,
        interval: float = 1e-4, version: int = 6,
        notes: str = "Created on Tue Mar 12 2024\nStart data acquisition at 14:09:30\n",
        cut: int | None = None, holes: bool = False) -> Path:
    """An AxoGraph X file (``axgx``, format ``version``), laid out as AxoGraph writes it
    (``AxoGraph_ReadWrite.h`` and neo's reverse-engineered rest): the column count, a time
    column stored as first value and increment (type 9), one scaled-short column (type 10:
    gain, offset, then int16 big-endian) per channel per episode, then the comment, notes
    (with the acquisition date), one trace header per data column, one group per channel,
    the episode lists, fonts, x-axis settings, events and epochs. ``holes``: the data
    columns are left as holes (a sparse file, for benchmarks of large files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts: list[bytes | int] = []  # an int: a hole of that many bytes
    cols = 1 + len(channels) * episodes
    body = b"axgx" + _axg("ll", version, cols)
    body += _axg("l,l,S,dd", n_points, 9, "Time (s)", 0.0, interval)
    for e in range(episodes):
        for c, (name, unit, gain) in enumerate(channels):
            body += _axg("l,l,S,dd", n_points, 10, f"{name} ({unit})", gain, 0.0)
            if holes:
                parts += [body, 2 * n_points]
                body = b""
            else:
                body += ((np.arange(n_points) + 100 * e + c) % 3000).astype(">i2").tobytes()
    body += _axg("S,S", "", notes)
    body += _axg("l", cols - 1)
    for i in range(1, cols):
        group = (i - 1) % len(channels)
        body += _axg("l", 2 if version >= 6 else 1)  # trace header version
        body += _axg("l,l,l,l,l,Z,d,d,d,Z,Z,d,d,d,d,xBBB,Z,d,l,Z,l,l,Z,Z,l,Z,l,l,Z,Z,Z,l",
                     0, i, -1, -1, group, False, 0.0, (n_points - 1) * interval, interval,
                     True, True, interval, -1.0, 1.0, 1e-3, 0, 0, 255, True, 1.0, 0, False,
                     0, 5, False, False, 10, False, 0, 0, False, False, False, 3)
    body += _axg("l", len(channels))
    for name, unit, _ in channels:
        body += _axg("l,S,h,S,hll", 1, name, 0, unit, 0, 0, 0)
    body += _axg("9l", *([0] * 9))
    for _ in range(3):  # episodes in review, an unknown list, masked episodes
        body += _axg("l", episodes) + b"".join(_axg("Z", True) for _ in range(episodes))
    body += _axg("d9ld4l", 0.0, *([0] * 9), 0.0, *([0] * 4))
    for _ in range(4):  # fonts: axis titles, tick labels, notes, graph title
        body += _axg("S,h,5b,B,B", "Helvetica", 120, 0, 0, 0, 0, 0, 50, 0)
    body += _axg("3l2d,dd,d,Z,d,d,S,h,S,h", 0, 0, 0, 0.0, 0.0, 0.0, (n_points - 1) * interval,
                 0.0, True, interval * 10, interval * 100, "Time", 0, "s", 0)
    body += _axg("8l3d13l", *([0] * 8), 0.0, 0.0, 0.0, *([0] * 13))
    body += _axg("ll", 0, 0) + _axg("l", 0)  # no events (tags)
    body += _axg("7l", *([0] * 7)) + _axg("l", 0)  # no epochs (interval bars)
    body += b"\0" * 64  # y-axis ranges and other settings neo does not decode
    if not holes:
        path.write_bytes(body if cut is None else body[:cut])
        return path
    with open(path, "wb") as fh:
        for part in [*parts, body]:
            if isinstance(part, int):
                fh.seek(part, 1)
            else:
                fh.write(part)
    return path


def write_edr(path: Path, *, n_channels: int = 2, n_frames: int = 500, dt: float = 1e-4,
              adcmax: int = 32767, ad: float = 10.0, gains: Sequence[float] | None = None,
              units: Sequence[str] | None = None, declared: int | None = None) -> Path:
    """A WinEDR ``.EDR`` as WinEDR writes it: a 2,048-byte header (NBH) of ``KEY=value``
    lines (CRLF, NUL-padded), ``NP`` samples of all channels, ``AD`` the ADC's voltage
    range, ``ADCMAX`` its largest value, per channel ``YN`` name, ``YU`` unit, ``YCF``
    calibration (V per unit), ``YAG`` amplifier gain, ``YZ`` zero level, ``YO`` the
    channel's position in a frame; then int16 frames to the end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    gains = list(gains) if gains is not None else [1.0] * n_channels
    units = list(units) if units is not None else ["mV"] * n_channels
    n_points = n_channels * n_frames if declared is None else declared
    lines = ["VER=6.1", "CTIME=12/03/2024 14:09:30", f"NC={n_channels}", "NBH=2048",
             f"NP={n_points}", f"AD={ad:g}", f"ADCMAX={adcmax}", f"DT={dt:g}", "TU=s",
             "ID=test cell"]
    for c in range(n_channels):
        lines += [f"YN{c}=Ch{c}", f"YU{c}={units[c]}", f"YCF{c}=0.01", f"YAG{c}={gains[c]:g}",
                  f"YZ{c}=0", f"YO{c}={c}", f"YR{c}={adcmax}"]
    head = ("\r\n".join(lines) + "\r\n").encode("ascii").ljust(2048, b"\0")
    data = (np.arange(n_channels * n_frames) % 400 - 200).astype("<i2").tobytes()
    path.write_bytes(head + data)
    return path


def write_elan(path: Path, *, kinds: Sequence[str] = ("EEG", "EEG", "EEG", "EOG"),
               rate: float = 512.0, n_samples: int = 300, bits: int = 16,
               physical: tuple[float, float] = (-3276.8, 3276.7),
               when: str = "12-03-2024 14:09:30", pos: bool = True,
               extra: bytes = b"") -> Path:
    """An Elan recording as Elan writes it: ``<name>.eeg`` (big-endian integers, every
    channel of a sample then the next, the last two channels the event and marker
    channels), ``<name>.eeg.ent`` (text: version ``V2``, two info lines, two date lines,
    three unused lines, the sampling period in s, the channel count with the two extra
    channels, then per channel its label, kind, unit, physical and logical minima and
    maxima and its filter) and ``<name>.eeg.pos`` (``sample code reject`` per event)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(kinds) + 2
    labels = [f"E{i + 1}" for i in range(len(kinds))] + ["Voie-evenement", "Voie-marqueur"]
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    lines = ["V2", "Elan", "test", f"Date {when.split()[0]}", f"Heure {when}", "-1", "-1",
             "-1", repr(1.0 / rate), str(n), *labels, *kinds, "type_evenement",
             "type_marqueur", *(["uV"] * len(kinds)), "sans", "sans",
             *([f"{physical[0]}"] * len(kinds)), "-1.", "-1.",
             *([f"{physical[1]}"] * len(kinds)), "1.", "1.",
             *([str(low)] * n), *([str(high)] * n),
             *(["passe-haut 0.16 Hz passe-bas 170 Hz"] * len(kinds)), "sans", "sans"]
    Path(f"{path}.ent").write_text("\n".join(lines) + "\n", encoding="ascii")
    if pos:
        Path(f"{path}.pos").write_text("100 1 0\n250 2 0\n", encoding="ascii")
    data = (np.arange(n_samples * n) % 500).astype(f">i{bits // 8}").tobytes()
    path.write_bytes(data + extra)
    return path


def write_bci2000(path: Path, *, n_channels: int = 4, n_samples: int = 256, rate: str = "256Hz",
                  fmt: str = "int16", gain: str = "0.003muV", state_bytes: int = 3,
                  when: str = "Tue%20Mar%2012%2014:09:30%202024", extra: bytes = b"",
                  header_len: int | None = None) -> Path:
    """A BCI2000 ``.dat`` (format 1.1) as BCI2000 writes it: a first line ``BCI2000V= 1.1
    HeaderLen= N SourceCh= C StatevectorLen= S DataFormat= int16``, the ``[ State Vector
    Definition ]`` and ``[ Parameter Definition ]`` sections (``Section:Sub type Name= value
    // comment``, URL-encoded strings), an empty line; then per sample C values and S state
    vector bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    states = ["Running 1 0 0 0", "Recording 1 0 0 1", "SourceTime 16 0 0 2",
              "StimulusCode 5 0 2 2"]
    params = [
        f"Source:Signal%20Properties:DataIOFilter int SourceCh= {n_channels} 16 1 % "
        "// number of digitized and stored channels",
        "Source:Signal%20Properties:DataIOFilter int SampleBlockSize= 32 32 1 % "
        "// number of samples transmitted at a time",
        f"Source:Signal%20Properties:DataIOFilter int SamplingRate= {rate} 256Hz 0.0 % "
        "// sample rate",
        f"Source:Signal%20Properties:DataIOFilter list ChannelNames= {n_channels} "
        + " ".join(f"Ch{i + 1}" for i in range(n_channels)) + " // names of channels",
        f"Source:Signal%20Properties:DataIOFilter floatlist SourceChOffset= {n_channels} "
        + " ".join("0" for _ in range(n_channels)) + " 0 % % // Offset for channels in A/D units",
        f"Source:Signal%20Properties:DataIOFilter floatlist SourceChGain= {n_channels} "
        + " ".join(gain for _ in range(n_channels))
        + " 1 % % // gain for each channel (A/D units -> muV)",
        f"Storage:Documentation:DataIOFilter string StorageTime= {when} // time of storage",
    ]
    body = ("\r\n[ State Vector Definition ]\r\n" + "\r\n".join(states)
            + "\r\n[ Parameter Definition ]\r\n" + "\r\n".join(params) + "\r\n\r\n")

    def first(length: int) -> str:
        return (f"BCI2000V= 1.1 HeaderLen= {length} SourceCh= {n_channels} "
                f"StatevectorLen= {state_bytes} DataFormat= {fmt}")

    length = len(first(0)) + len(body)
    while len(first(length)) + len(body) != length:  # the line states its own length
        length = len(first(length)) + len(body)
    head = (first(length) + body).encode("ascii")
    stated = length if header_len is None else header_len
    head = head.replace(f"HeaderLen= {length}".encode(), f"HeaderLen= {stated}".encode(), 1)
    code = {"int16": "<i2", "int32": "<i4", "float32": "<f4"}[fmt]
    frame = np.zeros(n_samples, dtype=[("v", code, n_channels), ("s", "u1", state_bytes)])
    frame["v"] = (np.arange(n_samples * n_channels) % 300).reshape(n_samples, n_channels)
    frame["s"][:, 0] = 1
    path.write_bytes(head + frame.tobytes() + extra)
    return path
