"""``bsingest extract`` and the command line's start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from tests.fixtures import bsingest_cmd, write_dat, write_neuroscope_xml

HEAVY = ("numpy", "cv2", "h5py", "av", "soundfile", "neo", "scipy", "httpx", "rich", "sqlite3")


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\nimport click\n"
        "from bsingest.cli.main import cli\n"
        "import extractors  # every family module, whether or not --help loads it\n"
        "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "ctx = click.Context(cli)\n"
        "for sub in [[c] for c in cli.list_commands(ctx)] + [['records', c] for c in\n"
        "                                  cli.get_command(ctx, 'records').commands]:\n"
        "    try:\n        cli([*sub, '--help'])\n    except SystemExit:\n        pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_top_level_help_teaches_the_current_api() -> None:
    # brainstem.org speaks the current API: its names come first, the 2023 ones as such.
    text = CliRunner().invoke(cli, ["--help"]).output
    assert "--session UUID --procedure UUID" in text and "bsingest login" in text
    assert "(2023 API: --dataset UUID --action UUID)" in text


def _session(tmp_path: Path) -> Path:
    write_dat(tmp_path / "rec.dat", n_channels=4, n_samples=20)
    write_neuroscope_xml(tmp_path / "rec.xml", 4, groups=[[0, 1, 2, 3]])
    (tmp_path / "notes.txt").write_text("hello")
    return tmp_path


def test_json_output_shape_and_exit_zero(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["extract", "--json", str(_session(tmp_path))])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    assert set(entry) == {"path", "type", "type_json", "provenance", "warnings"}
    assert entry["type_json"]["nSamples"] == 20
    assert entry["provenance"]["nChannels"] == {"source": "header",
                                               "detail": "rec.xml acquisitionSystem/nChannels"}


def test_table_lists_records_and_skipped_files_with_reason(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["extract", str(_session(tmp_path))])
    assert result.exit_code == 0
    assert "rec.dat" in result.stdout and "4 ch x 20 int16 @ 20,000 Hz" in result.stdout
    assert "skipped: notes.txt: no extractor reads this kind of file (.txt)" in result.stderr


def test_table_states_only_what_a_record_holds(tmp_path: Path) -> None:
    """A spike-only Plexon file's record states nChannels 0 and no rate: its row says so,
    with no empty 'x  @  Hz' around values it does not have."""
    from tests.samples.neo import write_plx

    write_plx(tmp_path / "spk.plx", slow=())
    result = CliRunner().invoke(cli, ["extract", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (row,) = [line for line in result.stdout.splitlines() if "spk.plx" in line]
    assert "0 ch" in row and "Hz" not in row and " x " not in row
    assert "no continuous signals" in row and "event channels only" in row


def test_one_bad_file_gives_exit_one_and_does_not_stop_others(tmp_path: Path) -> None:
    _session(tmp_path)
    write_dat(tmp_path / "odd.dat", n_channels=4, n_samples=3, extra_bytes=1)
    result = CliRunner().invoke(cli, ["extract", str(tmp_path)])
    assert result.exit_code == 1
    assert "rec.dat" in result.stdout
    assert ("error: odd.dat: 25 bytes is not a whole number of 4-channel int16 frames"
            in result.stderr)
    assert "Traceback" not in result.output


def test_stated_parameters_on_the_command_line(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "x.bin", n_channels=2, n_samples=9)
    result = CliRunner().invoke(cli, ["extract", "--json", str(dat), "--n-channels", "2",
                                      "--sr", "500", "--type", "GeneralTimeSeries"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    assert entry["type"] == "GeneralTimeSeries"
    assert (entry["type_json"]["nSamples"], entry["type_json"]["sr"]) == (9, 500)


def test_usage_errors_exit_two(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["extract"]).exit_code == 2
    assert runner.invoke(cli, ["extract", str(tmp_path), "--n-channels", "0"]).exit_code == 2
    assert runner.invoke(cli, ["extract", str(tmp_path), "--type", "Video"]).exit_code == 2


def test_missing_path_is_an_error_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["extract", str(tmp_path / "nope.dat")])
    assert result.exit_code == 1
    assert "error: nope.dat: no such file or folder" in result.stderr


def test_console_script_runs(tmp_path: Path) -> None:
    out = subprocess.run([*bsingest_cmd("extract", "--json"),
                          str(_session(tmp_path))], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["type"] == "ExtracellularEphys"


def test_stated_values_that_are_not_plausible_are_one_line_errors(tmp_path: Path) -> None:
    # Not finite: a usage error naming the option (exit 2); finite but implausible: the
    # file's one-line error naming the field (exit 1).
    dat = write_dat(tmp_path / "rec.dat", n_channels=2, n_samples=10)
    for option, code, words in ((["--sr", "inf"], 2, "--sr"), (["--lsb", "1e999"], 2, "--lsb"),
                                (["--sr", "1e-7"], 1, "error: rec.dat: sr 1e-07 Hz"),
                                (["--lsb", "1e306"], 1, "error: rec.dat: lsb 1e+306 µV")):
        result = CliRunner().invoke(cli, ["extract", "--n-channels", "2", "--sr", "1000",
                                          *option, str(dat)])
        assert result.exit_code == code, result.output
        assert words in result.stderr and "Traceback" not in result.output
        assert len([x for x in result.stderr.splitlines() if words in x]) == 1


@pytest.mark.parametrize("given", ["GeneralTimeSeries", "Extracellular", "ExtracellularEphys"])
def test_type_takes_either_generations_name(tmp_path: Path, given: str) -> None:
    path = tmp_path / "raw.dat"
    path.write_bytes(bytes(4 * 2 * 50))  # 50 frames of 4 int16 channels
    result = CliRunner().invoke(cli, ["extract", "--json", str(path), "--n-channels", "4",
                                      "--sr", "1000", "--type", given])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    # Extractors speak the current names; the 2023 name means the same type.
    assert entry["type"] == {"Extracellular": "ExtracellularEphys"}.get(given, given)
    assert entry["type_json"]["nSamples"] == 50


def test_extract_imports_only_its_own_command_module() -> None:
    # Subcommands load lazily: describing files must not import the client, the journal
    # or another command's module (their start-up is paid on every run otherwise).
    code = (
        "import sys\n"
        "from bsingest.cli.main import cli\n"
        "try:\n    cli(['extract', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('bsingest.cli.cmd_')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "['bsingest.cli.cmd_extract']"


def test_help_lists_every_command_with_its_short_help() -> None:
    from bsingest.cli.main import COMMANDS

    text = CliRunner().invoke(cli, ["--help"]).output
    listed = text.split("Commands:", 1)[1]
    for name in COMMANDS:
        assert f"\n  {name} " in listed
    assert "Describe recording files and session folders" in listed
