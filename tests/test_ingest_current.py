"""Ingest against the current generation of the API (Data Acquisition in a session), over
real HTTP to the local server: details by schema 1.1.0 with units, the current type
names, exactly once; sessions created once; the other generation's names refused."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.errors import UsageError
from bsingest.extraction import extract_folder
from bsingest.ingest import ingest
from bsingest.journal import Journal
from bsingest.server import Faults, LocalServer
from tests.fixtures import write_dat, write_neuroscope_xml
from tests.fixtures_intan_oe import IntanSpec, write_intan_traditional

REPO = Path(__file__).resolve().parents[1]
SESSION = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: rat01-2024-03-01, alice's
PROCEDURE = "087b71c4-6785-437c-b8ef-e35a82a8463e"
EQUIPMENT = "856ea7f7-01d8-41ac-b021-36db3520b1d2"
PROJECT = "ad24d33e-bdc2-4550-ace6-dcf49ce21854"  # rat01-lab, alice's
BOB_PROJECT = "cbb0ba8d-56eb-4da2-b2fe-cb4c0827fc47"
CURRENT_TYPES = {"ExtracellularEphys", "Audio", "BehavioralTracking"}


def example_session(tmp_path: Path) -> Path:
    """The example session's data files (a probe, a microphone, a camera), no bsingest.toml."""
    folder = tmp_path / "day3"
    folder.mkdir()
    for p in (REPO / "examples" / "session").iterdir():
        if p.name != "bsingest.toml":
            shutil.copy(p, folder / p.name)
    return folder


