"""Batch ingest of many sessions: a manifest, parallel work, progress, a report.

Extraction runs in a process pool sized to the cores (it is CPU work for video, and a
crash in a reader stays in its worker); uploads share one client, hence one connection
pool, and one thread pool whose size bounds the requests in flight, so the server is
never flooded (429 answers are waited out). Every session goes through the same
journal as ``bsingest ingest``: after a crash or Ctrl-C, running the batch again does
only what is left.

Manifests
---------
CSV with the header ``session,dataset,actions,hardware_device,description`` (actions
separated by ``;``; empty cells fall back to the session's ``bsingest.toml``), or TOML
with ``[[session]]`` tables of the same keys plus ``existing``, ``type_map`` (a list of
``GLOB=TYPE``) and ``files`` (per-file rules as in ``bsingest.toml``). Relative session
paths are relative to the manifest's folder.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import exitcodes
from .errors import BsingestError, UsageError
from .ingest import FileResult, IngestReport, Prepared, deliver, prepare
from .journal import Journal
from .sessionconfig import FileRule, IngestOptions, load_options, stated_rules, type_map_rules
from .uploader import FAILED, Lookups, Uploader

if TYPE_CHECKING:
    from .client import BrainstemClient

__all__ = ["BatchReport", "SessionJob", "batch", "read_manifest", "sessions_by_name"]

log = logging.getLogger(__name__)

CSV_HEADER = ("session", "dataset", "actions", "hardware_device", "description")


@dataclass(frozen=True)
class SessionJob:
    """One session of a batch, with what the manifest says about it."""

    session: Path
    given: dict[str, Any] = field(default_factory=dict)  # options given for it
    line: str = ""  # where the manifest says it, for messages


@dataclass
class BatchReport:
    """Every session's report, and the sessions that could not start."""

    sessions: list[IngestReport] = field(default_factory=list)
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """0 all done, 1 something failed, 3 queued for later (130 if interrupted)."""
        if self.interrupted:
            return exitcodes.INTERRUPTED
        return exitcodes.worst(r.exit_code for r in self.sessions)

    def counts(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for r in self.sessions:
            for k, n in r.counts().items():
                total[k] = total.get(k, 0) + n
            if r.error and not r.results:
                total["failed sessions"] = total.get("failed sessions", 0) + 1
        return total

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts(), "interrupted": self.interrupted,
                "exit_code": self.exit_code, "sessions": [r.to_json() for r in self.sessions]}


