"""Which container a file is, by its magic bytes, and its structure as its family's
parser reads it."""

from __future__ import annotations

from pathlib import Path

from bsingest.errors import ExtractionError

from ._layout import Layout
from .avi import _avi_layout
from .matroska import _mkv_layout
from .mp4 import _MP4_TOP, _mp4_layout
from .mpeg_flv import _after_zeros, _flv_end, _is_ts, _ps_end, _ts_layout


def read_layout(path: Path, size: int) -> Layout:
    """Identify the container by its magic bytes and read the structure we need."""
    with open(path, "rb") as fh:
        head = fh.read(512)
        if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI ":
            return _avi_layout(path, fh, size)
        if len(head) >= 8 and head[4:8] in _MP4_TOP:
            return _mp4_layout(path, fh, size, head)
        if head[:4] == b"\x1a\x45\xdf\xa3":
            return _mkv_layout(path, fh, size, head)
    if _is_ts(head, 188) or _is_ts(head[4:], 192):
        return _ts_layout(path, size, 188 if _is_ts(head, 188) else 192)
    if head[:4] == b"\x00\x00\x01\xba":
        return _after_zeros(path, size, Layout("other", "MPEG-PS", "MPEG program stream pack "
                                               "header"), _ps_end, "the end of the last pack")
    if head[:3] == b"FLV":
        return _after_zeros(path, size, Layout("other", "FLV", "'FLV' signature"), _flv_end,
                            "the end of the last tag")
    if head[:8] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11":
        fmt = "WMV" if path.suffix.lower() == ".wmv" else "ASF"
        return Layout("other", fmt, "ASF header object GUID")
    raise ExtractionError(path, f"not a video container (first bytes {head[:8].hex(' ')}; "
                          "expected MP4, MOV, AVI, MKV, WebM, TS, MPEG-PS, FLV or ASF)")
