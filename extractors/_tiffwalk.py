"""Count a TIFF's pages by walking its IFD chain, without reading pixels or tags.

Why our own walk and not ``len(tifffile.TiffFile(path).pages)``: tifffile reads the
metadata of every format well and bsingest uses it for that (the first page's tags,
ScanImage, OME, ImageJ and Micro-Manager metadata), but its page walk is built to
salvage what it can, not to say that a file is damaged:

- an IFD offset past the end of the file, or a tag list cut short, is logged and the
  count silently stops there, so a damaged file would be reported with fewer frames;
- a loop in the chain is looked for only once, at the hundredth page: a chain that
  loops back after that walks on until 2**32 offsets (hours, and gigabytes of offsets).

This walk refuses both in one line naming the IFD and its offset, and costs the same or
less (``benchmarks/bench_tiff.py``: 50,000 ScanImage-like pages in a few tens of
milliseconds either way, with almost no memory here). It reads two small values per
page through a memory map: the tag count and the next IFD's offset. A 10 GB file with
the same number of pages costs the same as a 10 MB one.

Loops are caught without remembering every offset: a chain whose offsets only grow
cannot loop, so only offsets reached by a backward step are remembered, and a chain
that reaches one of them twice has looped (every IFD has one successor). Real writers
(ScanImage, tifffile, libtiff, ImageJ) place IFDs at growing offsets, so this set stays
empty; a crafted loop is caught within two laps.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

__all__ = ["TiffInfo", "TiffLayout", "count_pages", "is_tiff", "read_layout", "scan"]

#: Bytes per value of each TIFF field type (1 BYTE ... 18 IFD8); unknown types count 1.
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4,
               12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
#: More tags than any writer puts in one IFD (tifffile's limit, too).
MAX_TAGS = 4096


@dataclass(frozen=True, slots=True)
class TiffLayout:
    """A TIFF's byte order, flavour (classic or BigTIFF) and first IFD offset."""

    byteorder: str  # "<" or ">"
    bigtiff: bool
    first_ifd: int

    @property
    def count_format(self) -> str:
        return self.byteorder + ("Q" if self.bigtiff else "H")

    @property
    def offset_format(self) -> str:
        return self.byteorder + ("Q" if self.bigtiff else "I")

    @property
    def count_size(self) -> int:
        return 8 if self.bigtiff else 2

    @property
    def offset_size(self) -> int:
        return 8 if self.bigtiff else 4

    @property
    def tag_size(self) -> int:
        return 20 if self.bigtiff else 12


def is_tiff(head: bytes) -> bool:
    """Whether the first bytes are a TIFF or BigTIFF header (either byte order)."""
    return head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")


def read_layout(path: Path, head: bytes, size: int) -> TiffLayout:
    """The layout from the first 16 bytes; refuses what is not a TIFF header."""
    if len(head) < 8 or not is_tiff(head):
        raise ExtractionError(path, "not a TIFF file (no II*/MM* header)")
    bo = "<" if head[:2] == b"II" else ">"
    if head[2:4] in (b"+\0", b"\0+"):
        if len(head) < 16:
            raise ExtractionError(path, f"{size} bytes is too short for a BigTIFF header")
        offset_size, zero = struct.unpack(bo + "HH", head[4:8])
        if offset_size != 8 or zero != 0:
            raise ExtractionError(path, f"BigTIFF header states {offset_size}-byte offsets, "
                                  "not 8: damaged header")
        first = struct.unpack(bo + "Q", head[8:16])[0]
        return TiffLayout(bo, True, first)
    return TiffLayout(bo, False, struct.unpack(bo + "I", head[4:8])[0])


@dataclass(frozen=True, slots=True)
class TiffInfo:
    """What bsingest reads of a TIFF: its layout, page count and the first page's tags.

    ``tags`` maps tag codes to values: a number for a single SHORT/LONG/LONG8, a tuple of
    numbers for several (RATIONAL as numerator, denominator pairs), ``str`` for ASCII,
    ``bytes`` for BYTE/UNDEFINED.
    """

    layout: TiffLayout
    pages: int
    tags: dict[int, Any]
    size: int
    #: Whether the last page's pixel data (strips or tiles) ends past the end of the
    #: file: a recording cut short while it was written.
    last_cut: bool = False

    def text(self, code: int) -> str:
        """An ASCII tag of the first page ("" when absent or not text)."""
        value = self.tags.get(code)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return value.rstrip("\0") if isinstance(value, str) else ""

    @property
    def complete_pages(self) -> int:
        """Pages whose pixel data is whole (the last one is not when the file was cut)."""
        return self.pages - 1 if self.last_cut else self.pages

    def number(self, code: int) -> int | None:
        value = self.tags.get(code)
        if isinstance(value, tuple) and len(value) == 1:
            value = value[0]
        return value if isinstance(value, int) else None


def count_pages(path: Path) -> int:
    """The number of IFDs (pages) in the TIFF at ``path`` (see :func:`scan`)."""
    return scan(path).pages


