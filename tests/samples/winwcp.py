"""WinWCP samples: ``.wcp`` files as WinWCP writes them (text header, then records of
analysis and data blocks), so neo's WinWcpRawIO serves as the second reader."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

EXTRACTOR = "winwcp"
SECTOR = 512


def write_wcp(path: Path, *, n_records: int = 3, n_channels: int = 2, nbd: int = 2,
              dt: str = "6,005E-005", units: Sequence[str] = ("mV", "pA"),
              gains: Sequence[str] = ("0,01", "0,001"), vmax: float = 10.0,
              declared_records: int | None = None, extra_header: str = "") -> Path:
    """A WinWCP file of ``n_records`` records of ``nbd`` data blocks each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["VER=8", "NBH=1024", "ADCMAX=32767", f"NC={n_channels}", "NBA=2", f"NBD={nbd}",
             "AD=10", f"NR={n_records if declared_records is None else declared_records}",
             f"DT={dt}"]
    for c in range(n_channels):
        lines += [f"YO{c}={c}", f"YU{c}={units[c]}", f"YN{c}=Ch{c}", f"YG{c}={gains[c]}"]
    text = "\r\n".join(lines) + "\r\n" + extra_header
    header = text.encode("latin-1").ljust(1024, b" ")
    interval = float(dt.replace(",", "."))
    body = b""
    for r in range(n_records):
        analysis = bytearray(2 * SECTOR)
        struct.pack_into(f"<8s4sfff{n_channels}f", analysis, 0, b"ACCEPTED", b"TEST",
                         1.0, float(r), interval, *[vmax] * n_channels)
        data = (np.arange(nbd * SECTOR // 2) % 100).astype("<i2").tobytes()
        body += bytes(analysis) + data
    path.write_bytes(header + body)
    return path


def good(tmp: Path) -> list[Path]:
    return [write_wcp(tmp / "a.wcp"), write_wcp(tmp / "v.wcp", n_channels=1, units=("mV",),
                                                 gains=("1",))]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    other = tmp / "other.wcp"
    other.write_bytes(b"\x00" * 2048)
    headless = write_wcp(tmp / "cut.wcp", n_records=0, declared_records=4)
    zero_dt = write_wcp(tmp / "dt.wcp", dt="0")
    return [other, headless, zero_dt]
