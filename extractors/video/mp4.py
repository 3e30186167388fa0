"""MP4 and MOV (ISO base media): the boxes, the video track's sample tables read
vectorised with numpy and checked against each other and the file, the edit list and the
display rotation."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from ._layout import _TABLE_LIMIT, Layout, OwnIndex

_MP4_TOP = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"uuid", b"styp"}


def _boxes(fh: Any, start: int, end: int, size: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, box start, payload start, box end) of the ISO-BMFF boxes in [start, end)."""
    pos = start
    while pos + 8 <= end:
        fh.seek(pos)
        hdr = fh.read(16)
        if len(hdr) < 8:
            return
        n, kind = struct.unpack(">I4s", hdr[:8])
        payload = pos + 8
        if n == 1:
            if len(hdr) < 16:
                return
            n = struct.unpack(">Q", hdr[8:16])[0]
            payload = pos + 16
        elif n == 0:  # the box runs to the end of the file
            n = size - pos
        if n < payload - pos:
            return
        yield kind, pos, payload, pos + n
        pos += n


def _mp4_layout(path: Path, fh: Any, size: int, head: bytes) -> Layout:
    brand = head[8:12] if head[4:8] == b"ftyp" else b""
    fmt = "MOV" if brand == b"qt  " or (not brand and path.suffix.lower() == ".mov") else "MP4"
    where = f"ISO base media boxes, ftyp brand {brand.decode('latin-1')!r}" if brand else \
        "ISO base media boxes (no ftyp: QuickTime)"
    lay = Layout("mp4", fmt, where)
    top = list(_boxes(fh, 0, size, size))
    kinds = [k for k, *_ in top]
    if b"moof" in kinds:
        lay.notes.append("fragmented MP4 (moof boxes): the sample table does not hold every frame")
    over = [(k, s, e) for k, s, _, e in top if e > size]
    if over:
        k, s, e = over[-1]
        lay.damage = (f"the '{k.decode('latin-1')}' box at byte {s} declares {e - s} bytes, "
                      f"the file ends {e - size} bytes short")
    moov = next(((p, e) for k, _, p, e in top if k == b"moov"), None)
    if moov is None:
        raise ExtractionError(path, "no 'moov' box (the sample table): a recording that was "
                              "not finalized; no frames can be located")
    lay.indexed = b"moof" not in kinds
    lay.index_name = "MP4 sample table (stsz/stsc/stco, stts/ctts, edit list)"
    movie_ts = 0
    for kind, _, p, e in _boxes(fh, moov[0], min(moov[1], size), size):
        if kind == b"mvhd":
            fh.seek(p)
            mvhd = fh.read(24)
            ts = mvhd[20:24] if mvhd[:1] == b"\x01" else mvhd[12:16]
            movie_ts = struct.unpack(">I", ts)[0] if len(ts) == 4 else 0
        elif kind == b"mvex":
            lay.indexed = False
            lay.notes.append("fragmented MP4 (mvex box)")
        elif kind == b"trak" and lay.own is None:
            b: dict[bytes, bytes] = {}
            _trak_boxes(fh, p, min(e, size), size, b)
            if b.get(b"hdlr", b"")[8:12] != b"vide":
                continue
            lay.rotation = _rotation(b.get(b"tkhd", b""))
            lay.own = _mp4_own_index(b, movie_ts, size) or OwnIndex(0, 0, False)
    return lay


_TRAK_CONTAINERS = {b"trak", b"mdia", b"minf", b"stbl", b"edts"}
_TRAK_LEAVES = {b"tkhd", b"hdlr", b"mdhd", b"elst", b"stsz", b"stco", b"co64", b"stsc",
                b"stts", b"ctts"}


def _trak_boxes(fh: Any, start: int, end: int, size: int, out: dict[bytes, bytes]) -> None:
    """Collect the payloads of the boxes we read from one trak (nested containers walked)."""
    for kind, _, p, e in _boxes(fh, start, end, size):
        if kind in _TRAK_CONTAINERS:
            _trak_boxes(fh, p, min(e, size), size, out)
        elif kind in _TRAK_LEAVES and kind not in out and e - p <= _TABLE_LIMIT:
            fh.seek(p)
            out[kind] = fh.read(min(e, size) - p)


