"""Ingest against the local BrainSTEM-compatible server over real HTTP: exactly once,
nothing lost, whatever the server or the process does."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.ingest import ingest, push
from bsingest.journal import Journal
from bsingest.server import Faults, LocalServer
from tests.fixtures import bsingest_cmd, signal_mid_run, write_dat, write_neuroscope_xml

DATASET = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: rat01-2024-03-01, alice's
ACTION = "087b71c4-6785-437c-b8ef-e35a82a8463e"
DEVICE = "28380833-3bdd-4c18-abfc-6eaddde349b0"
BOB_DATASET = "db04b73f-20d6-4ea4-9654-35615eb90723"  # another user's private dataset


def make_session(folder: Path, n_files: int, n_channels: int = 2) -> Path:
    """``n_files`` tiny .dat files that share one Neuroscope XML."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_files):
        write_dat(folder / f"rec{i:03d}.dat", n_channels=n_channels, n_samples=5 + i)
    write_neuroscope_xml(folder / "session.xml", n_channels)
    return folder


def client_for(srv: LocalServer) -> BrainstemClient:
    return BrainstemClient(api="2023", server=srv.url, token=srv.token,
                           retry=RetryPolicy(wait=False))


def file_names_on_server(srv: LocalServer, dataset: str = DATASET) -> collections.Counter[str]:
    srv.set_faults(Faults())
    with client_for(srv) as c:
        return collections.Counter(r["type_json"]["fileName"] for r in c.experiment_data(dataset))


def expected_names(session: Path) -> collections.Counter[str]:
    return collections.Counter(p.name for p in session.glob("*.dat"))


def stopped_server(db: Path) -> tuple[str, str]:
    """Start a server on ``db`` and stop it: its URL and token, nothing listening there."""
    with LocalServer(db_path=db) as srv:
        return srv.url, srv.token


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def ingest_at(url: str, token: str, session: Path, journal: Path, **kw: Any) -> Any:
    """Ingest against ``url``, up or not, waits off."""
    with BrainstemClient(api="2023", server=url, token=token, retry=RetryPolicy(wait=False)) as c:
        return ingest(session, dataset=DATASET, actions=[ACTION], client=c, journal=journal,
                      **kw)


def run(session: Path, srv: LocalServer, journal: Path, **kw: Any) -> Any:
    with client_for(srv) as c:
        return ingest(session, dataset=DATASET, actions=[ACTION], client=c, journal=journal, **kw)


def test_creates_one_record_per_file_and_a_rerun_changes_nothing(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 5)
    report = run(session, brainstem_server, tmp_path / "j.sqlite", hardware_device=DEVICE,
                 description="day 3")
    assert report.exit_code == 0 and report.counts() == {"created": 5}
    assert file_names_on_server(brainstem_server) == expected_names(session)
    with client_for(brainstem_server) as c:
        stored = {r["type_json"]["fileName"]: r for r in c.experiment_data(DATASET)}
    rec = stored["rec003.dat"]
    assert rec["type_json"]["nSamples"] == os.path.getsize(session / "rec003.dat") // 4
    assert (rec["actions"], rec["hardware_device"], rec["description"]) == \
        ([ACTION], DEVICE, "day 3")
    writes_before = [h for h in brainstem_server.hits if h.method != "GET"]
    again = run(session, brainstem_server, tmp_path / "j.sqlite", hardware_device=DEVICE,
                description="day 3")
    assert again.counts() == {"unchanged": 5}
    assert [h for h in brainstem_server.hits if h.method != "GET"] == writes_before


@pytest.mark.parametrize("mode", ["error_before", "unavailable", "throttle", "error_after",
                                  "drop_after"])
