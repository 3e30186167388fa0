"""Neuralynx video tracker samples (``.nvt``): the 16 KiB text header Cheetah writes (its
lines as in the Cheetah 5.6.3 file of ../shared/corpus3) and 1828-byte records (start
word 0x800, id, size, µs timestamp, 400 points, x, y, angle, 50 targets).

The writer is shared with ``tests/test_pose.py``; its arguments are the truth.
"""

from __future__ import annotations

import struct
from pathlib import Path

EXTRACTOR = "nvt"

HEADER_SIZE = 16384
RECORD = struct.Struct("<HHHQ400IhiiI50i")  # 1828 bytes, as -RecordSize says


def header(rate: str = "29.97", resolution: str = "720 480", record: int = RECORD.size,
           extra: str = "") -> bytes:
    lines = [
        "######## Neuralynx Data File Header",
        "## File Name C:\\CheetahData\\2024-03-01_10-00-00\\VT1.nvt",
        "## Time Opened (m/d/y): 3/1/2024  (h:m:s.ms) 10:00:05.250",
        "## Time Closed (m/d/y): 3/1/2024  (h:m:s.ms) 10:30:00.000",
        "",
        "-FileType Video",
        "-FileVersion 3.2.0",
        f"-RecordSize {record}",
        "",
        "-CheetahRev 5.6.3 ",
        "",
        "-AcqEntName VT1",
        "-VideoFormat NTSC",
        f"-Resolution {resolution}",
        f"-SamplingFrequency {rate}",
        extra,
    ]
    text = "\r\n".join(lines).encode("latin-1")
    return text + bytes(HEADER_SIZE - len(text))


def write_nvt(path: Path, n_records: int, *, rate: str = "29.97", resolution: str = "720 480",
              partial: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = b"".join(RECORD.pack(0x800, 0x1000, 2, 1_000_000 + i * 33_367, *([0] * 400), 0,
                                100 + i, 200, 0, *([0] * 50)) for i in range(n_records))
    path.write_bytes(header(rate, resolution) + body + bytes(partial))
    return path


def good(tmp: Path) -> list[Path]:
    return [write_nvt(tmp / "VT1.nvt", 30), write_nvt(tmp / "VT2.nvt", 5, rate="25",
                                                      resolution="720 576", partial=100)]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    cut = tmp / "cut.nvt"
    cut.write_bytes(header()[:5000])
    empty_body = tmp / "header_only.nvt"
    empty_body.write_bytes(header())
    text = tmp / "notes.nvt"
    text.write_text("not a Neuralynx file\n")
    size = tmp / "badsize.nvt"
    size.write_bytes(header(record=0) + bytes(RECORD.size))
    return [cut, empty_body, text, size]
