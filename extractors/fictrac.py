"""FicTrac output (``.dat``) as BehavioralTracking records.

FicTrac (treadmill-ball tracking) writes one text line per processed camera frame: 23
(v1) to 25 (v2: delta timestamp, alt. timestamp) comma-separated numbers; column 1 is the
frame counter, column 22 the timestamp in ms (the position in a video file, or the
capture time in ms since the Unix epoch), column 23 the sequence counter. No header.

- ``nFrames``: frames FicTrac processed, ``last frame counter - first + 1``, from the first
  and last rows; a partial last line (a run that stopped while writing) is not counted,
  with a warning.
- ``frameRate``: the mean rate of those frames, ``(last - first counter) / (last - first
  timestamp)``; computed, not stated by the file.
- Start: the first timestamp, when it is a capture time (ms since the epoch, after 2000),
  in UTC. FicTrac 2.1.1 and earlier put the system time in the first row of a video's
  positions (its issue 29): a first timestamp in epoch time followed by positions is read
  as position 0, and gives no start.
- Not given: the frame size (the camera image is not in the ``.dat``).

Claim: a ``.dat`` is FicTrac's only when its first line is 23 to 25 comma-separated
numbers with a whole first one (decided by its first 4 KiB); a Neuroscope or Intan
``.dat`` is binary. Choice of reader: our own, the rows are plain text. Cost: the first
4 KiB and the last 64 KiB, whatever the file's length.
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

__all__ = ["FicTracExtractor", "parse_row"]

_HEAD = 4096
_TAIL = 64 * 1024
_COLUMNS = range(23, 26)
_EPOCH_2000_MS = 946_684_800_000


class FicTracExtractor(Extractor):
    """FicTrac ``.dat`` output: one row of 23 to 25 numbers per tracked frame."""

    name = "fictrac"
    sniffs = True  # by content: a .dat is FicTrac only if its rows say so
    suffixes = (".dat",)
    record_types = ("BehavioralTracking",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if path.suffix.lower() != ".dat" or not path.is_file():
            return Claim.NO
        try:
            with open(path, "rb") as fh:
                head = fh.read(_HEAD)
        except OSError:
            return Claim.NO
        first = head.split(b"\n", 1)[0]
        fields = first.split(b",")
        if len(fields) not in _COLUMNS or not fields[0].strip().isdigit():
            return Claim.NO
        # The leading fields must be numbers; the last may be cut in a one-line file.
        return Claim.SPECIFIC if all(_is_number(x) for x in fields[:20]) else Claim.NO

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        size = os.stat(path).st_size
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
            fh.seek(max(0, size - _TAIL))
            tail = fh.read()
        if b"\n" not in head:
            raise ExtractionError(path, "no complete row: the first line has no end (a run "
                                  "that stopped while writing its first row)")
        first = parse_row(head.split(b"\n", 1)[0])
        if first is None:
            raise ExtractionError(path, "the first line is not a FicTrac row (23 to 25 "
                                  "numbers, a whole frame counter first)")
        f = Fields()
        f.header("format", "FicTrac .dat", f"rows of {len(first)} comma-separated numbers "
                 f"(FicTrac {'v2' if len(first) >= 24 else 'v1'} output)")
        lines = tail.split(b"\n")
        partial = lines.pop()  # after the last newline: "" when the file ends with one
        if partial.strip(b"\r \t"):
            f.warn(f"the last {len(partial)} bytes are a partial row: not counted")
        last = None
        while lines and last is None:
            text = lines.pop()
            if text.strip(b"\r \t"):
                last = parse_row(text)
                if last is None:
                    raise ExtractionError(path, f"the last line is not a FicTrac row "
                                          f"({text[:40]!r})")
        if last is None or len(last) != len(first):
            raise ExtractionError(path, "the last row has "
                                  f"{len(last) if last else 0} columns, the first {len(first)}")
        c0, c1 = int(first[0]), int(last[0])
        if c1 < c0:
            raise ExtractionError(path, f"the frame counter runs backwards (first row {c0}, "
                                  f"last {c1})")
        n = c1 - c0 + 1
        f.computed("nFrames", n, f"frames FicTrac processed: frame counters (column 1) of "
                   f"the first row, {c0}, and the last, {c1}")
        t0, t1 = first[21], last[21]
        replaced = ""
        if t0 > _EPOCH_2000_MS > t1 >= 0:
            # FicTrac 2.1.1 and earlier, reading a video, put the system time in place of
            # the first frame's position 0 (OpenCV's 0 means "invalid" too; FicTrac #29).
            t0, replaced = 0.0, "; the first row's system time read as the video's 0 ms"
        if n > 1 and math.isfinite(t0) and math.isfinite(t1) and t1 > t0:
            rate = (c1 - c0) / ((t1 - t0) / 1000)
            f.computed("frameRate", rate, f"the mean: {c1 - c0} frame intervals over "
                       f"{(t1 - t0) / 1000:g} s of timestamps (column 22, ms){replaced}")
        else:
            f.warn("no frame rate: the timestamps (column 22) do not rise from the first to "
                   "the last row")
        if not replaced and math.isfinite(t0) and t0 > _EPOCH_2000_MS:
            when = datetime.datetime.fromtimestamp(t0 / 1000, datetime.timezone.utc)
            f.started(when, Source.HEADER, "the first row's timestamp (column 22), a capture "
                      "time in ms since the epoch (UTC)")
        return [self.result(path, "BehavioralTracking", f)]


def parse_row(line: bytes) -> list[float] | None:
    """A FicTrac row's numbers, or None when the line is not one."""
    fields = line.strip(b"\r \t").split(b",")
    if len(fields) not in _COLUMNS or not fields[0].strip().isdigit():
        return None
    try:
        return [float(x) for x in fields]
    except ValueError:
        return None


def _is_number(text: bytes) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
