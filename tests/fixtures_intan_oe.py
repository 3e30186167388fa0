"""Writers for tiny Intan and Open Ephys files, after the formats' own documents.

Intan: "RHD2000 / RHS2000 Application Note: Data File Formats" (header fields in order,
QStrings as uint32 byte length + UTF-16LE, little endian; data blocks of 60 or 128
samples). Open Ephys: the GUI's ``structure.oebin`` JSON and ``continuous.dat`` (int16,
channel-interleaved); legacy ``.continuous`` (1024-byte text header, then records of
int64 timestamp, uint16 sample count, uint16 recording number, 1024 big-endian int16
samples and a 10-byte marker).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RHD_MAGIC = 0xC6912702
RHS_MAGIC = 0xD69127AC


def _qstring(text: str | None) -> bytes:
    if text is None:
        return struct.pack("<I", 0xFFFFFFFF)
    data = text.encode("utf-16-le")
    return struct.pack("<I", len(data)) + data


@dataclass
class IntanSpec:
    """An Intan session to write: ports of amplifier channels and board channels."""

    kind: str = "rhd"
    version: tuple[int, int] = (3, 0)
    sample_rate: float = 30000.0
    ports: dict[str, int] = field(default_factory=lambda: {"A": 4, "B": 2})
    n_aux_per_port: int = 3  # RHD only
    n_adc: int = 1
    n_dig_in: int = 2
    n_dig_out: int = 0
    n_temp: int = 0
    eval_board_mode: int = 13
    dc_amp_saved: bool = False  # RHS only
    disabled: frozenset[str] = frozenset()  # native names of disabled channels

    @property
    def samples_per_block(self) -> int:
        return 128 if self.kind == "rhs" or self.version >= (2, 0) else 60

    def groups(self) -> list[tuple[str, str, list[tuple[str, int]]]]:
        """(name, prefix, [(native_name, signal_type)]) per signal group."""
        out = []
        for port, n in self.ports.items():
            chans = [(f"{port}-{i:03d}", 0) for i in range(n)]
            if self.kind == "rhd":
                chans += [(f"{port}-AUX{i + 1}", 1) for i in range(self.n_aux_per_port)]
            out.append((f"Port {port}", port, chans))
        adc_type, din_type, dout_type = (3, 4, 5) if self.kind == "rhd" else (3, 5, 6)
        out.append(("Board ADC Inputs", "ANALOG-IN",
                    [(f"ANALOG-IN-{i + 1}", adc_type) for i in range(self.n_adc)]))
        out.append(("Board Digital Inputs", "DIGITAL-IN",
                    [(f"DIGITAL-IN-{i + 1:02d}", din_type) for i in range(self.n_dig_in)]))
        out.append(("Board Digital Outputs", "DIGITAL-OUT",
                    [(f"DIGITAL-OUT-{i + 1:02d}", dout_type) for i in range(self.n_dig_out)]))
        return out

    def enabled(self, signal_type: int) -> list[str]:
        return [n for _, _, chans in self.groups() for n, t in chans
                if t == signal_type and n not in self.disabled]

    def header(self) -> bytes:
        rhs = self.kind == "rhs"
        b = struct.pack("<Ihh", RHS_MAGIC if rhs else RHD_MAGIC, *self.version)
        b += struct.pack("<f", self.sample_rate)
        if rhs:
            b += struct.pack("<h8f", 1, 1.0, 0.1, 1000.0, 7500.0, 1.0, 0.1, 1000.0, 7500.0)
        else:
            b += struct.pack("<h6f", 1, 1.17, 0.09, 7604.0, 1.0, 0.1, 7500.0)
        b += struct.pack("<hff", 0, 1000.0, 1000.0)
        if rhs:
            b += struct.pack("<hhfff", 0, 1, 1e-6, 1e-6, 0.0)
        b += _qstring("note one") + _qstring("") + _qstring(None)
        if rhs:
            b += struct.pack("<hh", int(self.dc_amp_saved), self.eval_board_mode) + _qstring("n/a")
        else:
            if self.version >= (1, 1):
                b += struct.pack("<h", self.n_temp)
            if self.version >= (1, 3):
                b += struct.pack("<h", self.eval_board_mode)
            if self.version >= (2, 0):
                b += _qstring("n/a")
        groups = self.groups()
        b += struct.pack("<h", len(groups))
        for name, prefix, chans in groups:
            n_amp = sum(1 for _, t in chans if t == 0)
            b += _qstring(name) + _qstring(prefix)
            b += struct.pack("<hhh", 1 if chans else 0, len(chans), n_amp)
            for i, (native, st) in enumerate(chans):
                b += _qstring(native) + _qstring(native)
                ints = [i, i, st, int(native not in self.disabled), i % 32]
                ints += [0, 0, 0, 0, 0, 0] if rhs else [0, 0, 0, 0, 0]
                b += struct.pack(f"<{len(ints)}h2f", *ints, 1e5, -45.0)
        return b

    def block_bytes(self) -> int:
        n = self.samples_per_block
        n_amp = len(self.enabled(0))
        size = 4 * n + 2 * n * n_amp
        if self.kind == "rhd":
            size += 2 * (n // 4) * len(self.enabled(1))
            size += 2 * self.n_temp
            size += 2 * n * len(self.enabled(3))
            size += 2 * n * (1 if self.enabled(4) else 0) + 2 * n * (1 if self.enabled(5) else 0)
        else:
            size += 2 * n * n_amp * (2 if self.dc_amp_saved else 1)  # dc (if saved) + stim
            size += 2 * n * len(self.enabled(3)) + 2 * n * len(self.enabled(4))
            size += 2 * n * (1 if self.enabled(5) else 0) + 2 * n * (1 if self.enabled(6) else 0)
        return size


def write_intan_traditional(path: Path, spec: IntanSpec, n_blocks: int,
                            extra_bytes: int = 0) -> Path:
    """A traditional .rhd/.rhs: header, then ``n_blocks`` blocks of counting data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = spec.block_bytes()
    n = spec.samples_per_block
    with open(path, "wb") as fh:
        fh.write(spec.header())
        for k in range(n_blocks):
            ts = np.arange(k * n, (k + 1) * n, dtype="<i4").tobytes()
            body = (np.arange((block - len(ts)) // 2) % 4096 + 32768).astype("<u2").tobytes()
            fh.write(ts + body)
        fh.write(b"\x00" * extra_bytes)
    return path


def write_intan_rhx(folder: Path, spec: IntanSpec, n_samples: int, layout: str,
                    aux_divisor: int = 1) -> Path:
    """An RHX folder: info.rhd (or .rhs), time.dat, settings.xml and the data files.

    ``layout`` is ``"signal"`` (amplifier.dat, ...) or ``"channel"`` (amp-A-000.dat, ...).
    RHX writes aux at one value per tick (``aux_divisor=1``); 4 writes a quarter as many.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ext = "rhs" if spec.kind == "rhs" else "rhd"
    (folder / f"info.{ext}").write_bytes(spec.header())
    np.arange(n_samples, dtype="<i4").tofile(folder / "time.dat")
    (folder / "settings.xml").write_text('<IntanRHX Version="3.3.0"/>\n')

    def data(n_ch: int, n: int, dtype: str) -> np.ndarray:
        return (np.arange(n * n_ch) % 1000).astype(dtype)

    amp = spec.enabled(0)
    aux = spec.enabled(1) if spec.kind == "rhd" else []
    adc = spec.enabled(3)
    din = spec.enabled(4 if spec.kind == "rhd" else 5)
    n_aux = n_samples // aux_divisor
    if layout == "signal":
        if amp:
            data(len(amp), n_samples, "<i2").tofile(folder / "amplifier.dat")
        if aux:
            data(len(aux), n_aux, "<u2").tofile(folder / "auxiliary.dat")
        if adc:
            data(len(adc), n_samples, "<u2").tofile(folder / "analogin.dat")
        if din:
            data(1, n_samples, "<u2").tofile(folder / "digitalin.dat")
    else:
        for name in amp:
            data(1, n_samples, "<i2").tofile(folder / f"amp-{name}.dat")
        for name in aux:
            data(1, n_aux, "<u2").tofile(folder / f"aux-{name}.dat")
        for name in adc + din:
            data(1, n_samples, "<u2").tofile(folder / f"board-{name}.dat")
    return folder


# Open Ephys binary


@dataclass
class OebStream:
    """One continuous stream of an Open Ephys binary recording."""

    folder: str = "Rhythm_FPGA-100.0"
    sample_rate: float = 30000.0
    n_neural: int = 4
    n_adc: int = 0
    neural_bit_volts: float = 0.195
    adc_bit_volts: float = 0.000152587890625
    stream_name: str | None = None  # GUI 0.6+
    adc_prefix: str = "ADC"  # NI-DAQ streams name their channels AI0, AI1, ...

    def channels(self, units_adc: str = "V") -> list[dict]:
        out = [{"channel_name": f"CH{i + 1}", "description": "Headstage data channel",
                "identifier": "genericdata.continuous", "history": "Rhythm FPGA",
                "bit_volts": self.neural_bit_volts, "units": "uV"} for i in range(self.n_neural)]
        desc = "ADC data channel" if self.adc_prefix == "ADC" else "Analog Input channel"
        out += [{"channel_name": f"{self.adc_prefix}{i + 1}", "description": desc,
                 "identifier": "genericdata.continuous", "history": "Rhythm FPGA",
                 "bit_volts": self.adc_bit_volts, "units": units_adc} for i in range(self.n_adc)]
        return out

    @property
    def n_channels(self) -> int:
        return self.n_neural + self.n_adc


def write_oebin_recording(recording: Path, streams: Sequence[OebStream], n_samples: int,
                          gui: str = "0.6.0", declared: dict[str, int] | None = None,
                          extra_bytes: int = 0) -> list[Path]:
    """``recording``/structure.oebin + continuous/<stream>/continuous.dat (+ .npy)."""
    recording.mkdir(parents=True, exist_ok=True)
    entries, out = [], []
    for s in streams:
        entry = {"folder_name": s.folder + "/", "sample_rate": s.sample_rate,
                 "source_processor_name": s.folder.split("-")[0], "source_processor_id": 100,
                 "recorded_processor": "Record Node", "recorded_processor_id": 101,
                 "num_channels": (declared or {}).get(s.folder, s.n_channels),
                 "channels": s.channels()}
        if s.stream_name is not None:
            entry["stream_name"] = s.stream_name
        entries.append(entry)
        d = recording / "continuous" / s.folder
        d.mkdir(parents=True, exist_ok=True)
        dat = d / "continuous.dat"
        with open(dat, "wb") as fh:
            fh.write((np.arange(n_samples * s.n_channels) % 2000 - 1000).astype("<i2").tobytes())
            fh.write(b"\x00" * extra_bytes)
        np.save(d / "sample_numbers.npy", np.arange(n_samples, dtype=np.int64))
        np.save(d / "timestamps.npy", np.arange(n_samples, dtype=np.float64) / s.sample_rate)
        out.append(dat)
    oebin = {"GUI version": gui, "continuous": entries, "events": [], "spikes": []}
    (recording / "structure.oebin").write_text(json.dumps(oebin, indent=2))
    return out


# Open Ephys legacy

LEGACY_HEADER = 1024
LEGACY_RECORD = 2070
LEGACY_SAMPLES = 1024


def legacy_header(sample_rate: float = 30000.0, bit_volts: float = 0.195,
                  channel: str = "CH1") -> bytes:
    text = (
        "header.format = 'Open Ephys Data Format'; \n"
        "header.version = 0.4;\n"
        "header.header_bytes = 1024;\n"
        "header.description = 'each record contains one 64-bit timestamp, one 16-bit sample "
        "count (N), 1 uint16 recordingNumber, N 16-bit samples, and one 10-byte record "
        "marker (0 1 2 3 4 5 6 7 8 255)'; \n"
        "header.date_created = '3-Oct-2018 131650';\n"
        f"header.channel = '{channel}';\n"
        "header.channelType = 'Continuous';\n"
        f"header.sampleRate = {sample_rate:g};\n"
        "header.blockLength = 1024;\n"
        "header.bufferSize = 1024;\n"
        f"header.bitVolts = {bit_volts!r};\n"
    ).encode("ascii")
    return text + b" " * (LEGACY_HEADER - len(text))


def write_continuous(path: Path, n_records: int, *, sample_rate: float = 30000.0,
                     bit_volts: float = 0.195, channel: str = "CH1", extra_bytes: int = 0,
                     first_timestamp: int = 0, gap_records: int = 0) -> Path:
    """A legacy .continuous file; ``gap_records`` leaves a gap in the timestamps midway."""
    path.parent.mkdir(parents=True, exist_ok=True)
    marker = bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 255])
    with open(path, "wb") as fh:
        fh.write(legacy_header(sample_rate, bit_volts, channel))
        ts = first_timestamp
        for k in range(n_records):
            if k == n_records // 2:
                ts += gap_records * LEGACY_SAMPLES
            fh.write(struct.pack("<qHH", ts, LEGACY_SAMPLES, 0))
            fh.write((np.arange(LEGACY_SAMPLES) % 500).astype(">i2").tobytes())
            fh.write(marker)
            ts += LEGACY_SAMPLES
        fh.write(b"\x00" * extra_bytes)
    return path