def test_two_hundred_files_each_fault_at_twenty_percent_arrive_exactly_once(
        tmp_path: Path, brainstem_server: LocalServer, mode: str) -> None:
    session = make_session(tmp_path / "s", 200)
    brainstem_server.set_faults(Faults(rate=0.2, modes=(mode,), seed=11, retry_after=0))
    report = run(session, brainstem_server, tmp_path / "j.sqlite")
    faults = [h for h in brainstem_server.hits if h.status in (None, 429, 500, 503)]
    assert len(faults) >= 20  # the faults really happened
    # A record whose six POSTs all meet a fault (0.2**6 each, about one run in a hundred
    # per mode, as threads interleave the seeded draws) is queued, as designed: push it,
    # faults still on, as a user would.
    assert report.exit_code in (0, 3), [r.error for r in report.results if r.error]
    queued = report.counts().get("queued", 0)
    with client_for(brainstem_server) as c, Journal(tmp_path / "j.sqlite") as jr:
        for _ in range(5):
            if not queued:
                break
            queued = sum(r.outcome == "queued" for r in push(client=c, journal=jr))
    assert queued == 0
    assert file_names_on_server(brainstem_server) == expected_names(session)


def test_all_fault_modes_mixed_with_a_rerun(tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 120)
    brainstem_server.set_faults(Faults(rate=0.4, seed=3, retry_after=0, modes=(
        "error_before", "unavailable", "throttle", "error_after", "drop_after")))
    first = run(session, brainstem_server, tmp_path / "j.sqlite")
    second = run(session, brainstem_server, tmp_path / "j.sqlite")
    assert first.exit_code in (0, 3) and second.exit_code in (0, 3)
    third = run(session, brainstem_server, tmp_path / "j.sqlite")
    assert third.exit_code == 0
    assert file_names_on_server(brainstem_server) == expected_names(session)


def test_server_down_queues_then_push_delivers_once(tmp_path: Path) -> None:
    session = make_session(tmp_path / "s", 12)
    db = tmp_path / "server.sqlite3"
    url, token = stopped_server(db)
    port = port_of(url)
    journal = tmp_path / "j.sqlite"
    report = ingest_at(url, token, session, journal)
    assert report.exit_code == 3
    assert report.counts() == {"queued": 12}
    with Journal(journal) as jr:
        assert {e.state for e in jr.entries()} == {"pending"}
    with LocalServer(db_path=db, port=port) as srv, client_for(srv) as c, Journal(journal) as jr:
        results = push(client=c, journal=jr)
        assert collections.Counter(r.outcome for r in results) == {"created": 12}
        assert {e.state for e in jr.entries()} == {"uploaded"}
        assert file_names_on_server(srv) == expected_names(session)
        assert push(client=c, journal=jr) == []


def test_bad_files_are_reported_in_one_line_each_and_do_not_stop_the_others(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 4)
    write_dat(session / "odd.dat", n_channels=2, n_samples=3, extra_bytes=1)
    (session / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 40)
    report = run(session, brainstem_server, tmp_path / "j.sqlite")
    assert report.exit_code == 1
    failed = {r.path: r.error for r in report.results if r.outcome == "failed"}
    assert set(failed) == {"odd.dat", "broken.mp4"}
    assert failed["odd.dat"].startswith("odd.dat: 13 bytes is not a whole number")
    assert failed["broken.mp4"].startswith("broken.mp4: ")
    assert all("\n" not in e for e in failed.values())
    assert file_names_on_server(brainstem_server) == collections.Counter(
        f"rec{i:03d}.dat" for i in range(4))


def test_unknown_or_foreign_dataset_uploads_nothing(tmp_path: Path,
                                                    brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 3)
    with client_for(brainstem_server) as c:
        for dataset in ("00000000-0000-4000-8000-000000000000", BOB_DATASET):
            report = ingest(session, dataset=dataset, actions=[ACTION], client=c,
                            journal=tmp_path / "j.sqlite")
            assert report.exit_code == 1
            assert report.error and report.error.startswith("nothing uploaded: GET ")
    assert not [h for h in brainstem_server.hits if h.method == "POST"]


