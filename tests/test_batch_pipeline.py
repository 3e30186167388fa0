"""Issue 25: how a batch's start overlaps (reader processes, checks sent together) and how
a session is staged (one transaction), observed from the server's request log and the
journal's rows, never from a clock."""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bsingest.batch import batch
from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.errors import RecordInvalid
from bsingest.journal import Entry, Journal
from bsingest.readers import reader_pool, start_method
from bsingest.server import LocalServer
from bsingest.server import http as server_http
from tests.fixtures import bsingest_cmd, write_dat, write_neuroscope_xml

ACTION = "087b71c4-6785-437c-b8ef-e35a82a8463e"
DATASET = "4b060709-9585-484b-bde0-0a47a554aaab"  # alice's, in the seed


def _manifest(root: Path, sessions: int, files: int) -> Path:
    rows = ["session,dataset,actions,hardware_device,description"]
    for i in range(sessions):
        for j in range(files):
            write_dat(root / f"p{i}" / f"p{i}_r{j}.dat", n_channels=2, n_samples=4 + j)
        write_neuroscope_xml(root / f"p{i}" / "session.xml", 2)
        rows.append(f"p{i},{DATASET},{ACTION},,")
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def test_a_session_checks_its_dataset_and_its_action_at_once(
        tmp_path: Path, brainstem_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dataset's look-up is answered only once the action's has arrived: sent one
    after the other (as they were), the action's would come only after the dataset's
    answer, and the hold below would run out."""
    action_asked = threading.Event()
    held: list[bool] = []
    dispatch = server_http._Handler._dispatch

    def hold_dataset(handler: Any, method: str) -> None:
        path = handler.path.split("?")[0]
        if method == "GET" and f"/action/{ACTION}" in path:
            action_asked.set()
        elif method == "GET" and f"/dataset/{DATASET}" in path:
            held.append(action_asked.wait(timeout=30))
        dispatch(handler, method)

    monkeypatch.setattr(server_http._Handler, "_dispatch", hold_dataset)
    manifest = _manifest(tmp_path, 2, 3)
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c, Journal(tmp_path / "j.sqlite") as jr:
        report = batch(manifest, client=c, journal=jr, jobs=1)
    assert report.counts() == {"created": 6}
    assert held == [True]  # one look-up of the dataset for both sessions, sent beside the action's
    gets = [h.path for h in brainstem_server.hits if h.method == "GET"]
    assert sum(f"/action/{ACTION}" in p for p in gets) == 1


def test_a_session_is_staged_in_the_journal_while_its_look_ups_are_in_flight(
        tmp_path: Path, brainstem_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The look-ups before the first upload (the dataset's and the action's checks, the
    listing) are answered only once the session's rows are in the journal: the journal
    writes go on during the round trip, not after it (where they held the first POST back).
    A batch that staged only after the answers would leave every look-up held here until
    the wait ran out, with no row staged."""
    journal = tmp_path / "j.sqlite"
    files = 5
    staged_when_asked: list[int] = []
    dispatch = server_http._Handler._dispatch

    def staged() -> int:
        with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True,
                                                timeout=30)) as db:
            try:
                return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])
            except sqlite3.OperationalError:  # the table is not there yet
                return 0

    def hold_look_ups(handler: Any, method: str) -> None:
        if method == "GET" and not any(h.method == "POST" for h in brainstem_server.hits):
            deadline = time.monotonic() + 10
            while staged() < files and time.monotonic() < deadline:
                time.sleep(0.01)
            staged_when_asked.append(staged())
        dispatch(handler, method)

    monkeypatch.setattr(server_http._Handler, "_dispatch", hold_look_ups)
    manifest = _manifest(tmp_path, 1, files)
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c, Journal(journal) as jr:
        report = batch(manifest, client=c, journal=jr, jobs=1)
    assert report.counts() == {"created": files}
    # The dataset's and the action's checks, and the listing: each answered after staging.
    assert staged_when_asked == [files] * 3


