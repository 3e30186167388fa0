"""Inscopix ``.isxd`` movies (nVista, nVoke: Inscopix Data Acquisition Software, IDPS).

An ``.isxd`` file is the frames, then a JSON header, a NUL byte, and the header's length
as a little-endian unsigned 64-bit integer in the last 8 bytes (``isxcore`` writes it
so; ``isx.Movie.read`` reads it from the end the same way). The header gives:

- ``timingInfo``: ``numTimes`` (frames, dropped ones included), ``period`` as a fraction
  of seconds (``{"num": 179973, "den": 1000000}``), ``start`` (``secsSinceEpoch`` as a
  fraction, ``utcOffset`` in seconds), and lists of ``dropped``/``cropped``/``blank``
  frames;
- ``spacingInfo.numPixels`` ``x``/``y`` (width, height) and ``pixelSize`` (µm on the
  sensor, binned: not a tissue voxel size, so not ``xVoxelSize``);
- ``dataType`` (0: uint16, 1: float32, 2: uint8), ``type`` (0: a movie), and
  ``hasFrameHeaderFooter`` (extra rows around each frame in raw nVista files).

One ``Miniscope`` record per movie: ``frameRate`` = 1 / period, ``nFrames`` =
``numTimes``, resolution from ``numPixels``. The frames' bytes are checked against the
header (``numTimes`` x width x height x bytes per pixel; a lower bound where frames carry
header and footer rows): fewer is a warning (a truncated copy), never a silent count. LED powers
(``exPower`` in mW/mm² settings of the microscope) are not ``laserPower``.

Our own reader: the footer is 8 bytes and a JSON text, so neither ``isx`` (a binary wheel
for a few platforms) nor h5py is needed. Cost: two reads at the end of the file, the same
for 1 MB and 100 GB. The header length is checked against the file size before it is
read, and a header over 16 MiB is refused (IDPS writes tens of kB).
"""

from __future__ import annotations

import datetime
import json
import os
import struct
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import Extraction, Extractor, Fields, Source

__all__ = ["InscopixExtractor", "read_footer"]

_HEADER_LIMIT = 16 << 20
#: dataType -> (name, bytes per pixel)
_DATA_TYPES = {0: ("uint16", 2), 1: ("float32", 4), 2: ("uint8", 1)}
_FILE_TYPES = {0: "movie", 1: "cell set", 2: "image", 3: "event set", 4: "GPIO set",
               5: "vessel set"}


class InscopixExtractor(Extractor):
    """Inscopix ``.isxd`` movies: frame period, frame count and size from the JSON footer."""

    name = "inscopix"
    suffixes = (".isxd",)
    record_types = ("Miniscope",)

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        size = os.stat(path).st_size
        header, header_bytes = read_footer(path, size)
        kind = header.get("type")
        if kind not in (0, None) or not isinstance(header.get("timingInfo"), Mapping):
            what = _FILE_TYPES.get(kind, f"type {kind!r}") if isinstance(kind, int) else \
                f"type {kind!r}"
            raise ExtractionError(path, f"an Inscopix {what}, not a movie: no recording to "
                                  "describe")
        f = Fields()
        name, _ = _dtype(header)
        pixels_are = f"; {name} pixels" if name else ""
        f.header("format", "Inscopix .isxd movie",
                 f"JSON footer (fileVersion {header.get('fileVersion')!r}, "
                 f"{_producer(header)}{pixels_are})")
        timing, spacing = header["timingInfo"], header.get("spacingInfo")
        n = _count(path, timing.get("numTimes"), "timingInfo.numTimes")
        f.header("nFrames", n, "footer timingInfo.numTimes")
        period = _fraction(timing.get("period"))
        if period is None or period <= 0:
            raise ExtractionError(path, f"footer timingInfo.period {timing.get('period')!r} "
                                  "is not a positive fraction of seconds")
        f.computed("frameRate", float(1 / period),
                   f"1 / footer timingInfo.period ({period.numerator}/{period.denominator} s)")
        pixels = spacing.get("numPixels") if isinstance(spacing, Mapping) else None
        if not isinstance(pixels, Mapping):
            raise ExtractionError(path, "footer has no spacingInfo.numPixels: frame size "
                                  "unknown")
        width = _count(path, pixels.get("x"), "spacingInfo.numPixels.x")
        height = _count(path, pixels.get("y"), "spacingInfo.numPixels.y")
        f.header("horizontalResolution", width, "footer spacingInfo.numPixels.x")
        f.header("verticalResolution", height, "footer spacingInfo.numPixels.y")
        _check_size(f, header, n, width, height, size - header_bytes)
        _gaps(f, timing)
        _started(f, timing)
        return [self.result(path, "Miniscope", f)]


