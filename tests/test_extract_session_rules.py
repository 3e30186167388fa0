"""``bsingest extract`` reads a session's files with what ``bsingest ingest`` states for
them: the ``[[files]]`` rules of the session's ``bsingest.toml`` (n_channels, sr, dtype,
lsb, type, the optical quantities), then the command line's values, which win."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.generations import wire_for
from bsingest.ingest import options_for, prepare
from bsingest.records import Links
from tests.fixtures import write_dat, write_neuroscope_xml
from tests.samples.femtonics import write_mesc

MESC = "imaging/a.mesc#MSession_0/MUnit_0"
SESSION = "4b060709-9585-484b-bde0-0a47a554aaab"
TOML = """\
[[files]]
match = "raw/*.bin"
n_channels = 4
sr = 25000
dtype = "int16"
lsb = 0.195

[[files]]
match = "lfp.dat"
type = "GeneralTimeSeries"

[[files]]
match = "*.mesc"
laser_power = "30 mW"
imaging_depth = "0.25 mm"
"""


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no user config file
    folder = tmp_path / "day1"
    write_dat(folder / "raw" / "probe.bin", n_channels=4, n_samples=250)  # 1000 samples
    write_dat(folder / "lfp.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "lfp.xml", 2)
    write_mesc(folder / "imaging" / "a.mesc", [{}])
    (folder / "bsingest.toml").write_text(TOML)
    return folder


def _ingest_records(folder: Path, **given: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """fileName -> (type, type_json) of the records ingest builds for ``folder``."""
    options = options_for(folder, session=SESSION, **given).for_api("2026")
    prepared = prepare(folder, options, jobs=1)
    assert not prepared.failures, prepared.failures
    wire = wire_for("2026")
    out = {}
    for _, _, body, _ in prepared.records:
        said = wire.canonical(body)
        out[said["type_json"]["fileName"]] = (said["type"], said["type_json"])
    return out


def _extract_json(*args: str) -> dict[str, tuple[str, dict[str, Any]]]:
    result = CliRunner().invoke(cli, ["extract", "--json", *args])
    assert result.exit_code == 0, result.output
    return {e["type_json"]["fileName"]: (e["type"], e["type_json"])
            for e in json.loads(result.stdout)}


def _comparable(records: dict[str, tuple[str, dict[str, Any]]]
                ) -> dict[str, tuple[str, dict[str, Any]]]:
    # Both through the same wire form: what ingest would send is what extract shows.
    wire = wire_for("2026")
    out = {}
    for name, (rtype, type_json) in records.items():
        said = wire.canonical(wire.body(rtype, type_json, Links(SESSION)))
        out[name] = (said["type"], said["type_json"])
    return out


def test_extract_json_takes_the_session_rules_as_ingest_does(session: Path) -> None:
    shown = _extract_json(str(session))
    assert shown.keys() == {"raw/probe.bin", "lfp.dat", MESC}
    _, probe = shown["raw/probe.bin"]
    assert (probe["nChannels"], probe["sr"], probe["nSamples"]) == (4, 25000, 250)
    assert shown["lfp.dat"][0] == "GeneralTimeSeries"
    mesc = shown[MESC][1]
    assert (mesc["laserPower"], mesc["imagingDepth"]) == (30, 250)
    assert _comparable(shown) == _ingest_records(session)


def test_the_command_line_wins_over_the_rules_as_in_ingest(session: Path) -> None:
    shown = _extract_json(str(session), "--sr", "30000")
    assert shown["raw/probe.bin"][1]["sr"] == 30000
    assert _comparable(shown) == _ingest_records(session, stated={"sr": 30000})


def test_a_file_or_subfolder_given_takes_its_session_rules(session: Path) -> None:
    by_file = _extract_json(str(session / "raw" / "probe.bin"))
    by_folder = _extract_json(str(session / "raw"))
    assert by_file["probe.bin"][1]["nChannels"] == 4
    assert by_folder["probe.bin"][1]["sr"] == 25000


def test_extract_table_shows_the_rules_values(session: Path) -> None:
    result = CliRunner().invoke(cli, ["extract", str(session)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "raw/probe.bin" in line)
    assert "4 ch x 250" in row and "25,000 Hz" in row
    lfp = next(line for line in result.stdout.splitlines() if "lfp.dat" in line)
    assert "GeneralTimeSeries" in lfp
    mesc = next(line for line in result.stdout.splitlines() if "a.mesc" in line)
    assert "30 mW" in mesc and "250 µm deep" in mesc


def test_a_bad_session_file_is_a_usage_error_before_any_output(session: Path) -> None:
    (session / "bsingest.toml").write_text('[[files]]\nmatch = "*.bin"\nsr = "fast"\n')
    result = CliRunner().invoke(cli, ["extract", "--json", str(session)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "bsingest.toml: files[0]: sr must be" in result.stderr
