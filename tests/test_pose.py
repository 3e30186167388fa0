"""Pose and position-tracking files: SLEAP labels and analysis exports, Lightning Pose CSV,
FicTrac, Neuralynx NVT, Axona POS.

Fixtures are written here (``tests/samples/*``, in each writer's layout); the values a
test expects come from an independent reading: h5py shapes, file-size arithmetic, the
numbers the writer was given, PyAV for the videos.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract, extract_folder
from extractors import extractor_for
from tests.samples import axona_pos, fictrac, nvt, sleap, sleap_analysis
from tests.samples.dlc import SCORER, write_csv
from tests.samples.video import encode


def _only(path: Path) -> Any:
    (r,) = extract(path)
    return r


def _video_truth(path: Path) -> tuple[float, int, int]:
    import av

    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        return float(Fraction(vs.average_rate)), vs.codec_context.width, vs.codec_context.height


# --- SLEAP labels -------------------------------------------------------------------


def test_slp_counts_labelled_frames_and_takes_rate_and_size_from_its_video(
        tmp_path: Path) -> None:
    import h5py

    video = encode(tmp_path / "session" / "cam0.mp4", "libx264", 30, rate=Fraction(30000, 1001))
    labelled = [(0, i) for i in (0, 3, 4, 11, 29)]
    # Labelled on another machine, kept in a sleap/ folder of the session.
    path = sleap.write_slp(tmp_path / "session" / "sleap" / "labels.v001.slp", labelled,
                           [sleap.video_entry("D:\\rig\\videos\\cam0.mp4")])
    r = _only(path)
    with h5py.File(path) as h5:
        assert r.type_json["nFrames"] == h5["frames"].shape[0] == len(labelled)
    assert "labelled frames" in r.provenance["nFrames"].detail
    rate, width, height = _video_truth(video)
    assert r.type_json["frameRate"] == pytest.approx(rate, rel=1e-9)
    assert (r.type_json["horizontalResolution"], r.type_json["verticalResolution"]) == \
        (width, height)
    assert "cam0.mp4" in r.provenance["frameRate"].detail
    assert r.type_json["format"] == "SLEAP .slp"


def test_slp_without_its_video_gives_only_what_it_holds(tmp_path: Path) -> None:
    path = sleap.write_slp(tmp_path / "x.slp", [(0, 1), (0, 2)],
                           [sleap.video_entry("/data/cam.mp4", [500, 480, 640, 1])])
    r = _only(path)
    assert "frameRate" not in r.type_json
    assert (r.type_json["horizontalResolution"], r.type_json["verticalResolution"]) == (640, 480)
    assert any("cam.mp4" in w and "not in the session" in w for w in r.warnings)


def test_slp_with_two_different_videos_gives_no_rate(tmp_path: Path) -> None:
    encode(tmp_path / "a.mp4", "libx264", 5, rate=25)
    encode(tmp_path / "b.mp4", "libx264", 5, rate=30)
    path = sleap.write_slp(tmp_path / "two.slp", [(0, 1), (1, 1), (1, 3)],
                           [sleap.video_entry("a.mp4"), sleap.video_entry("b.mp4")])
    r = _only(path)
    assert r.type_json["nFrames"] == 3
    assert "frameRate" not in r.type_json
    assert any("differ" in w for w in r.warnings)


def test_package_slp_sizes_from_the_embedded_video_and_rate_from_the_source(
        tmp_path: Path) -> None:
    video = encode(tmp_path / "cam0.mp4", "libx264", 10, rate=15)
    path = sleap.write_slp(tmp_path / "labels.pkg.slp", [(0, 2), (0, 5), (0, 8)],
                           [sleap.package_entry(0, 3, 48, 64)],
                           embed={0: ([2, 5, 8], 48, 64, sleap.video_entry("/x/cam0.mp4"))})
    r = _only(path)
    assert r.type_json["format"] == "SLEAP .pkg.slp"
    assert r.type_json["nFrames"] == 3
    assert r.type_json["frameRate"] == _video_truth(video)[0] == 15
    video.unlink()  # without the source: the size the package states, no rate
    r = _only(path)
    assert "frameRate" not in r.type_json
    assert r.type_json["horizontalResolution"] == 64
    assert "height and width attributes" in r.provenance["verticalResolution"].detail


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100)), "HDF5 cannot read it"),
    (lambda p: p.write_text("hello"), "not an HDF5 file"),
])
def test_bad_slp_is_one_line(tmp_path: Path, make: Any, message: str) -> None:
    path = tmp_path / "bad.slp"
    make(path)
    with pytest.raises(ExtractionError, match=message) as info:
        extract(path)
    assert str(info.value).startswith("bad.slp: ")


def test_slp_without_the_expected_groups_is_one_line(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "other.slp"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("frames", data=[1, 2, 3])
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert str(info.value) == "other.slp: not a SLEAP labels file: no /videos_json, /metadata"


# --- SLEAP analysis -----------------------------------------------------------------


@pytest.mark.parametrize("preset", ["standard", "matlab", "legacy"])
def test_analysis_frames_are_the_frame_axis_of_tracks(tmp_path: Path, preset: str) -> None:
    import h5py

    video = encode(tmp_path / "cam0.mp4", "libx264", 17)
    path = sleap_analysis.write_analysis(tmp_path / "cam0.analysis.h5", 17, preset=preset,
                                         n_tracks=3, n_nodes=4)
    r = _only(path)
    assert r.extractor == "sleap_analysis"
    with h5py.File(path) as h5:
        assert r.type_json["nFrames"] == h5["track_occupancy"].shape[0] == 17
    assert r.type_json["frameRate"] == _video_truth(video)[0]
    assert "video frames" in r.provenance["nFrames"].detail


def test_analysis_claim_needs_no_hdf5_reader_and_steals_nothing(tmp_path: Path) -> None:
    from tests.samples.dlc import write_h5_table

    renamed = sleap_analysis.write_analysis(tmp_path / "tracks_export.h5", 4)
    assert extractor_for(renamed).name == "sleap_analysis"  # by the link names
    dlc = write_h5_table(tmp_path / "camDLC_resnet50_x.h5", 10)
    assert extractor_for(dlc).name == "dlc"
    import h5py

    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5.create_dataset("data", data=[1, 2])
    with pytest.raises(Exception, match="no extractor"):
        extractor_for(other)


# --- Lightning Pose -----------------------------------------------------------------


def test_lightning_pose_csv_is_named_and_finds_its_video(tmp_path: Path) -> None:
    video = encode(tmp_path / "cam0.mp4", "libx264", 12, rate=60)
    path = write_csv(tmp_path / "video_preds" / "cam0.csv", 12)
    # Lightning Pose's predict_video: DeepLabCut's columns, scorer <model_type>_tracker.
    path.write_text(path.read_text().replace(SCORER, "heatmap_mhcrnn_tracker"))
    r = _only(path)
    assert r.extractor == "dlc"
    assert r.type_json["format"] == "Lightning Pose CSV"
    assert r.type_json["nFrames"] == 12
    assert r.type_json["frameRate"] == _video_truth(video)[0] == 60


# --- FicTrac ------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "rate", "columns"), [(600, 60.0, 25), (90, 30.0, 23),
                                                     (1, 50.0, 25)])
def test_fictrac_frames_and_mean_rate(tmp_path: Path, n: int, rate: float,
                                      columns: int) -> None:
    path = fictrac.write_dat(tmp_path / "run.dat", n, rate=rate, columns=columns, first=5)
    r = _only(path)
    assert r.extractor == "fictrac"
    rows = path.read_text().splitlines()
    assert r.type_json["nFrames"] == len(rows) == n
    if n > 1:
        t = [float(line.split(",")[21]) for line in (rows[0], rows[-1])]
        assert r.type_json["frameRate"] == pytest.approx((n - 1) / ((t[1] - t[0]) / 1000))
        assert r.type_json["frameRate"] == pytest.approx(rate, rel=1e-6)
    assert r.start_time.startswith("2024-03-01T10:00:05.25")


def test_a_binary_dat_stays_raw_binary(tmp_path: Path) -> None:
    import numpy as np

    path = tmp_path / "rec.dat"
    np.arange(64 * 100, dtype="<i2").tofile(path)
    assert extractor_for(path).name == "rawbinary"
    text = tmp_path / "notes.dat"
    text.write_text("1, 2, 3\n4, 5, 6\n")
    assert extractor_for(text).name == "rawbinary"  # three columns: not FicTrac


# --- Neuralynx NVT ------------------------------------------------------------------


def test_nvt_records_by_file_size(tmp_path: Path) -> None:
    path = nvt.write_nvt(tmp_path / "VT1.nvt", 123, rate="29.97", partial=700)
    r = _only(path)
    size = path.stat().st_size
    assert r.type_json["nFrames"] == (size - 16384) // 1828 == 123
    assert r.type_json["frameRate"] == 29.97
    assert (r.type_json["horizontalResolution"], r.type_json["verticalResolution"]) == (720, 480)
    assert any("700 bytes" in w for w in r.warnings)
    assert r.start_time == "2024-03-01T10:00:05.250000"
    # The records hold what the writer put there: the timestamps of the first and last.
    with open(path, "rb") as fh:
        fh.seek(16384 + 6)
        assert struct.unpack("<Q", fh.read(8))[0] == 1_000_000


def test_truncated_nvt_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "VT1.nvt"
    path.write_bytes(nvt.header()[:9000])
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert str(info.value) == ("VT1.nvt: 9000 bytes: shorter than the 16384-byte Neuralynx "
                               "header (a truncated file)")


# --- Axona POS ----------------------------------------------------------------------


def test_axona_pos_samples_rate_and_window(tmp_path: Path) -> None:
    path = axona_pos.write_pos(tmp_path / "trial.pos", 250, rate="50.0 hz",
                               window=(100, 740, 20, 500))
    r = _only(path)
    data = path.read_bytes()
    start = data.index(b"data_start") + len(b"data_start")
    end = data.index(b"\r\ndata_end")
    assert r.type_json["nFrames"] == (end - start) // 20 == 250
    assert r.type_json["frameRate"] == 50
    assert (r.type_json["horizontalResolution"], r.type_json["verticalResolution"]) == (640, 480)
    assert r.start_time == "2020-10-04T11:07:07"


def test_axona_pos_cut_short_warns_with_both_counts(tmp_path: Path) -> None:
    path = axona_pos.write_pos(tmp_path / "cut.pos", 100, cut=12 + 20 * 30 + 3)
    r = _only(path)
    assert r.type_json["nFrames"] == 69
    assert any("100" in w and "69" in w for w in r.warnings)


def test_a_pos_file_of_another_program_is_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "points.pos"
    path.write_text("x y z\n1 2 3\n")
    # Asked about alone, it is named for what it resembles and refused ...
    with pytest.raises(ExtractionError, match=r"axona_pos family .*its contents are not one"):
        extractor_for(path)
    # ... and in a folder it is skipped, not an error: .pos is not Axona's ending alone.
    report = extract_folder(tmp_path)
    assert [Path(p).name for p in report.skipped] == ["points.pos"]
    assert str(path) not in report.errors and not report.extractions


def test_more_pose_frames_than_the_video_holds_is_a_warning_the_report_reads(
        tmp_path: Path) -> None:
    from bsingest.report.checks import DATA_SIGNS

    encode(tmp_path / "cam0.mp4", "libx264", 10)
    path = sleap_analysis.write_analysis(tmp_path / "cam0.analysis.h5", 25)
    r = _only(path)
    (warning,) = r.warnings
    assert warning == "25 pose frames but cam0.mp4 shows 10 frames"
    assert any(sign in warning for sign in DATA_SIGNS)
    cut = axona_pos.write_pos(tmp_path / "cut.pos", 10, cut=12 + 20 * 3)
    assert any(sign in w for w in _only(cut).warnings for sign in DATA_SIGNS)


def test_labelled_frames_past_the_end_of_the_video_are_a_warning_the_report_reads(
        tmp_path: Path) -> None:
    import av
    import h5py

    from bsingest.report import build_report
    from bsingest.report.checks import DATA_SIGNS
    from bsingest.report.model import Severity

    encode(tmp_path / "cam0.mp4", "libx264", 10)
    encode(tmp_path / "cam1.mp4", "libx264", 10)
    with av.open(str(tmp_path / "cam0.mp4")) as c:  # the video's length, by decoding it
        held = sum(1 for _ in c.decode(video=0))
    labelled = [(0, 2), (0, held + 4), (0, 5), (1, held - 1)]  # cam1's last frame is its own
    path = sleap.write_slp(tmp_path / "labels.slp", labelled,
                           [sleap.video_entry("cam0.mp4"), sleap.video_entry("cam1.mp4")])
    with h5py.File(path) as h5:  # what the file says, read independently
        rows = h5["frames"][()]
        last = int(rows["frame_idx"][rows["video"] == 0].max())
    r = _only(path)
    (warning,) = [w for w in r.warnings if "frame_idx" in w]
    assert warning == f"labelled frame_idx {last} but cam0.mp4 shows {held} frames " \
        f"(0 to {held - 1})"
    assert any(sign in warning for sign in DATA_SIGNS)
    report = build_report(tmp_path)
    assert [(f.severity, f.check) for f in report.findings
            if f.message == f"labels.slp: {warning}"] == [(Severity.WARNING, "extractor")]
    # Within the video: no warning (the last frame is frame held - 1).
    ok = sleap.write_slp(tmp_path / "ok.slp", [(0, 0), (0, held - 1)],
                         [sleap.video_entry("cam0.mp4")])
    assert not any("frame_idx" in w for w in _only(ok).warnings)
    # Without the video in the session there is nothing to check against.
    away = sleap.write_slp(tmp_path / "away" / "x.slp", [(0, 99)],
                           [sleap.video_entry("/data/other.mp4")])
    assert not any("frame_idx" in w for w in _only(away).warnings)


def test_labelled_frames_are_read_in_slices_and_only_against_a_video_of_the_session(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import h5py
    import numpy as np

    from extractors import sleap as sleap_module

    rng = np.random.default_rng(7)
    labelled = [(int(v), int(i)) for v, i in zip(rng.integers(0, 3, 500),
                                                  rng.integers(0, 10_000, 500), strict=True)]
    path = sleap.write_slp(tmp_path / "labels.slp", labelled,
                           [sleap.video_entry(f"cam{k}.mp4") for k in range(3)])
    want = [max(i for v, i in labelled if v == k) for k in range(3)]
    monkeypatch.setattr(sleap_module, "_ROWS_AT_ONCE", 7)  # 72 slices, maxima across them
    with h5py.File(path) as h5:
        assert sleap_module._last_frames(h5["frames"], 3) == want
        # None of the videos is in the session: /frames' rows are not read at all.
        read: list[object] = []
        real = h5py.Dataset.__getitem__
        monkeypatch.setattr(h5py.Dataset, "__getitem__",
                            lambda self, key: read.append(self.name) or real(self, key))
        info = sleap_module._slp(path, h5)
    assert "/frames" not in read
    assert [v["last_frame"] for v in info["videos"]] == [None, None, None]


def test_hdf5_pose_files_are_read_in_the_worker_process(
        tmp_path: Path, reader_calls: Callable[[ModuleType], list[str]]) -> None:
    import extractors.sleap as module

    calls = reader_calls(module)
    extract(sleap.write_slp(tmp_path / "a.slp", [(0, 1)], [sleap.video_entry("a.mp4")]))
    extract(sleap_analysis.write_analysis(tmp_path / "a.analysis.h5", 3))
    assert calls == ["_read_slp", "_read_analysis"]


def test_fictrac_first_row_with_system_time_is_position_zero(tmp_path: Path) -> None:
    # FicTrac <= 2.1.1 reading a video: row 1 holds the system time, the rest the video's
    # position in ms (rjdmoore/fictrac#29; neuroconv reads it as 0 too).
    path = tmp_path / "video_source.dat"
    rows = [fictrac.row(1, fictrac.T0_MS)] + [fictrac.row(1 + i, i * 1000 / 25) for i in
                                              range(1, 250)]
    path.write_text("\n".join(rows) + "\n")
    r = _only(path)
    assert r.type_json["nFrames"] == 250
    assert r.type_json["frameRate"] == pytest.approx(249 / (249 / 25))
    assert r.start_time is None
