"""EDF, EDF+ and BDF samples, written byte by byte as the EDF spec lays them out (a
256-byte fixed header, 256 bytes per signal stored field by field, then data records), in
the form EDFlib and BioSemi write them (EDF+ subfields, annotation signals holding a
time-keeping TAL in every record), so that pyedflib and MNE read them too."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EXTRACTOR = "edf"

START = datetime.datetime(2021, 3, 4, 9, 8, 7)


@dataclass(frozen=True)
class Signal:
    """One signal of a header; ``samples`` per data record."""

    label: str = "EEG Fp1"
    dimension: str = "uV"
    physmin: float = -3276.8
    physmax: float = 3276.7
    digmin: int = -32768
    digmax: int = 32767
    samples: int = 256

    @property
    def annotation(self) -> bool:
        return self.label in ("EDF Annotations", "BDF Annotations")


def _field(value: object, width: int) -> bytes:
    text = value if isinstance(value, bytes) else str(value).encode("latin-1")
    assert len(text) <= width, (value, width)
    return text.ljust(width, b" ")


def _num(value: float) -> str:
    text = f"{value:g}" if not float(value).is_integer() else str(int(value))
    return text if len(text) <= 8 else f"{value:.8g}"[:8]


def header(signals: Sequence[Signal], n_records: int, *, duration: float = 1.0,
           bdf: bool = False, plus: str = "C", start: datetime.datetime = START,
           header_bytes: int | None = None) -> bytes:
    """The header bytes: 256 + 256 x ns, every field space-padded ASCII."""
    ns = len(signals)
    kind = "BDF" if bdf else "EDF"
    version = b"\xffBIOSEMI" if bdf else b"0"
    if plus:
        patient = "X X X X"
        recording = f"Startdate {start.day:02d}-{start.strftime('%b').upper()}-{start.year} X X X"
        reserved = f"{kind}+{plus}"
    else:
        patient, recording = "test patient", "test recording"
        reserved = "24BIT" if bdf else ""
    out = b"".join([
        _field(version, 8), _field(patient, 80), _field(recording, 80),
        _field(start.strftime("%d.%m.%y"), 8), _field(start.strftime("%H.%M.%S"), 8),
        _field(header_bytes if header_bytes is not None else 256 * (ns + 1), 8),
        _field(reserved, 44), _field(n_records, 8), _field(_num(duration), 8), _field(ns, 4),
    ])
    columns = (
        ("label", 16), ("transducer", 80), ("dimension", 8), ("physmin", 8), ("physmax", 8),
        ("digmin", 8), ("digmax", 8), ("prefilter", 80), ("samples", 8), ("reserved", 32))
    for name, width in columns:
        for s in signals:
            value = {"transducer": "AgAgCl electrode" if not s.annotation else "",
                     "prefilter": "HP:0.1Hz LP:75Hz" if not s.annotation else "",
                     "reserved": ""}.get(name)
            if value is None:
                raw = getattr(s, name)
                value = _num(raw) if isinstance(raw, float) else raw
            out += _field(value, width)
    assert len(out) == 256 * (ns + 1)
    return out


def records(signals: Sequence[Signal], n: int, *, duration: float = 1.0, bdf: bool = False
            ) -> bytes:
    """``n`` data records: a ramp in every data signal, a time-keeping TAL in annotations."""
    size = 3 if bdf else 2
    out = bytearray()
    for r in range(n):
        for s in signals:
            if s.annotation:
                tal = f"+{_num(r * duration)}\x14\x14\x00".encode()
                out += tal.ljust(s.samples * size, b"\x00")
            else:
                for i in range(s.samples):
                    out += ((i * 7 + r) % 1000).to_bytes(size, "little", signed=True)
    return bytes(out)


def write_edf(path: Path, signals: Sequence[Signal], n_records: int = 3, *,
              duration: float = 1.0, bdf: bool = False, plus: str = "C",
              header_records: int | None = None, start: datetime.datetime = START,
              extra: bytes = b"", header_bytes: int | None = None) -> Path:
    """An EDF (or BDF) file of ``n_records`` data records; the header states
    ``header_records`` (default: ``n_records``); ``extra`` bytes follow the records."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stated = n_records if header_records is None else header_records
    path.write_bytes(header(signals, stated, duration=duration, bdf=bdf, plus=plus, start=start,
                            header_bytes=header_bytes)
                     + records(signals, n_records, duration=duration, bdf=bdf) + extra)
    return path


ANNOTATIONS = Signal("EDF Annotations", "", -1, 1, -32768, 32767, 60)


def eeg_signals(n: int = 4, samples: int = 256) -> list[Signal]:
    return [Signal(f"EEG {i}", samples=samples) for i in range(n)]


def good(tmp: Path) -> list[Path]:
    bdf_signals = [Signal(f"A{i}", "uV", -262144, 262143, -8388608, 8388607, 512)
                   for i in range(3)]
    return [
        write_edf(tmp / "plain.edf", eeg_signals(), plus=""),
        write_edf(tmp / "plus.edf", [*eeg_signals(3), Signal("ECG", "mV", -5, 5, -2048, 2047, 64),
                                     ANNOTATIONS], duration=0.5),
        write_edf(tmp / "biosemi.bdf", bdf_signals, bdf=True, plus=""),
    ]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    good_header = header(eeg_signals(2), 3)
    out = []
    cut = tmp / "cut.edf"
    cut.write_bytes(good_header[:300])  # inside the signal fields
    out.append(cut)
    short = tmp / "short.edf"
    short.write_bytes(good_header[:100])
    out.append(short)
    notedf = tmp / "text.edf"
    notedf.write_bytes(b"hello, this is not an EDF file" * 20)
    out.append(notedf)
    no_signals = tmp / "nosignals.edf"
    no_signals.write_bytes(header([], 3)[:256] + b"\x00" * 16)
    out.append(no_signals)
    garbage = tmp / "garbage.edf"
    raw = bytearray(good_header + records(eeg_signals(2), 3))
    raw[236:244] = "3\xe9\xe9     ".encode("latin-1")[:8]  # number of records: not ASCII
    garbage.write_bytes(bytes(raw))
    out.append(garbage)
    negative = write_edf(tmp / "negative.edf", eeg_signals(2), duration=-1.0)
    out.append(negative)
    empty = write_edf(tmp / "empty.edf", [Signal("C3", samples=0), ANNOTATIONS])
    out.append(empty)  # no signal holds samples: no data channels
    return out
