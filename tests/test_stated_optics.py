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
from bsingest.extraction import extract
from bsingest.quantities import QuantityError, parse
from bsingest.sessionconfig import load_options
from extractors.base import Provenance, Source, _with_optics
from tests.fixtures import write_dat
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


def test_a_type_without_the_field_ignores_it_with_a_warning(tmp_path: Path) -> None:
    dat = tmp_path / "rec.dat"
    write_dat(dat, 2, 100)
    (x,) = extract(dat, n_channels=2, sr=20000, dtype="int16", laser_power="30 mW")
    assert "laserPower" not in x.type_json
    assert any("laser_power (30 mW) ignored" in w for w in x.warnings)


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
