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
from bsingest.generations import GENERATIONS, Generation
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


# -- batch manifests: every row checked before any request --------------------------------

#: A good value for each link column, by the column's name (either generation's).
GOOD = {"session": UUID_A, "dataset": UUID_A, "procedures": UUID_B, "actions": UUID_B,
        "equipment": UUID_B, "hardware_device": UUID_B, "project": UUID_A,
        "notes": "n", "description": "d", "session_name": "day"}


def _columns(gen: Generation) -> tuple[str, ...]:
    """A manifest's link columns for ``gen``: its links, and creating a session."""
    return (*gen.links.all[:4], *(n for n in gen.links.creates if n != "create_session"))


def _bad_rows() -> list[tuple[str, str, dict[str, str], str]]:
    """(--api, the bad row's columns, what the error says), generated for the class: each
    kind of bad value in each column of each generation."""
    cases = []
    for gen in GENERATIONS.values():
        container, procedures = gen.links.container, gen.links.procedures
        base = {container: UUID_A, procedures: UUID_B}
        for column in (*gen.links.ids, *(n for n in gen.links.creates if n == "project")):
            row = {**base, column: "nope"}
            if column == "project":  # a project and no session: the session is created
                row.pop(container)
            cases.append((gen.name, f"{column}-not-a-uuid", row, f"{column} 'nope' is not a UUID"))
        # One bad item in a list of IDs.
        cases.append((gen.name, f"{procedures}-list", {**base, procedures: f"{UUID_B};x1"},
                      f"{procedures} 'x1' is not a UUID"))
        other = gen.other()
        for name in _columns(other):
            if name in gen.links.all:
                continue  # a name both generations use is not the other's
            cases.append((gen.name, f"other-{name}", {**base, name: GOOD[name]},
                          f"--api {gen.name} states {gen.speaks}, which has no "
                          if name in other.links.creates
                          else f"{name}: --api {gen.name} states {gen.speaks}"))
        for link, _ in gen.required:
            name = gen.links.name_of(link)
            cases.append((gen.name, f"missing-{name}",
                          {k: v for k, v in base.items() if k != name},
                          f"no {name}"))
    return cases


BAD_ROWS = _bad_rows()


def _manifest(path: Path, folder: Path, rows: list[dict[str, str]], fmt: str) -> Path:
    names = sorted({k for r in rows for k in r})
    if fmt == "csv":
        text = ",".join(["folder", *names]) + "\n" + "".join(
            ",".join([folder.name, *(r.get(k, "") for k in names)]) + "\n" for r in rows)
        path = path.with_suffix(".csv")
    else:
        def value(k: str, v: str) -> str:
            if k in ("procedures", "actions", "equipment"):
                return "[" + ", ".join(json.dumps(x) for x in v.split(";")) + "]"
            return json.dumps(v)
        text = "".join("[[session]]\n" + f"folder = {json.dumps(folder.name)}\n"
                       + "".join(f"{k} = {value(k, v)}\n" for k, v in r.items()) + "\n"
                       for r in rows)
        path = path.with_suffix(".toml")
    path.write_text(text)
    return path


@pytest.mark.parametrize("fmt", ["csv", "toml"])
@pytest.mark.parametrize(("api", "case", "row", "words"), BAD_ROWS,
                         ids=[f"{a}-{c}" for a, c, _, _ in BAD_ROWS])
def test_a_bad_manifest_row_is_said_before_any_request(
        tmp_path: Path, session: Path, api: str, case: str, row: dict[str, str], words: str,
        fmt: str) -> None:
    good = {GENERATIONS[api].links.container: UUID_A, GENERATIONS[api].links.procedures: UUID_B}
    manifest = _manifest(tmp_path / "m", session, [good, row], fmt)
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        result = CliRunner(env=_env(srv, tmp_path, srv.pat)).invoke(
            cli, ["batch", str(manifest), "--server", srv.url, "--api", api])
        hits = srv.hits
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    where = "m.csv:3 (day1): " if fmt == "csv" else "m.toml: session[1] (day1): "
    assert len(lines) == 1, lines  # the good row says nothing
    assert lines[0].startswith(f"bsingest: error: {where}"), lines
    assert words in lines[0], lines
    assert hits == []


def test_every_bad_row_is_said_one_line_each_without_a_stated_generation(
        tmp_path: Path, session: Path) -> None:
    """No --api: a row's names say its generation; a row that names none is bad only when
    it is bad in every generation."""
    (tmp_path / "day2").mkdir()
    (tmp_path / "m.csv").write_text(
        "folder,session,procedures,dataset,actions\n"
        f"day1,nope,{UUID_B},,\n"              # current API's names: a bad session
        f"day1,,,{UUID_A},x2\n"                # 2023 names: a bad action
        "day2,,,,\n"                           # nothing at all, in either generation
        f"day1,{UUID_A},,{UUID_A},{UUID_B}\n"  # both generations' names
        "gone,,,,\n")                          # not there (yet): left to the run
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        result = CliRunner(env=_env(srv, tmp_path, srv.pat)).invoke(
            cli, ["batch", str(tmp_path / "m.csv"), "--server", srv.url])
        hits = srv.hits
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ", 3)[2] for line in lines] == [
        "m.csv:2 (day1)", "m.csv:3 (day1)", "m.csv:4 (day2)", "m.csv:5 (day1)"]
    assert "session 'nope' is not a UUID" in lines[0]
    assert "actions 'x2' is not a UUID" in lines[1]
    assert "no session" in lines[2]
    assert "session (2026): columns of both API generations; give one's: " in lines[3]
    assert hits == []


def test_the_python_batch_checks_every_row_before_the_network(tmp_path: Path,
                                                              session: Path) -> None:
    from bsingest.batch import batch
    from bsingest.client import BrainstemClient
    from bsingest.errors import ManifestError

    (tmp_path / "m.csv").write_text(f"folder,session,procedures\nday1,{UUID_A},nope\n")
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        with BrainstemClient(server=srv.url, token=srv.pat) as client, \
                pytest.raises(ManifestError) as info:
            batch(tmp_path / "m.csv", client=client, journal=None, dry_run=True)
        hits = srv.hits
    assert info.value.lines == ("m.csv:2 (day1): procedures 'nope' is not a UUID (like "
                                f"{UUID_A})",)
    assert hits == []
