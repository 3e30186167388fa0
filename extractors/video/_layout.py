"""What our own parser finds in a container's structure, shared by the container
families, and the bounded file FFmpeg is given of a padded one."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

_TABLE_LIMIT = 256 * 2**20  # index tables larger than this are left to FFmpeg


@dataclass
class Layout:
    """What our own parser found in the container's structure (no sample data read)."""

    kind: str  # "mp4", "avi", "mkv", "ts", "other"
    format: str  # MP4, MOV, AVI, MKV, WebM, TS, ...
    format_detail: str
    indexed: bool = False  # a complete index is expected (MP4 sample table, AVI idx1/indx)
    index_name: str = ""
    damage: str = ""  # the structure promises more bytes than the file holds
    promised_frames: int | None = None
    promise_detail: str = ""
    rotation: float = 0.0
    notes: list[str] = field(default_factory=list)
    own: OwnIndex | None = None  # our reading of the index, where we could make one
    #: Where the data this parser understands ends, when bytes that are not part of the
    #: container follow (padding): FFmpeg is given the file up to here only.
    data_end: int | None = None
    data_end_detail: str = ""


@dataclass(frozen=True, slots=True)
class OwnIndex:
    """Our reading of an index: its frames, where their data ends, and whether a decoder
    shows every one of them (no edit list that trims, no empty chunks)."""

    n_frames: int
    data_end: int
    all_shown: bool
    #: Why the tables cannot be trusted (they disagree with each other or the file), or "".
    problem: str = ""
    #: Presentation times of the frames, sorted, in ticks of ``tick`` seconds (MP4).
    pts: Any = None
    tick: Fraction | None = None


class _Bounded:
    """A read-only file that ends at ``end``: what FFmpeg is given of a padded file."""

    def __init__(self, path: Path, end: int) -> None:
        self._fh = open(path, "rb")  # closed with the container
        self._end = end

    def read(self, n: int = -1) -> bytes:
        left = self._end - self._fh.tell()
        return self._fh.read(left if n < 0 else max(0, min(n, left)))

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 2:
            offset, whence = self._end + offset, 0
        return self._fh.seek(min(offset, self._end) if whence == 0 else offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def close(self) -> None:
        self._fh.close()


def _source(path: Path, layout: Layout) -> Any:
    """What PyAV opens: the path, or the file up to where its data ends."""
    return str(path) if layout.data_end is None else _Bounded(path, layout.data_end)
