"""Femtonics MESc: one record per measurement unit, values checked against the attributes
and dataset shapes the test wrote (read back with h5py, a second reader)."""

from __future__ import annotations

import datetime
from pathlib import Path

import h5py
import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract
from extractors.base import Source
from tests.samples.femtonics import write_mesc


def test_each_unit_is_a_two_photon_record(tmp_path: Path) -> None:
    path = write_mesc(tmp_path / "p29.mesc", [{}, {"frames": 7, "width": 20, "height": 10,
                                                   "frame_ms": 50.0, "pixel_um": 0.5}])
    xs = extract(path)
    assert [x.file_name for x in xs] == ["p29.mesc#MSession_0/MUnit_0",
                                         "p29.mesc#MSession_0/MUnit_1"]
    with h5py.File(path) as f:
        for x in xs:
            unit = f[x.part]
            a = unit.attrs
            frames, height, width = unit["Channel_0"].shape
            assert x.type == "TwoPhotonMicroscopy"
            assert (x.type_json["nFrames"], x.type_json["verticalResolution"],
                    x.type_json["horizontalResolution"]) == (frames, height, width)
            assert x.type_json["frameRate"] == pytest.approx(
                1000 / a["ZAxisConversionConversionLinearScale"])
            assert x.type_json["xVoxelSize"] == a["XAxisConversionConversionLinearScale"]
            assert x.type_json["yVoxelSize"] == a["YAxisConversionConversionLinearScale"]
            assert x.provenance["frameRate"].source is Source.COMPUTED
            assert "laserPower" not in x.type_json
            assert datetime.datetime.fromisoformat(x.start_time) == datetime.datetime(
                2017, 9, 29, 7, 53, 0, 903593, tzinfo=datetime.timezone.utc)
    assert xs[1].type_json["frameRate"] == 20
    assert "2 channels: UG, UR" in xs[0].provenance["format"].detail


def test_a_z_stack_has_a_z_step_and_no_frame_rate(tmp_path: Path) -> None:
    (x,) = extract(write_mesc(tmp_path / "stack.mesc", [{"z_unit": "µm", "frame_ms": 2.5}]))
    assert x.type_json["zVoxelSize"] == 2.5
    assert "frameRate" not in x.type_json


def test_a_unit_that_cannot_be_described_is_a_warning_on_the_others(tmp_path: Path) -> None:
    path = write_mesc(tmp_path / "mixed.mesc", [{}, {"kind": "MCurve"}])
    (x,) = extract(path)
    assert x.part == "MSession_0/MUnit_0"
    assert any("MSession_0/MUnit_1 not described: a MCurve unit" in w for w in x.warnings)


def test_fewer_stored_frames_than_zdim_are_counted_as_stored(tmp_path: Path) -> None:
    """nFrames is the frames the file holds: a unit whose ZDim says 9 and whose channel
    dataset holds 4 has 4 (before the fix: 9, the header's promise)."""
    path = write_mesc(tmp_path / "cut.mesc", [{"frames": 9, "stored": 4}])
    (x,) = extract(path)
    with h5py.File(path) as f:
        stored = f["MSession_0/MUnit_0/Channel_0"].shape[0]
        assert f["MSession_0/MUnit_0"].attrs["ZDim"] == 9
    assert x.type_json["nFrames"] == stored == 4
    assert x.provenance["nFrames"].source is Source.COMPUTED
    assert any("Channel_0 stores 4 frames but ZDim says 9: truncated" in w for w in x.warnings)


def test_a_bad_dimension_is_one_line(tmp_path: Path) -> None:
    path = write_mesc(tmp_path / "bad.mesc", [{}])
    with h5py.File(path, "r+") as f:
        f["MSession_0/MUnit_0"].attrs["XDim"] = -3.5
    with pytest.raises(ExtractionError, match=r"^bad\.mesc: MSession_0/MUnit_0: "
                                              r"XDim -3\.5 is not a count"):
        extract(path)


def test_stated_optics_fill_a_two_photon_record(tmp_path: Path) -> None:
    (x,) = extract(write_mesc(tmp_path / "s.mesc", [{}]), excitation_wavelength="0.92 µm",
                   laser_power="45mW", imaging_depth="250 um")
    assert (x.type_json["excitationWavelength"], x.type_json["laserPower"],
            x.type_json["imagingDepth"]) == (920, 45, 250)
    assert all(x.provenance[k].source is Source.STATED
               for k in ("excitationWavelength", "laserPower", "imagingDepth"))
