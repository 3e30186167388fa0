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


def test_variable_frame_rate_is_the_mean_and_the_same_in_every_container(
        tmp_path: Path) -> None:
    # The mean rate is the 29 intervals between 30 frames over the span of their
    # timestamps: how a container stores the last frame's duration (MP4 stts keeps one,
    # MKV may not) does not change it. The two copies differed by 0.7 %.
    span = (VFR_PTS[-1] - VFR_PTS[0]) / 1000
    rates = {}
    for name in ("vfr.mkv", "vfr.mp4", "vfr.mov"):
        r = _only(encode(tmp_path / name, "libx264", 30, pts=VFR_PTS,
                         time_base=Fraction(1, 1000)))
        rates[name] = r.type_json["frameRate"]
        assert r.type_json["frameRate"] == pytest.approx(29 / span, rel=1e-9), name
        assert "variable frame rate" in r.provenance["frameRate"].detail
        assert r.provenance["frameRate"].source.value == "computed"
    assert len(set(rates.values())) == 1, rates


@pytest.mark.parametrize(("name", "codec", "rate", "n"), [
    ("one_second.webm", "libvpx", 24, 24),  # millisecond timestamps: 24.024 before
    ("clip.mkv", "libx264", 24, 24),
    ("fast.wmv", "wmv2", 150, 150),  # ASF: 150.05 (or 150.9) before
    ("slow.asf", "wmv2", 24, 30),
    ("ntsc.mkv", "libx264", Fraction(30000, 1001), 60),
])
def test_constant_rate_in_millisecond_containers_is_the_rate(tmp_path: Path, name: str,
                                                             codec: str, rate: Fraction | int,
                                                             n: int) -> None:
    r = _only(encode(tmp_path / name, codec, n, rate=rate))
    assert r.type_json["nFrames"] == n == decoded_frames(tmp_path / name)
    assert r.type_json["frameRate"] == pytest.approx(float(rate), abs=1e-9)
    assert "variable" not in r.provenance["frameRate"].detail


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

        def tell(self) -> int:
            return self.fh.tell()

        def close(self) -> None:
            self.fh.close()

    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: Counting(real_open(f, *a, **k)))
    r = _only(path)
    assert r.type_json["nFrames"] == frames == 20
    assert read < tail // 16  # the header, the index and a few probes; not the zeros


# --- damaged tables, padding, --verify, creation time ------------------------------------


def _patched(src: Path, dst: Path, box: bytes, offset: int, value: bytes) -> Path:
    """A copy of ``src`` with ``value`` written ``offset`` bytes after ``box``'s type."""
    data = bytearray(src.read_bytes())
    at = data.find(box)
    if box == b"mdhd":
        offset += 8 if data[at + 4] == 0 else 16  # version, flags, two times
    data[at + offset:at + offset + len(value)] = value
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize(("box", "offset", "value", "words"), [
    (b"mdhd", 8, b"\x00\x00\x00\x00", "mdhd timescale is 0"),
    (b"stsc", 16, b"\xff\xff\xff\xff", "stsc places 4294967295 samples in 1 chunks, stsz lists 30"),
    (b"stsz", 12, b"\x00\x00\x00\x1f", "stsz declares 31 entries in"),
])
def test_sample_tables_that_disagree_are_a_warning_with_both_counts(
        tmp_path: Path, box: bytes, offset: int, value: bytes, words: str) -> None:
    src = encode(tmp_path / "src.mp4", "libx264", 30)
    path = _patched(src, tmp_path / "bad.mp4", box, offset, value)
    r = _only(path)
    assert r.type_json["nFrames"] == decoded_frames(path)  # what FFmpeg still shows
    assert any(w.startswith("damaged sample table (") and words in w for w in r.warnings), \
        r.warnings


