"""Issue 21: every usage error is said (exit 2) before any request reaches the server.

Each command runs against a real local BrainSTEM server on loopback that records every
request it receives (``LocalServer.hits``); after a usage error it has received none.
And a server that speaks both generations is addressed in the one the user's link names
belong to (``--dataset``/``--action``: 2023), without ``--api``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.errors import UsageError
from bsingest.ingest import ingest
from bsingest.server import LocalServer
from tests.fixtures import write_dat, write_neuroscope_xml

UUID_A = "1f7f103b-e949-405a-9b01-ddda3b2f10cf"
UUID_B = "087b71c4-6785-437c-b8ef-e35a82a8463e"


@pytest.fixture
def session(tmp_path: Path) -> Path:
    folder = tmp_path / "day1"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    return folder


def _env(srv: LocalServer, tmp_path: Path, token: str) -> dict[str, str]:
    return {"BRAINSTEM_TOKEN": token, "BSINGEST_JOURNAL": str(tmp_path / "j.sqlite"),
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


@pytest.mark.parametrize(("args", "words"), [
    # The example: an ID that is not a UUID, under a stated generation.
    (["--api", "2023", "--dataset", "../x", "--action", UUID_A], "--dataset '../x' is not a UUID"),
    (["--api", "2026", "--session", UUID_A, "--procedure", "x1"],
     "--procedure 'x1' is not a UUID"),
    # The other generation's names with a stated generation.
    (["--api", "2023", "--session", UUID_A], "use --dataset UUID"),
    (["--api", "2026", "--dataset", UUID_A, "--action", UUID_B], "use --session UUID"),
    (["--api", "2023", "--dataset", UUID_A, "--action", UUID_B, "--create-session"],
     "use --dataset UUID"),
    # A missing option.
    (["--api", "2026"], "no session"),
    (["--api", "2023", "--dataset", UUID_A], "no action"),
    (["--api", "2026", "--create-session"], "--create-session needs a project"),
    # No generation stated: the names given say which, or every ID given is checked.
    (["--dataset", "../x", "--action", UUID_A], "--dataset '../x' is not a UUID"),
    (["--session", UUID_A, "--procedure", "nope"], "--procedure 'nope' is not a UUID"),
    (["--dataset", UUID_A], "no action"),
    (["--session", UUID_A, "--dataset", "nope"], "is not a UUID"),
])
def test_ingest_usage_errors_send_nothing(tmp_path: Path, session: Path, args: list[str],
                                          words: str) -> None:
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        result = CliRunner(env=_env(srv, tmp_path, srv.pat)).invoke(
            cli, ["ingest", str(session), "--server", srv.url, *args])
        hits = srv.hits
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert hits == []


def test_a_usage_error_against_an_unreachable_server_is_said_at_once(
        tmp_path: Path, session: Path) -> None:
    """The issue's example retried a GET for about 6 s before naming ../x: a closed port
    shows it, since any request would fail (exit 1 or 3), not give exit 2."""
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        url = srv.url  # the server is gone once the block ends: nothing answers there
    result = CliRunner(env={"BRAINSTEM_TOKEN": "t" * 40,
                            "XDG_CONFIG_HOME": str(tmp_path / "config")}).invoke(
        cli, ["ingest", str(session), "--api", "2023", "--dataset", "../x", "--action",
              UUID_A, "--server", url])
    assert result.exit_code == 2, result.output
    assert "--dataset '../x' is not a UUID" in result.stderr


def test_the_python_api_checks_before_the_network_too(tmp_path: Path, session: Path) -> None:
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        with pytest.raises(UsageError, match="is not a UUID"):
            ingest(session, server=srv.url, token=srv.token, api="2023", dataset="../x",
                   actions=[UUID_A], journal=tmp_path / "j.sqlite")
        assert srv.hits == []


def test_a_bad_manifest_row_sends_nothing(tmp_path: Path, session: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"folder,session,procedures,colour\n{session.name},{UUID_A},"
                        f"{UUID_B},red\n")
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        result = CliRunner(env=_env(srv, tmp_path, srv.pat)).invoke(
            cli, ["batch", str(manifest), "--server", srv.url])
        hits = srv.hits
    assert result.exit_code == 2, result.output
    assert "colour" in result.stderr
    assert hits == []


@pytest.mark.parametrize("generation", ["2023", "2026"])
def test_a_server_of_both_generations_is_addressed_in_the_one_the_names_belong_to(
        tmp_path: Path, session: Path, generation: str) -> None:
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        seed = srv.seed
        if generation == "2023":
            links = ["--dataset", next(iter(seed.datasets.values())),
                     "--action", next(iter(seed.actions.values()))]
            token = srv.token
        else:
            links = ["--session", seed.session, "--procedure",
                     next(iter(seed.procedures.values()))]
            token = srv.pat
        result = CliRunner(env=_env(srv, tmp_path, token)).invoke(
            cli, ["ingest", str(session), "--server", srv.url, *links, "--json"])
        prefixes = {h.path.split("/")[1] for h in srv.hits}
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["api"] == generation
    assert report["counts"].get("created") == 1
    assert prefixes == {"rest" if generation == "2023" else "api"}