def test_dry_run_writes_nothing_anywhere(tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 3)
    run(session, brainstem_server, tmp_path / "j.sqlite")
    write_dat(session / "rec001.dat", n_channels=2, n_samples=50)  # changed
    write_dat(session / "new.dat", n_channels=2, n_samples=9)
    listing = sorted(os.listdir(session))
    report = run(session, brainstem_server, tmp_path / "dry.sqlite", dry_run=True,
                 existing="update")
    assert {r.path: r.outcome for r in report.results} == {
        "rec000.dat": "unchanged", "rec001.dat": "would-update", "rec002.dat": "unchanged",
        "new.dat": "would-create"}
    assert not (tmp_path / "dry.sqlite").exists()
    assert sorted(os.listdir(session)) == listing
    assert [h.method for h in brainstem_server.hits].count("POST") == 3


def test_existing_policy_skip_update_error(tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 2)
    journal = tmp_path / "j.sqlite"
    run(session, brainstem_server, journal)
    write_dat(session / "rec000.dat", n_channels=2, n_samples=77)
    assert run(session, brainstem_server, journal).counts() == {"skipped": 1, "unchanged": 1}
    assert run(session, brainstem_server, journal, existing="error").counts() == \
        {"failed": 1, "unchanged": 1}
    assert run(session, brainstem_server, journal, existing="update").counts() == \
        {"updated": 1, "unchanged": 1}
    with client_for(brainstem_server) as c:
        stored = {r["type_json"]["fileName"]: r for r in c.experiment_data(DATASET)}
    assert stored["rec000.dat"]["type_json"]["nSamples"] == 77
    assert file_names_on_server(brainstem_server) == expected_names(session)


def test_session_file_and_per_file_overrides(tmp_path: Path,
                                             brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 2)
    write_dat(session / "raw.bin", n_channels=3, n_samples=10, dtype="<f4")
    (session / "bsingest.toml").write_text(
        f'dataset = "{DATASET}"\nactions = ["{ACTION}"]\ndescription = "all"\n'
        '[[files]]\nmatch = "*.bin"\nn_channels = 3\nsr = 1000\ndtype = "float32"\n'
        'type = "GeneralTimeSeries"\ndescription = "analog inputs"\n')
    with client_for(brainstem_server) as c:
        report = ingest(session, client=c, journal=tmp_path / "j.sqlite")
        assert report.exit_code == 0, report.to_json()
        stored = {r["type_json"]["fileName"]: r for r in c.experiment_data(DATASET)}
    assert stored["raw.bin"]["type"] == "GeneralTimeSeries"
    assert stored["raw.bin"]["description"] == "analog inputs"
    assert stored["raw.bin"]["type_json"]["nSamples"] == 10
    assert stored["rec000.dat"]["description"] == "all"