def read_manifest(path: str | os.PathLike[str]) -> list[SessionJob]:
    """The sessions a CSV or TOML manifest lists (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{p}: no such manifest")
    if p.suffix.lower() == ".toml":
        return _read_toml(p)
    return _read_csv(p)


def _read_csv(p: Path) -> list[SessionJob]:
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{p}: cannot read the manifest: {exc}") from exc
    if not rows or tuple(c.strip() for c in rows[0]) != CSV_HEADER:
        raise UsageError(f"{p}: the first line must be {','.join(CSV_HEADER)}")
    jobs = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(CSV_HEADER):
            raise UsageError(f"{p}:{n}: {len(row)} cells, expected {len(CSV_HEADER)}")
        cells = dict(zip(CSV_HEADER, [c.strip() for c in row] + [""] * 5, strict=False))
        given = {
            "dataset": cells["dataset"] or None,
            "actions": tuple(a.strip() for a in cells["actions"].split(";") if a.strip()),
            "hardware_device": cells["hardware_device"] or None,
            "description": cells["description"] or None,
        }
        jobs.append(SessionJob(_session_path(p, cells["session"]), given, f"{p.name}:{n}"))
    return jobs


def _read_toml(p: Path) -> list[SessionJob]:
    from .sessionconfig import TOP_TYPES, _rule, check_types, read_toml

    data = read_toml(p, " the manifest")
    tables = data.get("session")
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise UsageError(f"{p}: expected [[session]] tables")
    known = {*CSV_HEADER, "existing", "type_map", "files"}
    jobs = []
    for i, t in enumerate(tables):
        where = f"{p.name}: session[{i}]"
        check_types(where, t, TOP_TYPES)
        unknown = set(t) - known
        if unknown or "session" not in t:
            raise UsageError(f"{where}: needs 'session'; unknown keys: "
                             f"{', '.join(sorted(unknown)) or 'none'}")
        actions = t.get("actions") or ()
        rules = type_map_rules(t.get("type_map") or ())
        rules += tuple(_rule(p, j, r) for j, r in enumerate(t.get("files") or []))
        given = {"dataset": t.get("dataset"), "hardware_device": t.get("hardware_device"),
                 "description": t.get("description"), "existing": t.get("existing"),
                 "actions": tuple([actions] if isinstance(actions, str) else actions),
                 "rules": rules}
        jobs.append(SessionJob(_session_path(p, str(t["session"])), given, where))
    return jobs


def _session_path(manifest: Path, value: str) -> Path:
    from .paths import local_path

    if not value:
        raise UsageError(f"{manifest}: a row has no session folder")
    path = local_path(value, f"{manifest}: session")  # D:\..., sessions\day3 (Windows rigs)
    return path if path.is_absolute() else manifest.parent / path


def sessions_by_name(root: str | os.PathLike[str], match: str, client: BrainstemClient
                     ) -> list[SessionJob]:
    """Folders under ``root`` matching ``match``, each with the dataset of the same name."""
    base = Path(root)
    if not base.is_dir():
        raise UsageError(f"{base}: not a folder")
    jobs = []
    for folder in sorted(p for p in base.glob(match) if p.is_dir()):
        found = client.find_dataset_by_name(folder.name)
        given = {"dataset": found["id"]} if found else {"missing_dataset": folder.name}
        jobs.append(SessionJob(folder, given, folder.name))
    return jobs


def batch(sessions: str | os.PathLike[str] | Sequence[SessionJob], *,
          client: BrainstemClient, journal: Journal | None, server_key: str | None = None,
          actions: Sequence[str] = (), existing: str | None = None, dry_run: bool = False,
          jobs: int | None = None, concurrency: int = 8,
          progress: Callable[[str, Any], None] | None = None,
          record_type: str | None = None, stated: Mapping[str, Any] | None = None
          ) -> BatchReport:
    """Ingest many sessions; see the module docstring.

    Parameters
    ----------
    sessions
        A manifest path, or :class:`SessionJob` objects.
    client, journal
        Shared by every session: one connection pool, one outbox (None only for a dry
        run, which writes nothing).
    actions, existing
        Defaults for sessions whose manifest row does not say.
    jobs
        Extraction processes (default: the number of cores).
    concurrency
        Requests in flight at once, over all sessions.
    record_type, stated
        What ``extract`` takes for files without a sidecar (``n_channels``, ``sr``,
        ``dtype``, ``lsb``), for every file of every session; a session's
        ``bsingest.toml`` and the manifest's ``files`` rules say it per glob and win.
    progress
        Called with ``("sessions", n)`` once the manifest is read, ``("planned", n)``
        when a session's ``n`` records are built, ``("file", FileResult)`` for every
        record as it is done, and ``("session", IngestReport)`` when a session is done.
    """
    if journal is None and not dry_run:
        raise UsageError("batch needs a journal unless it is a dry run")
    job_list = (read_manifest(sessions) if isinstance(sessions, str | os.PathLike)
                else list(sessions))
    report = BatchReport()
    defaults = stated_rules(record_type, stated)
    lock = threading.Lock()
    if progress:
        progress("sessions", len(job_list))

    def done(r: IngestReport) -> None:
        with lock:
            report.sessions.append(r)
        if progress:
            progress("session", r)

    def file_done(r: FileResult) -> None:
        if progress:
            progress("file", r)

    def planned(n: int) -> None:
        if progress:
            progress("planned", n)

    workers = jobs or os.cpu_count() or 1
    stop = threading.Event()
    lookups = Lookups()
    # spawn: the parent has threads (uploads, maybe the demo server); fork would copy their
    # locks. Workers ignore SIGINT: Ctrl-C is the parent's to handle, once.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                             initializer=_ignore_sigint) as extract_pool, \
            ThreadPoolExecutor(max_workers=max(1, concurrency),
                               thread_name_prefix="bsingest-upload") as request_pool, \
            ThreadPoolExecutor(max_workers=max(2, min(8, len(job_list) or 1)),
                               thread_name_prefix="bsingest-session") as session_pool:
        pending: list[Future[Any]] = []
        # Per dataset, the sessions already submitted: an earlier one keeps a file name
        # both hold (see _Claims).
        claims: dict[str, _Claims] = {}
        # Each dataset's lock is held from its first session to the batch's end: the
        # listings the sessions share (lookups) stay true only while no other process
        # (a push, another batch) uploads to the dataset.
        held = contextlib.ExitStack()
        try:
            first_row: dict[str, str] = {}  # session folder -> the row that lists it first
            for job in job_list:
                options, problem = _options(job, actions, existing, defaults)
                folder = os.path.realpath(job.session)
                if problem is None and folder in first_row:
                    problem = (f"{job.line}: a duplicate row: {first_row[folder]} lists the "
                               "same session folder")
                first_row.setdefault(folder, job.line)
                if problem:
                    done(IngestReport(str(job.session), server_key or client.server,
                                      options.dataset if options else None, error=problem))
                    continue
                assert options is not None
                prepared = extract_pool.submit(prepare, job.session, options, jobs=1)
                if journal is not None and not dry_run and str(options.dataset) not in claims:
                    held.enter_context(journal.dataset_lock(server_key or client.server,
                                                            str(options.dataset)))
                dataset_claims = claims.setdefault(str(options.dataset), _Claims())
                index = dataset_claims.add(job, prepared)
                pending.append(session_pool.submit(
                    _deliver_when_ready, job, options, prepared, client, journal, server_key,
                    dry_run, request_pool, file_done, planned, done, stop, lookups,
                    dataset_claims, index))
            for f in pending:
                f.result()
        except BsingestError:  # another process kept a dataset's lock too long
            stop.set()
            for f in pending:
                f.cancel()
            extract_pool.shutdown(wait=False, cancel_futures=True)
            raise
        except KeyboardInterrupt:
            # Let requests in flight finish (their outcome goes to the journal); everything
            # not started stays queued for the next run.
            report.interrupted = True
            stop.set()
            for f in pending:
                f.cancel()
            extract_pool.shutdown(wait=False, cancel_futures=True)
        finally:
            held.close()  # sessions still running hold their own share of each lock
    report.sessions.sort(key=lambda r: r.session)
    if report.interrupted:
        raise KeyboardInterrupt
    return report


class _Claims:
    """Which session of a dataset keeps each record key: the one listed first.

    A dataset tells records apart by type and fileName only, and the journal keys its rows
    the same way: two sessions sending ``amplifier.dat`` to one dataset would both POST it
    (two records), or overwrite each other's journal row. The session listed first in the
    manifest keeps the file, on every run; a later one reports it as failed.

    Each session's keys are added once, in manifest order, as its extraction finishes, so a
    batch of n sessions costs O(n) here (it went over every earlier session for each one:
    O(n²) time, and a copy of the list per session, 500 MB for 10,000 rows).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: list[tuple[SessionJob, Future[Prepared]]] = []
        self._taken: dict[str, tuple[int, str]] = {}  # key -> (session index, where)
        self._upto = 0  # sessions whose keys are in _taken

    def add(self, job: SessionJob, prepared: Future[Prepared]) -> int:
        """Register a session (in manifest order); its index for :meth:`unclaimed`."""
        with self._lock:
            self._sessions.append((job, prepared))
            return len(self._sessions) - 1

    def unclaimed(self, index: int, ready: Prepared) -> Prepared:
        """``ready`` without the records a session listed before ``index`` holds."""
        with self._lock:  # waits for the earlier sessions' extraction, as it must
            while self._upto < index:
                job, future = self._sessions[self._upto]
                for path, key, _, _ in _records_of(future):
                    self._taken.setdefault(key, (self._upto, f"{job.session.name}/{path}"))
                self._upto += 1
            taken = {}
            for _, key, _, _ in ready.records:
                hit = self._taken.get(key)
                if hit is not None and hit[0] < index:  # not its own, nor a later one's
                    taken[key] = hit[1]
        if not taken:
            return ready
        records, failures = [], list(ready.failures)
        for rec in ready.records:
            path, key, body, _ = rec
            if key in taken:
                failures.append(FileResult(path, FAILED, body.get("type"), key, error=(
                    f"{Path(path).name}: same type and fileName as {taken[key]}, which goes "
                    "to the same dataset; the dataset can hold only one of them "
                    "(rename one file)")))
            else:
                records.append(rec)
        return Prepared(records, failures, ready.skipped_files)


