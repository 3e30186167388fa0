"""``bsingest batch --dask``: extraction on a real Dask cluster (worker processes on this
machine), uploads from the client to the real local server."""

from __future__ import annotations

import collections
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bsingest.batch import batch
from bsingest.cli.main import cli
from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.ingest import Prepared, prepare
from bsingest.journal import Journal
from bsingest.server import LocalServer
from tests.test_batch import DATASETS, make_manifest, names_on_server, seeded

try:
    import distributed
except ImportError:  # the tests of the usage error still run
    distributed = None

needs_dask = pytest.mark.skipif(distributed is None,
                                reason="dask.distributed is not installed (bsingest[dask])")

#: What a record says, without what the server gives it (id, dates).
_SAID = ("type", "dataset", "actions", "hardware_device", "description", "type_json")


def records_on(srv: LocalServer) -> list[str]:
    with BrainstemClient(api="2023", server=srv.url, token=srv.token,
                         retry=RetryPolicy(wait=False)) as c:
        return sorted(json.dumps({k: r.get(k) for k in _SAID}, sort_keys=True)
                      for d in DATASETS for r in c.experiment_data(d))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two worker processes of one thread, as ``--dask local`` starts, shared by the tests."""
    if distributed is None:
        pytest.skip("dask.distributed is not installed (bsingest[dask])")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=40) as c:
        yield c


def kill_worker_once(session: Path, options: Any, *, jobs: int | None = None) -> Prepared:
    """:func:`prepare`, except that session ``s05``'s first try kills its worker process
    (as a node lost mid-task), and ``s07`` always raises. Runs on the workers."""
    marker = session.parent / "killed-once"
    if session.name == "s05" and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(9)
    if session.name == "s07":
        raise RuntimeError("reader bug in s07")
    return prepare(session, options, jobs=jobs)


@needs_dask
def test_twenty_sessions_through_dask_local_give_the_same_records_as_without(
        tmp_path: Path) -> None:
    manifest, expected, _ = make_manifest(tmp_path / "m", 20)
    with LocalServer(db_path=tmp_path / "a.sqlite3") as plain, \
            LocalServer(db_path=tmp_path / "b.sqlite3") as spread:
        seed = seeded(plain)
        with BrainstemClient(api="2023", server=plain.url, token=plain.token,
                             retry=RetryPolicy(wait=False)) as c, \
                Journal(tmp_path / "a.sqlite") as jr:
            without = batch(manifest, client=c, journal=jr, jobs=2)
        env = {"BRAINSTEM_SERVER": spread.url, "BRAINSTEM_TOKEN": spread.token,
               "BSINGEST_JOURNAL": str(tmp_path / "b.sqlite")}
        result = CliRunner(env=env).invoke(cli, [
            "batch", "--api", "2023", str(manifest), "--dask", "local", "--jobs", "2",
            "--report", str(tmp_path / "r.jsonl")])
        assert result.exit_code == 1, result.output  # the manifest's three bad sessions
        assert records_on(spread) == records_on(plain)
        assert names_on_server(spread) - seed == expected
    lines = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    *sessions, last = lines
    # gone has no folder; stranger's files fail (no such dataset), corrupt's bad one too
    assert last["counts"] == without.counts() == {"created": 62, "failed": 3,
                                                   "failed sessions": 1}
    assert sorted(s["session"] for s in sessions) == sorted(r.session for r in without.sessions)
    outcomes = {(Path(s["session"]).name, f["path"], f["outcome"]) for s in sessions
                for f in s["files"]}
    assert outcomes == {(Path(r.session).name, f.path, f.outcome) for r in without.sessions
                        for f in r.results}
    with Journal(tmp_path / "b.sqlite") as jr:
        states = collections.Counter(e.state for e in jr.entries())
    assert states == {"uploaded": 62, "failed": 2}  # stranger's (corrupt_bad is never staged)


@needs_dask
def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
        tmp_path: Path, brainstem_server: LocalServer, cluster: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    manifest, expected, _ = make_manifest(tmp_path / "m", 20, files_per_session=4)
    s07 = {n for n in expected if n.startswith("s07_")}
    before = seeded(brainstem_server)
    # The workers import this module (spawned with the client's sys.path) to run it.
    monkeypatch.setattr("bsingest.batch.prepare", kill_worker_once)
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c, \
            Journal(tmp_path / "j.sqlite") as jr:
        report = batch(manifest, client=c, journal=jr, dask=cluster.scheduler_address,
                       jobs=2)
        rows = jr.entries()
    assert (tmp_path / "m" / "killed-once").exists()  # a worker did die, in s05's task
    errors = {Path(r.session).name: r.error for r in report.sessions if r.error}
    assert set(errors) == {"gone", "s07", "stranger"}
    assert errors["s07"] == ("s07: the extraction task failed on the cluster, after 3 "
                             "tries: RuntimeError: reader bug in s07")
    s05 = next(r for r in report.sessions if Path(r.session).name == "s05")
    assert s05.counts() == {"created": 4}
    # Every record of every other session once on the server, and once in the journal.
    assert names_on_server(brainstem_server) - before == expected - collections.Counter(s07)
    assert len({(e.dataset, e.key) for e in rows}) == len(rows)
    assert collections.Counter(Path(e.path).name for e in rows if e.state == "uploaded"
                               ) == expected - collections.Counter(s07)
    assert {e.path for e in rows if e.state != "uploaded"} == {  # no such dataset
        "stranger_r0.dat", "stranger_r1.dat"}


def test_dask_missing_is_a_one_line_usage_error(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    manifest, _, _ = make_manifest(tmp_path / "m", 1)
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed: ImportError
    result = CliRunner().invoke(cli, ["batch", str(manifest), "--dask", "local"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "bsingest: error: --dask needs dask.distributed: pip install 'bsingest[dask]'"]
