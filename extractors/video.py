"""Video files (MP4, MOV, AVI, MKV, WebM, TS, ...) as BehavioralTracking records.

``nFrames`` is the number of frames a decoder shows, got at the lowest cost that is
still exact, in three tiers (the provenance of ``nFrames`` names the tier):

1. **container index** (MP4/MOV sample tables, AVI ``idx1`` / OpenDML ``indx``), after
   checking that every frame's data lies inside the file. We read ``stsz``/``stsc``/
   ``stco``/``stts``/``ctts``/``elst`` (or ``idx1``) ourselves, vectorised with numpy, and
   use that count when FFmpeg's index (PyAV ``stream.index_entries``, built when the file
   is opened) has as many entries and no edit list trims a frame. Where an edit list
   does trim (``ffmpeg -ss ... -c copy`` output), the count is FFmpeg's own: its
   ``mov_fix_index`` drops frames after an edit and flags those before it *discard*, and
   we count the entries not discarded (its edit-list rules have too many special cases
   to copy). Cost for 20,000 frames: ~2.5 ms, 1/130 to 1/500 of OpenCV's ``grab()``
   loop, the same for 1 MB and 1 TB of frame data (``benchmarks/bench_video.py``).
2. **demux pass** where there is no index or it cannot be trusted (MKV, WebM, TS,
   fragmented MP4, an AVI without index, a truncated file): PyAV ``container.demux()``
   reads packets without decoding them; one packet is one frame. ~70 ms for 20,000
   frames of MKV, 0.75x ``ffprobe -count_packets``.
3. **decode** only where packets and shown frames can differ: packets flagged
   discarded or corrupt, MPEG-4 Part 2 in AVI with packed B-frames or N-VOPs, and the
   last group of pictures of a damaged file (decoded from its keyframe to measure
   what the damaged tail still shows).

What the default count promises: the frames the container stores (index entries, or
packets), not decoded; a frame whose data cannot be decoded still counts, and the
provenance says so. ``extract --verify`` (``verify=True``) decodes every frame and, where
the counts differ, gives the decoded count with a warning stating both.

The sample tables are checked against each other and the file before use (an ``stsz``
count its box cannot hold, ``stsc`` runs that place more samples than ``stsz`` lists,
``mdhd`` timescale 0): tables that disagree are a warning naming the disagreement, and
the count is what FFmpeg's reading of them shows. Bytes after the Matroska Segment (a
recorder's preallocated zeros) are never handed to FFmpeg, which would scan them all.

``frameRate``: the declared average when every frame's timestamp lies within one tick of
the container's timestamp resolution (1 ms in MKV, WebM, ASF) of it; else the simplest
rate they all fit (150, not the 150.05 that one second of millisecond timestamps gives);
else the stream has a variable rate and gets the mean, ``(frames - 1) / (last - first
timestamp)``: the same for its MP4 and MKV copies, whatever each stores as the last
frame's duration. The start is the container's creation time (MP4 ``mvhd``, MKV
``DateUTC``, AVI ``IDIT``), none when it is zero.

Choice of reader: PyAV (``av``) beside a small parser of our own for the container
structure. PyAV bundles FFmpeg, so its index, packets and frames are those of the
decoder that defines "frames shown" (ffprobe ``-count_frames`` agrees); it demuxes
without decoding and exposes the discard/corrupt flags; it gives codec, frame size and
average rate. Walking its index costs ~0.2 µs per entry in Python, hence our own
vectorised reading for the common case. Our parser also reads what PyAV does not
expose: whether the MP4 is fragmented, the track's display matrix (rotation), whether
the AVI has an index, the frame counts the headers promise, and whether the file is
shorter than its structure says. OpenCV is not used: its ``CAP_PROP_FRAME_COUNT`` is a
header value or duration x fps.
"""

from __future__ import annotations

import datetime
import math
import os
import re
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import Claim, Extraction, Extractor, Fields, Source

__all__ = ["VIDEO_SUFFIXES", "Layout", "VideoExtractor", "read_layout"]

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".ts", ".mts", ".m2ts",
                  ".mpg", ".mpeg", ".flv", ".wmv", ".asf", ".3gp")

