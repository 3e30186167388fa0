"""Axon ABF samples: ABF1 and ABF2 files written with struct from the documented layouts
(the offsets pyabf and neo read), so those readers serve as second readers in the tests."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

EXTRACTOR = "abf"
BLOCK = 512


def write_abf2(path: Path, *, sweeps: Sequence[int] = (100, 100), n_channels: int = 2,
               interval_us: float = 50.0, units: Sequence[str] | None = None,
               float32: bool = False, mode: int = 5, adc_range: float = 10.0,
               resolution: int = 32768, scale: float = 0.01,
               truncate_to: int | None = None) -> Path:
    """An ABF2 file: sweeps of the given lengths (samples per channel) of ``n_channels``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    units = list(units or ["mV"] * n_channels)
    itemsize = 4 if float32 else 2
    n_points = sum(sweeps) * n_channels
    # Blocks: 0 header, 1 protocol, 2 ADC, 3 strings, 4 synch array, 5.. data.
    strings = b"\x00\x00clampex\x00" + b"".join(
        f"IN {i}\x00{units[i]}\x00".encode() for i in range(n_channels))
    header = bytearray(BLOCK)
    struct.pack_into("<4s4bII", header, 0, b"ABF2", 0, 0, 9, 2, BLOCK, len(sweeps))
    struct.pack_into("<HH", header, 28, 0, 1 if float32 else 0)
    struct.pack_into("<I", header, 60, 1)  # uCreatorNameIndex: "clampex"

    def section(offset: int, block: int, size: int, count: int) -> None:
        struct.pack_into("<IIq", header, offset, block, size, count)

    section(76, 1, BLOCK, 1)
    section(92, 2, 82, n_channels)
    section(220, 3, len(strings), 1)
    section(236, 5, itemsize, n_points)
    section(316, 4, 8, len(sweeps))
    proto = bytearray(BLOCK)
    struct.pack_into("<hf", proto, 0, mode, interval_us)
    struct.pack_into("<i", proto, 22, max(sweeps) * n_channels)
    struct.pack_into("<ffii", proto, 110, adc_range, 10.0, resolution, 32768)
    adc = bytearray(BLOCK)
    for i in range(n_channels):
        o = 82 * i
        struct.pack_into("<hhhf", adc, o, i, 0, 0, 1.0)
        struct.pack_into("<hh", adc, o + 24, i, i)
        struct.pack_into("<ffffffff", adc, o + 28, 1.0, 1.0, 0.0, scale, 0.0, 1.0, 0.0, 0.0)
        struct.pack_into("<ii", adc, o + 74, 2 + 2 * i, 3 + 2 * i)
    synch = bytearray(BLOCK)
    start = 0
    for k, n in enumerate(sweeps):
        struct.pack_into("<ii", synch, 8 * k, start, n * n_channels)
        start += n * n_channels * 2
    data = (np.arange(n_points) % 300).astype("<f4" if float32 else "<i2").tobytes()
    with open(path, "wb") as fh:
        fh.write(header + proto + adc + strings.ljust(BLOCK, b"\x00") + synch + data)
    if truncate_to is not None:
        with open(path, "r+b") as fh:
            fh.truncate(truncate_to)
    return path


def write_abf1(path: Path, *, n_sweeps: int = 3, sweep: int = 100, n_channels: int = 2,
               interval_us: float = 25.0, units: Sequence[str] | None = None,
               float32: bool = False, adc_range: float = 10.0, resolution: int = 32768,
               scale: float = 0.01) -> Path:
    """An ABF 1.83 file; ``interval_us`` is fADCSampleInterval (between channels)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    units = list(units or ["mV"] * n_channels)
    head = bytearray(6144)
    n_points = n_sweeps * sweep * n_channels
    struct.pack_into("<4sfhihi", head, 0, b"ABF ", 1.83, 5, n_points, 0, n_sweeps)
    struct.pack_into("<f", head, 32, 1.83)
    struct.pack_into("<i", head, 40, len(head) // BLOCK)
    struct.pack_into("<h", head, 100, 1 if float32 else 0)
    struct.pack_into("<hf", head, 120, n_channels, interval_us)
    struct.pack_into("<i", head, 138, sweep * n_channels)
    struct.pack_into("<i", head, 146, n_sweeps)
    struct.pack_into("<f", head, 244, adc_range)
    struct.pack_into("<i", head, 252, resolution)
    struct.pack_into("<16h", head, 378, *range(16))
    struct.pack_into("<16h", head, 410, *(list(range(n_channels)) + [-1] * (16 - n_channels)))
    for i in range(n_channels):
        head[442 + 10 * i: 452 + 10 * i] = f"IN {i}".ljust(10).encode()
        head[602 + 8 * i: 610 + 8 * i] = units[i].ljust(8).encode()
    struct.pack_into("<16f", head, 730, *[1.0] * 16)
    struct.pack_into("<16f", head, 922, *[scale] * 16)
    struct.pack_into("<16f", head, 1050, *[1.0] * 16)
    struct.pack_into("<16f", head, 4576, *[1.0] * 16)
    data = (np.arange(n_points) % 300).astype("<f4" if float32 else "<i2").tobytes()
    path.write_bytes(bytes(head) + data)
    return path


def good(tmp: Path) -> list[Path]:
    return [
        write_abf2(tmp / "episodic.abf"),
        write_abf2(tmp / "variable.abf", sweeps=(220, 110), n_channels=1, mode=1),
        write_abf2(tmp / "floats.abf", float32=True, interval_us=2480.0),
        write_abf1(tmp / "old.abf"),
    ]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    short = tmp / "short.abf"
    short.write_bytes(b"AB")
    other = tmp / "other.abf"
    other.write_bytes(b"RIFF" + b"\x00" * 600)
    cut = write_abf2(tmp / "cut.abf", truncate_to=700)  # header fine, ADC section cut
    zero = write_abf2(tmp / "zero.abf", interval_us=0.0)
    return [short, other, cut, zero]