def env_for(srv: LocalServer, tmp_path: Path) -> dict[str, str]:
    return {"BRAINSTEM_SERVER": srv.url, "BRAINSTEM_TOKEN": srv.pat,
            "BSINGEST_JOURNAL": str(tmp_path / "j.sqlite"),
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


def raw(srv: LocalServer, path: str, **params: str) -> Any:
    """A GET on the server, read without bsingest's client."""
    query = {"limit": "100", **params}
    resp = httpx.get(f"{srv.url}/api/private/{path}/", params=query,
                     headers={"Authorization": f"Bearer {srv.pat}"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def acquisitions(srv: LocalServer, session: str = SESSION) -> list[dict[str, Any]]:
    body = raw(srv, "modules/dataacquisition", **{"filter{session}": session})
    return body.get("data_acquisitions", body.get("dataacquisition"))


def client_for(srv: LocalServer) -> BrainstemClient:
    return BrainstemClient(server=srv.url, token=srv.pat, api="2026",
                           retry=RetryPolicy(wait=False))


@pytest.mark.parametrize("legacy_envelope", [False, True], ids=["envelope", "dataacquisition"])
def test_ingest_with_session_and_procedure_creates_current_records_once(
        tmp_path: Path, legacy_envelope: bool) -> None:
    folder = example_session(tmp_path)
    expected = {x.relative_to(folder).file_name: x for x in extract_folder(folder).extractions}
    with LocalServer(db_path=tmp_path / "s.sqlite3", legacy_envelope=legacy_envelope) as srv:
        before = {r["id"] for r in acquisitions(srv)}
        runner = CliRunner(env=env_for(srv, tmp_path))
        args = ["ingest", str(folder), "--session", SESSION, "--procedure", PROCEDURE,
                "--server", srv.url, "--json"]
        first = runner.invoke(cli, args)
        assert first.exit_code == 0, first.output
        report = json.loads(first.stdout)
        assert report["api"] == "2026"
        assert report["counts"] == {"created": len(expected)}
        new = [r for r in acquisitions(srv) if r["id"] not in before]
        assert sorted(r["details"]["fileName"] for r in new) == sorted(expected)
        for rec in new:
            x = expected[rec["details"]["fileName"]]
            assert rec["type"] == x.type and x.type in CURRENT_TYPES
            assert rec["type_schema_version"] == "1.1.0"
            assert (rec["session"], rec["procedures"], rec["equipment"]) == (
                SESSION, [PROCEDURE], [])
            for key, unit in (("sr", "Hz"), ("frameRate", "Hz"), ("lsb", "µV")):
                if key in x.type_json:  # every rate and lsb the file states, with its unit
                    assert rec["details"][key] == {"value": x.type_json[key], "unit": unit}
            for key in ("nChannels", "nSamples", "nFrames"):
                if key in x.type_json:
                    assert rec["details"][key] == x.type_json[key]
        writes = [h for h in srv.hits if h.method != "GET"]
        again = runner.invoke(cli, args)
        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["counts"] == {"unchanged": len(expected)}
        assert [h for h in srv.hits if h.method != "GET"] == writes


def test_a_procedure_given_twice_is_linked_once(tmp_path: Path) -> None:
    """`--procedure P --procedure P` (or a bsingest.toml listing P twice) created records
    linking P twice; a later run with P once then skipped them all as 'other values
    (procedures)'."""
    folder = example_session(tmp_path)
    (folder / "bsingest.toml").write_text(f'procedures = ["{PROCEDURE}", "{PROCEDURE}"]\n')
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        before = {r["id"] for r in acquisitions(srv)}
        runner = CliRunner(env=env_for(srv, tmp_path))
        args = ["ingest", str(folder), "--session", SESSION, "--server", srv.url, "--json"]
        twice = runner.invoke(cli, [*args, "--procedure", PROCEDURE, "--procedure", PROCEDURE])
        assert twice.exit_code == 0, twice.output
        new = [r for r in acquisitions(srv) if r["id"] not in before]
        assert len(new) == 3 and all(r["procedures"] == [PROCEDURE] for r in new)
        from_file = runner.invoke(cli, args)  # the toml's list, P twice
        assert json.loads(from_file.stdout)["counts"] == {"unchanged": 3}, from_file.output
        once = runner.invoke(cli, [*args, "--procedure", PROCEDURE])
        assert json.loads(once.stdout)["counts"] == {"unchanged": 3}, once.output


def test_a_record_of_schema_0_0_0_saying_the_same_is_unchanged(tmp_path: Path,
                                                               brainstem_server: LocalServer
                                                               ) -> None:
    folder = tmp_path / "s"
    write_dat(folder / "rec.dat", n_channels=4, n_samples=50)
    write_neuroscope_xml(folder / "rec.xml", 4, sampling_rate=30000)
    (x,) = extract_folder(folder).extractions
    body = {"type": "ExtracellularEphys", "session": SESSION, "procedures": [PROCEDURE],
            "equipment": [], "notes": None, "type_schema_version": "0.0.0",
            "details": dict(x.relative_to(folder).type_json)}
    with client_for(brainstem_server) as c:
        made = c.create("modules/dataacquisition", body)
        assert made["details"]["sr"] == 30000  # bare, as 0.0.0 writes it
        report = ingest(folder, session=SESSION, procedures=[PROCEDURE], client=c,
                        journal=tmp_path / "j.sqlite")
    assert report.counts() == {"unchanged": 1}
    assert report.results[0].server_id == made["id"]


def test_create_session_once_though_the_answer_to_its_post_is_lost(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    folder = tmp_path / "rat01-2024-05-07"
    write_intan_traditional(folder / "a_240507_120000.rhd", IntanSpec(), n_blocks=2)
    write_intan_traditional(folder / "b_240507_113000.rhd", IntanSpec(), n_blocks=2)
    n = len(extract_folder(folder).extractions)  # several records in each file
    # The session's POST is carried out, and its answer never arrives.
    srv.set_faults(Faults(rate=1.0, modes=("drop_after",), limit=1, methods=("POST",)))
    with client_for(srv) as c:
        report = ingest(folder, create_session=True, project=PROJECT, procedures=[PROCEDURE],
                        client=c, journal=tmp_path / "j.sqlite")
    assert report.exit_code == 0, [r.error for r in report.results]
    assert [h.fault for h in srv.hits if h.fault] == ["drop_after"]
    sessions = raw(srv, "stem/session", **{"filter{name}": folder.name})["sessions"]
    assert len(sessions) == 1
    made = sessions[0]
    assert made["projects"] == [PROJECT]
    assert made["date_time"].startswith("2024-05-07T11:30:00")  # the earlier file's start
    assert report.created_session is not None
    assert report.created_session["id"] == made["id"] == report.dataset
    assert report.created_session["date_time_from"].startswith("b_240507_113000.rhd")
    assert report.counts() == {"created": n}
    assert len(acquisitions(srv, made["id"])) == n
    with Journal(tmp_path / "j.sqlite") as jr:
        row = jr.session(srv.url, folder.name)
    assert row is not None and (row.state, row.server_id) == ("uploaded", made["id"])

    writes = [h for h in srv.hits if h.method != "GET"]
    with client_for(srv) as c:
        again = ingest(folder, create_session=True, project=PROJECT, procedures=[PROCEDURE],
                       client=c, journal=tmp_path / "j.sqlite")
    assert again.counts() == {"unchanged": n}
    assert again.created_session is not None and again.created_session["outcome"] == "existing"
    assert [h for h in srv.hits if h.method != "GET"] == writes


def test_create_session_from_the_command_line_with_no_start_time_says_so_once(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    folder = tmp_path / "today"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    result = CliRunner(env=env_for(brainstem_server, tmp_path)).invoke(cli, [
        "ingest", str(folder), "--create-session", "--project", PROJECT,
        "--session-name", "rat01 day 9", "--procedure", PROCEDURE])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("date_time left empty") == 1
    assert "session 'rat01 day 9': created" in result.stderr
    (made,) = raw(brainstem_server, "stem/session",
                  **{"filter{name}": "rat01 day 9"})["sessions"]
    assert not made.get("date_time")
    status = CliRunner(env=env_for(brainstem_server, tmp_path)).invoke(cli, ["status", "--all"])
    assert "rat01 day 9" in status.stdout and made["id"] in status.stdout


def test_a_session_in_a_project_one_may_not_change_uploads_nothing(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    folder = tmp_path / "x"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    before = brainstem_server.acquisition_count()
    with client_for(brainstem_server) as c:
        report = ingest(folder, create_session=True, project=BOB_PROJECT, client=c,
                        journal=tmp_path / "j.sqlite")
    assert report.exit_code == 1
    assert report.error is not None and report.error.startswith("cannot create session 'x'")
    print(report.error)
    assert [r.outcome for r in report.results] == ["failed"]
    assert brainstem_server.acquisition_count() == before
    assert raw(brainstem_server, "stem/session", **{"filter{name}": "x"})["sessions"] == []


@pytest.mark.parametrize("api, given, right", [
    ("2026", ["--dataset", SESSION, "--action", PROCEDURE], "--session UUID"),
    ("2026", ["--session", SESSION, "--action", PROCEDURE], "--procedure UUID"),
    ("2026", ["--session", SESSION, "--description", "x"], "--notes"),
    ("2023", ["--session", SESSION, "--action", PROCEDURE], "--dataset UUID"),
    ("2023", ["--dataset", SESSION, "--procedure", PROCEDURE], "--action UUID"),
    ("2023", ["--dataset", SESSION, "--action", PROCEDURE, "--equipment", EQUIPMENT],
     "--hardware-device UUID"),
    ("2023", ["--dataset", SESSION, "--action", PROCEDURE, "--create-session"],
     "--dataset UUID"),
])
def test_the_other_generations_names_are_a_usage_error_naming_the_right_option(
        tmp_path: Path, brainstem_server: LocalServer, api: str, given: list[str],
        right: str) -> None:
    folder = tmp_path / "s"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    env = env_for(brainstem_server, tmp_path)
    if api == "2023":
        env["BRAINSTEM_TOKEN"] = brainstem_server.token
    result = CliRunner(env=env).invoke(cli, ["ingest", str(folder), "--api", api, *given])
    assert result.exit_code == 2, result.output
    assert f"use {right}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert [h for h in brainstem_server.hits if h.method != "GET"] == []


def test_a_bsingest_toml_of_the_other_generation_names_the_key(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    folder = tmp_path / "s"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    (folder / "bsingest.toml").write_text(f'dataset = "{SESSION}"\nactions = ["{PROCEDURE}"]\n')
    with client_for(brainstem_server) as c, pytest.raises(UsageError) as err:
        ingest(folder, client=c, journal=tmp_path / "j.sqlite")
    assert "bsingest.toml: gives dataset" in str(err.value)
    assert 'give session = "UUID"' in str(err.value)


@pytest.mark.parametrize("name", ["actions", "procedures", "equipment"])
def test_the_python_api_refuses_one_id_given_as_a_string(tmp_path: Path, name: str) -> None:
    (tmp_path / "s").mkdir()
    with pytest.raises(UsageError, match=f"{name}: expected a list of UUIDs, got the string"):
        ingest(tmp_path / "s", **{name: PROCEDURE})  # type: ignore[arg-type]


@pytest.mark.parametrize(("given", "toml", "words"), [
    (["--session", "nope", "--procedure", PROCEDURE], "", "--session 'nope' is not a UUID"),
    (["--session", SESSION, "--procedure", "x1"], "", "--procedure 'x1' is not a UUID"),
    ([], f'session = "nope"\nprocedures = ["{PROCEDURE}"]\n',
     "s/bsingest.toml: session 'nope' is not a UUID"),
    (["--session", SESSION, "--procedure", PROCEDURE],
     '[[files]]\nmatch = "*.dat"\nequipment = ["x2"]\n',
     "s/bsingest.toml: [[files]] match '*.dat': equipment 'x2' is not a UUID"),
])
def test_an_id_that_is_not_a_uuid_is_named_where_it_was_written(
        tmp_path: Path, brainstem_server: LocalServer, given: list[str], toml: str,
        words: str) -> None:
    folder = tmp_path / "s"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    if toml:
        (folder / "bsingest.toml").write_text(toml)
    result = CliRunner(env=env_for(brainstem_server, tmp_path)).invoke(
        cli, ["ingest", str(folder), *given], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    where = f"{folder}{os.sep}" if words.startswith("s/") else ""
    assert result.stderr.strip().splitlines() == [
        f"bsingest: error: {where}{words.removeprefix('s/')} (like "
        "1f7f103b-e949-405a-9b01-ddda3b2f10cf)"]
    assert [h for h in brainstem_server.hits if h.method != "GET"] == []


def test_batch_names_the_manifest_line_of_an_id_that_is_not_a_uuid(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    write_dat(tmp_path / "day" / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(tmp_path / "day" / "rec.xml", 2)
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"folder,session,procedures\nday,nope,{PROCEDURE}\n")
    result = CliRunner(env=env_for(brainstem_server, tmp_path)).invoke(
        cli, ["batch", str(manifest), "--jobs", "1"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        "bsingest: error: m.csv:2 (day): session 'nope' is not a UUID (like "
        "1f7f103b-e949-405a-9b01-ddda3b2f10cf)"]
    assert brainstem_server.hits == []


def test_batch_manifest_and_session_by_name_in_the_current_api(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    root = tmp_path / "root"
    for name, n in (("rat01-2024-03-01", 2), ("rat01-2024-03-02", 1), ("new-day", 1)):
        for i in range(n):
            write_dat(root / name / f"r{i}.dat", n_channels=2, n_samples=5 + i)
        write_neuroscope_xml(root / name / "r.xml", 2)
    env = env_for(brainstem_server, tmp_path)
    result = CliRunner(env=env).invoke(cli, [
        "batch", str(root), "--match", "*", "--session-by-name", "--create-session",
        "--project", PROJECT, "--procedure", PROCEDURE, "--json", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    sessions = {Path(s["session"]).name: s for s in json.loads(result.stdout)["sessions"]}
    assert {k: s["counts"] for k, s in sessions.items()} == {
        "rat01-2024-03-01": {"created": 2}, "rat01-2024-03-02": {"created": 1},
        "new-day": {"created": 1}}
    assert sessions["rat01-2024-03-01"]["dataset"] == SESSION
    created = raw(brainstem_server, "stem/session", **{"filter{name}": "new-day"})["sessions"]
    assert [s["id"] for s in created] == [sessions["new-day"]["dataset"]]

    manifest = tmp_path / "m.csv"
    manifest.write_text("folder,session,procedures,equipment,notes\n"
                        f"root/rat01-2024-03-01,{SESSION},{PROCEDURE},{EQUIPMENT},day one\n")
    again = CliRunner(env=env).invoke(cli, ["batch", str(manifest), "--json", "--jobs", "1",
                                            "--existing", "update"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["sessions"][0]["counts"] == {"updated": 2}
    stored = [r for r in acquisitions(brainstem_server) if r["details"]["fileName"] in
              ("r0.dat", "r1.dat")]
    assert [(r["equipment"], r["notes"]) for r in stored] == [([EQUIPMENT], "day one")] * 2


def test_server_down_queues_then_push_and_status_know_the_generation(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    for i in range(3):
        write_dat(folder / f"r{i}.dat", n_channels=2, n_samples=5 + i)
    write_neuroscope_xml(folder / "r.xml", 2)
    db = tmp_path / "server.sqlite3"
    with LocalServer(db_path=db) as srv:
        url, pat = srv.url, srv.pat
    with BrainstemClient(server=url, token=pat, api="2026", retry=RetryPolicy(wait=False)) as c:
        queued = ingest(folder, session=SESSION, procedures=[PROCEDURE], client=c,
                        journal=tmp_path / "j.sqlite")
    assert queued.exit_code == 3 and queued.counts() == {"queued": 3}
    with Journal(tmp_path / "j.sqlite") as jr:
        assert {(e.api, e.dataset, e.record["type"]) for e in jr.entries()} == {
            ("2026", SESSION, "ExtracellularEphys")}
    with LocalServer(db_path=db, port=int(url.rsplit(":", 1)[1])) as srv:
        env = env_for(srv, tmp_path)
        runner = CliRunner(env=env)
        status = runner.invoke(cli, ["status", "--json"])
        assert {(r["api"], r["state"]) for r in json.loads(status.stdout)} == {("2026", "pending")}
        pushed = runner.invoke(cli, ["push", "--json"])
        assert pushed.exit_code == 0, pushed.output
        assert sorted(r["outcome"] for r in json.loads(pushed.stdout)) == ["created"] * 3
        assert sorted(r["details"]["fileName"] for r in acquisitions(srv)
                      if r["details"]["fileName"].startswith("r")) == ["r0.dat", "r1.dat", "r2.dat"]
        # Rows of the 2023 API wait for a server of that generation; said, not sent.
        with Journal(tmp_path / "j.sqlite") as jr:
            jr.stage(srv.url, SESSION, "Extracellular|old.dat", "old.dat",
                     {"type": "Extracellular"}, "fp", api="2023")
        again = runner.invoke(cli, ["push", "--json"])
        assert again.exit_code == 3
        (row,) = json.loads(again.stdout)
        assert "written for the 2023 API" in row["error"]


def test_a_dry_run_of_create_session_writes_nothing(tmp_path: Path,
                                                    brainstem_server: LocalServer) -> None:
    folder = tmp_path / "fresh"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    with client_for(brainstem_server) as c:
        report = ingest(folder, create_session=True, project=PROJECT, client=c, dry_run=True)
    assert report.counts() == {"would-create": 1}
    assert report.created_session is not None
    assert report.created_session["outcome"] == "would-create"
    assert [h for h in brainstem_server.hits if h.method != "GET"] == []
    assert not (tmp_path / "j.sqlite").exists()


def test_type_map_takes_the_current_type_names(tmp_path: Path,
                                               brainstem_server: LocalServer) -> None:
    folder = tmp_path / "s"
    write_dat(folder / "cell.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "cell.xml", 2)
    with client_for(brainstem_server) as c:
        report = ingest(folder, session=SESSION, type_map=["cell.*=IntracellularEphys"],
                        client=c, journal=tmp_path / "j.sqlite")
    assert [(r.type, r.outcome) for r in report.results] == [("IntracellularEphys", "created")]
    with pytest.raises(UsageError, match="TYPE one of Audio, BehavioralTracking"):
        ingest(folder, session=SESSION, type_map=["*=Ephys"], client=c)


def test_bsingest_toml_can_ask_for_the_session_to_be_created(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    folder = tmp_path / "rig-output-0042"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    (folder / "bsingest.toml").write_text(
        f'create_session = true\nproject = "{PROJECT}"\nsession_name = "rat01 2024-05-09"\n'
        f'procedures = ["{PROCEDURE}"]\nequipment = "{EQUIPMENT}"\n')
    with client_for(brainstem_server) as c:
        report = ingest(folder, client=c, journal=tmp_path / "j.sqlite")
        assert report.counts() == {"created": 1}
        (made,) = raw(brainstem_server, "stem/session",
                      **{"filter{name}": "rat01 2024-05-09"})["sessions"]
        (rec,) = acquisitions(brainstem_server, made["id"])
        assert (rec["procedures"], rec["equipment"]) == ([PROCEDURE], [EQUIPMENT])
        # A session stated on the command line wins over the file's create_session.
        other = ingest(folder, session=SESSION, client=c, journal=tmp_path / "j.sqlite")
        assert other.dataset == SESSION and other.created_session is None
        with pytest.raises(UsageError, match="give one"):
            ingest(folder, session=SESSION, create_session=True, client=c)


@pytest.mark.parametrize("mode", ["late_commit", "error_after", "unavailable"])
def test_create_session_once_whatever_its_post_meets(tmp_path: Path,
                                                     brainstem_server: LocalServer,
                                                     mode: str) -> None:
    folder = tmp_path / f"day-{mode}"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    brainstem_server.set_faults(Faults(rate=1.0, modes=(mode,), limit=1, methods=("POST",),
                                       late=0.1, retry_after=0))
    # Back-off longer than the late write takes to land, as the default policy's is.
    with BrainstemClient(server=brainstem_server.url, token=brainstem_server.pat, api="2026",
                         retry=RetryPolicy(base=0.3, jitter=False)) as c:
        report = ingest(folder, create_session=True, project=PROJECT, client=c,
                        journal=tmp_path / "j.sqlite")
    assert report.counts() == {"created": 1}, report.error
    assert [h.fault for h in brainstem_server.hits if h.fault] == [mode]
    made = raw(brainstem_server, "stem/session", **{"filter{name}": folder.name})["sessions"]
    assert [s["id"] for s in made] == [report.dataset]


def test_a_run_killed_after_posting_its_session_finds_it_by_name(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    folder = tmp_path / "killed-day"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    with client_for(brainstem_server) as c:
        # The killed run: its journal says 'sending', and the server did create it.
        made = c.create_session(folder.name, [PROJECT])
        with Journal(tmp_path / "j.sqlite") as jr:
            jr.mark_session(c.server, folder.name, PROJECT, str(folder), "sending",
                            attempt=True)
        report = ingest(folder, create_session=True, project=PROJECT, client=c,
                        journal=tmp_path / "j.sqlite")
    assert report.created_session is not None
    assert (report.created_session["outcome"], report.dataset) == ("existing", made["id"])
    sessions = raw(brainstem_server, "stem/session", **{"filter{name}": folder.name})
    assert len(sessions["sessions"]) == 1


def test_a_refused_token_is_said_without_a_guess_about_the_ids(tmp_path: Path) -> None:
    folder = example_session(tmp_path)
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        env = {**env_for(srv, tmp_path), "BRAINSTEM_TOKEN": srv.token}  # the 2023 token
        result = CliRunner(env=env).invoke(cli, ["ingest", str(folder), "--session", SESSION,
                                                 "--procedure", PROCEDURE, "--json"])
        assert result.exit_code == 1, result.output
        error = json.loads(result.stdout)["error"]
        assert "refused" in error or "401" in error
        assert "may this token write" not in error
        assert srv.token not in result.output


def test_missing_ids_under_a_stated_api_are_said_before_any_request(
        tmp_path: Path) -> None:
    """Issue 21: a missing option is a usage error before the network; the message says
    which generation --api stated, so a user who stated the wrong one sees it."""
    folder = example_session(tmp_path)
    with LocalServer(db_path=tmp_path / "s.sqlite3", apis=("2026",)) as srv:
        result = CliRunner(env=env_for(srv, tmp_path)).invoke(
            cli, ["ingest", str(folder), "--api", "2023", "--dry-run"])
        hits = list(srv.hits)
    assert result.exit_code == 2, result.output
    assert "no dataset" in result.output and "--api 2023 states the 2023" in result.output
    assert hits == []


def test_a_manifest_column_of_the_other_generation_is_named_as_a_column(
        tmp_path: Path) -> None:
    folder = example_session(tmp_path)
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"folder,dataset,procedures\n{folder.name},{SESSION},{PROCEDURE}\n")
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        result = CliRunner(env=env_for(srv, tmp_path)).invoke(
            cli, ["batch", str(manifest), "--dry-run"])
        hits = srv.hits
    # Said before any request (issue 21): no generation takes both generations' columns.
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"bsingest: error: m.csv:2 ({folder.name}): dataset (2023), procedures (2026): "
        "columns of both API generations; give one's: session,procedures,equipment,notes "
        "(2026) or dataset,actions,hardware_device,description (2023)"]
    assert hits == []