def test_a_check_asked_early_gives_its_error_to_the_check_that_comes_once() -> None:
    from bsingest.errors import NotFound
    from bsingest.uploader import Lookups

    asked: list[str] = []

    def fetch(id: str) -> None:
        asked.append(id)
        raise NotFound("GET", f"/dataset/{id}/", 404, "Not found.")

    lookups = Lookups()
    lookups.ask_early("dataset", "d1", fetch, lambda fn: fn())
    lookups.ask_early("dataset", "d1", fetch, lambda fn: fn())  # its answer is waiting
    assert asked == ["d1"]
    with pytest.raises(NotFound):
        lookups.check("dataset", "d1", fetch)  # the early answer: no request
    assert asked == ["d1"]
    with pytest.raises(NotFound):
        lookups.check("dataset", "d1", fetch)  # after a failure, a check asks again
    assert asked == ["d1", "d1"]


def _fields(e: Entry) -> tuple[Any, ...]:
    return (e.key, e.path, e.record, e.fingerprint, e.state, e.server_id, e.attempts,
            e.last_error, e.existing, e.api)


def test_staging_a_session_at_once_leaves_the_rows_staging_each_record_leaves(
        tmp_path: Path) -> None:
    """stage_all is stage, record by record, in one transaction: new rows pending, changed
    ones pending again (sending stays sending), unchanged ones as they were, a failed one
    pending, and a record the journal cannot hold refused alone, in its place."""
    def rec(name: str, n: int) -> dict[str, Any]:
        return {"type": "Extracellular", "dataset": DATASET,
                "type_json": {"fileName": name, "nSamples": n}}

    first = [(f"f{i}.dat", f"Extracellular|f{i}.dat", rec(f"f{i}.dat", i), f"fp{i}")
             for i in range(6)]
    again = [first[0],  # unchanged, uploaded: stays uploaded with its id
             (first[1][0], first[1][1], rec("f1.dat", 99), "fp1"),  # changed, uploaded
             (first[2][0], first[2][1], rec("f2.dat", 99), "fp2"),  # changed, sending
             first[3],  # unchanged, failed: pending again
             ("bad.dat", "Extracellular|bad.dat", rec("bad.dat", float("nan")), "x"),  # type: ignore[arg-type]
             ("new.dat", "Extracellular|new.dat", rec("new.dat", 7), "fp7")]
    results = []
    for name, stage_at_once in (("one.sqlite", False), ("all.sqlite", True)):
        with Journal(tmp_path / name) as jr:
            staged = [jr.stage("s", DATASET, k, p, r, fp, "skip") for p, k, r, fp in first]
            jr.mark(staged[0], "uploaded", server_id="11")
            jr.mark(staged[1], "uploaded", server_id="12")
            jr.mark(staged[2], "sending", attempt=True)
            jr.mark(staged[3], "failed", error="refused")
            if stage_at_once:
                out = jr.stage_all("s", DATASET, again, "update", api="2023")
            else:
                out = []
                for p, k, r, fp in again:
                    try:
                        out.append(jr.stage("s", DATASET, k, p, r, fp, "update"))
                    except RecordInvalid as exc:
                        out.append(exc)
            results.append([str(e) if isinstance(e, RecordInvalid) else _fields(e)
                            for e in out])
            rows = {e.key: e.state for e in jr.entries()}
    assert results[0] == results[1]
    assert [r if isinstance(r, str) else r[4] for r in results[1]] == [
        "uploaded", "pending", "sending", "pending", results[1][4], "pending"]
    assert "cannot be stored as JSON" in results[1][4]
    assert "Extracellular|bad.dat" not in rows


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
def test_readers_fork_only_while_no_thread_runs() -> None:
    """fork copies the locks other threads hold: a process with threads spawns."""
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert start_method() == "spawn"
    finally:
        stop.set()
        t.join()
    code = ("import threading, sys; from bsingest.readers import start_method; "
            "print(start_method(), threading.active_count())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["fork", "1"]


def test_a_reader_pool_reads_sessions_and_a_crash_in_it_is_an_error_of_that_call(
        tmp_path: Path) -> None:
    pool = reader_pool(1, sessions=5)
    try:
        assert pool.submit(pow, 2, 10).result() == 1024
        crash = pool.submit(_die)
        with pytest.raises(Exception, match="terminated abruptly"):
            crash.result()
    finally:
        pool.shutdown(wait=True)


def _die() -> None:
    import os

    os._exit(3)


def test_the_command_reads_with_reader_processes_and_uploads_every_session(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    """``bsingest batch`` in its own process: readers forked (Linux) before the client
    starts; every record created once, each link checked once."""
    manifest = _manifest(tmp_path, 3, 4)
    before = len(brainstem_server.hits)
    proc = subprocess.run(
        [*bsingest_cmd(), "batch", str(manifest), "--json", "--jobs", "2", "--api", "2023",
         "--server", brainstem_server.url, "--journal", str(tmp_path / "j.sqlite")],
        capture_output=True, text=True, env={**_env(), "BRAINSTEM_TOKEN": brainstem_server.token})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["counts"] == {"created": 12}
    hits = brainstem_server.hits[before:]
    assert sum(h.method == "POST" for h in hits) == 12
    assert sorted(h.path.split("/")[-3] for h in hits
                  if h.method == "GET" and "experimentdata" not in h.path) == ["action",
                                                                              "dataset"]


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTEM_")}


def test_an_outcome_marked_soon_is_written_with_the_next_write_or_read(tmp_path: Path) -> None:
    """Until it is written, the row says ``sending`` (what a crash leaves: the next run reads
    it back before sending again); the next write, a read, or closing writes it."""
    path = tmp_path / "j.sqlite"
    with Journal(path) as jr, Journal(path) as other:
        a, b = (jr.stage("s", DATASET, f"k{i}", f"p{i}", {"i": i}, "fp") for i in range(2))
        jr.mark(a, "sending", attempt=True)
        jr.mark_soon(a, "uploaded", server_id="41")
        assert other.get("s", DATASET, "k0").state == "sending"  # another process's view
        jr.mark(b, "sending", attempt=True)  # the next write takes it along
        row = other.get("s", DATASET, "k0")
        assert (row.state, row.server_id, row.attempts) == ("uploaded", "41", 1)
        jr.mark_soon(b, "uploaded", server_id="42")
        assert jr.get("s", DATASET, "k1").state == "uploaded"  # a read of its own writes it
        jr.mark(a, "failed", error="later")  # a later mark is not undone by an earlier one
        jr.mark_soon(b, "uploaded", server_id="43")
    with Journal(path) as again:  # closed: written
        assert [(e.key, e.state, e.server_id) for e in again.entries()] == [
            ("k0", "failed", "41"), ("k1", "uploaded", "43")]


def test_the_next_posts_say_sending_before_they_go_written_a_wave_at_a_time(
        tmp_path: Path, brainstem_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every POST arrives with its row already ``sending`` (what a crash must leave), and
    the first one with the rows of the POSTs after it too: they are written ahead, not one
    by one by the thread that sends: first as many as the executor takes at once (twice
    its threads), so that the first POST waits for a short write, then a wave (100) at a
    time. Each row counts one attempt."""
    from bsingest.uploader import WAVE

    journal = tmp_path / "j.sqlite"
    seen: list[tuple[str, dict[str, str]]] = []  # (fileName, every row's state) per POST
    dispatch = server_http._Handler._dispatch

    def look(handler: Any, method: str) -> None:
        if method != "POST":
            dispatch(handler, method)
            return
        stream = handler.rfile
        raw = stream.read(int(handler.headers["Content-Length"]))
        handler.rfile = io.BytesIO(raw)  # the server reads the body as it came
        try:
            # Another connection, reading only: what a crash now would leave.
            with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True,
                                                    timeout=30)) as db:
                seen.append((json.loads(raw)["type_json"]["fileName"],
                             dict(db.execute("SELECT path, state FROM entries"))))
            dispatch(handler, method)
        finally:
            handler.rfile = stream  # the connection's next request comes from it

    monkeypatch.setattr(server_http._Handler, "_dispatch", look)
    sessions, files = 1, WAVE + 20
    manifest = _manifest(tmp_path, sessions, files)
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c, Journal(journal) as jr:
        report = batch(manifest, client=c, journal=jr, jobs=1, concurrency=4)
    assert report.counts() == {"created": files}
    assert len(seen) == files
    for name, states in seen:
        assert states[name] == "sending", name
    # Rows written ahead when each POST arrived (a row is never pending again once sent).
    written = [sum(state != "pending" for state in states.values()) for _, states in seen]
    depth = 2 * 4  # the executor's: twice concurrency
    assert written[0] == depth
    assert set(written) == {depth, depth + WAVE, files}
    with Journal(journal) as jr:
        assert {(e.state, e.attempts) for e in jr.entries()} == {("uploaded", 1)}


def test_rows_written_sending_ahead_and_never_sent_are_read_back_then_sent_once(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    """A crash after the rows of the next POSTs were written ``sending`` and before they
    went out: the next run looks for them on the server (its listing, under the dataset's
    lock), finds none, and creates each once."""
    from bsingest.ingest import ingest

    session = tmp_path / "s"
    for j in range(12):
        write_dat(session / f"r{j}.dat", n_channels=2, n_samples=4 + j)
    write_neuroscope_xml(session / "session.xml", 2)
    journal = tmp_path / "j.sqlite"
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c:
        dry = ingest(session, dataset=DATASET, actions=[ACTION], client=c, journal=journal,
                     dry_run=True)
        assert len(dry.results) == 12
    # What the crash leaves: every row staged and written ahead, nothing on the server.
    from bsingest.ingest import prepare
    from bsingest.sessionconfig import load_options

    options = load_options(session, dataset=DATASET, actions=(ACTION,)).for_api("2023")
    prepared = prepare(session, options, jobs=1)
    with Journal(journal) as jr:
        staged = jr.stage_all(brainstem_server.url, DATASET, prepared.records, "skip")
        jr.mark_all([e for e in staged if isinstance(e, Entry)], "sending", attempt=True)
    before = len(brainstem_server.hits)
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c:
        report = ingest(session, dataset=DATASET, actions=[ACTION], client=c, journal=journal)
    assert report.counts() == {"created": 12}
    hits = brainstem_server.hits[before:]
    assert sum(h.method == "POST" for h in hits) == 12
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c:
        names = [r["type_json"]["fileName"] for r in c.experiment_data(DATASET)]
    assert sorted(names) == sorted(f"r{j}.dat" for j in range(12))


def test_a_read_ahead_is_taken_over_by_the_equal_call_only(tmp_path: Path) -> None:
    pool = reader_pool(1, sessions=2)
    try:
        pool.ahead(pow, 2, 10)  # type: ignore[attr-defined]
        other = pool.submit(pow, 3, 2)  # not the one read ahead: sent anew
        taken = pool.submit(pow, 2, 10)
        assert other.result() == 9 and taken.result() == 1024
        assert pool._ahead == []  # type: ignore[attr-defined]
        again = pool.submit(pow, 2, 10)  # taken once: a second equal call is its own
        assert again is not taken and again.result() == 1024
    finally:
        pool.shutdown(wait=True)


def test_checking_a_manifest_imports_no_http_client(tmp_path: Path) -> None:
    """The command's readers start once the manifest is checked, before the client's
    imports (httpx): the check must not import them itself."""
    manifest = _manifest(tmp_path, 2, 1)
    code = ("import sys; from bsingest.batch import check_rows, read_manifest; "
            f"check_rows(read_manifest({str(manifest)!r}), api='2023'); "
            "print(sorted(m for m in ('httpx', 'httpcore', 'bsingest.client') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_the_client_imports_httpx_without_its_command_line() -> None:
    """httpx's command line (rich, pygments) is not imported with the client; httpx.main
    and a later import of httpx._main still give the real one."""
    code = ("import sys, bsingest.client, httpx; "
            "print(sorted(m for m in ('httpx._main', 'rich', 'pygments') if m in sys.modules)); "
            "import httpx._main; "
            "print(httpx._main.__file__.endswith('_main.py'), 'rich' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["[]", "True True"]


def test_a_session_read_ahead_is_read_once_and_taken_over_by_the_batch(
        tmp_path: Path, brainstem_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the command does with ``--api`` stated: the first session is read before the
    client exists; the batch takes that read over instead of reading the session again."""
    from concurrent.futures import ProcessPoolExecutor

    from bsingest.batch import read_ahead, read_manifest
    from bsingest.ingest import prepare

    manifest = _manifest(tmp_path, 3, 2)
    reads: list[str] = []
    submit = ProcessPoolExecutor.submit

    def counted(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        if args and args[0] is prepare:
            reads.append(Path(args[1]).name)
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", counted)
    pool = reader_pool(2, sessions=3)
    try:
        read_ahead(pool, read_manifest(manifest), 1, api="2023")
        assert reads == ["p0"]
        with BrainstemClient(api="2023", server=brainstem_server.url,
                             token=brainstem_server.token, retry=RetryPolicy(wait=False)) as c, \
                Journal(tmp_path / "j.sqlite") as jr:
            report = batch(manifest, client=c, journal=jr, readers=pool)
    finally:
        pool.shutdown(wait=True)
    assert report.counts() == {"created": 6}
    assert sorted(reads) == ["p0", "p1", "p2"]  # p0 once: the batch took its read over
