"""Open a video with PyAV and describe its first video stream: codec, frame size,
the exact frame count (``count``), the frame rate (``rate``) and the creation time."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from ._layout import Layout, _source
from .count import _Counter, _ffmpeg_reason
from .rate import _fit_rate

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
    """The frame rate: the one that explains every frame's timestamp within the
    container's timestamp resolution (FFmpeg's average, a whole or NTSC rate, or the
    simplest fraction: :mod:`.rate`); else (variable frame rate) the mean,
    (frames - 1) / span of the first to the last frame's presentation time, which no
    container's way of storing the last frame's duration changes."""
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
    elif how in ("declared", "standard", "simplest"):
        info.rate_from_header = False
        kind = {"standard": "the standard rate (whole or N x 1000/1001) ",
                "simplest": "the simplest fraction "}.get(how, "")
        info.rate_detail = (f"{rate}: every frame's timestamp lies within the container's "
                            f"resolution ({_tick_words(timing)}) of a frame every {1 / rate} s, "
                            f"{kind}that explains them (constant frame rate)")
        if declared:
            info.rate_detail += f"; FFmpeg's average is {declared}"
    else:
        info.rate_from_header = False
        info.rate_detail = (f"variable frame rate: the mean, {how}; the same in every "
                            "container")
        if declared:  # the words the report's dropped-frame check reads
            info.rate_detail += f"; the header declares {declared}"


def _tick_words(timing: tuple[Any, Fraction] | None) -> str:
    tick = Fraction(timing[1]) if timing is not None else None
    if tick is None:
        return "its tick"
    if tick.numerator == 1 and tick.denominator in (1000, 1_000_000, 1_000_000_000):
        return {1000: "1 ms", 1_000_000: "1 µs", 1_000_000_000: "1 ns"}[tick.denominator]
    return f"{tick} s"


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
