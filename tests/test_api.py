"""The Python API: ``bsingest.extract`` and ``bsingest.extract_folder``."""

from __future__ import annotations

from pathlib import Path

import pytest

import bsingest
from tests.fixtures import write_dat, write_neuroscope_xml


def test_extract_returns_records_with_provenance(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=2, n_samples=11)
    write_neuroscope_xml(tmp_path / "rec.xml", 2)
    (r,) = bsingest.extract(dat)
    assert r.type_json["nSamples"] == 11
    assert r.provenance["sr"].detail == "rec.xml acquisitionSystem/samplingRate"
    rec = r.record(dataset="1f7f103b-e949-405a-9b01-ddda3b2f10cf",
                   actions=["087b71c4-6785-437c-b8ef-e35a82a8463e"])
    bsingest.validate(rec)
    assert rec.to_json()["type_json"]["fileName"] == "rec.dat"


def test_extract_raises_the_project_error(tmp_path: Path) -> None:
    with pytest.raises(bsingest.ExtractionError, match=r"^nope\.dat: no such file"):
        bsingest.extract(tmp_path / "nope.dat")


def test_extract_folder_collects_errors_and_goes_on(tmp_path: Path) -> None:
    write_dat(tmp_path / "a.dat", n_channels=2, n_samples=3)
    write_dat(tmp_path / "b.dat", n_channels=2, n_samples=3)
    write_neuroscope_xml(tmp_path / "a.xml", 2)
    write_neuroscope_xml(tmp_path / "b.xml", 5)  # 12 bytes is not whole 5-channel frames
    report = bsingest.extract_folder(tmp_path)
    assert [Path(e.path).name for e in report.extractions] == ["a.dat"]
    assert report.errors == {str(tmp_path / "b.dat"): (
        "b.dat: 12 bytes is not a whole number of 5-channel int16 frames (10 bytes each; "
        "2 bytes left over after 1 frames): wrong channel count or a truncated file")}


def test_public_surface_is_listed() -> None:
    for name in bsingest.__all__:
        assert getattr(bsingest, name) is not None
