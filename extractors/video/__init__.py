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

``frameRate``: the rate that explains every frame's timestamp within one tick of the
container's timestamp resolution (1 ms in MKV, WebM, FLV, ASF): FFmpeg's average when it
does (unless a whole or NTSC rate, N x 1000/1001, within 0.1 % of it does too: FFmpeg
reads 15000/1001 in an FLV as 989/66), else the whole or NTSC rate that does, else the
simplest fraction that does (150, not the 150.05 that one second of millisecond
timestamps gives); else the stream has a variable rate and gets the mean,
``(frames - 1) / (last - first timestamp)``, never snapped: the same for its MP4 and MKV
copies, whatever each stores as the last frame's duration. The start is the container's
creation time (MP4 ``mvhd``, MKV ``DateUTC``, AVI ``IDIT``), none when it is zero.

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

Modules: one per container family, each reading what PyAV does not tell
(:mod:`.mp4` MP4/MOV, :mod:`.avi` AVI, :mod:`.matroska` MKV/WebM, :mod:`.mpeg_flv`
MPEG-TS, MPEG-PS and FLV), :mod:`.containers` telling them apart by their magic bytes,
:mod:`._layout` what they share; :mod:`.count` the three counting tiers, :mod:`.rate` the
frame rate from timestamps, :mod:`.probe` the PyAV side that ties them together.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..base import Claim, Extraction, Extractor, Fields, Source
from ._layout import Layout, OwnIndex
from .containers import read_layout
from .mpeg_flv import _is_ts
from .probe import VideoInfo, probe

__all__ = ["VIDEO_SUFFIXES", "Layout", "OwnIndex", "VideoExtractor", "VideoInfo", "probe",
           "read_layout"]

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".ts", ".mts", ".m2ts",
                  ".mpg", ".mpeg", ".flv", ".wmv", ".asf", ".3gp")


class VideoExtractor(Extractor):
    """Video containers: resolution, codec and rate from the header; exact frame counts."""

    name = "video"
    suffixes = VIDEO_SUFFIXES
    record_types = ("BehavioralTracking",)

    claim_endings = tuple(s.lower() for s in VIDEO_SUFFIXES)

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