# FFmpeg codec names -> the names a user knows.
_CODECS = {
    "h264": "H.264", "hevc": "HEVC", "mjpeg": "MJPEG", "mpeg4": "MPEG-4", "ffv1": "FFV1",
    "prores": "ProRes", "vp9": "VP9", "libvpx-vp9": "VP9", "vp8": "VP8", "libvpx": "VP8",
    "av1": "AV1", "libdav1d": "AV1", "libaom-av1": "AV1", "rawvideo": "raw",
    "mpeg2video": "MPEG-2", "mpeg1video": "MPEG-1", "msmpeg4v3": "MS-MPEG-4 v3",
    "msmpeg4v2": "MS-MPEG-4 v2", "h263": "H.263", "huffyuv": "HuffYUV", "ffvhuff": "FFVHuff",
    "png": "PNG", "dnxhd": "DNxHD", "theora": "Theora", "wmv3": "WMV9", "wmv2": "WMV8",
    "cfhd": "CineForm", "qtrle": "QuickTime RLE", "utvideo": "Ut Video", "jpeg2000": "JPEG 2000",
    "cinepak": "Cinepak", "magicyuv": "MagicYUV", "vc1": "VC-1",
}
_MP4_TOP = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"uuid", b"styp"}
# Bytes kept for a damaged file's last group of pictures; past this we decode all.
_TAIL_LIMIT = 256 * 2**20
# A not-coded VOP (N-VOP) is a start code and a few header bits: at most this many bytes.
_NVOP_MAX = 8
_PACKED_USERDATA = re.compile(rb"DivX\d+(?:Build|b)\d+p")