def _records_of(future: Future[Prepared]) -> list[tuple[str, str, dict[str, Any], str]]:
    try:
        if future.exception() is not None:
            return []  # its own session reports the failure; it claims nothing
    except CancelledError:
        return []
    return future.result().records


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _options(job: SessionJob, actions: Sequence[str], existing: str | None,
             defaults: tuple[FileRule, ...] = ()) -> tuple[IngestOptions | None, str | None]:
    if "missing_dataset" in job.given:
        return None, f"{job.session.name}: no dataset named {job.given['missing_dataset']!r}"
    if not job.session.is_dir():
        return None, f"{job.session}: no such session folder ({job.line})"
    try:
        given = dict(job.given)
        given["actions"] = given.get("actions") or tuple(actions)
        given["existing"] = given.get("existing") or existing
        rules: tuple[FileRule, ...] = given.pop("rules", ())
        options = load_options(job.session, **given)
        # Stated on the command line: before the session's own rules, which win.
        options = replace(options, rules=defaults + options.rules + rules)
    except BsingestError as exc:
        return None, f"{job.session.name}: {exc}"
    missing = [k for k, v in (("dataset", options.dataset), ("actions", options.actions)) if not v]
    if missing:
        return options, (f"{job.session.name}: no {' and no '.join(missing)} "
                         f"(in the manifest, or the session's bsingest.toml)")
    return options, None