def scan(path: Path, *, tag_limit: int = 64 * 2**20) -> TiffInfo:
    """Walk the TIFF at ``path``: its page count and its first page's tags.

    Every IFD must lie inside the file with a tag count from 1 to :data:`MAX_TAGS`, and
    the chain must not loop; the first IFD's tag values must lie inside the file and be
    at most ``tag_limit`` bytes each. Anything else is an :class:`ExtractionError` naming
    the IFD, its offset and the file size.
    """
    size = os.stat(path).st_size
    with open(path, "rb") as fh:
        head = fh.read(16)
        layout = read_layout(path, head, size)
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            pages, tags, last = _walk(path, mm, size, layout, tag_limit)
            try:
                last_tags = (tags if last == layout.first_ifd else
                             _read_tags(path, mm, size, layout, last, tag_limit, f"{pages - 1}"))
                cut = _data_end(last_tags) > size
            except ExtractionError:  # the last page's strip table is cut off too
                cut = True
    return TiffInfo(layout, pages, tags, size, cut)


def _data_end(tags: dict[int, Any]) -> int:
    """Where a page's pixel data ends: the furthest strip or tile (offset + byte count)."""
    for offsets_tag, counts_tag in ((273, 279), (324, 325)):
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None or counts is None:
            continue
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        if offsets and len(offsets) == len(counts) and all(
                isinstance(v, int) for v in offsets + counts):
            return max(o + c for o, c in zip(offsets, counts, strict=True))
    return 0


def _walk(path: Path, mm: mmap.mmap, size: int, t: TiffLayout, tag_limit: int
          ) -> tuple[int, dict[int, Any], int]:
    unpack_from = struct.unpack_from
    cfmt, ofmt = t.count_format, t.offset_format
    csize, osize, tsize = t.count_size, t.offset_size, t.tag_size
    header_end = 16 if t.bigtiff else 8
    offset = t.first_ifd
    if offset == 0:
        raise ExtractionError(path, "the TIFF header points at no image (first IFD offset 0)")
    backward: set[int] = set()  # offsets reached by a backward step (see module docstring)
    previous = 0
    n = 0
    tags: dict[int, Any] = {}
    while offset:
        if offset < header_end or offset + csize > size:
            raise ExtractionError(path, f"IFD {n} offset {offset} points "
                                  f"{'into the header' if offset < header_end else 'past the end'}"
                                  f" of the file ({size} bytes): damaged or truncated TIFF")
        if offset <= previous:
            if offset in backward:
                raise ExtractionError(path, f"IFD chain loops: IFD {n} at offset {offset} was "
                                      "already read: damaged TIFF")
            backward.add(offset)
        n_tags = unpack_from(cfmt, mm, offset)[0]
        end = offset + csize + n_tags * tsize + osize
        if not 1 <= n_tags <= MAX_TAGS:
            raise ExtractionError(path, f"IFD {n} at offset {offset} has {n_tags} tags, not 1 "
                                  f"to {MAX_TAGS}: damaged TIFF")
        if end > size:
            raise ExtractionError(path, f"IFD {n} at offset {offset} ({n_tags} tags) runs past "
                                  f"the end of the file ({size} bytes): truncated TIFF")
        if n == 0:
            tags = _read_tags(path, mm, size, t, offset, tag_limit)
        previous = offset
        offset = unpack_from(ofmt, mm, end - osize)[0]
        n += 1
    return n, tags, previous


def _read_tags(path: Path, mm: mmap.mmap, size: int, t: TiffLayout, ifd: int,
               limit: int, label: str = "0") -> dict[int, Any]:
    """The tags of one IFD; every value must lie inside the file (values longer than the
    inline field are stored at an offset) and be at most ``limit`` bytes."""
    fmt = t.byteorder + ("HHQQ" if t.bigtiff else "HHII")
    inline = t.offset_size
    n_tags = struct.unpack_from(t.count_format, mm, ifd)[0]
    out: dict[int, Any] = {}
    for i in range(n_tags):
        entry = ifd + t.count_size + i * t.tag_size
        code, dtype, count, value = struct.unpack_from(fmt, mm, entry)
        item = _TYPE_SIZES.get(dtype, 1)
        nbytes = count * item
        if nbytes > limit:
            raise ExtractionError(path, f"IFD {label} tag {code} declares {nbytes} bytes, more "
                                  f"than the {limit // 2**20} MiB a tag holds: damaged TIFF")
        if nbytes <= inline:
            start = entry + 4 + (8 if t.bigtiff else 4)
        else:
            if value + nbytes > size:
                raise ExtractionError(path, f"IFD {label} tag {code} holds {nbytes} bytes at "
                                      f"offset {value}, past the end of the file ({size} bytes): "
                                      "damaged or truncated TIFF")
            start = value
        raw = mm[start:start + nbytes]
        out[code] = _decode(raw, dtype, count, t.byteorder)
    return out


_NUMBER_FORMATS = {3: "H", 4: "I", 8: "h", 9: "i", 11: "f", 12: "d", 13: "I", 16: "Q",
                   17: "q", 18: "Q"}


def _decode(raw: bytes, dtype: int, count: int, bo: str) -> Any:
    if dtype == 2:  # ASCII: NUL-terminated; ScanImage and OME write UTF-8 into it
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
    if dtype in (5, 10):  # RATIONAL, SRATIONAL: pairs
        values = struct.unpack(bo + ("I" if dtype == 5 else "i") * (2 * count), raw)
        return tuple(values)
    fmt = _NUMBER_FORMATS.get(dtype)
    if fmt is None:
        return bytes(raw)
    values = struct.unpack(bo + fmt * count, raw)
    return values[0] if count == 1 else tuple(values)
