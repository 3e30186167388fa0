"""Frame rates in millisecond containers (issue 23): the rate that explains every timestamp.

Fixtures are written here: WebM/MKV by PyAV's FFmpeg with the track's ``DefaultDuration``
blanked (what a writer that stores no rate leaves) or rounded to whole milliseconds, and
FLV, whose timestamps are whole milliseconds. The truth is the rate the encoder was given,
and ffprobe's packet timestamps (a second reader): every one must lie within the
container's resolution of a frame every 1/rate s.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from bsingest.extraction import extract
from extractors.video.rate import _fit_rate
from tests.samples.video import default_duration, encode, ffprobe_stream

RATES = [Fraction(15000, 1001), Fraction(30000, 1001), Fraction(24000, 1001), Fraction(24),
         Fraction(25), Fraction(30), Fraction(60)]
MS = Fraction(1, 1000)
# A variable rate (milliseconds): 33 ms steps, jitter, and a 40 ms pause every 10 frames.
VFR_PTS = [i * 33 + (i % 3) * 7 + (i // 10) * 40 for i in range(60)]


def _ms_stamps(rate: Fraction, n: int) -> list[int]:
    """Frame i's time rounded to the millisecond, as a muxer stores it (round half up)."""
    return [int(Fraction(i * 1000) / rate + Fraction(1, 2)) for i in range(n)]


def _only(path: Path) -> Any:
    (r,) = extract(path)
    return r


def _explains(rate: Fraction, pts: list[int], tick: Fraction) -> bool:
    """Every timestamp within one tick of t0 + i/rate (ffprobe's, an independent reading)."""
    return all(abs((p - pts[0]) * tick - i / rate) <= tick for i, p in enumerate(pts))


# --- the rule, on timestamps computed here ------------------------------------------


@pytest.mark.parametrize("rate", RATES, ids=str)
@pytest.mark.parametrize("hint", ["none", "flv", "estimate", "ms_duration", "exact"])
def test_the_rate_is_the_standard_one_every_millisecond_timestamp_fits(rate: Fraction,
                                                                       hint: str) -> None:
    pts = _ms_stamps(rate, int(rate * 20))  # 20 s
    hints = {
        "none": [],
        # FFmpeg reads FLV's framerate double with a denominator of at most 1000.
        "flv": [Fraction(float(rate)).limit_denominator(1000)],
        # An average from the first second's timestamps (frames - 1 over their span).
        "estimate": [Fraction(len(pts[:int(rate)]) - 1, pts[int(rate) - 1] - pts[0]) * 1000],
        # A DefaultDuration rounded to whole milliseconds.
        "ms_duration": [Fraction(1000, round(1000 / rate))],
        "exact": [rate],
    }[hint]
    got, how = _fit_rate((pts, MS), hints)
    assert got == rate, (got, how)


@pytest.mark.parametrize("rate", [Fraction(149, 10), Fraction(25, 2), Fraction(1, 2),
                                  Fraction(150), Fraction(2997, 100)], ids=str)
def test_a_constant_rate_that_is_not_standard_is_not_snapped(rate: Fraction) -> None:
    pts = _ms_stamps(rate, max(int(rate * 60), 12))
    hint = Fraction(float(rate)).limit_denominator(1000)
    got, _ = _fit_rate((pts, MS), [hint])
    # 29.97 exactly is what it says (a camera set to 29.97): 30000/1001 is 1e-6 away and
    # explains 60 s of millisecond timestamps as well; either is the stream's rate.
    assert got == rate or (rate == Fraction(2997, 100) and got == Fraction(30000, 1001))


def test_a_fine_timescale_keeps_the_rate_it_states() -> None:
    # MP4 with timescale 2997 and every duration 100: exactly 29.97, not 30000/1001 (which
    # its 1/2997 s ticks would also fit for 10,000 frames).
    pts = [i * 100 for i in range(3000)]
    assert _fit_rate((pts, Fraction(1, 2997)), [Fraction(2997, 100)]) == \
        (Fraction(2997, 100), "declared")


def test_a_variable_rate_is_the_mean_not_snapped() -> None:
    got, how = _fit_rate((VFR_PTS, MS), [Fraction(30)])
    assert got == Fraction(len(VFR_PTS) - 1, VFR_PTS[-1] - VFR_PTS[0]) * 1000
    assert "frame intervals" in how