def _cli_env(srv: LocalServer, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTEM")}
    env.update(BRAINSTEM_SERVER=srv.url, BRAINSTEM_TOKEN=srv.token,
               BSINGEST_JOURNAL=str(tmp_path / "j.sqlite"), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               XDG_DATA_HOME=str(tmp_path / "data"))
    return env


@pytest.mark.parametrize("kill_after", [3, 30, 70, 110])
def test_sigkill_at_any_point_then_rerun_gives_each_record_once(
        tmp_path: Path, brainstem_server: LocalServer, kill_after: int) -> None:
    session = make_session(tmp_path / "s", 120)
    brainstem_server.set_faults(Faults(latency=0.005, rate=0.1, modes=("drop_after",), seed=5))
    env = _cli_env(brainstem_server, tmp_path)
    cmd = bsingest_cmd("ingest", "--api", "2023", str(session), "--dataset", DATASET,
                       "--action", ACTION)
    status, _ = signal_mid_run(cmd, env, brainstem_server, kill_after, signal.SIGKILL)
    assert status == -signal.SIGKILL  # killed mid-run, not after it had finished
    assert brainstem_server.record_count(DATASET) < 120
    brainstem_server.set_faults(Faults())
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert file_names_on_server(brainstem_server) == expected_names(session)


def test_cli_exit_codes_and_json(tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 2)
    env = _cli_env(brainstem_server, tmp_path)
    runner = CliRunner(env=env)
    ok = runner.invoke(cli, ["ingest", "--api", "2023", str(session), "--dataset", DATASET,
                             "--action", ACTION,
                             "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["counts"] == {"created": 2}
    usage = runner.invoke(cli, ["ingest", "--api", "2023", str(session)])
    assert usage.exit_code == 2
    assert "no dataset" in usage.stderr and "no action" in usage.stderr
    write_dat(session / "odd.dat", n_channels=2, n_samples=3, extra_bytes=1)
    failed = runner.invoke(cli, ["ingest", "--api", "2023", str(session), "--dataset", DATASET,
                                 "--action", ACTION])
    assert failed.exit_code == 1
    assert "odd.dat: 13 bytes is not a whole number" in failed.output
    status = runner.invoke(cli, ["status", "--json"])
    assert {e["state"] for e in json.loads(status.stdout)} == {"uploaded"}


def test_lock_keeps_a_second_run_out(tmp_path: Path) -> None:
    from bsingest.ingest import session_lock

    session = make_session(tmp_path / "s", 1)
    with session_lock(tmp_path, session):
        code = ("import sys; from pathlib import Path; from bsingest.ingest import session_lock\n"
                "try:\n"
                f"    with session_lock(Path({str(tmp_path)!r}), Path({str(session)!r}),\n"
                "                      timeout=0.3):\n"
                "        print('got it')\n"
                "except Exception as exc:\n    print(type(exc).__name__, exc)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.startswith("BsingestError") and "another bsingest run" in out
    # Released with the first run: the second now gets in.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out == "got it\n"


def test_settle_waits_for_files_to_stop_changing(tmp_path: Path) -> None:
    from bsingest.ingest import wait_until_settled

    session = make_session(tmp_path / "s", 1)
    growing = session / "rec000.dat"
    sleeps = []

    def fake_sleep(seconds: float) -> None:  # the recorder writes during the first two waits
        sleeps.append(seconds)
        if len(sleeps) <= 2:
            with open(growing, "ab") as fh:
                fh.write(b"\0\0\0\0")

    wait_until_settled(session, 5.0, sleep=fake_sleep)
    assert sleeps == [5.0, 5.0, 5.0]


def test_ctrl_c_stops_soon_says_how_to_resume_and_exits_130(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 120)
    brainstem_server.set_faults(Faults(latency=0.02))
    env = _cli_env(brainstem_server, tmp_path)
    cmd = bsingest_cmd("ingest", "--api", "2023", str(session), "--dataset", DATASET,
                       "--action", ACTION)
    status, err = signal_mid_run(cmd, env, brainstem_server, 20, signal.SIGINT, method="POST")
    assert status == 130, err
    assert "interrupted" in err and "run the same command again" in err
    assert "Traceback" not in err
    # Requests in flight finish; what was not started stays in the journal.
    assert brainstem_server.record_count(DATASET) < 120
    with Journal(tmp_path / "j.sqlite") as jr:
        assert {e.state for e in jr.entries()} >= {"pending"}
    brainstem_server.set_faults(Faults())
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert file_names_on_server(brainstem_server) == expected_names(session)


@pytest.mark.parametrize("mode", ["unavailable", "throttle", "error_before"])
def test_a_server_that_keeps_failing_queues_the_records_for_push(
        tmp_path: Path, brainstem_server: LocalServer, mode: str) -> None:
    # Every request answers 503/429/500 (maintenance, overload): nothing is wrong with the
    # records or the IDs, so they wait in the journal (exit 3), they do not fail (exit 1).
    session = make_session(tmp_path / "s", 3)
    brainstem_server.set_faults(Faults(rate=1.0, modes=(mode,), retry_after=0,
                                       methods=("GET", "POST", "PATCH", "DELETE")))
    report = run(session, brainstem_server, tmp_path / "j.sqlite")
    assert report.exit_code == 3, report.to_json()
    assert report.counts() == {"queued": 3} and report.error is None
    with Journal(tmp_path / "j.sqlite") as jr:
        assert {e.state for e in jr.entries()} == {"pending"}
    brainstem_server.set_faults(Faults())
    with client_for(brainstem_server) as c, Journal(tmp_path / "j.sqlite") as jr:
        assert collections.Counter(r.outcome for r in push(client=c, journal=jr)) == \
            {"created": 3}
    assert file_names_on_server(brainstem_server) == expected_names(session)


def test_ctrl_c_during_push_exits_130_and_a_second_push_finishes(tmp_path: Path) -> None:
    session = make_session(tmp_path / "s", 120)
    db = tmp_path / "server.sqlite3"
    url, token = stopped_server(db)
    queued = ingest_at(url, token, session, tmp_path / "j.sqlite")
    assert queued.counts() == {"queued": 120}  # the server was down
    with LocalServer(db_path=db, port=port_of(url),
                     faults=Faults(latency=0.02)) as srv:
        env = _cli_env(srv, tmp_path)
        cmd = bsingest_cmd("push", "--api", "2023")
        status, err = signal_mid_run(cmd, env, srv, 20, signal.SIGINT, method="POST")
        assert status == 130, err
        assert "interrupted" in err and "Traceback" not in err
        assert srv.record_count(DATASET) < 120
        srv.set_faults(Faults())
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert file_names_on_server(srv) == expected_names(session)


def test_push_keeps_the_existing_policy_of_the_run_that_queued(tmp_path: Path) -> None:
    session = make_session(tmp_path / "s", 2)
    journal = tmp_path / "j.sqlite"
    db = tmp_path / "server.sqlite3"
    with LocalServer(db_path=db) as srv:
        url, token = srv.url, srv.token
        assert run(session, srv, journal).counts() == {"created": 2}
    write_dat(session / "rec000.dat", n_channels=2, n_samples=77)  # the file changed
    queued = ingest_at(url, token, session, journal, existing="update")
    # The server was down: the changed file waits; the other is as the journal uploaded it.
    assert queued.counts() == {"queued": 1, "unchanged": 1}
    with LocalServer(db_path=db, port=port_of(url)) as srv, \
            client_for(srv) as c, Journal(journal) as jr:
        results = {r.path: r.outcome for r in push(client=c, journal=jr)}
        assert results == {"rec000.dat": "updated"}  # rec001.dat was already uploaded
        stored = c.experiment_data(DATASET)
    assert collections.Counter(r["type_json"]["fileName"] for r in stored) == \
        expected_names(session)
    (rec000,) = [r for r in stored if r["type_json"]["fileName"] == "rec000.dat"]
    assert rec000["type_json"]["nSamples"] == 77


def test_a_journal_from_before_the_policy_column_still_opens(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE entries (server TEXT NOT NULL, dataset TEXT NOT NULL, "
                   "key TEXT NOT NULL, path TEXT NOT NULL, record TEXT NOT NULL, fingerprint "
                   "TEXT NOT NULL, state TEXT NOT NULL, server_id TEXT, attempts INTEGER NOT "
                   "NULL DEFAULT 0, last_error TEXT, updated_at REAL NOT NULL, "
                   "PRIMARY KEY (server, dataset, key))")
        db.execute("INSERT INTO entries VALUES ('s', 'd', 'k', 'a.dat', '{}', 'f', 'pending', "
                   "NULL, 0, NULL, 0)")
    db.close()
    with Journal(path) as jr:
        assert [(e.key, e.state, e.existing) for e in jr.entries()] == [("k", "pending", None)]
        staged = jr.stage("s", "d", "k2", "b.dat", {"type": "Audio"}, "f2", "update")
        assert (staged.state, staged.existing) == ("pending", "update")


def test_push_and_ingest_running_at_once_create_each_record_once(tmp_path: Path) -> None:
    # A cron job's `bsingest push` meets the rig hook re-running `bsingest ingest` on the
    # session whose records it queued: both list the dataset, both would POST every file.
    session = make_session(tmp_path / "s", 60)
    db = tmp_path / "server.sqlite3"
    url, token = stopped_server(db)
    queued = ingest_at(url, token, session, tmp_path / "j.sqlite")
    assert queued.counts() == {"queued": 60}  # the server was down
    with LocalServer(db_path=db, port=port_of(url),
                     faults=Faults(latency=0.05)) as srv:
        env = _cli_env(srv, tmp_path)
        procs = [subprocess.Popen(bsingest_cmd(*args), env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
                 for args in (["push", "--api", "2023"],
                              ["ingest", "--api", "2023", str(session), "--dataset", DATASET,
                                         "--action", ACTION])]
        errors = [p.communicate(timeout=300)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], errors
        assert file_names_on_server(srv) == expected_names(session)


def test_a_post_refused_with_another_4xx_fails_at_once_instead_of_queueing(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    from bsingest.uploader import Uploader

    # 413: the server answered and wrote nothing; retrying or pushing later cannot help.
    record = {"type": "Extracellular", "dataset": DATASET, "actions": [ACTION],
              "type_json": {"fileName": "huge.dat", "note": "x" * (11 * 1024 * 1024)}}
    with client_for(brainstem_server) as c, Journal(tmp_path / "j.sqlite") as jr:
        entry = jr.stage(c.server, DATASET, "Extracellular|huge.dat|", "huge.dat", record, "f")
        (outcome,) = Uploader(c, jr).run([entry])
        row = jr.get(c.server, DATASET, entry.key)
    assert outcome.outcome == "failed" and "answered 413" in (outcome.error or "")
    assert row is not None and row.state == "failed"
    assert [h.status for h in brainstem_server.hits if h.method == "POST"] == [413]


def test_plain_http_to_another_host_needs_the_explicit_flag(tmp_path: Path) -> None:
    # A lab's own instance on its network: http:// is refused (the token would travel in
    # clear) unless the user says --allow-insecure-http, as `bsingest records` allows.
    session = make_session(tmp_path / "s", 2)
    with LocalServer(db_path=tmp_path / "db", host="127.0.0.2") as srv:
        env = _cli_env(srv, tmp_path)
        args = ["ingest", "--api", "2023", str(session), "--dataset", DATASET, "--action", ACTION]
        runner = CliRunner(env=env)
        refused = runner.invoke(cli, args)
        assert refused.exit_code == 2 and "refusing plain http://" in refused.stderr
        assert not srv.hits
        allowed = runner.invoke(cli, [*args, "--allow-insecure-http"])
        assert allowed.exit_code == 0, allowed.output
        pushed = runner.invoke(cli, ["push", "--api", "2023", "--allow-insecure-http"])
        assert pushed.exit_code == 0, pushed.output
        with BrainstemClient(srv.url, srv.token, api="2023", allow_insecure_http=True) as c:
            names = collections.Counter(r["type_json"]["fileName"]
                                        for r in c.experiment_data(DATASET))
    assert names == expected_names(session)


def test_rerun_of_an_uploaded_session_with_the_server_down_queues_nothing(
        tmp_path: Path) -> None:
    session = make_session(tmp_path / "s", 3)
    db, journal = tmp_path / "server.sqlite3", tmp_path / "j.sqlite"
    with LocalServer(db_path=db) as srv:
        url, token = srv.url, srv.token
        assert run(session, srv, journal).counts() == {"created": 3}
    write_dat(session / "rec001.dat", n_channels=2, n_samples=99)  # changed while offline
    report = ingest_at(url, token, session, journal)
    assert {r.path: r.outcome for r in report.results} == {
        "rec000.dat": "unchanged", "rec001.dat": "queued", "rec002.dat": "unchanged"}
    assert report.exit_code == 3


def test_a_write_that_lands_after_a_504_is_adopted_not_created_again(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    # Every first POST meets a gateway timeout while the backend commits 50 ms later; the
    # uploader waits out its back-off (1 s here, no jitter) and looks again before posting.
    session = make_session(tmp_path / "s", 4)
    brainstem_server.set_faults(Faults(rate=1.0, limit=4, modes=("late_commit",), late=0.05))
    policy = RetryPolicy(base=1.0, jitter=False)
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=policy) as c:
        report = ingest(session, dataset=DATASET, actions=[ACTION], client=c,
                        journal=tmp_path / "j.sqlite")
    assert report.counts() == {"created": 4}
    assert [h.status for h in brainstem_server.hits if h.method == "POST"] == [504] * 4
    assert file_names_on_server(brainstem_server) == expected_names(session)


def test_log_file_has_a_line_per_file_and_no_token(tmp_path: Path,
                                                   brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 2)
    write_dat(session / "odd.dat", n_channels=2, n_samples=3, extra_bytes=1)
    log = tmp_path / "ingest.log"
    result = CliRunner(env=_cli_env(brainstem_server, tmp_path)).invoke(
        cli, ["ingest", "--api", "2023", str(session), "--dataset", DATASET, "--action", ACTION,
              "--log", str(log)])
    assert result.exit_code == 1
    text = log.read_text()
    assert f"{session} rec000.dat: created" in text and f"{session} rec001.dat: created" in text
    assert f"{session} odd.dat: failed (odd.dat: 13 bytes is not a whole number" in text
    assert f"{session}: 2 created, 1 failed" in text
    assert brainstem_server.token not in text


def test_cli_says_a_shared_reason_once_and_status_keeps_it(tmp_path: Path) -> None:
    session = make_session(tmp_path / "s", 3)
    url, token = stopped_server(tmp_path / "server.sqlite3")
    env = {"BRAINSTEM_SERVER": url, "BRAINSTEM_TOKEN": token,
           "BSINGEST_JOURNAL": str(tmp_path / "j.sqlite")}
    runner = CliRunner(env=env)
    result = runner.invoke(cli, ["ingest", "--api", "2023", str(session), "--dataset", DATASET,
                                 "--action", ACTION])
    assert result.exit_code == 3
    assert result.stdout.count("(see below)") == 3
    reasons = [line for line in result.stderr.splitlines() if line.startswith("queued: ")]
    assert len(reasons) == 1 and "Connection refused" in reasons[0]
    assert "queued 3 records; run bsingest push" in result.stderr
    rows = json.loads(runner.invoke(cli, ["status", "--json"]).stdout)
    assert [(r["state"], "Connection refused" in r["last_error"]) for r in rows] == \
        [("pending", True)] * 3


def test_a_bug_in_an_extractor_fails_that_file_only(
        tmp_path: Path, brainstem_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from extractors.rawbinary import RawBinaryExtractor

    session = make_session(tmp_path / "s", 3)
    real = RawBinaryExtractor._extract

    def buggy(self: RawBinaryExtractor, path: Path, stated: Any) -> Any:
        if path.name == "rec001.dat":
            raise ZeroDivisionError("division by zero")
        return real(self, path, stated)

    monkeypatch.setattr(RawBinaryExtractor, "_extract", buggy)
    report = run(session, brainstem_server, tmp_path / "j.sqlite")
    assert {r.path: r.outcome for r in report.results} == {
        "rec000.dat": "created", "rec001.dat": "failed", "rec002.dat": "created"}
    (failed,) = [r for r in report.results if r.outcome == "failed"]
    assert failed.error == ("rec001.dat: unexpected ZeroDivisionError: division by zero "
                            "(a bug in bsingest; please report it)")
