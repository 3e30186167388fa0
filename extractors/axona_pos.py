"""Axona DacqUSB position files (``.pos``) as BehavioralTracking records.

A ``.pos`` file is a text header of ``key value`` lines (``trial_date``, ``trial_time``,
``sample_rate 50.0 hz``, ``window_min_x`` ..., ``bytes_per_timestamp``,
``bytes_per_coord``, ``num_pos_samples``), then ``data_start``, the binary samples, and
``\\r\\ndata_end``. A sample is a big-endian timestamp (``bytes_per_timestamp``) and eight
coordinates of ``bytes_per_coord`` each (x1, y1, x2, y2, numpix1, numpix2, total pixels,
unused): 20 bytes with the usual 4 and 2.

- ``nFrames``: ``num_pos_samples``, checked against the bytes between ``data_start`` and
  ``data_end``; a file holding fewer whole samples (cut short) gives those, with a warning.
  These are LED position samples, not video frames.
- ``frameRate``: ``sample_rate`` (Hz).
- ``horizontalResolution``, ``verticalResolution``: the tracking window,
  ``window_max_x - window_min_x`` and ``window_max_y - window_min_y`` (the camera image,
  ``max_x`` x ``max_y``, is named in the detail).
- Start: ``trial_date`` and ``trial_time`` (local time).

Choice of reader: our own, the header is a few lines of text (neo's AxonaRawIO reads the
``.bin``/``.set`` signals, not ``.pos``). Cost: reading the header (at most 64 KiB) and
the 9 bytes where ``data_end`` must be; the samples are never read.
"""

from __future__ import annotations

import datetime
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import Claim, Extraction, Extractor, Fields, Source

__all__ = ["AxonaPosExtractor", "read_pos_header"]

_HEAD = 64 * 1024
_START = b"data_start"
_END = b"\r\ndata_end"


class AxonaPosExtractor(Extractor):
    """Axona position tracking (``.pos``: text header + binary samples)."""

    name = "axona_pos"
    suffixes = (".pos",)
    record_types = ("BehavioralTracking",)

    claim_endings = (".pos",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if path.suffix.lower() != ".pos" or not path.is_file():
            return Claim.NO
        try:
            with open(path, "rb") as fh:
                head = fh.read(10)
        except OSError:
            return Claim.NO
        return Claim.SPECIFIC if head == b"trial_date" else Claim.NO

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        size = os.stat(path).st_size
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
        at = head.find(_START)
        if at < 0:
            raise ExtractionError(path, f"no 'data_start' in the first {len(head)} bytes: "
                                  "the header is incomplete")
        header = read_pos_header(head[:at])
        data = at + len(_START)
        ts = _count(path, header, "bytes_per_timestamp")
        coord = _count(path, header, "bytes_per_coord")
        sample = ts + 8 * coord
        declared = _count(path, header, "num_pos_samples", zero=True)
        f = Fields()
        f.header("format", "Axona POS", "'trial_date' text header, binary samples after "
                 "data_start")
        end = data + declared * sample
        with open(path, "rb") as fh:
            fh.seek(end)
            at_end = fh.read(len(_END))
            fh.seek(max(data, size - 16))
            last = fh.read()
        if at_end == _END:
            f.header("nFrames", declared, f"num_pos_samples {declared}, {sample}-byte samples "
                     "ending where data_end begins (LED position samples, not video frames)")
        elif size < end:
            present = (size - data) // sample
            f.computed("nFrames", present, f"whole {sample}-byte samples after data_start "
                       "(LED position samples, not video frames)")
            f.warn(f"truncated: num_pos_samples says {declared} samples of {sample} bytes, the "
                   f"file holds {present} after data_start")
        else:
            # data_end elsewhere: the samples the file holds, if they are whole.
            stop = last.rfind(_END)
            held = size - len(last) + stop - data if stop >= 0 else -1
            if held < 0 or held % sample:
                raise ExtractionError(path, f"num_pos_samples {declared} of {sample} bytes "
                                      f"(bytes_per_timestamp {ts}, bytes_per_coord {coord}) "
                                      "does not end at data_end: a damaged header")
            f.computed("nFrames", held // sample, f"{sample}-byte samples between data_start "
                       "and data_end (LED position samples, not video frames)")
            f.warn(f"num_pos_samples says {declared}, but {held // sample} samples lie between "
                   "data_start and data_end")
        rate = header.get("sample_rate", "")
        value = _hz(rate)
        if value is not None:
            f.header("frameRate", value, f"sample_rate {rate}")
        else:
            f.warn(f"no frame rate: sample_rate {rate!r} is not a rate in Hz")
        _window(header, f)
        start = _start(header)
        if start is not None:
            f.started(start, Source.HEADER, f"trial_date {header['trial_date']}, trial_time "
                      f"{header['trial_time']} (local time)")
        return [self.result(path, "BehavioralTracking", f)]


def read_pos_header(raw: bytes) -> dict[str, str]:
    """``key value`` lines of an Axona header."""
    out: dict[str, str] = {}
    for line in raw.decode("latin-1").splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            out.setdefault(key, value.strip())
    return out


def _count(path: Path, header: dict[str, str], key: str, zero: bool = False) -> int:
    value = header.get(key)
    if value is None:
        raise ExtractionError(path, f"no {key} in the header")
    if not value.isdigit() or (int(value) == 0 and not zero) or int(value) > 2**40:
        raise ExtractionError(path, f"{key} {value!r} in the header is not a "
                              f"{'' if zero else 'positive '}whole number")
    return int(value)


def _hz(text: str) -> float | None:
    parts = text.split()
    if not parts or (len(parts) > 1 and parts[1].lower() != "hz"):
        return None
    try:
        value = float(parts[0])
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _window(header: dict[str, str], f: Fields) -> None:
    try:
        x0, x1, y0, y1 = (int(header[k]) for k in ("window_min_x", "window_max_x",
                                                    "window_min_y", "window_max_y"))
    except (KeyError, ValueError):
        return
    if x1 <= x0 or y1 <= y0:
        return
    camera = ""
    if header.get("max_x", "").isdigit() and header.get("max_y", "").isdigit():
        camera = f"; the camera image is {header['max_x']} x {header['max_y']}"
    f.header("horizontalResolution", x1 - x0,
             f"the tracking window, window_max_x {x1} - window_min_x {x0}{camera}")
    f.header("verticalResolution", y1 - y0,
             f"the tracking window, window_max_y {y1} - window_min_y {y0}")


def _start(header: dict[str, str]) -> datetime.datetime | None:
    date, time = header.get("trial_date", ""), header.get("trial_time", "")
    day = date.split(",", 1)[-1].strip()  # "Sunday, 4 Oct 2020"
    for fmt in ("%d %b %Y %H:%M:%S", "%d %B %Y %H:%M:%S"):
        try:
            return datetime.datetime.strptime(f"{day} {time}", fmt)
        except ValueError:
            continue
    return None
