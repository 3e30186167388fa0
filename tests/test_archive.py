"""Archive scale (issue 17): a batch streams its sessions, and the journal's queries are
indexed (``benchmarks/bench_archive.py`` has the figures at 10^4 and 10^5 records)."""

from __future__ import annotations

import gc
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

from bsingest.batch import batch
from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.ingest import IngestReport, Prepared
from bsingest.journal import Journal
from bsingest.server import LocalServer
from tests.test_batch import make_manifest, names_on_server, seeded

_counting = threading.Lock()


def live_sessions() -> int:
    """Sessions' records (bodies included) this process holds now."""
    with _counting:  # one thread at a time: get_objects() keeps everything alive meanwhile
        gc.collect()  # not those only garbage still points to
        return sum(1 for o in gc.get_objects()
                   if isinstance(o, Prepared) and o.records and o.records[0][2])


def test_a_batch_holds_a_window_of_sessions_not_all_of_them(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    manifest, expected, _ = make_manifest(tmp_path / "m", 60, files_per_session=2)
    before = seeded(brainstem_server)
    held: list[int] = []
    reports: list[IngestReport] = []

    def progress(kind: str, item: Any) -> None:
        if kind == "session":
            held.append(live_sessions())
            reports.append(item)

    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c, \
            Journal(tmp_path / "j.sqlite") as jr:
        report = batch(manifest, client=c, journal=jr, jobs=1, progress=progress,
                       keep_files=False)
    # jobs=1: a window of 2 x 1 + 8 sessions extracted and not yet delivered; each may be
    # held twice for a moment (as extracted, and without the keys an earlier one claimed).
    assert max(held) <= 20 < 60
    assert names_on_server(brainstem_server) - before == expected
    # The report keeps counts, and the files that failed with their reasons; every file's
    # result went to progress.
    assert sorted(f.path for r in report.sessions for f in r.results) == [
        "corrupt_bad.dat", "stranger_r0.dat", "stranger_r1.dat"]
    assert report.counts() == {"created": 122, "failed": 3, "failed sessions": 1}
    assert sum(len(r.results) for r in reports) == 125


def test_the_journal_queries_of_a_batch_use_an_index(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    manifest, _, _ = make_manifest(tmp_path / "m", 4, files_per_session=3)
    statements: list[str] = []
    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c, \
            Journal(tmp_path / "j.sqlite") as jr:
        jr._db.set_trace_callback(statements.append)
        batch(manifest, client=c, journal=jr, jobs=1)
        batch(manifest, client=c, journal=jr, jobs=1)  # the re-run: every row looked up
        jr._db.set_trace_callback(None)
    db = sqlite3.connect(tmp_path / "j.sqlite")
    queried = [s for s in dict.fromkeys(statements)
               if re.match(r"\s*(SELECT|UPDATE|DELETE)\b", s, re.I) and "sqlite_" not in s]
    assert len(queried) > 10 and any(s.startswith("UPDATE entries") for s in queried)
    for sql in queried:
        plan = " / ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        # SEARCH ... USING (PRIMARY KEY | INDEX): a lookup; a bare SCAN reads every row.
        assert not re.search(r"\bSCAN (entries|sessions)\b(?! USING)", plan), (sql, plan)
