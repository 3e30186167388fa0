"""Video values against a full decode (PyAV) and, where installed, ``ffprobe -count_frames``.

Every fixture is written here by a real encoder (libx264, mpeg4, mjpeg, ffv1, vp9 through
PyAV; OpenCV's VideoWriter). The frame count a test expects is what a decoder shows,
never what our extractor said.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract
from tests.samples.video import (
    corrupt_stco,
    cv2_avi,
    decoded_frames,
    encode,
    ffprobe_frames,
    truncate,
)

VFR_PTS = [i * 33 + (i % 3) * 7 + (i // 10) * 40 for i in range(30)]  # milliseconds

# name -> (writer, format, compression, frame rate the encoder was given or None)
CASES: dict[str, tuple[Callable[[Path], Path], str, str, Fraction | None]] = {
    "h264_bframes.mp4": (lambda p: encode(p, "libx264", 30, options={"bf": "3", "g": "12"}),
                         "MP4", "H.264", Fraction(25)),
    "ntsc.mp4": (lambda p: encode(p, "libx264", 30, rate=Fraction(30000, 1001),
                                  options={"bf": "2"}), "MP4", "H.264", Fraction(30000, 1001)),
    "one_frame.mp4": (lambda p: encode(p, "libx264", 1), "MP4", "H.264", Fraction(25)),
    "faststart.mov": (lambda p: encode(p, "libx264", 20, container_options={
        "movflags": "faststart"}), "MOV", "H.264", Fraction(25)),
    "fragmented.mp4": (lambda p: encode(p, "libx264", 30, options={"g": "10"}, container_options={
        "movflags": "frag_keyframe+empty_moov"}), "MP4", "H.264", Fraction(25)),
    "mjpeg_cv2.avi": (lambda p: cv2_avi(p, 25, "MJPG", 30.0), "AVI", "MJPEG", Fraction(30)),
    "one_frame.avi": (lambda p: encode(p, "mjpeg", 1, pix_fmt="yuvj420p"), "AVI", "MJPEG",
                      Fraction(25)),
    "mpeg4_bframes.avi": (lambda p: encode(p, "mpeg4", 30, options={"bf": "2"}), "AVI",
                          "MPEG-4", Fraction(25)),
    "h264.avi": (lambda p: encode(p, "libx264", 30, options={"bf": "2"}), "AVI", "H.264",
                 Fraction(25)),
    "ffv1.mkv": (lambda p: encode(p, "ffv1", 12), "MKV", "FFV1", Fraction(25)),
    "h264_bframes.mkv": (lambda p: encode(p, "libx264", 30, rate=Fraction(30000, 1001),
                                          options={"bf": "2"}), "MKV", "H.264",
                         Fraction(30000, 1001)),
    "vfr.mkv": (lambda p: encode(p, "libx264", 30, pts=VFR_PTS, time_base=Fraction(1, 1000)),
                "MKV", "H.264", None),
    "vfr.mp4": (lambda p: encode(p, "libx264", 30, pts=VFR_PTS, time_base=Fraction(1, 1000)),
                "MP4", "H.264", None),
    "vp9.webm": (lambda p: encode(p, "libvpx-vp9", 15), "WebM", "VP9", Fraction(25)),
    "mpeg4.ts": (lambda p: encode(p, "mpeg4", 20), "TS", "MPEG-4", Fraction(25)),
}


def _only(path: Path) -> Any:
    results = extract(path)
    assert len(results) == 1
    return results[0]


def _decoded_size(path: Path) -> tuple[int, int]:
    import av

    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return frame.width, frame.height


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_a_full_decode(name: str, tmp_path: Path) -> None:
    writer, fmt, codec, rate = CASES[name]
    path = writer(tmp_path / name)
    r = _only(path)
    tj = r.type_json
    truth = decoded_frames(path)
    assert truth > 0
    assert tj["nFrames"] == truth
    probe = ffprobe_frames(path)
    if probe is not None:
        assert tj["nFrames"] == probe
    assert (tj["horizontalResolution"], tj["verticalResolution"]) == _decoded_size(path)
    assert tj["format"] == fmt
    assert tj["compression"] == codec
    if rate is not None:
        assert tj["frameRate"] == pytest.approx(float(rate), rel=1e-9)
    assert r.warnings == ()
    assert r.provenance["nFrames"].detail.startswith("tier ")


def test_ntsc_rate_is_not_rounded_to_30(tmp_path: Path) -> None:
    tj = _only(encode(tmp_path / "ntsc.mp4", "libx264", 10, rate=Fraction(30000, 1001))).type_json
    assert tj["frameRate"] == pytest.approx(29.97002997, abs=1e-8)


def test_variable_frame_rate_is_the_average_over_the_timestamps(tmp_path: Path) -> None:
    for name in ("vfr.mkv", "vfr.mp4"):
        tj = _only(encode(tmp_path / name, "libx264", 30, pts=VFR_PTS,
                          time_base=Fraction(1, 1000))).type_json
        # 30 frames over the span of their timestamps plus one typical frame duration
        span = (VFR_PTS[-1] - VFR_PTS[0]) / 1000
        assert 29 / span > tj["frameRate"] > 30 / (span + 0.08), name


def test_edit_list_counts_only_the_frames_shown(tmp_path: Path) -> None:
    # 40 frames encoded, the first 5 before the edit list's start: a decoder shows 35.
    path = encode(tmp_path / "cut.mp4", "libx264", 40, options={"bf": "2", "g": "10"}, shift=5)
    r = _only(path)
    assert r.type_json["nFrames"] == decoded_frames(path) == 35
    assert "tier 1" in r.provenance["nFrames"].detail
    assert "5 before the edit list's start discarded" in r.provenance["nFrames"].detail


def test_index_tier_is_used_for_a_whole_mp4_and_avi(tmp_path: Path) -> None:
    mp4 = encode(tmp_path / "a.mp4", "libx264", 20)
    avi = cv2_avi(tmp_path / "a.avi", 20)
    for path in (mp4, avi):
        assert _only(path).provenance["nFrames"].detail.startswith("tier 1, container index")


@pytest.mark.parametrize("fraction", [0.35, 0.5, 0.8])
def test_truncated_mp4_reports_frames_present_and_warns(tmp_path: Path, fraction: float) -> None:
    whole = encode(tmp_path / "whole.mp4", "libx264", 60, options={"bf": "2", "g": "12"},
                   container_options={"movflags": "faststart"})
    cut = truncate(whole, tmp_path / "cut.mp4", fraction)
    r = _only(cut)
    present = decoded_frames(cut)
    assert 0 < present < 60
    assert r.type_json["nFrames"] == present
    (warning,) = r.warnings
    assert "promises 60 frames" in warning and f"{present} frames present" in warning
    assert "tier 2" in r.provenance["nFrames"].detail


@pytest.mark.parametrize("fraction", [0.3, 0.55, 0.9])
def test_truncated_avi_reports_frames_present_and_warns(tmp_path: Path, fraction: float) -> None:
    whole = cv2_avi(tmp_path / "whole.avi", 40)
    cut = truncate(whole, tmp_path / "cut.avi", fraction)
    r = _only(cut)
    present = decoded_frames(cut)
    assert 0 < present < 40
    assert r.type_json["nFrames"] == present
    probe = ffprobe_frames(cut)
    if probe is not None:
        assert probe == present
    (warning,) = r.warnings
    assert "promises 40 frames" in warning and f"{present} frames present" in warning


def test_truncated_mkv_warns(tmp_path: Path) -> None:
    whole = encode(tmp_path / "whole.mkv", "ffv1", 30)
    cut = truncate(whole, tmp_path / "cut.mkv", 0.6)
    r = _only(cut)
    assert r.type_json["nFrames"] == decoded_frames(cut)
    assert r.warnings and "frames present" in r.warnings[0]


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_display_rotation_is_in_the_provenance_not_the_size(rotation: int,
                                                            tmp_path: Path) -> None:
    import av

    from tests.samples.video import _frames

    path = tmp_path / "rotated.mp4"
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=25)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        st.set_display_rotation(rotation)
        for frame in _frames(5):
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    with av.open(str(path)) as c:  # FFmpeg's angle is counter-clockwise
        clockwise = -next(c.decode(video=0)).rotation % 360
    r = _only(path)
    detail = r.provenance["horizontalResolution"].detail
    assert (r.type_json["horizontalResolution"], r.type_json["verticalResolution"]) == (64, 48)
    assert f"display rotation {clockwise}° clockwise" in detail
    assert ("shown as 48x64" in detail) == (rotation != 180)


@pytest.mark.parametrize("make, message", [
    (lambda t: truncate(encode(t / "s.mp4", "libx264", 20), t / "x.mp4", 0.5), "no 'moov' box"),
    (lambda t: corrupt_stco(encode(t / "s.mp4", "libx264", 20), t / "x.mp4"),
     "without a single video frame"),
    (lambda t: _write(t / "x.mkv", b"\x1a\x45\xdf\xa3" + b"\x00" * 40), "x.mkv: "),
    (lambda t: _write(t / "x.avi", b"RIFF\x04\x00\x00\x00AVI "), "x.avi: "),
])
def test_corrupt_videos_are_refused_in_one_line(tmp_path: Path, make: Any, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert str(info.value).startswith(f"{path.name}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_audio_only_mp4_is_refused(tmp_path: Path) -> None:
    import av
    import numpy as np

    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w") as out:
        st = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                           layout="mono")
        frame.sample_rate = 8000
        for pkt in [*st.encode(frame), *st.encode(None)]:
            out.mux(pkt)
    with pytest.raises(ExtractionError, match=r"^sound\.mp4: MP4 file without a video stream"):
        extract(path)


@pytest.mark.parametrize("name", ["h264_bframes.mp4", "ntsc.mp4", "one_frame.mp4",
                                  "faststart.mov", "mjpeg_cv2.avi", "mpeg4_bframes.avi",
                                  "vfr.mp4"])
def test_our_index_reading_agrees_with_ffmpegs_index(name: str, tmp_path: Path) -> None:
    import os

    import av

    from extractors.video import read_layout

    path = CASES[name][0](tmp_path / name)
    own = read_layout(path, os.path.getsize(path)).own
    with av.open(str(path)) as c:  # entries are valid only while the container is open
        entries = [(e.pos, e.size, e.is_discard) for e in c.streams.video[0].index_entries]
    header = 8 if name.endswith(".avi") else 0  # AVI entries point at the chunk header
    assert own is not None and own.all_shown
    assert own.n_frames == len(entries)
    assert own.data_end == max(pos + size for pos, size, _ in entries) + header
    assert not any(discard for _, _, discard in entries)


def test_typescript_source_is_not_claimed_as_a_transport_stream(tmp_path: Path) -> None:
    from extractors.base import Claim
    from extractors.video import VideoExtractor

    source = tmp_path / "app.ts"
    source.write_text("export const x: number = 1;\n")
    assert VideoExtractor.claim(source) == Claim.NO
    stream = encode(tmp_path / "cam.ts", "mpeg4", 5)
    assert VideoExtractor.claim(stream) == Claim.SPECIFIC


@pytest.mark.parametrize("name", ["faststart.mov", "mjpeg_cv2.avi", "ffv1.mkv", "mpeg4.ts"])
def test_every_cut_and_flipped_byte_gives_a_record_or_a_one_line_error(
        name: str, tmp_path: Path) -> None:
    import random

    whole = CASES[name][0](tmp_path / name).read_bytes()
    rng = random.Random(name)
    for i in range(40):
        cut = i % 2 == 1  # odd: a recording cut short; even: bytes flipped in the headers
        data = bytearray(whole[:rng.randrange(1, len(whole))] if cut else whole)
        for _ in range(0 if cut else rng.randrange(1, 6)):
            j = rng.randrange(min(len(data), 2048))
            data[j] = rng.randrange(256)
        path = tmp_path / f"damaged{i}{Path(name).suffix}"
        path.write_bytes(bytes(data))
        try:
            (r,) = extract(path)
        except ExtractionError as exc:
            assert str(exc).startswith(f"{path.name}: ") and "\n" not in str(exc)
            if cut:  # refused only if a decoder shows nothing either
                assert _decoded_or_zero(path) == 0, (path.name, str(exc))
        else:
            assert 0 < r.type_json["nFrames"]
            if cut:  # what survives of a cut recording is what a decoder shows
                assert r.type_json["nFrames"] == decoded_frames(path), path.name


def _decoded_or_zero(path: Path) -> int:
    import av

    try:
        return decoded_frames(path)
    except (av.FFmpegError, IndexError):  # FFmpeg cannot open it, or finds no video stream
        return 0


def test_zeros_after_an_avi_are_not_walked_as_chunks(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A recorder that preallocates its file leaves zeros after the last chunk. Every frame
    # is still indexed; reading the zeros 8 bytes at a time would cost their whole size.
    import builtins
    import os

    path = cv2_avi(tmp_path / "pre.avi", 20)
    frames = decoded_frames(path)
    tail = 64 * 2**20
    os.truncate(path, path.stat().st_size + tail)  # sparse: no disk used
    read = 0
    real_open = builtins.open

    class Counting:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def read(self, k: int = -1) -> bytes:
            nonlocal read
            data = self.fh.read(k)
            read += len(data)
            return data

        def seek(self, *a: int) -> int:
            return self.fh.seek(*a)

    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: Counting(real_open(f, *a, **k)))
    r = _only(path)
    assert r.type_json["nFrames"] == frames == 20
    assert read < tail // 16  # the header, the index and a few probes; not the zeros
