"""Video samples, written by real encoders (PyAV's FFmpeg: libx264, mpeg4, mjpeg, ffv1; and
OpenCV's VideoWriter), tiny: 64x48, tens of frames.

The writers here are shared with ``tests/test_video.py``; the truth a test compares
with is a full decode (:func:`decoded_frames`), never our extractor.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

EXTRACTOR = "video"

W, H = 64, 48


def _frames(n: int, w: int = W, h: int = H) -> Iterator[Any]:
    """Moving gradients and a moving square: enough motion for P- and B-frames."""
    import av
    import numpy as np

    y, x = np.mgrid[0:h, 0:w]
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[..., 0] = (x * 4 + i * 3) % 256
        img[..., 1] = (y * 5 + i * 2) % 256
        img[..., 2] = 40
        cx = (i * 3) % (w - 12)
        img[10:22, cx:cx + 12] = 255
        yield av.VideoFrame.from_ndarray(img, format="rgb24")


def encode(path: Path, codec: str = "libx264", n: int = 30, *, rate: Fraction | int = 25,
           pix_fmt: str = "yuv420p", options: dict[str, str] | None = None,
           container_options: dict[str, str] | None = None, pts: list[int] | None = None,
           time_base: Fraction | None = None, shift: int = 0) -> Path:
    """Encode ``n`` frames with PyAV.

    ``pts`` gives each frame's timestamp in ``time_base`` (variable frame rate);
    ``shift`` moves every packet's timestamps back by that many frames, so the first
    ``shift`` frames come before zero: the MP4 muxer then writes an edit list that
    starts at frame ``shift`` (what ``ffmpeg -ss ... -c copy`` leaves).
    """
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options=container_options or {}) as out:
        st = out.add_stream(codec, rate=rate, options=options or {})
        st.width, st.height, st.pix_fmt = W, H, pix_fmt
        if time_base is not None:
            st.time_base = time_base
            st.codec_context.time_base = time_base
        frame_step = None
        for i, frame in enumerate(_frames(n)):
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            for pkt in st.encode(frame):
                frame_step = _mux(out, pkt, shift, st, frame_step)
        for pkt in st.encode(None):
            frame_step = _mux(out, pkt, shift, st, frame_step)
    return path


def _mux(out: Any, pkt: Any, shift: int, st: Any, step: int | None) -> int | None:
    if shift:
        step = step or int(1 / (Fraction(st.average_rate or st.codec_context.framerate)
                                * pkt.time_base))
        pkt.pts -= shift * step
        pkt.dts -= shift * step
    out.mux(pkt)
    return step


def cv2_avi(path: Path, n: int = 20, fourcc: str = "MJPG", fps: float = 30.0) -> Path:
    """An AVI written by OpenCV's VideoWriter, as rigs that use OpenCV leave them."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
    import numpy as np

    for frame in _frames(n):
        writer.write(np.ascontiguousarray(frame.to_ndarray(format="rgb24")[..., ::-1]))
    writer.release()
    return path


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    """A copy of ``src`` cut after ``fraction`` of its bytes: a recording that stopped."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    os.truncate(dst, int(os.path.getsize(src) * fraction))
    return dst


def corrupt_stco(src: Path, dst: Path, shift: int = 10**9) -> Path:
    """A copy of an MP4 whose chunk offsets (stco) all point far past the end of the file."""
    data = bytearray(src.read_bytes())
    at = data.find(b"stco")
    count = struct.unpack(">I", data[at + 8:at + 12])[0]
    for i in range(count):
        o = at + 12 + 4 * i
        data[o:o + 4] = struct.pack(">I", struct.unpack(">I", data[o:o + 4])[0] + shift)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(bytes(data))
    return dst


def default_duration(path: Path, ns: int | None) -> Path:
    """Rewrite the video track's Matroska ``DefaultDuration`` in place: ``ns`` nanoseconds
    (a writer that rounds it, e.g. to whole milliseconds), or ``None`` to blank it with a
    Void element of the same size, as writers that store no rate leave a WebM (browsers'
    MediaRecorder): the millisecond timestamps are then all there is."""
    data = bytearray(path.read_bytes())
    at = data.find(b"\x23\xe3\x83", 0, 8192)  # in Tracks, near the start
    if at < 0 or not data[at + 3] & 0x80:
        raise ValueError(f"{path.name}: no DefaultDuration element")
    n = data[at + 3] & 0x7F
    if ns is None:
        data[at:at + 4 + n] = bytes([0xEC, 0x80 | (n + 2)]) + bytes(n + 2)
    else:
        data[at + 4:at + 4 + n] = ns.to_bytes(n, "big")
    path.write_bytes(bytes(data))
    return path


def ffprobe_stream(path: Path) -> dict[str, Any] | None:
    """ffprobe's view where installed: the stream's rates and every packet's pts in its
    time base (``pts``) and ``time_base``."""
    import json

    exe = shutil.which("ffprobe")
    if exe is None:
        if os.environ.get("CI"):
            raise RuntimeError("ffprobe not found, though CI installs the ffmpeg package")
        return None
    out = subprocess.run([exe, "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=r_frame_rate,avg_frame_rate,time_base:packet=pts", "-of",
                          "json", str(path)], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    stream = got["streams"][0]
    def rate(text: str) -> Fraction | None:
        return None if text.endswith("/0") else Fraction(text)

    return {"r_frame_rate": rate(stream["r_frame_rate"]),
            "avg_frame_rate": rate(stream["avg_frame_rate"]),
            "time_base": Fraction(stream["time_base"]),
            "pts": sorted(int(p["pts"]) for p in got["packets"] if "pts" in p)}


def decoded_frames(path: Path) -> int:
    """The truth: every frame FFmpeg's decoder shows, by a plain full decode with PyAV."""
    import av

    shown = 0
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        if vs.codec_context is None:  # no decoder for its codec: it shows nothing (and
            return 0                  # PyAV 17 crashes when asked to decode it anyway)
        try:
            for pkt in c.demux(vs):
                try:
                    shown += len(vs.decode(pkt))
                except av.error.InvalidDataError:
                    pass
        except av.error.InvalidDataError:
            pass
    return shown


def ffprobe_frames(path: Path) -> int | None:
    """A second truth where the ffmpeg package is installed: ``ffprobe -count_frames``."""
    exe = shutil.which("ffprobe")
    if exe is None:
        if os.environ.get("CI"):  # .ci/run installs ffmpeg: there the check must not vanish
            raise RuntimeError("ffprobe not found, though CI installs the ffmpeg package")
        return None
    out = subprocess.run([exe, "-v", "error", "-select_streams", "v:0", "-count_frames",
                          "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=False)
    text = out.stdout.strip().strip(",")
    return int(text) if text.isdigit() else None


def good(tmp: Path) -> list[Path]:
    return [
        encode(tmp / "bframes.mp4", "libx264", 30, options={"bf": "2", "g": "12"}),
        encode(tmp / "ffv1.mkv", "ffv1", 10),
        cv2_avi(tmp / "mjpeg.avi", 10),
    ]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    empty = tmp / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp / "notes.avi"
    text.write_text("this is not a video\n" * 10)
    png = tmp / "image.mp4"  # FFmpeg would open a PNG as a one-frame video
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    src = encode(tmp / "src" / "whole.mp4", "libx264", 20)
    no_moov = truncate(src, tmp / "unfinished.mp4", 0.5)  # moov is written last
    stco = corrupt_stco(src, tmp / "badstco.mp4")
    return [empty, text, png, no_moov, stco]