def _rotation(tkhd: bytes) -> float:
    """The display rotation in tkhd's matrix, in degrees clockwise."""
    # version 0: flags, creation, modification, track id, reserved, duration (24 bytes),
    # then reserved (8), layer, group, volume, reserved (8); version 1 has 12 more.
    off = 4 + (32 if tkhd[:1] == b"\x01" else 20) + 8 + 8
    if len(tkhd) < off + 36:
        return 0.0
    a, b = struct.unpack(">ii", tkhd[off:off + 8])
    return float(round(math.degrees(math.atan2(b, a))) % 360)


def _mp4_own_index(b: dict[bytes, bytes], movie_ts: int, size: int) -> OwnIndex | None:
    """Frames and data end from stsz/stsc/stco, vectorised; the tables are checked against
    each other and the file size before anything is allocated from their counts. None when
    a table is missing (FFmpeg decides); ``problem`` set when they disagree."""
    import numpy as np

    if not all(k in b for k in (b"stsz", b"stsc", b"stts")) or not (b"stco" in b or b"co64" in b):
        return None

    def damaged(problem: str) -> OwnIndex:
        return OwnIndex(0, 0, False, problem)

    stsz, stsc_box, stts_box = b[b"stsz"], b[b"stsc"], b[b"stts"]
    co = b.get(b"stco") or b[b"co64"]
    wide = b"stco" not in b
    if min(len(stsz), len(co), len(stsc_box), len(stts_box)) < 8 or len(stsz) < 12:
        return damaged("a sample table box shorter than its header")
    sample_size, count = struct.unpack(">II", stsz[4:12])
    (n_chunks,) = struct.unpack(">I", co[4:8])
    (n_stsc,) = struct.unpack(">I", stsc_box[4:8])
    (n_stts,) = struct.unpack(">I", stts_box[4:8])
    # Every count against the bytes that must hold it: a table cannot list more entries
    # than its box holds, nor more sample bytes than the file.
    for name, n, each, box in ((b"stsz", count if not sample_size else 0, 4, stsz),
                               (b"stco" if not wide else b"co64", n_chunks, 8 if wide else 4, co),
                               (b"stsc", n_stsc, 12, stsc_box), (b"stts", n_stts, 8, stts_box)):
        start = 12 if name == b"stsz" else 8
        if start + n * each > len(box):
            return damaged(f"{name.decode()} declares {n} entries in {len(box)} bytes")
    if sample_size and count * sample_size > size:
        return damaged(f"stsz declares {count} samples of {sample_size} bytes, more than the "
                       f"file's {size} bytes")
    mdhd = b.get(b"mdhd", b"")
    media_ts = struct.unpack(">I", mdhd[20:24] if mdhd[:1] == b"\x01" else mdhd[12:16])[0] \
        if len(mdhd) >= 24 else None
    if media_ts == 0:
        return damaged("mdhd timescale is 0: the track has no time base")
    if count == 0 or n_chunks == 0 or n_stsc == 0:
        return damaged(f"stsz lists {count} samples in {n_chunks} chunks with {n_stsc} "
                       "stsc entries")
    sizes = (np.full(count, sample_size, np.int64) if sample_size else
             np.frombuffer(stsz, ">u4", count, 12).astype(np.int64))
    offsets = np.frombuffer(co, ">u8" if wide else ">u4", n_chunks, 8).astype(np.int64)
    stsc = np.frombuffer(stsc_box, ">u4", 3 * n_stsc, 8).reshape(n_stsc, 3).astype(np.int64)
    stts = np.frombuffer(stts_box, ">u4", 2 * n_stts, 8).reshape(n_stts, 2).astype(np.int64)
    if int(stts[:, 0].sum()) != count:
        return damaged(f"stts times {int(stts[:, 0].sum())} samples, stsz lists {count}")
    if stsc[0, 0] != 1 or (np.diff(stsc[:, 0]) <= 0).any() or stsc[-1, 0] > n_chunks:
        return damaged("stsc's first chunks do not rise from chunk 1 within the chunk table")
    # Samples per chunk: each stsc entry holds from its first chunk to the next entry's.
    per_chunk = stsc[np.searchsorted(stsc[:, 0], np.arange(1, n_chunks + 1), "right") - 1, 1]
    if int(per_chunk.sum()) != count:
        return damaged(f"stsc places {int(per_chunk.sum())} samples in {n_chunks} chunks, "
                       f"stsz lists {count}")
    firsts = np.concatenate(([0], np.cumsum(per_chunk)[:-1]))
    cum = np.concatenate(([0], np.cumsum(sizes)))
    data_end = int((offsets + cum[firsts + per_chunk] - cum[firsts]).max())
    pts = np.concatenate(([0], np.cumsum(np.repeat(stts[:, 1], stts[:, 0]))[:-1]))
    ctts = b.get(b"ctts", b"")
    if len(ctts) >= 8:
        n_ctts = struct.unpack(">I", ctts[4:8])[0]
        if 8 + 8 * n_ctts <= len(ctts):
            pairs = np.frombuffer(ctts, ">u4", 2 * n_ctts, 8).reshape(n_ctts, 2).astype(np.int64)
            if int(pairs[:, 0].sum()) == count:
                shifts = pairs[:, 1].astype(np.uint32).astype(np.int32)  # version 1: signed
                pts = pts + np.repeat(shifts.astype(np.int64), pairs[:, 0])
    tick = Fraction(1, media_ts) if media_ts else None
    try:
        keeps_all = _edit_keeps_all(b, stts, count, movie_ts)
    except (ValueError, struct.error):
        keeps_all = False  # a damaged edit list or ctts: FFmpeg's index decides
    return OwnIndex(count, data_end, keeps_all, "", np.sort(pts), tick)


