"""Neuralynx video tracker files (``.nvt``) as BehavioralTracking records.

Cheetah's video tracker writes a 16 KiB text header (``######## Neuralynx Data File
Header``, then ``-Key value`` lines, NUL-padded) and fixed-size records of the tracked
positions (``-RecordSize``, 1828 bytes in the 3.x format: start/id/size words, a 64-bit
timestamp in µs, 400 point words, x, y, angle and 50 targets); no video frames.

- ``nFrames``: whole records, ``(size - 16384) / RecordSize``; a partial last record (a
  recording that stopped while writing) is a warning naming its bytes.
- ``frameRate``: ``-SamplingFrequency`` (the camera's field or frame rate).
- ``horizontalResolution``, ``verticalResolution``: ``-Resolution`` (the camera image the
  positions are measured in).
- Start: ``-TimeCreated`` (``YYYY/MM/DD HH:MM:SS``) or the older ``## Time Opened
  (m/d/y): 11/28/2016  (h:m:s.ms) 21:50:33.372`` line, local time of the recording PC.

Choice of reader: our own, the header is text and the count is file-size arithmetic (neo
0.14's NeuralynxRawIO has no stream for ``.nvt``). Cost: one 16 KiB read, whatever the
file's size.
"""

from __future__ import annotations

import datetime
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import Claim, Extraction, Extractor, Fields, Source

__all__ = ["NvtExtractor", "read_nvt_header"]

HEADER_SIZE = 16384
_MAGIC = b"######## Neuralynx"


class NvtExtractor(Extractor):
    """Neuralynx Cheetah video tracker position files (``.nvt``)."""

    name = "nvt"
    suffixes = (".nvt",)
    record_types = ("BehavioralTracking",)

    claim_endings = (".nvt",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        # Neuralynx's own suffix: a damaged one is ours too, to say what is wrong with it.
        return Claim.SPECIFIC if path.suffix.lower() == ".nvt" else Claim.NO

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        size = os.stat(path).st_size
        with open(path, "rb") as fh:
            raw = fh.read(HEADER_SIZE)
        if not raw.startswith(_MAGIC):
            raise ExtractionError(path, f"no Neuralynx header (first bytes {raw[:8].hex(' ')}; "
                                  "expected '######## Neuralynx Data File Header')")
        if size < HEADER_SIZE:
            raise ExtractionError(path, f"{size} bytes: shorter than the {HEADER_SIZE}-byte "
                                  "Neuralynx header (a truncated file)")
        header = read_nvt_header(raw)
        kind = header.get("FileType", "")
        if kind and kind.lower() != "video":
            raise ExtractionError(path, f"-FileType {kind}: not a video tracker file")
        record = _positive_int(path, header, "RecordSize")
        f = Fields()
        version = header.get("FileVersion")
        f.header("format", "NVT", "Neuralynx header, -FileType Video" +
                 (f", -FileVersion {version}" if version else ""))
        n, extra = divmod(size - HEADER_SIZE, record)
        if n == 0:
            raise ExtractionError(path, f"no whole record after the header ({size - HEADER_SIZE}"
                                  f" bytes, -RecordSize {record})")
        f.computed("nFrames", n, f"position records: ({size} bytes - {HEADER_SIZE} header) / "
                   f"-RecordSize {record}; tracked positions, no video frames stored")
        if extra:
            f.warn(f"the last {extra} bytes are a partial record (-RecordSize {record}): not "
                   "counted (a recording that stopped while writing)")
        rate = header.get("SamplingFrequency")
        if rate is not None:
            value = _number(path, "SamplingFrequency", rate)
            f.header("frameRate", value, f"-SamplingFrequency {rate} (the tracker's rate)")
        else:
            f.warn("no frame rate: the header has no -SamplingFrequency")
        res = header.get("Resolution", "").split()
        if len(res) == 2 and all(r.isdigit() and int(r) > 0 for r in res):
            f.header("horizontalResolution", int(res[0]), f"-Resolution {res[0]} {res[1]} "
                     "(the camera image the positions are measured in)")
            f.header("verticalResolution", int(res[1]), f"-Resolution {res[0]} {res[1]}")
        start = _start(header)
        if start is not None:
            f.started(start[0], Source.HEADER, start[1])
        return [self.result(path, "BehavioralTracking", f)]


def read_nvt_header(raw: bytes) -> dict[str, str]:
    """``-Key value`` lines of a Neuralynx header; the ``## Time Opened`` line as
    ``_opened``."""
    text = raw.split(b"\0", 1)[0].decode("latin-1")
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("-"):
            key, _, value = line[1:].partition(" ")
            out.setdefault(key, value.strip())
        elif line.startswith("## Time Opened"):
            out["_opened"] = line
    return out


def _positive_int(path: Path, header: dict[str, str], key: str) -> int:
    value = header.get(key)
    if value is None or not value.isdigit() or int(value) == 0:
        raise ExtractionError(path, f"-{key} {value!r} in the header is not a positive whole "
                              "number" if value is not None else f"no -{key} in the header")
    return int(value)


def _number(path: Path, key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ExtractionError(path, f"-{key} {text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ExtractionError(path, f"-{key} {text!r} is not a positive number")
    return value


_OPENED = re.compile(r"\(m/d/y\):\s*(\d+)/(\d+)/(\d+)\s+\(h:m:s\.ms\)\s*(\d+):(\d+):(\d+)"
                     r"(?:\.(\d+))?")


def _start(header: dict[str, str]) -> tuple[datetime.datetime, str] | None:
    created = header.get("TimeCreated", "")
    m = re.match(r"(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})", created)
    try:
        if m:
            year, month, day, hh, mm, ss = (int(x) for x in m.groups())
            when = datetime.datetime(year, month, day, hh, mm, ss)
            return when, f"-TimeCreated {created} (local time of the recording PC)"
        m = _OPENED.search(header.get("_opened", ""))
        if m:
            month, day, year, hh, mm, ss = map(int, m.groups()[:6])
            ms = int((m.group(7) or "0")[:3].ljust(3, "0"))
            when = datetime.datetime(year, month, day, hh, mm, ss, ms * 1000)
            return when, "'## Time Opened' header line (local time of the recording PC)"
    except ValueError:
        return None
    return None