class VideoExtractor(Extractor):
    """Video containers: resolution, codec and rate from the header; exact frame counts."""

    name = "video"
    suffixes = VIDEO_SUFFIXES
    record_types = ("BehavioralTracking",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        suffix = path.suffix.lower()
        if suffix not in cls.suffixes:
            return Claim.NO
        if suffix == ".ts":  # also TypeScript source: claim only an MPEG transport stream
            try:
                with open(path, "rb") as fh:
                    head = fh.read(512)
            except OSError:
                return Claim.NO
            return Claim.SPECIFIC if _is_ts(head, 188) or _is_ts(head[4:], 192) else Claim.NO
        return Claim.SPECIFIC

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        size = os.stat(path).st_size
        layout = read_layout(path, size)
        info = probe(path, layout, self.verify)
        f = Fields()
        f.header("format", layout.format, layout.format_detail)
        f.header("compression", info.codec, f"codec of video stream {info.stream_index}: "
                 f"{info.codec_name} ({info.codec_long_name})")
        rotation = ""
        if layout.rotation:
            # tkhd's matrix turns the picture clockwise (FFmpeg reports the same angle
            # counter-clockwise: its 'rotation' is 360 minus ours).
            rotation = f"; display rotation {layout.rotation:g}° clockwise"
            if layout.rotation % 180:
                rotation += f" (shown as {info.height}x{info.width})"
        f.header("horizontalResolution", info.width, f"stored frame width{rotation}")
        f.header("verticalResolution", info.height, f"stored frame height{rotation}")
        if info.rate is not None:
            (f.header if info.rate_from_header else f.computed)("frameRate", info.rate,
                                                                 info.rate_detail)
        elif not any(w.startswith("no frame rate") for w in info.warnings):
            f.warn("no frame rate: the container declares none and frames carry no timestamps")
        f.computed("nFrames", info.n_frames, info.count_detail)
        if layout.data_end is not None:
            f.warn(layout.notes[-1])
        for w in info.warnings:
            f.warn(w)
        if info.created is not None:
            f.started(info.created[0], Source.HEADER, info.created[1])
        return [self.result(path, "BehavioralTracking", f)]


# --- the container structure: what PyAV does not tell -----------------------------------


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


def _is_ts(head: bytes, stride: int) -> bool:
    return len(head) > stride and head[0] == 0x47 and head[stride] == 0x47


#: Packets before the end found that must all start with the sync byte, so that a stray
#: 0x47 in junk is not taken for the last packet.
_TS_CONFIRM = 8


def _ts_layout(path: Path, size: int, stride: int) -> Layout:
    lay = Layout("ts", "TS", f"MPEG transport stream sync bytes (0x47 every {stride} bytes)")
    with open(path, "rb") as fh:
        end = _ts_end(fh, size, stride)
    if end is not None:
        # Zeros a recorder preallocated, or junk: FFmpeg would lose sync in them and give
        # up with EAGAIN ("Resource temporarily unavailable"), so it never sees them.
        how = f"the end of the last {stride}-byte packet that starts with the sync byte 0x47"
        lay.data_end, lay.data_end_detail = end, how
        lay.notes.append(f"the {size - end} bytes from byte {end} on are not MPEG-TS data "
                         f"({how}): not read")
    return lay


def _ts_end(fh: Any, size: int, stride: int) -> int | None:
    """Where the transport stream ends when something that is no packet follows it, or
    None. Packet ``i`` starts at ``i * stride`` (192: a 4-byte timestamp, then the packet).
    A bisection over packet indices, one byte read per probe, so a tail of any size
    costs some 40 reads. Unsure (a packet out of step that is still TS: bytes lost in a
    capture, a damaged packet) means None: FFmpeg reads the whole file, as without it."""
    skip = stride - 188

    def synced(i: int) -> bool:
        fh.seek(i * stride + skip)
        return fh.read(1) == b"\x47"

    def packets_near(i: int) -> bool:  # three packets in step, at any offset
        fh.seek(i * stride)
        data = fh.read(5 * stride)
        j = data.find(b"\x47")
        while 0 <= j < len(data) - 2 * stride:
            if data[j + stride] == data[j + 2 * stride] == 0x47:
                return True
            j = data.find(b"\x47", j + 1)
        return False

    n = size // stride  # whole packets; a shorter tail is FFmpeg's to judge
    if n < 2 or synced(n - 1):
        return None
    lo, hi = 0, n - 1  # packet lo starts with 0x47, packet hi does not
    for _ in range(256):
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if synced(mid):
                lo = mid
            else:
                if packets_near(mid):
                    return None
                hi = mid
        # lo may be a stray 0x47 in the junk: the packets before it must be in step too.
        out = next((i for i in range(lo - 1, max(-1, lo - _TS_CONFIRM), -1) if not synced(i)),
                   None)
        if out is None:
            return None if packets_near(hi) else hi * stride
        if packets_near(out):
            return None
        lo, hi = 0, out
    return None


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
_TABLE_LIMIT = 256 * 2**20  # sample tables larger than this are left to FFmpeg


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


def _after_zeros(path: Path, size: int, lay: Layout,
                 end_of: Callable[[Any, int, int], int | None], how: str) -> Layout:
    """``lay``, with FFmpeg kept out of zeros that follow the data (MPEG-PS, FLV: it would
    scan them all, ~9 s a GiB). Packs and tags have no fixed size, so the zeros are found
    first and the container's own structure must end exactly where they begin; other junk
    is read as before."""
    with open(path, "rb") as fh:
        zeros = _zero_tail(fh, size)
        end = None if zeros is None else end_of(fh, zeros, size)
    if end is not None and end < size:
        lay.data_end, lay.data_end_detail = end, how
        lay.notes.append(f"the {size - end} bytes from byte {end} on are not {lay.format} data "
                         f"(zeros after {how}): not read")
    return lay


def _zero_tail(fh: Any, size: int, block: int = 4096) -> int | None:
    """Where the zeros that end the file begin, by a bisection over blocks (one read each),
    or None when the last block holds data. The first block must not be zeros."""
    def zero(k: int) -> bool:
        fh.seek(k * block)
        return not fh.read(block).rstrip(b"\0")

    n = -(-size // block)
    if n < 2 or not zero(n - 1) or zero(0):
        return None
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if zero(mid) else (mid, hi)
    fh.seek(lo * block)
    return lo * block + len(fh.read(block).rstrip(b"\0"))


def _ps_end(fh: Any, zeros: int, size: int) -> int | None:
    """The end of the packs that end at ``zeros`` (their last bytes may be zeros too):
    walked by their lengths from the last pack header before it."""
    back = min(zeros, 1 << 20)
    fh.seek(zeros - back)
    buf = fh.read(back) + bytes(16)
    pos = buf.rfind(b"\x00\x00\x01\xba", 0, back)
    if pos < 0:
        return None
    while pos < back:
        h = buf[pos:pos + 16]
        if h[:3] != b"\x00\x00\x01":
            return None
        if h[3] == 0xBA and h[4] >> 6 == 1:  # MPEG-2 pack header: stuffing in byte 13
            pos += 14 + (h[13] & 7)
        elif h[3] == 0xBA and h[4] >> 4 == 2:  # MPEG-1 pack header
            pos += 12
        elif h[3] == 0xB9:  # program end code
            pos += 4
        elif h[3] >= 0xBB:  # system header, PES packet: a 16-bit length
            pos += 6 + int.from_bytes(h[4:6], "big")
        else:
            return None
    end = zeros - back + pos
    return end if end <= size else None


def _flv_end(fh: Any, zeros: int, size: int) -> int | None:
    """The end of the FLV tags: the PreviousTagSize that ends at ``zeros`` (or up to 3
    bytes after it, when its last bytes are zeros) must name a tag that starts there."""
    for end in range(zeros, min(zeros + 3, size) + 1):
        fh.seek(end - 4)
        n = int.from_bytes(fh.read(4), "big")
        if n < 11 or end - 4 - n < 13:
            continue
        fh.seek(end - 4 - n)
        tag = fh.read(4)
        if tag[0] & 0x1F in (8, 9, 18) and int.from_bytes(tag[1:4], "big") + 11 == n:
            return end
    return None


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


def _vint(data: bytes) -> tuple[int | None, int]:
    """An EBML variable-size integer: (value or None for 'unknown size', its length)."""
    if not data or data[0] == 0:
        return None, 1
    n = 8 - data[0].bit_length() + 1
    value = data[0] & ((1 << (8 - n)) - 1)
    for b in data[1:n]:
        value = (value << 8) | b
    return (None if value == (1 << (7 * n)) - 1 else value), n


# --- counting frames with PyAV ----------------------------------------------------------


@dataclass
class VideoInfo:
    """What the probe found: stream parameters and the exact frame count with its tier."""

    stream_index: int
    codec: str
    codec_name: str
    codec_long_name: str
    width: int
    height: int
    n_frames: int
    count_detail: str
    rate: float | None
    rate_detail: str
    rate_from_header: bool
    warnings: list[str]
    created: tuple[datetime.datetime, str] | None = None


def probe(path: Path, layout: Layout, verify: bool = False) -> VideoInfo:
    """Open ``path`` with PyAV and count its shown frames by the cheapest exact tier
    (``verify``: and by a full decode, reporting both counts when they differ)."""
    import av

    try:
        # Metadata tags are free text: a damaged one must not stop the description.
        container = av.open(_source(path, layout), metadata_errors="replace")
    except av.FFmpegError as exc:
        raise ExtractionError(path, f"{layout.format} that FFmpeg cannot open: "
                              f"{_ffmpeg_reason(exc)}") from exc
    try:
        streams = [s for s in container.streams.video if not s.disposition & 0x400]
        if not streams:  # 0x400: AV_DISPOSITION_ATTACHED_PIC (cover art)
            raise ExtractionError(path, f"{layout.format} file without a video stream")
        vs = streams[0]
        cc = vs.codec_context
        if cc is None or cc.codec is None:
            tag = getattr(cc, "codec_tag", "") if cc is not None else ""
            raise ExtractionError(path, f"video stream {vs.index} has a codec FFmpeg does not "
                                  f"know{f' (tag {tag!r})' if tag else ''}")
        if not cc.width or not cc.height:
            raise ExtractionError(path, f"video stream {vs.index} has no frame size "
                                  "(damaged or missing codec header)")
        counter = _Counter(path, container, vs, layout, verify)
        n, detail, warnings, timing = counter.count()
        codec_name = cc.codec.name
        info = VideoInfo(
            stream_index=vs.index, codec=_CODECS.get(codec_name, codec_name.upper()),
            codec_name=codec_name, codec_long_name=cc.codec.long_name,
            width=cc.width, height=cc.height, n_frames=n, count_detail=detail,
            rate=None, rate_detail="", rate_from_header=True, warnings=warnings,
            created=_creation_time(container, layout))
        own = layout.own
        if own is not None and own.problem and own.tick is None and "timescale" in own.problem:
            info.warnings.append(f"no frame rate: {own.problem}")
        else:
            _set_rate(info, vs, timing)
        return info
    finally:
        container.close()


def _set_rate(info: VideoInfo, vs: Any, timing: tuple[Any, Fraction] | None) -> None:
    """The frame rate: the declared one when every frame's timestamp fits it within the
    container's timestamp resolution; else the simplest rate that fits them all; else
    (variable frame rate) the mean, (frames - 1) / span of the first to the last frame's
    presentation time, which no container's way of storing the last frame's duration
    changes."""
    declared = vs.average_rate if vs.average_rate and vs.average_rate > 0 else None
    said = f"the stream's average frame rate {declared} (FFmpeg avg_frame_rate)"
    fitted = _fit_rate(timing, [r for r in (declared, vs.guessed_rate) if r and r > 0])
    if fitted is None:
        if declared:
            info.rate, info.rate_detail = float(declared), said
        elif vs.guessed_rate:
            info.rate = float(vs.guessed_rate)
            info.rate_detail = (f"FFmpeg's guessed frame rate {vs.guessed_rate} "
                                "(no average declared)")
        return
    rate, how = fitted
    info.rate = float(rate)
    if how == "declared" and rate == declared:
        info.rate_detail = f"{said}; every frame's timestamp fits it"
    elif how in ("declared", "simplest"):
        info.rate_from_header = False
        info.rate_detail = (f"{rate}: every frame's timestamp lies within the container's "
                            f"resolution of a frame every 1/{rate} s (constant frame rate)")
        if declared:
            info.rate_detail += f"; FFmpeg's average is {declared}"
    else:
        info.rate_from_header = False
        info.rate_detail = (f"variable frame rate: the mean, {how}; the same in every "
                            "container")
        if declared:  # the words the report's dropped-frame check reads
            info.rate_detail += f"; the header declares {declared}"


def _fit_rate(timing: tuple[Any, Fraction] | None,
              candidates: list[Fraction]) -> tuple[Fraction, str] | None:
    """(rate, how) from frame timestamps; None without two distinct timestamps.

    A timestamp is rounded to the container's tick (1 ms in MKV/WebM/ASF), so frame i of
    a constant-rate stream lies within one tick of ``t0 + i T``: the intervals T every
    frame allows form a range. A candidate inside it is the rate ("declared"); else the
    simplest fraction inside ("simplest": 150, not the 150.05 one second of
    millisecond timestamps gives); an empty range is a variable rate (the mean, in words).
    """
    import numpy as np

    if timing is None:
        return None
    pts, tick = timing
    t = np.unique(np.asarray(pts, dtype=np.int64))
    n = len(t)
    if n < 2 or tick is None or tick <= 0:
        return None
    d = (t[1:] - t[0]).astype(np.float64)
    i = np.arange(1, n, dtype=np.float64)
    lo = max(float(((d - 1.0) / i).max()), 0.0)  # in ticks per frame
    hi = float(((d + 1.0) / i).min())
    if 0 < lo <= hi:
        for rate in candidates:
            interval = float(1 / (Fraction(rate) * tick))
            if lo - 1e-9 <= interval <= hi + 1e-9:
                return Fraction(rate), "declared"
        fast = 1 / (Fraction(lo) * tick)
        slow = 1 / (Fraction(hi) * tick)
        return _simplest_between(slow, fast), "simplest"
    span = Fraction(int(t[-1] - t[0])) * tick
    mean = Fraction(n - 1) / span
    return mean, f"{n - 1} frame intervals over {float(span):g} s from the first to the last " \
                 "frame's timestamp"


def _simplest_between(lo: Fraction, hi: Fraction) -> Fraction:
    """The fraction with the smallest denominator in [lo, hi] (0 < lo <= hi)."""
    whole = lo.numerator // lo.denominator
    if lo == whole:
        return Fraction(whole)
    if whole + 1 <= hi:
        return Fraction(whole + 1)
    return whole + 1 / _simplest_between(1 / (hi - whole), 1 / (lo - whole))


def _creation_time(container: Any, layout: Layout) -> tuple[datetime.datetime, str] | None:
    """When the container says the recording was made: MP4/MOV ``mvhd`` creation_time,
    MKV/WebM ``DateUTC``, AVI ``IDIT`` (FFmpeg reads each into its ``creation_time`` tag).
    Zero (the 1904 or 1970 epoch, what writers leave when they know no time) means none."""
    text = (container.metadata or {}).get("creation_time")
    if not text:
        return None
    try:
        when = datetime.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.year < 1980:  # an epoch, not a recording: no lab video predates 1980
        return None
    where = {"mp4": "mvhd creation_time (UTC)", "mkv": "Segment Info DateUTC",
             "avi": "IDIT chunk (local time of the recorder)"}.get(layout.kind, "creation_time")
    return when, f"{layout.format} {where}, read by FFmpeg as creation_time"


class _Counter:
    """The three tiers; ``count()`` picks the cheapest exact one."""

    def __init__(self, path: Path, container: Any, vs: Any, layout: Layout,
                 verify: bool = False) -> None:
        self.path = path
        self.container = container
        self.vs = vs
        self.layout = layout
        self.verify = verify
        self.size = os.stat(path).st_size
        self.warnings: list[str] = []

    def count(self) -> tuple[int, str, list[str], tuple[Any, Fraction] | None]:
        n, detail, timing = self._count()
        if not self.verify or detail.startswith("tier 3"):
            if not detail.startswith("tier 3"):
                detail += ("; counts the frames the container stores, without decoding them "
                           "(a frame whose data cannot be decoded still counts; --verify "
                           "decodes every one)")
            return n, detail, self.warnings, timing
        shown, decoded = self._decode_all("--verify", self.layout.promised_frames)
        if shown == n:
            return n, f"{detail}; --verify: a full decode shows the same {n}", \
                self.warnings, timing
        self.warnings.append(f"--verify: the container stores {n} frames but decoding shows "
                             f"{shown}; nFrames is the decoded count")
        return shown, f"{decoded}; the container stores {n} ({detail})", self.warnings, timing

    def _count(self) -> tuple[int, str, tuple[Any, Fraction] | None]:
        lay = self.layout
        why = ""
        if lay.indexed and not hasattr(self.vs, "index_entries"):
            why = "this PyAV does not expose the index (stream.index_entries)"
        elif lay.indexed:
            got = self._from_index()
            if isinstance(got, tuple):
                return got
            why = got
        elif lay.kind in ("mp4", "avi"):
            why = "; ".join(lay.notes) or lay.damage
        else:
            why = f"{lay.format} has no frame index"
        return self._demux(why)

    # tier 1
    def _from_index(self) -> tuple[int, str, tuple[Any, Fraction] | None] | str:
        entries = self.vs.index_entries
        n_entries = len(entries)
        if n_entries == 0:
            return "the index is empty"
        own = self.layout.own
        timing: tuple[Any, Fraction] | None = None
        if own is not None and own.all_shown and own.n_frames == n_entries:
            # Our vectorised reading agrees with FFmpeg's index in size, and nothing is
            # trimmed: no need to walk FFmpeg's entries one Python object at a time.
            shown, discarded, end = own.n_frames, 0, own.data_end
            reader = "read by bsingest, FFmpeg's index agrees"
        else:
            shown, discarded, end, stamps = self._walk_entries(entries)
            reader = "FFmpeg's index (PyAV index_entries)"
            if self.layout.kind == "mp4":
                timing = (stamps, self.vs.time_base)
        if own is not None and own.pts is not None and own.tick is not None:
            timing = (own.pts, own.tick)
        if own is not None and own.problem:
            self.warnings.append(f"damaged sample table ({own.problem}): nFrames counts the "
                                 f"{shown} frames FFmpeg's reading of it shows")
        if self.layout.kind == "mp4":  # what the sample table promises, if the file is cut
            self.layout.promised_frames = shown
            self.layout.promise_detail = "the sample table"
        if end > self.size:
            return (f"the {self.layout.index_name} places frame data up to byte {end}, "
                    f"past the end of the file ({self.size} bytes)")
        if self.layout.kind == "avi" and self.vs.codec_context.name == "mpeg4":
            hazard = self._avi_mpeg4_hazard(entries)
            if hazard:
                return (*self._decode_all(hazard, promised=None), None)
        detail = (f"tier 1, container index: {self.layout.index_name}, {n_entries} entries, "
                  f"{reader}")
        if self.layout.damage:
            self.warnings.append(f"damaged structure ({self.layout.damage}), but the data of "
                                 f"all {shown} indexed frames is inside the file")
        if discarded:
            detail += f", {discarded} before the edit list's start discarded"
        if self.layout.promised_frames is not None and self.layout.promised_frames != shown:
            detail += f" ({self.layout.promise_detail} says {self.layout.promised_frames})"
        return shown, detail, timing

    def _walk_entries(self, entries: Any) -> tuple[int, int, int, list[int]]:
        """(shown, discarded, end of data, timestamps) from FFmpeg's index, edit lists
        applied."""
        # An AVI index entry points at the chunk header (8 bytes); an MP4 one at the data.
        header = 8 if self.layout.kind == "avi" else 0
        flags = [(e.is_discard, e.pos + e.size, e.timestamp) for e in entries]
        discarded = sum(d for d, _, _ in flags)
        end = max(p for _, p, _ in flags) + header
        return len(flags) - discarded, discarded, end, [t for d, _, t in flags if not d]

    def _avi_mpeg4_hazard(self, entries: Any) -> str:
        # MPEG-4 Part 2 in AVI may pack a B-frame with the next P-frame into one chunk
        # (DivX/Xvid "packed bitstream") and leave not-coded N-VOP chunks: packets and
        # shown frames then differ, so such a file is decoded.
        tiny = sum(1 for e in entries if e.size <= _NVOP_MAX)
        if tiny:
            return f"{tiny} chunks of at most {_NVOP_MAX} bytes (not-coded N-VOPs)"
        with open(self.path, "rb") as fh:
            fh.seek(entries[0].pos + 8)
            first = fh.read(min(entries[0].size, 64 * 1024))
        if _PACKED_USERDATA.search(first):
            return "MPEG-4 packed bitstream (DivX 'p' user data): B-frames packed with P-frames"
        return ""

    # tier 2
    def _demux(self, why: str) -> tuple[int, str, tuple[Any, Fraction] | None]:
        import av

        vs = self.vs
        packets = discarded = corrupt = 0
        tail: list[Any] | None = []  # the packets since the last keyframe
        tail_bytes = 0
        stamps: list[int] = []
        error = ""
        try:
            for pkt in self.container.demux(vs):
                if pkt.size == 0 and pkt.dts is None:
                    continue  # the demuxer's end-of-stream marker
                packets += 1
                discarded += pkt.is_discard
                corrupt += pkt.is_corrupt
                if pkt.pts is not None:
                    stamps.append(pkt.pts)
                if pkt.is_keyframe:
                    tail, tail_bytes = [], 0
                if tail is not None:
                    tail.append(pkt)
                    tail_bytes += pkt.size
                    if tail_bytes > _TAIL_LIMIT:
                        tail = None
        except (av.error.InvalidDataError, av.error.EOFError) as exc:
            error = _ffmpeg_reason(exc)
        except av.error.MemoryError as exc:
            raise _no_memory(self.path, exc) from exc
        damaged = bool(self.layout.damage or corrupt or error)
        promised = self.layout.promised_frames
        if discarded or self._packets_are_not_frames():
            reason = (f"{discarded} packets flagged discard" if discarded else
                      "MPEG-4 Part 2 in AVI may pack B-frames")
            return (*self._decode_all(f"{why}; {reason}", promised), None)
        timing = (stamps, vs.time_base) if self.layout.kind != "avi" else None
        if packets == 0:
            raise ExtractionError(self.path, f"{self.layout.format} without a single video "
                                  f"frame ({why}; {self._damage_words(promised)})")
        detail = f"tier 2, demux pass ({why}): {packets} packets counted without decoding"
        if self.layout.data_end is not None:
            detail += f"; read up to byte {self.layout.data_end}, {self.layout.data_end_detail}"
        if not damaged:
            return packets, detail, timing
        # A damaged tail: decode the last group of pictures to see what it still shows.
        if tail is None or not tail:
            return (*self._decode_all(f"{why}; damaged, last keyframe not found", promised),
                    timing)
        shown_tail = self._decode_packets(tail)
        n = packets - len(tail) + shown_tail
        detail += (f"; damaged tail: the last {len(tail)} packets from the last keyframe "
                   f"decoded, {shown_tail} frames shown (tier 3)")
        if n == 0:
            raise ExtractionError(self.path,
                                  f"no decodable video frame ({self._damage_words(promised)})")
        self._warn_damage(n, promised, error)
        return n, detail, timing

    def _packets_are_not_frames(self) -> bool:
        return self.layout.kind == "avi" and self.vs.codec_context.name == "mpeg4"

    # tier 3
    def _decode_packets(self, packets: list[Any]) -> int:
        import av

        cc = self.vs.codec_context
        shown = 0
        for pkt in [*packets, None]:
            try:
                shown += len(cc.decode(pkt))
            except (av.error.InvalidDataError, av.error.EOFError):
                continue  # a broken packet shows nothing; the decoder goes on
        return shown

    def _decode_all(self, why: str, promised: int | None) -> tuple[int, str]:
        import av

        shown = packets = 0
        error = ""
        with av.open(_source(self.path, self.layout), metadata_errors="replace") as container:
            vs = container.streams[self.vs.index]
            vs.thread_type = "AUTO"
            try:
                for pkt in container.demux(vs):
                    if pkt.size == 0 and pkt.dts is None:
                        continue
                    packets += 1
                    try:
                        shown += len(vs.decode(pkt))
                    except av.error.InvalidDataError:
                        continue
            except (av.error.InvalidDataError, av.error.EOFError) as exc:
                error = _ffmpeg_reason(exc)
            except av.error.MemoryError as exc:
                raise _no_memory(self.path, exc) from exc
            try:
                shown += len(vs.decode(None))
            except (av.error.InvalidDataError, av.error.EOFError):
                pass
        if shown == 0:
            raise ExtractionError(self.path, f"no decodable video frame in {packets} packets "
                                  f"({self._damage_words(promised)})")
        if (self.layout.damage or error) and why != "--verify":
            self._warn_damage(shown, promised, error)
        return shown, f"tier 3, full decode ({why}): {packets} packets, {shown} frames shown"

    def _damage_words(self, promised: int | None) -> str:
        words = [w for w in (self.layout.damage,) if w]
        if promised:
            words.append(f"{self.layout.promise_detail} promises {promised} frames")
        return "; ".join(words) or "the file is damaged or empty"

    def _warn_damage(self, present: int, promised: int | None, error: str) -> None:
        promise = (f"{self.layout.promise_detail} promises {promised} frames, "
                   if promised else "")
        cause = self.layout.damage or error or "corrupt packets at the end"
        self.warnings.append(f"damaged or truncated: {promise}{present} frames present ({cause})")


def _no_memory(path: Path, exc: Exception) -> ExtractionError:
    # A damaged size field makes FFmpeg allocate what it declares for one packet.
    return ExtractionError(path, f"FFmpeg could not allocate a packet ({_ffmpeg_reason(exc)}): "
                           "a damaged size in the container")


def _ffmpeg_reason(exc: Exception) -> str:
    # PyAV's message repeats the file name ("...: 'path'"); keep FFmpeg's words only.
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())
