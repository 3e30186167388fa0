"""UCLA Miniscope DAQ recordings: one record per device folder, values checked against what
the test wrote and a second reader (a full decode of every AVI with PyAV; cv2 for the
frame size), never against our own extractor's output."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract, extract_paths
from bsingest.report import build_report
from extractors import MiniscopeExtractor, VideoExtractor, discover, extractor_for
from extractors.base import Claim, Source
from tests.samples.miniscope import write_device, write_recording
from tests.samples.video import decoded_frames


def _frame_size(avi: Path) -> tuple[int, int]:
    import cv2

    cap = cv2.VideoCapture(str(avi))
    ok, frame = cap.read()
    cap.release()
    assert ok
    return frame.shape[1], frame.shape[0]


def _stamps(csv: Path) -> list[float]:
    return [float(line.split(",")[1]) for line in csv.read_text().splitlines()[1:]]


def test_a_recording_gives_one_record_per_device_named_by_its_folder(tmp_path: Path) -> None:
    rec = tmp_path / "session" / "15_07_58"
    write_recording(rec, scope_frames=[10, 10, 3], per_file=10)
    report = extract_paths([tmp_path / "session"])
    assert report.errors == {}
    by_name = {x.file_name: x for x in report.extractions}
    assert set(by_name) == {"15_07_58/Miniscope", "15_07_58/BehavCam_1"}
    scope, cam = by_name["15_07_58/Miniscope"], by_name["15_07_58/BehavCam_1"]
    assert (scope.type, cam.type) == ("Miniscope", "BehavioralTracking")
    avis = sorted((rec / "Miniscope").glob("*.avi"))
    assert scope.type_json["nFrames"] == sum(decoded_frames(a) for a in avis) == 23
    assert scope.type_json["frameRate"] == 30  # "30FPS"; the AVIs say 60
    assert scope.provenance["frameRate"].source is Source.HEADER
    width, height = _frame_size(avis[0])
    assert (scope.type_json["horizontalResolution"], scope.type_json["verticalResolution"]) \
        == (width, height)
    assert scope.type_json["compression"] == "FFV1"
    assert "laserPower" not in scope.type_json and "imagingDepth" not in scope.type_json
    assert scope.start_time == datetime.datetime(2021, 10, 7, 15, 7, 58, 666000).isoformat()
    assert scope.warnings == ()
    # The camera states no rate: the mean of its time stamps from the second row on.
    times = _stamps(rec / "BehavCam_1" / "timeStamps.csv")
    assert cam.type_json["frameRate"] == pytest.approx(1000 * (len(times) - 2)
                                                       / (times[-1] - times[1]))
    assert cam.provenance["frameRate"].source is Source.COMPUTED
    assert cam.type_json["compression"] == "MJPG"
    assert cam.type_json["nFrames"] == decoded_frames(rec / "BehavCam_1" / "0.avi")


def test_avis_and_timestamps_are_sidecars_not_videos(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    scope, cam = write_recording(rec)
    found = discover(rec)
    assert sorted(found.data) == sorted([scope, cam])
    for p in [*rec.glob("*/*.avi"), *rec.glob("*/timeStamps.csv"), rec / "metaData.json"]:
        assert p in found.sidecars, p
    assert VideoExtractor.claim(rec / "Miniscope" / "0.avi") == Claim.SPECIFIC
    assert MiniscopeExtractor.claim(rec / "Miniscope" / "0.avi") == Claim.COMPANION
    assert found.skipped == {}


def test_an_avi_given_alone_describes_its_device(tmp_path: Path) -> None:
    scope, _ = write_recording(tmp_path / "rec")
    assert isinstance(extractor_for(scope.parent / "1.avi"), MiniscopeExtractor)
    (x,) = extract(scope.parent / "1.avi")
    (y,) = extract(scope)
    assert x.type_json == y.type_json and x.file_name == "Miniscope"


def test_a_numbered_avi_without_metadata_is_a_plain_video(tmp_path: Path) -> None:
    scope, _ = write_recording(tmp_path / "rec")
    (scope.parent / "metaData.json").unlink()
    assert isinstance(extractor_for(scope.parent / "0.avi"), VideoExtractor)


@pytest.mark.parametrize(("rate", "expected"), [("30FPS", 30), (20, 20), ("12.5", 12.5),
                                                ("15 fps", 15)])
def test_frame_rate_as_text_or_number(tmp_path: Path, rate: object, expected: float) -> None:
    meta = write_device(tmp_path / "Miniscope", [3], rate=rate)
    (x,) = extract(meta)
    assert x.type_json["frameRate"] == expected


def test_a_file_short_of_frames_per_file_and_missing_time_stamps_warn(tmp_path: Path) -> None:
    meta = write_device(tmp_path / "Miniscope", [8, 6, 3], per_file=8, stamps=15)
    (x,) = extract(meta)
    assert x.type_json["nFrames"] == 17
    text = "\n".join(x.warnings)
    assert "1.avi holds 6 frames but framesPerFile is 8" in text
    assert "timeStamps.csv lists 15 frames but the AVIs hold 17" in text


def test_a_gap_in_the_numbering_and_an_roi_that_differs_warn(tmp_path: Path) -> None:
    meta = write_device(tmp_path / "Miniscope", [4, 4, 4], per_file=4,
                        roi={"width": 608, "height": 608, "leftEdge": 0, "topEdge": 0})
    (tmp_path / "Miniscope" / "1.avi").unlink()
    (x,) = extract(meta)
    assert x.type_json["nFrames"] == 8
    assert (x.type_json["horizontalResolution"], x.type_json["verticalResolution"]) == (608, 608)
    text = "\n".join(x.warnings)
    assert "numbered AVI file(s) missing (1.avi)" in text
    assert "ROI is 608x608 but 0.avi stores 64x48" in text


def test_metadata_that_is_not_json_is_one_line_naming_the_file(tmp_path: Path) -> None:
    meta = write_device(tmp_path / "Miniscope", [3])
    meta.write_text("{not json")
    with pytest.raises(ExtractionError) as info:
        extract(tmp_path / "Miniscope" / "0.avi")
    assert str(info.value).startswith("0.avi: Miniscope/metaData.json is not JSON (")
    assert "\n" not in str(info.value)


def test_a_damaged_recording_metadata_costs_the_start_only(tmp_path: Path) -> None:
    scope, _ = write_recording(tmp_path / "rec")
    (tmp_path / "rec" / "metaData.json").write_text("[")
    (x,) = extract(scope)
    assert x.start_time is None
    assert any("rec/metaData.json is not JSON" in w for w in x.warnings)


def test_stated_laser_power_goes_to_the_miniscope_not_the_camera(tmp_path: Path) -> None:
    scope, cam = write_recording(tmp_path / "rec")
    (x,) = extract(scope, laser_power="0.2 mW", imaging_depth="0.15 mm")
    assert (x.type_json["laserPower"], x.type_json["imagingDepth"]) == (0.2, 150)
    assert x.provenance["laserPower"].source is Source.STATED
    (y,) = extract(cam, laser_power="0.2 mW")
    assert "laserPower" not in y.type_json
    # Not applied, and said once for the run rather than on the camera's record.
    assert y.unapplied == ("laser_power = 0.2 mW",)
    assert not any("laser_power" in w for w in y.warnings)


def test_the_report_checks_time_stamps_and_durations(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    write_recording(rec, scope_frames=[10, 4], per_file=10, stamps=13)
    report = build_report(tmp_path)
    names = {r.file_name for r in report.records}
    assert names == {"rec/Miniscope", "rec/BehavCam_1"}
    frames = [f for f in report.findings if f.check == "frames"]
    assert [f.records for f in frames] == [("rec/Miniscope",)]
    assert "timeStamps.csv lists 13 frames but the AVIs hold 14" in frames[0].message
    assert all(r.duration is not None for r in report.records)
    # 14 frames at 30 fps against 6 camera frames at ~30 fps: both under 2 s, no finding.
    assert not [f for f in report.findings if f.check == "durations"]
    json.dumps(report.to_json())


def test_a_number_of_thousands_of_digits_is_one_line(tmp_path: Path) -> None:
    meta = write_device(tmp_path / "Miniscope", [3])
    meta.write_text('{"framesPerFile": ' + "9" * 5000 + "}")
    with pytest.raises(ExtractionError, match=r"^metaData\.json: Miniscope/metaData\.json is "
                                              r"not usable JSON"):
        extract(meta)


def test_an_empty_last_avi_counts_no_frames_and_a_far_number_is_cheap(tmp_path: Path) -> None:
    meta = write_device(tmp_path / "Miniscope", [5, 2], per_file=5, stamps=7)
    (tmp_path / "Miniscope" / "2.avi").write_bytes(b"")
    (tmp_path / "Miniscope" / "4000000000.avi").write_bytes(b"")
    (x,) = extract(meta)
    assert x.type_json["nFrames"] == 7
    text = "\n".join(x.warnings)
    assert "2.avi is empty (0 bytes): counted as 0 frames" in text
    assert "3999999997 numbered AVI file(s) missing (3.avi, 4.avi, 5.avi, 6.avi, 7.avi ...)" \
        in text


def test_time_stamps_that_are_not_finite_are_rows_without_a_time(tmp_path: Path) -> None:
    meta = write_device(tmp_path / "BehavCam_1", [4], device="WebCam", rate=None,
                        fourcc="MJPG")
    csv = tmp_path / "BehavCam_1" / "timeStamps.csv"
    csv.write_text("Frame Number,Time Stamp (ms),Buffer Index\n0,-5,0\n1,20,0\n2,inf,0\n"
                   "3,90,0\n")
    (x,) = extract(meta)
    assert x.type_json["frameRate"] == pytest.approx(1000 * 1 / (90 - 20))
    assert any("1 row(s) without a time stamp in ms" in w for w in x.warnings)
