"""neo family samples: files laid out as their writers lay them out (Blackrock Central's
NSx 2.1 and 2.2, Neuralynx Cheetah's ``.ncs``, Axona dacqUSB's ``.eeg``/``.egf``), so
that neo itself (for the rawio formats) and file-size arithmetic serve as second readers.

Layouts follow neo 0.14.6's readers (``neo/rawio/blackrockrawio.py``,
``neuralynxrawio/``) and the real files in ``../shared/corpus3``.
"""

from __future__ import annotations

import datetime
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
    return [cut, absurd, eeg_short, ncs_cut, rate, tick, period, plx_cut]


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
