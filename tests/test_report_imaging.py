"""The session report with imaging records (any record with ``frameRate`` and ``nFrames``):
drawn on the timeline, their duration checked against the session's other modalities, and
the frame counts of the files of one split acquisition checked against each other."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bsingest.report import RecordView, ReportSettings, SessionReport
from bsingest.report.checks import run_checks
from bsingest.report.html import render
from extractors.base import Extraction, Provenance, Source


def _view(name: str, rtype: str, count: int, rate: float, *, frames: bool = True,
          warnings: tuple[str, ...] = ()) -> RecordView:
    keys = ("nFrames", "frameRate") if frames else ("nSamples", "sr")
    tj = {"fileName": name, keys[0]: count, keys[1]: rate}
    x = Extraction(name, rtype, tj, {k: Provenance(Source.HEADER, "test") for k in tj},
                   warnings, "scanimage" if frames else "rawbinary")
    return RecordView.from_extraction(x)


def _split(counts: list[int], rate: float = 30.0) -> list[RecordView]:
    return [_view(f"imaging/rec_{i + 1:05d}.tif", "TwoPhotonMicroscopy", n, rate)
            for i, n in enumerate(counts)]


def test_a_split_acquisition_that_agrees_is_one_modality_without_findings() -> None:
    records = [*_split([1000, 1000, 400]), _view("rec.dat", "ExtracellularEphys", 80 * 20000,
                                                 20000.0, frames=False)]
    findings, runs = run_checks(records, {}, ReportSettings())
    assert findings == []
    assert any(r.check == "frames" and "3 files" in r.subject for r in runs)
    assert any(r.check == "durations" and r.subject == "2 modalities" for r in runs)
    page = render([SessionReport("s", records, findings)])
    for r in records:
        assert f'data-record="{r.file_name}"' in page  # each drawn on the timeline


def test_a_file_short_of_frames_in_the_middle_is_a_frames_warning() -> None:
    records = _split([1000, 990, 1000, 300])
    findings, _ = run_checks(records, {}, ReportSettings())
    assert [(f.check, f.records[-1]) for f in findings] == [
        ("frames", "imaging/rec_00002.tif")]
    assert "holds 990 frames; the other files of its acquisition hold 1,000 each" \
        in findings[0].message


def test_files_of_one_acquisition_at_different_rates_warn() -> None:
    records = [*_split([500]), *_split([500, 200], rate=15.0)[1:]]
    findings, _ = run_checks(records, {}, ReportSettings())
    assert [f.check for f in findings] == ["frames"]
    assert "different frame rates (15, 30 fps)" in findings[0].message


def test_imaging_shorter_than_the_ephys_is_a_duration_warning() -> None:
    records = [_view("scope/Miniscope", "Miniscope", 30 * 60, 30.0),
               _view("rec.dat", "ExtracellularEphys", 80 * 20000, 20000.0, frames=False),
               _view("cam.mp4", "BehavioralTracking", 25 * 80, 25.0)]
    findings, _ = run_checks(records, {}, ReportSettings())
    assert [(f.check, f.records[-1]) for f in findings] == [("durations", "scope/Miniscope")]
    assert findings[0].values["difference (s)"] == 20


def test_numbered_behaviour_cameras_are_not_one_acquisition() -> None:
    records = [_view("cam1.mp4", "BehavioralTracking", 1000, 25.0),
               _view("cam2.mp4", "BehavioralTracking", 1000, 25.0)]
    _, runs = run_checks(records, {}, ReportSettings())
    assert not [r for r in runs if r.check == "frames"]


def test_time_stamps_against_frames_is_a_frames_warning(tmp_path: Path) -> None:
    w = "timeStamps.csv lists 998 frames but the AVIs hold 1000: 2 frame(s) without a time"
    records = [_view("rec/Miniscope", "Miniscope", 1000, 30.0, warnings=(w,))]
    findings, _ = run_checks(records, {}, ReportSettings())
    assert [(f.check, f.severity.value, f.message) for f in findings] == [
        ("frames", "warning", f"rec/Miniscope: {w}")]


def test_devices_that_start_together_are_not_segments_of_one_recording() -> None:
    import dataclasses

    start = "2021-10-07T15:07:58.666000"
    scope = dataclasses.replace(_view("rec/Miniscope", "Miniscope", 5, 15.0),
                                extractor="miniscope", start_time=start)
    cam = dataclasses.replace(_view("rec/BehavCam_2", "BehavioralTracking", 5, 30.0),
                              extractor="miniscope", start_time=start)
    _, runs = run_checks([scope, cam], {}, ReportSettings())
    assert [r.subject for r in runs if r.check == "durations"] == ["2 modalities"]


def test_labelled_frames_of_a_pose_file_are_no_duration(tmp_path: Path) -> None:
    # SLEAP labels 2 frames of a 2 s video: 2 frames at the video's 25 fps are not 80 ms of
    # recording, so the pose file is left out of the durations (the video is in them).
    import wave

    from bsingest.report import build_report
    from tests.samples.sleap import video_entry, write_slp
    from tests.samples.video import encode

    session = tmp_path / "s"
    encode(session / "cam.mp4", n=50, rate=25)
    write_slp(session / "cam.slp", [(0, 3), (0, 40)], [video_entry("cam.mp4")])
    with wave.open(str(session / "mic.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(2 * 8000 * 2))
    report = build_report(session)
    assert not report.failed
    views = {r.file_name: r for r in report.records}
    assert views["cam.slp"].count == 2 and views["cam.slp"].rate == 25
    assert views["cam.slp"].duration is None
    assert "labelled frames" in views["cam.slp"].duration_detail
    assert [views[n].duration for n in ("cam.mp4", "mic.wav")] == [2.0, 2.0]
    assert report.findings == []


def _scanimage_split(folder: Path) -> str:
    from tests.imaging_fixtures import si_software, write_scanimage

    software = si_software(frames_per_file=900)  # ScanImage closes a file every 900 frames
    for i, n in ((1, 900), (2, 850), (4, 300)):  # the second cut short, the third lost
        write_scanimage(folder / f"m_00001_{i:05d}.tif", n, software=software)
    return "m_00001_00001.tif"


def _bruker_missing(folder: Path) -> str:
    from tests.imaging_fixtures import write_bruker

    write_bruker(folder, frames=6, write_tifs=4)  # the XML lists 6 frame files, 4 are there
    return "TSeries-001.xml"


def _thorimage_short(folder: Path) -> str:
    from tests.imaging_fixtures import write_thorimage

    write_thorimage(folder, raw_frames=5, timepoints=4, zsteps=3)  # 12 stated, 5 on disk
    return "Experiment.xml"


@pytest.mark.parametrize(("write", "expected"), [
    (_scanimage_split, ["numbered files skip 00003",
                        "m_00001_00002.tif holds 850 pages, not the 900 frames"]),
    (_bruker_missing, ["2 of the 6 TIFF files the XML lists are absent"]),
    (_thorimage_short, ["holds 5 frames and Experiment.xml states 12"]),
])
def test_frames_an_acquisition_lacks_against_its_header_are_frames_warnings(
        tmp_path: Path, write: Callable[[Path], str], expected: list[str]) -> None:
    from bsingest.report import Severity, build_report

    write(tmp_path / "s")
    report = build_report(tmp_path / "s")
    assert not report.failed
    found = [(f.check, f.severity) for f in report.findings]
    assert found == [("frames", Severity.WARNING)] * len(expected), report.findings
    for f, text in zip(report.findings, expected, strict=True):
        assert text in f.message
