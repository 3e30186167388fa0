"""Matroska and WebM (EBML): the Segment's declared size (a file cut short, or the
end of the data when padding follows) and, for a Segment of unknown size, a walk of its
top-level elements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._layout import Layout


def _mkv_layout(path: Path, fh: Any, size: int, head: bytes) -> Layout:
    webm = b"webm" in head[:64]
    lay = Layout("mkv", "WebM" if webm else "MKV",
                 f"EBML header, DocType {'webm' if webm else 'matroska'}")
    # The Segment's declared size tells whether the file was cut short, or where the
    # Matroska data ends when something follows it.
    fh.seek(4)
    pos = 4
    hsize, n = _vint(fh.read(8))
    if hsize is None:
        return lay  # a malformed EBML header: FFmpeg will say so
    pos += n + hsize
    fh.seek(pos)
    if fh.read(4) != b"\x18\x53\x80\x67":
        return lay
    seg_size, n = _vint(fh.read(8))
    body = pos + 4 + n
    if seg_size is not None and body + seg_size > size:
        lay.damage = (f"the Segment declares {seg_size} bytes, the file ends "
                      f"{body + seg_size - size} bytes short")
        return lay
    if seg_size is not None:
        end, how = body + seg_size, "the end of the Segment its header declares"
    else:
        end, how = _mkv_walk(fh, body, size)
    if end < size:
        # Padding (zeros a recorder preallocated) or junk after the Matroska data: FFmpeg
        # would scan all of it for a cluster (42 s for 2 GB), so it never sees it.
        lay.data_end, lay.data_end_detail = end, how
        lay.notes.append(f"the {size - end} bytes from byte {end} on are not Matroska data "
                         f"({how}): not read")
    return lay


# Top-level elements of a Segment (SeekHead, Info, Tracks, Cluster, Cues, Attachments,
# Chapters, Tags, Void, CRC-32).
_MKV_TOP = {0x114D9B74, 0x1549A966, 0x1654AE6B, 0x1F43B675, 0x1C53BB6B, 0x1941A469,
            0x1043A770, 0x1254C367, 0xEC, 0xBF}
_MKV_WALK_LIMIT = 1_000_000


def _mkv_walk(fh: Any, pos: int, size: int) -> tuple[int, str]:
    """The end of a Segment of unknown size (a recording not finalized): its top-level
    elements walked by their sizes, one read each, up to the first that is not one; an
    element of unknown size (a live cluster) ends the walk at the end of the file."""
    for _ in range(_MKV_WALK_LIMIT):
        if pos >= size:
            return size, ""
        fh.seek(pos)
        raw = fh.read(12)
        ident, n_id = _element_id(raw)
        if ident not in _MKV_TOP:
            return pos, "the first bytes after the Segment's last element that are no element"
        length, n_size = _vint(raw[n_id:n_id + 8])
        if length is None:
            return size, ""
        pos += n_id + n_size + length
    return size, ""


def _element_id(raw: bytes) -> tuple[int | None, int]:
    """An EBML element ID (its marker bits kept) and its length, or None."""
    if not raw or raw[0] < 0x10:
        return None, 1
    n = 8 - raw[0].bit_length() + 1
    if n > 4 or len(raw) < n:
        return None, 1
    return int.from_bytes(raw[:n], "big"), n


def _vint(data: bytes) -> tuple[int | None, int]:
    """An EBML variable-size integer: (value or None for 'unknown size', its length)."""
    if not data or data[0] == 0:
        return None, 1
    n = 8 - data[0].bit_length() + 1
    value = data[0] & ((1 << (8 - n)) - 1)
    for b in data[1:n]:
        value = (value << 8) | b
    return (None if value == (1 << (7 * n)) - 1 else value), n
