"""AVI (RIFF): the header list (frame counts the headers promise, OpenDML index),
the chunk walk that finds the end of the RIFF data, and the idx1 index read vectorised."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from ._layout import _TABLE_LIMIT, Layout, OwnIndex


def _avi_layout(path: Path, fh: Any, size: int) -> Layout:
    lay = Layout("avi", "AVI", "RIFF 'AVI ' header")
    fh.seek(4)
    riff_size = struct.unpack("<I", fh.read(4))[0]
    if riff_size + 8 > size:
        lay.damage = f"the RIFF header declares {riff_size + 8} bytes, the file holds {size}"
    has_idx1 = has_indx = False
    total = length = odml = None
    stream = 0
    movi = idx1 = None
    pos = 12
    while pos + 8 <= size:
        fh.seek(pos)
        ck, n = struct.unpack("<4sI", fh.read(8))
        if not all(0x20 <= c < 0x7F for c in ck):
            # Not a chunk id (chunk ids are ASCII): zeros a recorder preallocated, or
            # garbage. Walking it 8 bytes at a time would read the whole tail, and FFmpeg
            # would scan it for a chunk: it is given the file up to here only.
            lay.data_end, lay.data_end_detail = pos, "the end of the last RIFF chunk"
            lay.notes.append(f"the {size - pos} bytes from byte {pos} on are not RIFF chunks "
                             "(the end of the last RIFF chunk): not read")
            break
        if ck == b"LIST":
            sub = fh.read(4)
            if sub == b"hdrl":
                hdrl = fh.read(max(0, min(n - 4, 1 << 20)))
                total, length, odml, has_indx, stream = _avi_hdrl(hdrl)
            elif sub == b"movi" and movi is None:
                movi = pos + 8  # idx1 offsets count from the 'movi' fourcc
        elif ck == b"idx1":
            has_idx1 = n > 0 and pos + 8 + n <= size
            idx1 = (pos + 8, n)
        elif ck == b"RIFF":  # OpenDML 'AVIX' extension: the rest of the file
            pass
        pos += 8 + n + (n & 1)
    if has_idx1 and not has_indx and movi is not None and idx1 is not None:
        lay.own = _avi_own_index(fh, idx1, movi, stream)
    if pos > size and not lay.damage:
        lay.damage = f"the last chunk ends {pos - size} bytes after the end of the file"
    lay.indexed = (has_idx1 or has_indx) and not lay.damage
    lay.index_name = "AVI OpenDML index (indx/ix##)" if has_indx else "AVI idx1 index"
    promised = odml or length or total
    if promised:
        lay.promised_frames = promised
        lay.promise_detail = ("OpenDML dmlh dwTotalFrames" if odml else
                              "the video stream header's dwLength" if length else
                              "avih dwTotalFrames")
    if not (has_idx1 or has_indx):
        lay.notes.append("no idx1 or OpenDML index")
    return lay


def _avi_hdrl(hdrl: bytes) -> tuple[int | None, int | None, int | None, bool, int]:
    """avih dwTotalFrames, the video strh dwLength, dmlh dwTotalFrames, has indx, and the
    video stream's number."""
    total = length = odml = None
    has_indx = False
    in_video = False
    streams = 0
    video = 0
    pos = 0
    while pos + 8 <= len(hdrl):
        ck, n = struct.unpack("<4sI", hdrl[pos:pos + 8])
        body = hdrl[pos + 8:pos + 8 + n]
        if ck == b"LIST":  # strl or odml: descend into it
            pos += 12
            continue
        if ck == b"avih" and len(body) >= 20:
            total = struct.unpack("<I", body[16:20])[0]
        elif ck == b"strh" and len(body) >= 36:
            in_video = body[:4] == b"vids"
            if in_video and length is None:
                length = struct.unpack("<I", body[32:36])[0]
                video = streams
            streams += 1
        elif ck == b"indx" and in_video:
            has_indx = True
        elif ck == b"dmlh" and len(body) >= 4:
            odml = struct.unpack("<I", body[:4])[0]
        pos += 8 + n + (n & 1)
    return total, length, odml, has_indx, video


def _avi_own_index(fh: Any, idx1: tuple[int, int], movi: int, stream: int) -> OwnIndex:
    """The video entries of an idx1 index (16 bytes each: id, flags, offset, size)."""
    import numpy as np

    start, n = idx1
    if n > _TABLE_LIMIT:
        return OwnIndex(0, 0, False)
    fh.seek(start)
    raw = fh.read(n)
    entries = np.frombuffer(raw, np.dtype([("id", "S4"), ("flags", "<u4"), ("off", "<u4"),
                                           ("size", "<u4")]), len(raw) // 16)
    ids = [f"{stream:02d}dc".encode(), f"{stream:02d}db".encode()]
    video = entries[np.isin(entries["id"], ids)]
    if len(video) == 0:
        return OwnIndex(0, 0, False)
    # Offsets count from the 'movi' fourcc, or (some writers) from the file's start.
    first = int(video["off"][0])
    base = None
    for candidate in (movi, 0):
        fh.seek(candidate + first)
        if fh.read(4) == video["id"][0]:
            base = candidate
            break
    if base is None:
        return OwnIndex(0, 0, False)
    end = int((video["off"].astype(np.int64) + base + 8 + video["size"]).max())
    # Empty chunks (a dropped frame, repeat the last) are left to FFmpeg's reading.
    return OwnIndex(len(video), end, bool((video["size"] > 0).all()))