def _edit_keeps_all(b: dict[bytes, bytes], stts: Any, count: int, movie_ts: int) -> bool:
    """True when no edit list trims a frame: none, or one edit spanning every frame's
    presentation time (what a muxer writes to hide B-frame delay). Anything else is left
    to FFmpeg's own edit-list code (PyAV's index entries)."""
    import numpy as np

    elst = b.get(b"elst")
    if elst is None:
        return True
    n = struct.unpack(">I", elst[4:8])[0]
    fmt, step = (">QqI", 20) if elst[:1] == b"\x01" else (">IiI", 12)
    try:
        edits = [struct.unpack(fmt, elst[8 + i * step:8 + (i + 1) * step])[:2] for i in range(n)]
    except struct.error:
        return False
    while edits and edits[0][1] == -1:  # leading empty edits only delay the start
        edits.pop(0)
    if len(edits) != 1 or b"mdhd" not in b or movie_ts <= 0:
        return False
    duration, media_time = edits[0]
    mdhd = b[b"mdhd"]
    media_ts = struct.unpack(">I", mdhd[20:24] if mdhd[:1] == b"\x01" else mdhd[12:16])[0]
    dts = np.concatenate(([0], np.cumsum(np.repeat(stts[:, 1], stts[:, 0]))[:-1]))
    cts = dts
    if b"ctts" in b:
        ctts = b[b"ctts"]
        n_ctts = struct.unpack(">I", ctts[4:8])[0]
        pairs = np.frombuffer(ctts, ">u4", 2 * n_ctts, 8).reshape(n_ctts, 2)
        shifts = pairs[:, 1].astype(np.int64)
        if pairs[:, 0].sum() != count or (shifts >= 2**31).any():
            return False  # negative composition offsets: FFmpeg shifts them its own way
        cts = dts + np.repeat(shifts, pairs[:, 0].astype(np.int64))
    end = media_time + duration * media_ts // movie_ts
    return duration > 0 and int(cts.min()) >= media_time and int(cts.max()) < end