def _unknown_segment_size(path: Path) -> None:
    """Turn the Segment's declared size into 'unknown', as a recorder that never
    finalized the file leaves it."""
    data = bytearray(path.read_bytes())
    at = data.find(b"\x18\x53\x80\x67") + 4
    assert data[at] == 0x01  # the muxer's 8-byte size field
    data[at:at + 8] = b"\x01" + b"\xff" * 7
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("unknown_size", [False, True])
def test_padding_after_matroska_data_is_not_read_and_is_warned_about(
        tmp_path: Path, unknown_size: bool) -> None:
    path = encode(tmp_path / "pad.mkv", "libx264", 30)
    if unknown_size:
        _unknown_segment_size(path)
    good = path.stat().st_size
    with open(path, "ab") as fh:  # 1 GiB of preallocated zeros, sparse: costs no disk
        fh.truncate(good + 2**30)
    r = _only(path)
    assert r.type_json["nFrames"] == 30
    assert f"the {2**30} bytes from byte {good} on are not Matroska data" in r.warnings[0]
    assert f"read up to byte {good}" in r.provenance["nFrames"].detail


def _mjpeg_with_broken_frames(tmp_path: Path) -> Path:
    src = encode(tmp_path / "mj.mp4", "mjpeg", 10, pix_fmt="yuvj420p")
    data = bytearray(src.read_bytes())
    at = data.find(b"mdat") + 4
    size = int.from_bytes(data[at - 8:at - 4], "big")
    data[at + size * 3 // 10:at + size * 5 // 10] = bytes(size // 5)  # two frames' data
    path = tmp_path / "broken.mp4"
    path.write_bytes(bytes(data))
    return path


def test_default_count_is_what_the_container_stores_and_says_so(tmp_path: Path) -> None:
    path = _mjpeg_with_broken_frames(tmp_path)
    r = _only(path)
    assert r.type_json["nFrames"] == 10  # the index's entries, not decoded
    assert "counts the frames the container stores, without decoding" in \
        r.provenance["nFrames"].detail
    assert "--verify" in r.provenance["nFrames"].detail


def test_verify_decodes_and_reports_both_counts(tmp_path: Path) -> None:
    path = _mjpeg_with_broken_frames(tmp_path)
    shown = decoded_frames(path)
    assert shown < 10
    (r,) = extract(path, verify=True)
    assert r.type_json["nFrames"] == shown
    assert f"the container stores 10 frames but decoding shows {shown}" in r.warnings[0]
    (good,) = extract(tmp_path / "mj.mp4", verify=True)
    assert good.type_json["nFrames"] == 10 and good.warnings == ()
    assert "--verify: a full decode shows the same 10" in good.provenance["nFrames"].detail


def test_extract_cli_takes_verify(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from bsingest.cli.main import cli

    path = _mjpeg_with_broken_frames(tmp_path)
    out = CliRunner().invoke(cli, ["extract", "--json", "--verify", str(path)])
    assert out.exit_code == 0, out.output
    (entry,) = json.loads(out.stdout)
    assert entry["type_json"]["nFrames"] == decoded_frames(path)


def _with_creation_time(path: Path, codec: str, when: str) -> Path:
    import av

    from tests.samples.video import _frames

    with av.open(str(path), "w") as out:
        out.metadata["creation_time"] = when
        st = out.add_stream(codec, rate=25)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        for frame in _frames(5):
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    return path


@pytest.mark.parametrize(("name", "where"), [("c.mp4", "mvhd creation_time"),
                                              ("c.mov", "mvhd creation_time"),
                                              ("c.mkv", "Segment Info DateUTC")])
def test_creation_time_is_the_start(tmp_path: Path, name: str, where: str) -> None:
    path = _with_creation_time(tmp_path / name, "libx264", "2026-11-30T09:15:02.000000Z")
    r = _only(path)
    assert r.start_time == "2026-11-30T09:15:02+00:00"
    assert where in r.provenance["startTime"].detail


def test_avi_idit_chunk_is_the_start(tmp_path: Path) -> None:
    import struct

    path = cv2_avi(tmp_path / "idit.avi", 5)
    data = bytearray(path.read_bytes())
    (hdrl,) = struct.unpack("<I", data[16:20])
    idit = b"IDIT" + struct.pack("<I", 26) + b"Mon Nov 30 09:15:02 2026\n\x00"
    data[20 + hdrl:20 + hdrl] = idit  # at the end of the hdrl list, sizes updated
    struct.pack_into("<I", data, 16, hdrl + len(idit))
    struct.pack_into("<I", data, 4, struct.unpack("<I", data[4:8])[0] + len(idit))
    path.write_bytes(bytes(data))
    r = _only(path)
    assert r.start_time == "2026-11-30T09:15:02" and r.type_json["nFrames"] == 5
    assert "IDIT" in r.provenance["startTime"].detail


@pytest.mark.parametrize("when", ["1904-01-01T00:00:00Z", "1970-01-01T00:00:00Z"])
def test_epoch_creation_time_means_none(tmp_path: Path, when: str) -> None:
    r = _only(_with_creation_time(tmp_path / "z.mp4", "libx264", when))
    assert r.start_time is None and "startTime" not in r.provenance


def test_padding_after_avi_chunks_is_not_read_and_is_warned_about(tmp_path: Path) -> None:
    path = cv2_avi(tmp_path / "pad.avi", 10)
    good = path.stat().st_size
    with open(path, "ab") as fh:
        fh.truncate(good + 2**30)
    r = _only(path)
    assert r.type_json["nFrames"] == 10
    assert f"the {2**30} bytes from byte {good} on are not RIFF chunks" in r.warnings[0]


def _ts_tail(stride: int, n: int, what: str) -> bytes:
    """``n`` whole packets' worth of what follows a transport stream."""
    import random

    rng = random.Random(12)
    if what == "random":
        return rng.randbytes(n * stride)
    # Junk with the sync byte at every other packet boundary from the second on: each one
    # a stray 0x47 a bisection may land on.
    tail = bytearray(rng.randbytes(n * stride))
    at = range(2 * stride - 188, len(tail), 2 * stride)
    tail[at.start::at.step] = b"\x47" * len(at)
    return bytes(tail)


@pytest.mark.parametrize(("name", "stride"), [("pad.ts", 188), ("pad.m2ts", 192)])
@pytest.mark.parametrize("what", ["zeros", "random", "stray 0x47"])
def test_padding_after_a_transport_stream_is_not_read_and_is_warned_about(
        tmp_path: Path, name: str, stride: int, what: str) -> None:
    path = encode(tmp_path / name, "mpeg4", 30)
    good = path.stat().st_size
    assert good % stride == 0 and decoded_frames(path) == 30
    with open(path, "ab") as fh:
        if what != "zeros":
            fh.write(_ts_tail(stride, 4000, what))
        fh.truncate(good + 2**30)  # then zeros, sparse: costs no disk
    r = _only(path)
    assert r.type_json["nFrames"] == 30
    assert r.warnings == (f"the {2**30} bytes from byte {good} on are not MPEG-TS data (the "
                          f"end of the last {stride}-byte packet that starts with the sync "
                          "byte 0x47): not read",)
    assert f"read up to byte {good}" in r.provenance["nFrames"].detail


def test_the_end_of_a_transport_stream_costs_reads_in_the_log_of_the_tail(
        tmp_path: Path) -> None:
    import io
    import os

    from extractors.video.mpeg_flv import _ts_end

    path = encode(tmp_path / "big.ts", "mpeg4", 30)
    good = path.stat().st_size
    os.truncate(path, good + 2**40)  # 1 TiB of sparse zeros

    class Counting(io.FileIO):
        read_bytes = 0

        def read(self, n: int = -1) -> bytes:
            data = super().read(n)
            Counting.read_bytes += len(data)
            return data

    with Counting(path) as fh:
        assert _ts_end(fh, good + 2**40, 188) == good
    assert Counting.read_bytes < 2**16  # some 40 probes of a byte or 5 packets


def test_a_transport_stream_out_of_step_is_read_whole(tmp_path: Path) -> None:
    # Bytes lost in a capture put every later packet out of step with the first: that is
    # still TS, not padding, and FFmpeg (which resyncs) is given all of it.
    src = encode(tmp_path / "src.ts", "mpeg4", 30).read_bytes()
    cut = len(src) // 2 // 188 * 188 + 50
    path = tmp_path / "lost.ts"
    path.write_bytes(src[:cut] + src[cut + 7:])
    r = _only(path)
    assert r.type_json["nFrames"] == decoded_frames(path)
    assert not any("not MPEG-TS data" in w for w in r.warnings)


@pytest.mark.parametrize(("name", "codec", "words"), [
    ("pad.mpg", "mpeg2video", "not MPEG-PS data (zeros after the end of the last pack)"),
    ("pad.flv", "flv1", "not FLV data (zeros after the end of the last tag)"),
])
def test_zeros_after_a_program_stream_or_flv_are_not_read_and_are_warned_about(
        tmp_path: Path, name: str, codec: str, words: str) -> None:
    path = encode(tmp_path / name, codec, 30)
    assert _only(path).warnings == ()
    good = path.stat().st_size
    with open(path, "ab") as fh:
        fh.truncate(good + 2**30)
    r = _only(path)
    assert r.type_json["nFrames"] == 30
    assert r.warnings == (f"the {2**30} bytes from byte {good} on are {words}: not read",)
    assert f"read up to byte {good}" in r.provenance["nFrames"].detail


def test_zeros_the_flv_tags_do_not_end_at_are_left_to_ffmpeg(tmp_path: Path) -> None:
    # The last PreviousTagSize lost, then zeros: no tag is seen to end where the zeros
    # begin, so nothing is taken for padding and FFmpeg reads all (64 KiB here).
    src = encode(tmp_path / "src.flv", "flv1", 30).read_bytes()
    path = tmp_path / "cut.flv"
    path.write_bytes(src[:-4] + bytes(2**16))
    r = _only(path)
    assert r.type_json["nFrames"] == decoded_frames(path) == 30
    assert not any("zeros after" in w for w in r.warnings)


def test_a_clean_transport_stream_has_no_padding_warning(tmp_path: Path) -> None:
    r = _only(encode(tmp_path / "clean.ts", "mpeg4", 30))
    assert r.type_json["nFrames"] == 30 and r.warnings == ()
    assert "read up to byte" not in r.provenance["nFrames"].detail


@pytest.mark.parametrize("command", ["ingest", "batch"])
def test_ingest_and_batch_take_verify(tmp_path: Path, command: str) -> None:
    """--verify reaches the extractor through ingest and batch: the record on the server
    holds the decoded count, not the index's."""
    import httpx
    from click.testing import CliRunner

    from bsingest.cli.main import cli
    from bsingest.server import LocalServer

    folder = tmp_path / "day1"
    folder.mkdir()
    path = _mjpeg_with_broken_frames(folder)
    (tmp_path / "mj.mp4").unlink(missing_ok=True)
    (folder / "mj.mp4").unlink(missing_ok=True)  # the intact copy the helper leaves
    shown = decoded_frames(path)
    assert shown < 10
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        env = {"BRAINSTEM_SERVER": srv.url, "BRAINSTEM_TOKEN": srv.pat,
               "BSINGEST_JOURNAL": str(tmp_path / "j.sqlite"),
               "XDG_CONFIG_HOME": str(tmp_path / "config")}
        ids = ["--session", srv.seed.session, "--procedure", srv.seed.procedure]
        if command == "ingest":
            args = ["ingest", str(folder), *ids, "--verify"]
        else:
            manifest = tmp_path / "m.csv"
            manifest.write_text(f"folder,session,procedures\nday1,{srv.seed.session},"
                                f"{srv.seed.procedure}\n")
            args = ["batch", str(manifest), "--verify"]
        result = CliRunner(env=env).invoke(cli, args)
        assert result.exit_code == 0, result.output
        body = httpx.get(f"{srv.url}/api/private/modules/dataacquisition/",
                         params={"filter{details.fileName}": "broken.mp4"},
                         headers={"Authorization": f"Bearer {srv.pat}"}).json()
        (record,) = body["data_acquisitions"]
        assert record["details"]["nFrames"] == shown
