"""Inscopix ``.isxd`` samples, laid out as isxcore writes a movie (the corpus'
``movie_longer_than_3_min.isxd`` is the model): the frames (uint16, row by row), then the
JSON header, a NUL byte, and the header's length as a little-endian uint64."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

EXTRACTOR = "inscopix"


def header(n: int = 12, width: int = 29, height: int = 33, *, period: tuple[int, int] =
           (179973, 1000000), data_type: int = 0, dropped: list[int] | None = None,
           start: int = 1570465321524186, utc_offset: int = 0) -> dict[str, Any]:
    """The JSON header of a movie, with the keys and nesting of the real file."""
    return {
        "dataType": data_type,
        "extraProperties": {"microscope": {"fps": {"fps": 50}, "led": {"exPower": 0.4}},
                            "producer": {"name": "AcquisitionSW", "version": "1.2.1"}},
        "fileVersion": 1,
        "hasFrameHeaderFooter": False,
        "producer": {"name": "isxcore", "version": [1, 8, 1]},
        "spacingInfo": {"numPixels": {"x": width, "y": height},
                        "pixelSize": {"x": {"den": 1, "num": 72}, "y": {"den": 1, "num": 72}},
                        "topLeft": {"x": {"den": 1, "num": 0}, "y": {"den": 1, "num": 0}}},
        "timingInfo": {"blank": [], "cropped": [], "dropped": dropped or [], "numTimes": n,
                       "period": {"den": period[1], "num": period[0]},
                       "start": {"secsSinceEpoch": {"den": 1000000, "num": start},
                                 "utcOffset": utc_offset}},
        "type": 0,
    }


def write_isxd(path: Path, head: dict[str, Any] | None = None, *, frames: int | None = None,
               length: int | None = None) -> Path:
    """An .isxd movie: ``frames`` frames of data (default: the header's count), then the
    footer; ``length`` overrides the header length written in the last 8 bytes."""
    head = head or header()
    info = head["timingInfo"]
    px = head["spacingInfo"]["numPixels"]
    itemsize = {0: 2, 1: 4, 2: 1}[head["dataType"]]
    n = info["numTimes"] if frames is None else frames
    data = np.arange(n * px["x"] * px["y"], dtype=np.uint64).astype(
        {2: "<u2", 4: "<f4", 1: "u1"}[itemsize])
    text = json.dumps(head, indent=4).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.tobytes() + text + b"\0"
                     + struct.pack("<Q", len(text) if length is None else length))
    return path


def good(tmp: Path) -> list[Path]:
    return [write_isxd(tmp / "movie.isxd"),
            write_isxd(tmp / "short.isxd", header(5, 8, 6, period=(50000, 1000000)))]


def bad(tmp: Path) -> list[Path]:
    past = write_isxd(tmp / "past_end.isxd", length=10**12)  # footer length past the end
    tmp.mkdir(parents=True, exist_ok=True)
    tiny = tmp / "tiny.isxd"
    tiny.write_bytes(b"\x05")
    notjson = write_isxd(tmp / "notjson.isxd")
    raw = bytearray(notjson.read_bytes())
    raw[-9 - 20:-9] = b"}" * 20  # the header's end is no longer JSON
    notjson.write_bytes(bytes(raw))
    cellset = write_isxd(tmp / "cellset.isxd", {**header(), "type": 1})
    return [past, tiny, notjson, cellset]