def _deliver_when_ready(job: SessionJob, options: IngestOptions, prepared: Future[Prepared],
                        client: BrainstemClient, journal: Journal | None,
                        server_key: str | None,
                        dry_run: bool, request_pool: ThreadPoolExecutor,
                        file_done: Callable[[FileResult], None],
                        planned: Callable[[int], None],
                        done: Callable[[IngestReport], None], stop: threading.Event,
                        lookups: Lookups, claims: _Claims | None = None,
                        index: int = 0) -> None:
    if stop.is_set():
        return
    try:
        if not dry_run:
            # Ask the server what we will need while the files are still being read.
            from .ingest import check_references

            with contextlib.suppress(BsingestError):  # deliver() reports it, once
                check_references(client, options, lookups)
                lookups.listing(str(options.dataset), Uploader(client, None).server_records)
        ready = prepared.result()
        if claims is not None:
            ready = claims.unclaimed(index, ready)
        if stop.is_set():
            return
        planned(len(ready.records) + len(ready.failures))
        report = deliver(job.session, options, ready, client, None if dry_run else journal,
                         server_key, dry_run=dry_run, executor=request_pool, progress=file_done,
                         stop=stop, lookups=lookups)
    except CancelledError:  # Ctrl-C cancelled its extraction
        return
    except BrokenProcessPool as exc:  # a reader crashed its worker process (or it was killed)
        report = IngestReport(str(job.session), server_key or client.server, options.dataset,
                              error=f"{job.session.name}: the extraction process died ({exc})")
    except (BsingestError, OSError) as exc:
        report = IngestReport(str(job.session), server_key or client.server, options.dataset,
                              error=f"{job.session.name}: {exc}")
    except Exception as exc:  # a bug in one session must not stop the others
        log.exception("session %s failed", job.session)
        report = IngestReport(str(job.session), server_key or client.server, options.dataset,
                              error=f"{job.session.name}: unexpected {type(exc).__name__}: {exc}")
    done(report)