def read_footer(path: Path, size: int) -> tuple[dict[str, Any], int]:
    """(the JSON header, its bytes with the NUL and the length) from the end of ``path``."""
    if size < 10:
        raise ExtractionError(path, f"{size} bytes: too short for an .isxd footer")
    with open(path, "rb") as fh:
        fh.seek(size - 8)
        (length,) = struct.unpack("<Q", fh.read(8))
        if length == 0 or length + 9 > size:
            raise ExtractionError(path, f"footer says its JSON header is {length} bytes, "
                                  f"but the file holds {size}: not an .isxd file, or "
                                  "truncated")
        if length > _HEADER_LIMIT:
            raise ExtractionError(path, f"footer says its JSON header is {length} bytes: "
                                  f"over the {_HEADER_LIMIT >> 20} MiB an .isxd header "
                                  "takes; damaged")
        fh.seek(size - 9 - length)
        raw = fh.read(length + 1)
    text, nul = raw[:-1], raw[-1:]
    if nul != b"\0":
        # isxcore ends the header with a NUL; without it the length is off.
        raise ExtractionError(path, "no NUL byte after the JSON header the footer points "
                              "at: not an .isxd file, or damaged")
    try:
        header = json.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ExtractionError(path, f"JSON header is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ExtractionError(path, f"JSON header is not JSON ({exc.msg}, line "
                              f"{exc.lineno})") from None
    except RecursionError:
        raise ExtractionError(path, "JSON header nested too deeply") from None
    except ValueError as exc:  # an integer of thousands of digits (int_max_str_digits)
        raise ExtractionError(path, f"JSON header is not usable ({exc})") from None
    if not isinstance(header, dict):
        raise ExtractionError(path, "JSON header is not an object")
    return header, length + 9


def _count(path: Path, value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**53:
        raise ExtractionError(path, f"footer {where} {value!r} is not a count")
    return value


def _fraction(value: Any) -> Fraction | None:
    if not isinstance(value, Mapping):
        return None
    num, den = value.get("num"), value.get("den")
    if not (isinstance(num, int) and isinstance(den, int)) or isinstance(num, bool) \
            or isinstance(den, bool) or not den:
        return None
    return Fraction(num, den)


def _producer(header: Mapping[str, Any]) -> str:
    p = header.get("producer")
    if isinstance(p, Mapping):
        version = p.get("version")
        if isinstance(version, list):
            version = ".".join(str(v) for v in version)
        return f"written by {p.get('name')} {version}"
    return "writer not stated"


def _check_size(f: Fields, header: Mapping[str, Any], n: int, width: int, height: int,
                data: int) -> None:
    name, itemsize = _dtype(header)
    if name is None:
        f.warn(f"footer dataType {header.get('dataType')!r} is not one bsingest knows: frame "
               "bytes not checked")
        return
    # With hasFrameHeaderFooter each frame carries extra rows on disk: the pixels alone
    # are then a lower bound, which still finds a truncated copy.
    rows = height
    frame = rows * width * itemsize
    timing = header["timingInfo"]
    dropped = timing.get("dropped")
    stored = n - (len(dropped) if isinstance(dropped, list) else 0)
    if frame and data < stored * frame and data < n * frame:
        whole = data // frame
        f.warn(f"the file holds {data} bytes of frames, {whole} whole {width}x{rows} {name} "
               f"frames, but the footer promises {n}: truncated")


def _dtype(header: Mapping[str, Any]) -> tuple[str | None, int]:
    """(pixel type name, bytes per pixel) of the footer's ``dataType``; (None, 0) unknown."""
    dtype = header.get("dataType")
    if isinstance(dtype, bool) or not isinstance(dtype, int):
        return None, 0
    return _DATA_TYPES.get(dtype, (None, 0))


def _gaps(f: Fields, timing: Mapping[str, Any]) -> None:
    for key in ("dropped", "cropped", "blank"):
        frames = timing.get(key)
        if isinstance(frames, list) and frames:
            f.warn(f"{len(frames)} {key} frame(s) listed in the footer (timingInfo.{key}): "
                   "counted in nFrames, without image data of their own")


def _started(f: Fields, timing: Mapping[str, Any]) -> None:
    start = timing.get("start")
    if not isinstance(start, Mapping):
        return
    secs = _fraction(start.get("secsSinceEpoch"))
    offset = start.get("utcOffset", 0)
    if secs is None or secs <= 0 or isinstance(offset, bool) or not isinstance(offset, int) \
            or abs(offset) > 86400:
        return
    try:
        zone = datetime.timezone(datetime.timedelta(seconds=offset))
        when = datetime.datetime.fromtimestamp(float(secs), zone)
    except (OverflowError, OSError, ValueError):
        return
    f.started(when, Source.HEADER, "footer timingInfo.start secsSinceEpoch (UTC) with its "
              "utcOffset")
