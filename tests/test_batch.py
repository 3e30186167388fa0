"""Batch ingest: many sessions, some bad, over real HTTP; Ctrl-C and a re-run."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bsingest.batch import batch, read_manifest
from bsingest.cli.main import cli
from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.errors import UsageError
from bsingest.journal import Journal
from bsingest.server import Faults, LocalServer
from tests.fixtures import bsingest_cmd, signal_mid_run, write_dat, write_neuroscope_xml

ACTION = "087b71c4-6785-437c-b8ef-e35a82a8463e"
DATASETS = ["4b060709-9585-484b-bde0-0a47a554aaab", "a2987175-c93b-47a6-9a35-6aa48c3e2640",
            "1f7f103b-e949-405a-9b01-ddda3b2f10cf"]  # alice's private datasets in the seed
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def write_session(folder: Path, prefix: str, n_files: int) -> list[str]:
    """Files named after their session, so sessions sharing a dataset never collide."""
    names = []
    for j in range(n_files):
        write_dat(folder / f"{prefix}_r{j}.dat", n_channels=2, n_samples=4 + j)
        names.append(f"{prefix}_r{j}.dat")
    write_neuroscope_xml(folder / "session.xml", 2)
    return names


def make_manifest(root: Path, n_sessions: int, files_per_session: int = 3
                  ) -> tuple[Path, collections.Counter[str], set[str]]:
    """A manifest of good sessions and three bad ones; what the server should end with."""
    rows = ["session,dataset,actions,hardware_device,description"]
    expected: collections.Counter[str] = collections.Counter()
    for i in range(n_sessions):
        name = f"s{i:02d}"
        expected.update(write_session(root / name, name, files_per_session))
        rows.append(f"{name},{DATASETS[i % 3]},{ACTION},,session {i}")
    rows.append(f"gone,{DATASETS[0]},{ACTION},,")  # missing folder
    write_session(root / "stranger", "stranger", 2)
    rows.append(f"stranger,{UNKNOWN},{ACTION},,")  # unknown dataset
    corrupt = write_session(root / "corrupt", "corrupt", 2)
    expected.update(corrupt)
    write_dat(root / "corrupt" / "corrupt_bad.dat", n_channels=2, n_samples=3, extra_bytes=1)
    rows.append(f"corrupt,{DATASETS[1]},{ACTION};{ACTION},,")
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest, expected, {"gone", "stranger", "corrupt"}


def names_on_server(srv: LocalServer) -> collections.Counter[str]:
    srv.set_faults(Faults())
    with BrainstemClient(api="2023", server=srv.url, token=srv.token,
                         retry=RetryPolicy(wait=False)) as c:
        return collections.Counter(r["type_json"].get("fileName") for d in DATASETS
                                   for r in c.experiment_data(d))


def seeded(srv: LocalServer) -> collections.Counter[str]:
    return names_on_server(srv)  # the seed's own records, present before any batch


def test_fifty_sessions_with_bad_ones_complete_every_good_session(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    manifest, expected, bad = make_manifest(tmp_path, 47)
    before = seeded(brainstem_server)
    brainstem_server.set_faults(Faults(rate=0.1, seed=7, retry_after=0,
                                       modes=("error_after", "drop_after", "throttle")))
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c, Journal(tmp_path / "j.sqlite") as jr:
        report = batch(manifest, client=c, journal=jr, jobs=2, concurrency=6)
    assert len(report.sessions) == 50
    assert report.exit_code == 1
    by_name = {Path(r.session).name: r for r in report.sessions}
    for name, r in by_name.items():
        if name not in bad:
            assert r.exit_code == 0 and r.counts() == {"created": 3}, (name, r.to_json())
    assert by_name["gone"].error == f"{tmp_path / 'gone'}: no such session folder (manifest.csv:49)"
    assert by_name["stranger"].error.startswith("nothing uploaded: GET ")
    assert "404" in by_name["stranger"].error
    assert by_name["corrupt"].counts() == {"created": 2, "failed": 1}
    (failure,) = [f for f in by_name["corrupt"].results if f.outcome == "failed"]
    assert failure.error.startswith("corrupt_bad.dat: 13 bytes is not a whole number")
    for r in report.sessions:
        assert all("\n" not in (x or "") for x in [r.error, *(f.error for f in r.results)])
    assert names_on_server(brainstem_server) - before == expected


def test_cli_report_file_and_rerun_does_only_what_is_left(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    manifest, _, _ = make_manifest(tmp_path / "m", 6)
    env = {"BRAINSTEM_SERVER": brainstem_server.url, "BRAINSTEM_TOKEN": brainstem_server.token,
           "BSINGEST_JOURNAL": str(tmp_path / "j.sqlite")}
    runner = CliRunner(env=env)
    result = runner.invoke(cli, ["batch", "--api", "2023", str(manifest),
                                 "--report", str(tmp_path / "r.json"),
                                 "--jobs", "1"])
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    files = [f for s in report["sessions"] for f in s["files"]]
    assert collections.Counter(f["outcome"] for f in files) == {"created": 20, "failed": 3}
    assert "error: " in result.stderr and "no such session folder" in result.stderr
    posts = [h for h in brainstem_server.hits if h.method == "POST"]
    again = runner.invoke(cli, ["batch", "--api", "2023", str(manifest), "--json", "--jobs", "1"])
    assert json.loads(again.stdout)["counts"]["unchanged"] == 20
    assert [h for h in brainstem_server.hits if h.method == "POST"] == posts


def test_ctrl_c_then_rerun_gives_each_record_once(tmp_path: Path,
                                                  brainstem_server: LocalServer) -> None:
    manifest, expected, _ = make_manifest(tmp_path / "m", 30, files_per_session=4)
    before = seeded(brainstem_server)
    brainstem_server.set_faults(Faults(latency=0.02))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTEM")}
    env.update(BRAINSTEM_SERVER=brainstem_server.url, BRAINSTEM_TOKEN=brainstem_server.token,
               BSINGEST_JOURNAL=str(tmp_path / "j.sqlite"))
    cmd = bsingest_cmd("batch", "--api", "2023", str(manifest), "--jobs", "2")
    status, err = signal_mid_run(cmd, env, brainstem_server, 25, signal.SIGINT, method="POST")
    assert status == 130, err
    assert "interrupted: run the same command again" in err
    assert "Traceback" not in err
    assert sum(names_on_server(brainstem_server).values()) - sum(before.values()) < 120
    brainstem_server.set_faults(Faults())
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1  # the bad sessions of the manifest
    assert names_on_server(brainstem_server) - before == expected


def test_toml_manifest_with_overrides(tmp_path: Path, brainstem_server: LocalServer) -> None:
    write_session(tmp_path / "a", "a", 2)
    write_dat(tmp_path / "a" / "aux.bin", n_channels=1, n_samples=8)
    (tmp_path / "m.toml").write_text(
        f'[[session]]\nsession = "a"\ndataset = "{DATASETS[0]}"\nactions = ["{ACTION}"]\n'
        'type_map = ["*.dat=GeneralTimeSeries"]\n'
        '[[session.files]]\nmatch = "aux.bin"\nn_channels = 1\nsr = 100\n')
    jobs = read_manifest(tmp_path / "m.toml")
    assert [j.session for j in jobs] == [tmp_path / "a"]
    with BrainstemClient(api="2023", server=brainstem_server.url,
                         token=brainstem_server.token) as c, \
            Journal(tmp_path / "j.sqlite") as jr:
        report = batch(jobs, client=c, journal=jr, jobs=1)
        assert report.exit_code == 0, report.to_json()
        types = {r["type_json"]["fileName"]: r["type"] for r in c.experiment_data(DATASETS[0])}
    assert types["a_r0.dat"] == "GeneralTimeSeries" and types["aux.bin"] == "Extracellular"


def test_dataset_by_name(tmp_path: Path, brainstem_server: LocalServer) -> None:
    write_session(tmp_path / "rat01-2024-03-02", "day2", 2)
    write_session(tmp_path / "rat99-unknown", "x", 1)
    env = {"BRAINSTEM_SERVER": brainstem_server.url, "BRAINSTEM_TOKEN": brainstem_server.token,
           "BSINGEST_JOURNAL": str(tmp_path / "j.sqlite")}
    result = CliRunner(env=env).invoke(cli, [
        "batch", "--api", "2023", str(tmp_path), "--match", "rat*", "--dataset-by-name",
        "--action", ACTION,
        "--json", "--jobs", "1"])
    assert result.exit_code == 1
    sessions = {Path(s["session"]).name: s for s in json.loads(result.stdout)["sessions"]}
    assert sessions["rat01-2024-03-02"]["counts"] == {"created": 2}
    assert sessions["rat01-2024-03-02"]["dataset"] == DATASETS[1]
    assert sessions["rat99-unknown"]["error"] == "rat99-unknown: no dataset named 'rat99-unknown'"


@pytest.mark.parametrize("text, message", [
    ("session,dataset,foo\nx,y,z\n", "the first line must name the columns.*unknown: foo"),
    ("dataset,actions\ny,z\n", "the first line must name the columns"),  # no folder
    ("session,dataset,actions,hardware_device,description\n,a,b,,\n", "a row has no session"),
])
def test_bad_manifest_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(UsageError, match=message):
        read_manifest(tmp_path / "m.csv")


def test_two_sessions_with_the_same_file_name_in_one_dataset_make_one_record(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    # Intan writes amplifier.dat in every session: two sessions sent to one dataset
    # would both POST it (the dataset tells records apart by type and fileName only).
    for name, n in (("a", 4), ("b", 9)):
        write_dat(tmp_path / name / "amplifier.dat", n_channels=2, n_samples=n)
        write_neuroscope_xml(tmp_path / name / "amplifier.xml", 2)
    manifest = tmp_path / "m.csv"
    manifest.write_text("session,dataset,actions,hardware_device,description\n"
                        f"a,{DATASETS[0]},{ACTION},,\nb,{DATASETS[0]},{ACTION},,\n")
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c, Journal(tmp_path / "j.sqlite") as jr:
        report = batch(manifest, client=c, journal=jr, jobs=2)
        stored = [r for r in c.experiment_data(DATASETS[0])
                  if r["type_json"]["fileName"] == "amplifier.dat"]
    assert len(stored) == 1
    outcomes = sorted((Path(r.session).name, f.outcome) for r in report.sessions
                      for f in r.results)
    assert outcomes == [("a", "created"), ("b", "failed")]
    (loser,) = [f for r in report.sessions for f in r.results if f.outcome == "failed"]
    assert loser.error.startswith("amplifier.dat: same type and fileName as a/amplifier.dat")
    assert report.exit_code == 1
    posts = [h for h in brainstem_server.hits if h.method == "POST"]
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c, Journal(tmp_path / "j.sqlite") as jr:
        again = batch(manifest, client=c, journal=jr, jobs=2)
        (row,) = jr.entries(dataset=DATASETS[0])
    assert sorted((Path(r.session).name, f.outcome) for r in again.sessions
                  for f in r.results) == [("a", "unchanged"), ("b", "failed")]
    assert row.state == "uploaded" and row.record["type_json"]["nSamples"] == 4
    assert [h for h in brainstem_server.hits if h.method == "POST"] == posts


def test_batch_and_push_running_at_once_create_each_record_once(tmp_path: Path) -> None:
    # The batch reads each dataset's listing early (while files are still being read);
    # a push from another process must not create records behind that listing's back.
    names = write_session(tmp_path / "s", "s", 60)
    manifest = tmp_path / "m.csv"
    manifest.write_text("session,dataset,actions,hardware_device,description\n"
                        f"s,{DATASETS[0]},{ACTION},,\n")
    db = tmp_path / "server.sqlite3"
    with LocalServer(db_path=db) as srv:
        url, token = srv.url, srv.token
    with BrainstemClient(api="2023", server=url, token=token, retry=RetryPolicy(wait=False)) as c, \
            Journal(tmp_path / "j.sqlite") as jr:
        queued = batch(manifest, client=c, journal=jr, jobs=1)
    assert queued.exit_code == 3  # the server was down: all 60 wait in the journal
    with LocalServer(db_path=db, port=int(url.rsplit(":", 1)[1]),
                     faults=Faults(latency=0.05)) as srv:
        before = seeded(srv)
        srv.set_faults(Faults(latency=0.05))
        env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTEM")}
        env.update(BRAINSTEM_SERVER=srv.url, BRAINSTEM_TOKEN=srv.token,
                   BSINGEST_JOURNAL=str(tmp_path / "j.sqlite"))
        procs = [subprocess.Popen(bsingest_cmd(*args), env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
                 for args in (["batch", "--api", "2023", str(manifest), "--jobs", "1"],
                              ["push", "--api", "2023"])]
        errors = [p.communicate(timeout=300)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], errors
        assert names_on_server(srv) - before == collections.Counter(names)


def test_dry_run_writes_no_journal_and_nothing_on_the_server(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    manifest, _, _ = make_manifest(tmp_path / "m", 3)
    env = {"BRAINSTEM_SERVER": brainstem_server.url, "BRAINSTEM_TOKEN": brainstem_server.token,
           "BSINGEST_JOURNAL": str(tmp_path / "j" / "journal.sqlite")}
    result = CliRunner(env=env).invoke(cli, ["batch", "--api", "2023", str(manifest),
                                             "--dry-run", "--json",
                                             "--jobs", "1"])
    files = [f for s in json.loads(result.stdout)["sessions"] for f in s["files"]]
    assert collections.Counter(f["outcome"] for f in files)["would-create"] == 11
    assert not (tmp_path / "j").exists()
    assert [h.method for h in brainstem_server.hits if h.method != "GET"] == []


def _request_budget_manifest(root: Path, sessions: int, files: int) -> Path:
    """``sessions`` sessions of ``files`` records each, all to one dataset."""
    rows = ["session,dataset,actions,hardware_device,description"]
    for i in range(sessions):
        write_session(root / f"b{i}", f"b{i}", files)
        rows.append(f"b{i},{DATASETS[0]},{ACTION},,")
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def test_a_clean_batch_sends_one_read_back_per_session_and_checks_each_link_once(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    """Issue 25: the request budget of a batch where nothing fails, counted by the server.

    Sessions that start together share the dataset's and the action's checks and the
    listing (they used to send one check each, at once); each session's keys are read
    back in one query once its creates are done (a session's 60 names fit in one). A
    re-run reads what it needs to compare (the listing) and sends nothing else.
    """
    n_sessions, n_files = 5, 60
    manifest = _request_budget_manifest(tmp_path, n_sessions, n_files)
    before = len(brainstem_server.hits)
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c, Journal(tmp_path / "j.sqlite") as jr:
        report = batch(manifest, client=c, journal=jr, jobs=2, concurrency=8)
        assert report.counts().get("created") == n_sessions * n_files
        hits = brainstem_server.hits[before:]
        posts = [h for h in hits if h.method == "POST"]
        gets = [h for h in hits if h.method == "GET"]
        assert len(posts) == n_sessions * n_files
        assert not [h for h in hits if h.method not in ("GET", "POST")]
        links = [h for h in gets if "experimentdata" not in h.path]
        assert sorted(h.path.split("/")[-3] for h in links) == ["action", "dataset"]
        reads = [h for h in gets if "experimentdata" in h.path]
        assert len(reads) == 1 + n_sessions  # the listing, then a read-back per session
        assert len(gets) / len(posts) <= 0.05

        again = len(brainstem_server.hits)
        rerun = batch(manifest, client=c, journal=jr, jobs=2, concurrency=8)
        assert rerun.counts().get("unchanged") == n_sessions * n_files
        hits = brainstem_server.hits[again:]
        # The two checks and the listing, a page per hundred records; no read-back.
        pages = -(-brainstem_server.record_count(DATASETS[0]) // 100)
        assert [h.method for h in hits] == ["GET"] * (2 + pages)
    assert names_on_server(brainstem_server)["b0_r0.dat"] == 1
