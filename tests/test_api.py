"""The Python API: ``bsingest.extract`` and ``bsingest.extract_folder``."""

from __future__ import annotations

import importlib
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
    # Extraction speaks the current name; the 2023 record the 2023 one.
    assert (r.type, rec.type) == ("ExtracellularEphys", "Extracellular")


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
    # The names of both API generations and of the report are there, from their one home.
    from bsingest import client, compat, records, report

    assert bsingest.ExperimentData is records.ExperimentData
    assert bsingest.DataAcquisition is records.DataAcquisition
    assert bsingest.build_report is report.build_report
    assert bsingest.SessionReport is report.SessionReport
    # The official tools' BrainstemClient stays in compat: bsingest's own is the client's.
    assert bsingest.BrainstemClient is client.BrainstemClient
    assert compat.BrainstemClient is not client.BrainstemClient


@pytest.mark.parametrize("module", ["bsingest.client", "bsingest.compat", "bsingest.details",
                                    "bsingest.errors", "bsingest.records", "bsingest.report",
                                    "bsingest.server", "bsingest.settings"])
def test_each_public_module_lists_what_it_defines(module: str) -> None:
    mod = importlib.import_module(module)
    assert len(set(mod.__all__)) == len(mod.__all__)
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name
    # Every exception class is public, at the top level too (users catch them by name).
    if module == "bsingest.errors":
        classes = {n for n, v in vars(mod).items()
                   if isinstance(v, type) and issubclass(v, Exception) and v.__module__ == module}
        assert classes == set(mod.__all__)
        assert classes <= set(bsingest.__all__)
