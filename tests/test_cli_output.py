"""What the command line shows people: where log lines go, reasons, verbosity, escaping."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.server import LocalServer
from tests.fixtures import bsingest_cmd, write_dat, write_neuroscope_xml

DATASET = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: alice's
ACTION = "087b71c4-6785-437c-b8ef-e35a82a8463e"


def make_session(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        write_dat(folder / f"rec{i}.dat", n_channels=2, n_samples=5 + i)
    write_neuroscope_xml(folder / "session.xml", 2)
    return folder


def cli_env(tmp_path: Path, srv: LocalServer | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRAINSTEM", "BSINGEST"))}
    env.update(BSINGEST_JOURNAL=str(tmp_path / "j.sqlite"), XDG_CONFIG_HOME=str(tmp_path / "c"),
               XDG_DATA_HOME=str(tmp_path / "d"))
    if srv is not None:
        env.update(BRAINSTEM_SERVER=srv.url, BRAINSTEM_TOKEN=srv.token)
    return env


def test_log_file_gets_the_lines_and_the_terminal_none_of_them(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 2)
    write_dat(session / "odd.dat", n_channels=2, n_samples=3, extra_bytes=1)
    log = tmp_path / "run.log"
    done = subprocess.run(bsingest_cmd("ingest", str(session), "--dataset", DATASET,
                                       "--action", ACTION, "--log", str(log)),
                          env=cli_env(tmp_path, brainstem_server), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    text = log.read_text()
    assert f"{session} rec0.dat: created" in text and f"{session} odd.dat: failed" in text
    # The terminal keeps the table and its summary, but no log line.
    assert "bsingest.ingest" not in done.stderr and "created" not in done.stderr.replace(
        "summary: 2 created", "")
    assert "INFO" not in done.stderr and "WARNING" not in done.stderr
    # -v after the subcommand: the lines on stderr as well.
    verbose = subprocess.run(bsingest_cmd("ingest", str(session), "--dataset", DATASET,
                                          "--action", ACTION, "--log", str(log), "-v"),
                             env=cli_env(tmp_path, brainstem_server), capture_output=True,
                             text=True, timeout=300)
    assert f"INFO bsingest.ingest: {session} rec0.dat: unchanged" in verbose.stderr


def test_an_unwritable_log_file_is_a_one_line_usage_error(tmp_path: Path) -> None:
    target = Path("/proc/version") if Path("/proc/version").exists() else tmp_path / "no/x.log"
    result = CliRunner(env=cli_env(tmp_path)).invoke(
        cli, ["ingest", str(tmp_path), "--log", str(target)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"bsingest: error: --log {target}: cannot write to it "
        f"({'Invalid argument' if target.name == 'version' else 'No such file or directory'})"]


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_and_quiet_go_before_or_after_the_subcommand(tmp_path: Path, where: str) -> None:
    make_session(tmp_path / "s", 1)
    args = ["extract", str(tmp_path / "s"), "--json"]
    for flag in ("-v", "-vv", "-q"):
        argv = [flag, *args] if where == "before" else [*args, flag]
        result = CliRunner(env=cli_env(tmp_path)).invoke(cli, argv)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)[0]["type_json"]["fileName"] == "rec0.dat"


def test_ingest_and_batch_take_stated_values_for_a_bare_dat(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    write_dat(bare / "amp.dat", n_channels=4, n_samples=50)  # 400 bytes, no XML beside it
    runner = CliRunner(env=cli_env(tmp_path, brainstem_server))
    base = ["ingest", str(bare), "--dataset", DATASET, "--action", ACTION, "--json"]
    unstated = runner.invoke(cli, base)
    assert unstated.exit_code == 1
    (error,) = [f["error"] for f in json.loads(unstated.stdout)["files"]]
    assert "the channel count (--n-channels) was not stated (or n_channels in a [[files]]" \
        in error
    stated = runner.invoke(cli, [*base, "--n-channels", "4", "--sr", "20000", "--dtype", "int16",
                                 "--lsb", "0.195"])
    assert stated.exit_code == 0, stated.output
    (record,) = [r for r in _records(brainstem_server) if r["type_json"]["fileName"] == "amp.dat"]
    tj = record["type_json"]
    assert (tj["nChannels"], tj["sr"], tj["nSamples"], tj["lsb"]) == (4, 20000, 50, 0.195)

    other = tmp_path / "other"
    other.mkdir()
    write_dat(other / "aux.dat", n_channels=2, n_samples=30)
    (tmp_path / "m.csv").write_text("session,dataset,actions,hardware_device,description\n"
                                    f"other,{DATASET},{ACTION},,\n")
    batched = runner.invoke(cli, ["batch", str(tmp_path / "m.csv"), "--jobs", "1", "--json",
                                  "--n-channels", "2", "--sr", "1000", "--type",
                                  "GeneralTimeSeries"])
    assert batched.exit_code == 0, batched.output
    (record,) = [r for r in _records(brainstem_server) if r["type_json"]["fileName"] == "aux.dat"]
    assert record["type"] == "GeneralTimeSeries"
    assert (record["type_json"]["nChannels"], record["type_json"]["nSamples"]) == (2, 30)


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "fast"])
def test_settle_and_rates_must_be_finite_numbers(tmp_path: Path, value: str) -> None:
    runner = CliRunner(env=cli_env(tmp_path))
    for args in (["ingest", str(tmp_path), "--settle", value],
                 ["extract", str(tmp_path), "--sr", value]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2
        assert f"{value!r} is not a" in result.stderr
        assert "Traceback" not in result.output


def _records(srv: LocalServer) -> list[dict[str, object]]:
    from bsingest.client import BrainstemClient

    with BrainstemClient(server=srv.url, token=srv.token) as c:
        return list(c.experiment_data(DATASET))