def test_ten_frames_take_fmpegs_average_when_it_fits() -> None:
    # 10 frames of 24.5 fps: 24 and 25 fit none of them, the declared 24.5 does.
    rate = Fraction(49, 2)
    got, how = _fit_rate((_ms_stamps(rate, 10), MS), [rate])
    assert (got, how) == (rate, "declared")


# --- real files: WebM, MKV, FLV written by FFmpeg, read back by ffprobe -------------


def _webm_no_rate(path: Path, rate: Fraction, n: int) -> Path:
    fast = {"b": "50k", "deadline": "realtime", "cpu-used": "8"}  # VP8 is the slow part
    return default_duration(encode(path, "libvpx", n, rate=rate, options=fast), None)


def _mkv_ms_duration(path: Path, rate: Fraction, n: int) -> Path:
    # Truncated to whole milliseconds (66 ms for 15000/1001), in the element's own bytes.
    return default_duration(encode(path, "mpeg4", n, rate=rate),
                            int(1000 / rate) * 1_000_000)


def _flv(path: Path, rate: Fraction, n: int) -> Path:
    return encode(path, "flv", n, rate=rate)


WRITERS = {"webm_without_rate.webm": _webm_no_rate, "ms_default_duration.mkv": _mkv_ms_duration,
           "timestamps.flv": _flv}


@pytest.mark.parametrize("rate", RATES, ids=str)
@pytest.mark.parametrize("name", sorted(WRITERS))
def test_millisecond_containers_give_the_rate_the_stream_was_written_at(
        tmp_path: Path, name: str, rate: Fraction) -> None:
    n = int(rate * 6)  # 6 s: N and N x 1000/1001 part by 6 ms, 1 ms timestamps tell them
    path = WRITERS[name](tmp_path / name, rate, n)
    r = _only(path)
    assert r.type_json["frameRate"] == float(rate), r.provenance["frameRate"].detail
    assert "variable" not in r.provenance["frameRate"].detail
    probe = ffprobe_stream(path)
    if probe is not None:
        assert probe["time_base"] == MS
        assert len(probe["pts"]) == n
        assert _explains(rate, probe["pts"], MS)
        # ...and no rate 0.1 % away does (the millisecond timestamps decide it).
        assert not _explains(rate * Fraction(1001, 1000), probe["pts"], MS)
        assert not _explains(rate * Fraction(1000, 1001), probe["pts"], MS)


@pytest.mark.parametrize("name", ["vfr.webm", "vfr.flv"])
def test_a_variable_rate_file_is_not_snapped(tmp_path: Path, name: str) -> None:
    codec = "libvpx" if name.endswith(".webm") else "flv"
    path = encode(tmp_path / name, codec, len(VFR_PTS), pts=VFR_PTS, time_base=MS)
    if name.endswith(".webm"):
        default_duration(path, None)  # what FFmpeg wrote from the encoder's nominal 25
    r = _only(path)
    probe = ffprobe_stream(path)
    pts = probe["pts"] if probe is not None else VFR_PTS
    mean = Fraction(len(pts) - 1, pts[-1] - pts[0]) * 1000
    assert r.type_json["frameRate"] == pytest.approx(float(mean), rel=1e-12)
    assert "variable frame rate" in r.provenance["frameRate"].detail


def test_a_webm_at_a_rate_no_standard_explains_keeps_it(tmp_path: Path) -> None:
    # 14.9 fps without DefaultDuration: FFmpeg (and ffprobe) snap their estimate to the
    # nearest rate of their list, 179/12 = 14.917, which 10 s of timestamps refute.
    rate = Fraction(149, 10)
    path = _webm_no_rate(tmp_path / "cam.webm", rate, int(rate * 10))
    r = _only(path)
    assert r.type_json["frameRate"] == 14.9
    probe = ffprobe_stream(path)
    if probe is not None:
        assert _explains(rate, probe["pts"], MS)
        if probe["avg_frame_rate"] is not None and probe["avg_frame_rate"] != rate:
            assert not _explains(probe["avg_frame_rate"], probe["pts"], MS)
