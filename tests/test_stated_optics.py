"""Optical quantities a user states with units (``excitation_wavelength``, ``laser_power``,
``imaging_depth``): read in one place (:mod:`bsingest.quantities`), converted exactly,
refused in one line without a unit or with one of another quantity, applied by the
extractor base to the records whose type has the field."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.errors import ExtractionError, UsageError
from bsingest.extraction import extract, unapplied_notes
from bsingest.quantities import QuantityError, parse
from bsingest.sessionconfig import load_options
from extractors.base import Provenance, Source, _with_optics
from tests.fixtures import write_dat
from tests.fixtures_mri_photometry import write_dicom, write_nifti
from tests.samples.femtonics import write_mesc


@pytest.mark.parametrize(("key", "text", "expected"), [
    ("excitation_wavelength", "920 nm", Fraction(920)),
    ("excitation_wavelength", "920nm", Fraction(920)),
    ("excitation_wavelength", "0.92 µm", Fraction(92, 100) * 1000),
    ("excitation_wavelength", "0.92 μm", Fraction(920)),  # Greek mu
    ("excitation_wavelength", "1.04e-6 m", Fraction(104, 100) * 1000),
    ("laser_power", "30 mW", Fraction(30)),
    ("laser_power", "0.03 W", Fraction(3, 100) * 1000),
    ("laser_power", "150 uW", Fraction(150, 1000)),
    ("laser_power", "0.001 kW", Fraction(1000)),
    ("imaging_depth", "250 µm", Fraction(250)),
    ("imaging_depth", "250 um", Fraction(250)),
    ("imaging_depth", "0.25 mm", Fraction(250)),
    ("imaging_depth", "0 um", Fraction(0)),  # at the surface
])
def test_quantities_convert_exactly(key: str, text: str, expected: Fraction) -> None:
    assert parse(key, text) == float(expected)


@pytest.mark.parametrize(("key", "value", "says"), [
    ("laser_power", "30%", "a percentage is not a power"),
    ("laser_power", "30 %", "a percentage is not a power"),
    ("laser_power", "30", "has no unit"),
    ("laser_power", 30, "has no unit"),
    ("excitation_wavelength", 920.0, "has no unit"),
    ("excitation_wavelength", "920 mW", "mW is a power, not a length"),
    ("laser_power", "30 nm", "nm is a length, not a power"),
    ("imaging_depth", "3 furlongs", "unknown unit 'furlongs'"),
    ("imaging_depth", "3 kHz", "kHz is a frequency, not a length"),
    ("laser_power", "0 mW", "is not above 0"),
    ("imaging_depth", "-5 um", "is not 0 or more"),
    ("laser_power", "1e999 mW", "not a finite number of mW"),
    ("laser_power", "1e-999999999 mW", "is not above 0"),
    ("laser_power", True, "not a quantity with a unit"),
])
def test_quantities_without_a_unit_or_of_another_kind_are_refused(key: str, value: object,
                                                                   says: str) -> None:
    with pytest.raises(QuantityError, match=says) as info:
        parse(key, value)
    assert "\n" not in str(info.value)


def test_the_base_applies_them_where_the_type_has_the_field(tmp_path: Path) -> None:
    (x,) = extract(write_mesc(tmp_path / "a.mesc", [{}]), laser_power="30 mW",
                   excitation_wavelength="920nm")
    assert (x.type_json["laserPower"], x.type_json["excitationWavelength"]) == (30, 920)
    assert x.provenance["laserPower"] == Provenance(
        Source.STATED, "stated by the user: laser_power = 30 mW")


def test_a_type_without_the_field_does_not_take_it_and_is_told_once(tmp_path: Path) -> None:
    dat = tmp_path / "rec.dat"
    write_dat(dat, 2, 100)
    (x,) = extract(dat, n_channels=2, sr=20000, dtype="int16", laser_power="30 mW")
    assert "laserPower" not in x.type_json
    assert x.unapplied == ("laser_power = 30 mW",) and x.warnings == ()
    assert unapplied_notes([x]) == [
        "stated laser_power = 30 mW not applied to 1 file (rec.dat): not an optical record, "
        f"or no laserPower in its type ({x.type})"]


def test_scanner_records_never_take_stated_optics(tmp_path: Path) -> None:
    """MRI, fMRI, CT and PET schemas list imagingDepth (CT, fMRI, PET laserPower too), but no
    laser excites a scanner's subject: the stated values go to the imaging files only, and
    the run says once which files did not take them."""
    session = tmp_path / "s"
    write_mesc(session / "a.mesc", [{}])
    write_nifti(session / "anat.nii", (8, 8, 4), (1.0, 1.0, 1.5))
    write_nifti(session / "bold.nii", (8, 8, 4, 5), (2.0, 2.0, 2.0, 1.5))
    write_dicom(session / "ct" / "17106", modality="CT", field_t=None)
    write_dicom(session / "pet" / "PT0001", modality="PT", field_t=None)
    runner = CliRunner()
    result = runner.invoke(cli, ["extract", "--json", str(session), "--laser-power", "30 mW",
                                 "--imaging-depth", "250 um"])
    assert result.exit_code == 0, result.output
    records = {Path(e["path"]).name: e for e in json.loads(result.stdout)}
    assert set(records) == {"a.mesc", "anat.nii", "bold.nii", "17106", "PT0001"}
    types = {name: e["type"] for name, e in records.items()}
    assert types == {"a.mesc": "TwoPhotonMicroscopy", "anat.nii": "MagneticResonanceImaging",
                     "bold.nii": "FunctionalMagneticResonanceImaging",
                     "17106": "ComputedTomography", "PT0001": "PositronEmissionTomography"}
    for name, e in records.items():
        optics = {k: e["type_json"][k] for k in ("laserPower", "imagingDepth")
                  if k in e["type_json"]}
        if name == "a.mesc":
            assert optics == {"laserPower": 30, "imagingDepth": 250}
        else:
            assert optics == {}, name
            assert not any("stated" in w for w in e["warnings"]), name
    scanners = "MagneticResonanceImaging, FunctionalMagneticResonanceImaging, " \
        "ComputedTomography, PositronEmissionTomography"
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [
        f"note: stated {stated} not applied to 4 files (anat.nii, bold.nii, ct/17106, "
        f"pet/PT0001): "
        f"not an optical record, or no {field} in its type ({scanners})"
        for stated, field in (("laser_power = 30 mW", "laserPower"),
                              ("imaging_depth = 250 µm", "imagingDepth"))]


def test_a_bad_stated_quantity_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = write_mesc(tmp_path / "a.mesc", [{}])
    with pytest.raises(ExtractionError) as info:
        extract(path, laser_power="20%")
    assert str(info.value).startswith("a.mesc: stated laser_power '20%': a percentage is not "
                                      "a power")


def test_a_stated_value_replaces_the_files_with_a_warning() -> None:
    from extractors.base import Extraction

    x = Extraction("x.tif", "TwoPhotonMicroscopy", {"fileName": "x.tif",
                                                    "excitationWavelength": 940},
                   {"fileName": Provenance(Source.HEADER, "name"),
                    "excitationWavelength": Provenance(Source.HEADER, "x.xml laserWavelength")})
    y = _with_optics(x, {"excitation_wavelength": 920})
    assert y.type_json["excitationWavelength"] == 920
    assert y.warnings == ("stated excitation_wavelength 920 nm replaces 940 nm (header: x.xml "
                          "laserWavelength)",)
    assert _with_optics(dataclasses.replace(x, type_json={**x.type_json,
                                                          "excitationWavelength": 920}),
                        {"excitation_wavelength": 920}).warnings == ()


def test_bsingest_toml_states_them_per_file_pattern(tmp_path: Path) -> None:
    (tmp_path / "bsingest.toml").write_text(
        '[[files]]\nmatch = "*.mesc"\nexcitation_wavelength = "920 nm"\n'
        'laser_power = "30 mW"\nimaging_depth = "250 um"\n')
    options = load_options(tmp_path)
    stated = options.for_file("imaging/a.mesc").stated
    assert stated == {"excitation_wavelength": "920 nm", "laser_power": "30 mW",
                      "imaging_depth": "250 um"}
    assert options.for_file("rec.dat").stated == {}
    (x,) = extract(write_mesc(tmp_path / "imaging" / "a.mesc", [{}]), **stated)
    assert (x.type_json["excitationWavelength"], x.type_json["laserPower"],
            x.type_json["imagingDepth"]) == (920, 30, 250)


@pytest.mark.parametrize(("line", "says"), [
    ("laser_power = 30", "laser_power 30 has no unit"),
    ('laser_power = "12 %"', "a percentage is not a power"),
    ('imaging_depth = "250 mW"', "mW is a power, not a length"),
])
def test_bsingest_toml_refuses_them_in_one_line(tmp_path: Path, line: str, says: str) -> None:
    (tmp_path / "bsingest.toml").write_text(f'[[files]]\nmatch = "*.mesc"\n{line}\n')
    with pytest.raises(UsageError) as info:
        load_options(tmp_path)
    message = str(info.value)
    assert "bsingest.toml: files[0]: " in message and says in message and "\n" not in message


def test_the_command_line_states_and_refuses_them(tmp_path: Path) -> None:
    path = write_mesc(tmp_path / "a.mesc", [{}])
    runner = CliRunner()
    result = runner.invoke(cli, ["extract", "--json", str(path), "--excitation-wavelength",
                                 "920nm", "--laser-power", "30 mW", "--imaging-depth", "0.2mm"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    assert {k: entry["type_json"][k] for k in ("excitationWavelength", "laserPower",
                                              "imagingDepth")} == {
        "excitationWavelength": 920, "laserPower": 30, "imagingDepth": 200}
    bad = runner.invoke(cli, ["extract", str(path), "--laser-power", "30%"])
    assert bad.exit_code == 2
    assert "a percentage is not a power" in bad.output


def test_an_ingest_says_once_which_files_a_stated_value_was_not_applied_to(
        tmp_path: Path) -> None:
    from bsingest.ingest import IngestReport, prepare

    session = tmp_path / "s"
    write_mesc(session / "a.mesc", [{}])
    write_nifti(session / "anat.nii", (8, 8, 4), (1.0, 1.0, 1.5))
    write_dicom(session / "ct" / "17106", modality="CT", field_t=None)
    (session / "bsingest.toml").write_text('[[files]]\nmatch = "*"\nimaging_depth = "250 um"\n')
    options = load_options(session, api="2026", session="4b060709-9585-484b-bde0-0a47a554aaab")
    prepared = prepare(session, options)
    assert not prepared.failures
    assert prepared.notes == [
        "stated imaging_depth = 250 µm not applied to 2 files (anat.nii, ct/17106): not an "
        "optical record, or no imagingDepth in its type (MagneticResonanceImaging, "
        "ComputedTomography)"]
    bodies = {path: body for path, _, body, _ in prepared.records}
    assert bodies.keys() == {"a.mesc", "anat.nii", "ct/17106"}
    report = IngestReport(str(session), "http://127.0.0.1:1", None, notes=prepared.notes)
    assert report.to_json()["notes"] == prepared.notes


def _declining_session(root: Path) -> tuple[Path, str]:
    """A session whose stated imaging depth the MRI and CT files do not take, and the line
    that says so (written out here, not built by the code under test)."""
    session = root / "s"
    write_mesc(session / "a.mesc", [{}])
    write_nifti(session / "anat.nii", (8, 8, 4), (1.0, 1.0, 1.5))
    write_dicom(session / "ct" / "17106", modality="CT", field_t=None)
    (session / "bsingest.toml").write_text('[[files]]\nmatch = "*"\nimaging_depth = "250 um"\n')
    return session, ("stated imaging_depth = 250 µm not applied to 2 files (anat.nii, "
                     "ct/17106): not an optical record, or no imagingDepth in its type "
                     "(MagneticResonanceImaging, ComputedTomography)")


def test_the_session_report_says_once_which_files_a_stated_value_was_not_applied_to(
        tmp_path: Path) -> None:
    from bsingest.report import Severity, build_report

    session, line = _declining_session(tmp_path)
    report = build_report(session)
    assert not report.failed
    stated = [f for f in report.findings if f.check == "stated"]
    assert [(f.severity, f.message, f.records) for f in stated] == [
        (Severity.INFO, line, ("anat.nii", "ct/17106"))]
    assert {r.file_name: r.unapplied for r in report.records} == {
        "a.mesc#MSession_0/MUnit_0": (), "anat.nii": ("imaging_depth = 250 µm",),
        "ct/17106": ("imaging_depth = 250 µm",)}
    assert report.counts() == {"error": 0, "warning": 0, "info": 1}


def test_the_batch_summary_says_the_notes_of_each_session(tmp_path: Path) -> None:
    from bsingest.server import LocalServer

    _, line = _declining_session(tmp_path)  # tmp_path/s, the manifest's folder "s"
    manifest = tmp_path / "m.csv"
    manifest.write_text("folder,session,procedures,equipment,notes\n"
                        "s,4b060709-9585-484b-bde0-0a47a554aaab,"
                        "087b71c4-6785-437c-b8ef-e35a82a8463e,,\n")
    env = {"BSINGEST_JOURNAL": str(tmp_path / "j.sqlite"), "XDG_CONFIG_HOME": str(tmp_path / "c"),
           "XDG_DATA_HOME": str(tmp_path / "d")}
    with LocalServer(db_path=tmp_path / "server.sqlite3") as srv:
        env.update(BRAINSTEM_SERVER=srv.url, BRAINSTEM_TOKEN=srv.pat)
        result = CliRunner(env=env).invoke(cli, ["batch", str(manifest), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines().count(f"note: s: {line}") == 1
