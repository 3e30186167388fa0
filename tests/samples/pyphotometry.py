"""pyPhotometry ``.ppd`` samples (version 0.2 and 1.0 headers)."""

from __future__ import annotations

import struct
from pathlib import Path

from tests.fixtures_mri_photometry import write_ppd

EXTRACTOR = "pyphotometry"


def good(tmp: Path) -> list[Path]:
    return [write_ppd(tmp / "m1.ppd", 5000),
            write_ppd(tmp / "three.ppd", 3000, rate=1000, n_analog=3, version="1.0")]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    past = tmp / "past.ppd"
    past.write_bytes(struct.pack("<H", 60000) + b'{"sampling_rate": 130}')
    junk = tmp / "junk.ppd"
    junk.write_bytes(struct.pack("<H", 4) + b"abcd" + b"\x00" * 10)
    norate = tmp / "norate.ppd"
    raw = b'{"mode": "x"}'
    norate.write_bytes(struct.pack("<H", len(raw)) + raw + b"\x00" * 8)
    return [past, junk, norate]
