"""Batch ingest of many sessions: a manifest, parallel work, progress, a report.

Extraction runs in a process pool sized to the cores (it is CPU work for video, and a
crash in a reader stays in its worker: one damaged file never ends the batch). Uploads share
one client, hence one connection pool, and one thread pool whose size bounds the
requests in flight, so the server is never flooded (429 answers are waited out). Every
session goes through the same journal as ``bsingest ingest``: after a crash or Ctrl-C,
running the batch again does only what is left.

Manifests
---------
CSV with a header naming its columns, for the current API
``folder,session,procedures,equipment,notes`` (plus ``project`` and ``session_name``: a
row with a project and no session creates its session, as ``--create-session`` does), for
the 2023 API ``folder,dataset,actions,hardware_device,description``; lists are separated
by ``;``, and empty cells fall back to the session's ``bsingest.toml``. A header without
``folder`` is the 2023 layout, ``session,dataset,actions,hardware_device,description``,
whose ``session`` is the folder. Or TOML with ``[[session]]`` tables of the same keys
(``folder``, or in the 2023 layout ``session``, is the path) plus ``existing``,
``type_map`` (a list of ``GLOB=TYPE``) and ``files`` (per-file rules as in
``bsingest.toml``). Relative folders are relative to the manifest's folder.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import functools
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import (
    CancelledError,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _callable, exitcodes
from .errors import BsingestError, ManifestError, UsageError
from .generations import DEFAULT, GENERATIONS, Generation, generation, implied_by, wire_for
from .ingest import FileResult, IngestReport, Prepared, client_api, deliver, prepare
from .journal import Journal
from .requestpool import RequestPool
from .sessionconfig import FileRule, IngestOptions, load_options, stated_rules, type_map_rules
from .uploader import FAILED, QUEUED, Lookups, Uploader

if TYPE_CHECKING:
    from .client import BrainstemClient

__all__ = ["BatchReport", "SessionJob", "batch", "check_rows", "read_ahead", "read_manifest",
           "session_by_name", "sessions_by_name"]

log = logging.getLogger(__name__)

#: The 2023 manifests' header, whose ``session`` is the folder.
CSV_HEADER = ("session", "dataset", "actions", "hardware_device", "description")
#: Every column a manifest with a ``folder`` column may have.
COLUMNS = ("folder", "session", "procedures", "equipment", "notes", "project",
           "session_name", "dataset", "actions", "hardware_device", "description")
_LIST_COLUMNS = ("procedures", "equipment", "actions")


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
            counts = r.counts()
            for k, n in counts.items():
                total[k] = total.get(k, 0) + n
            if r.error and not counts:
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
    header = tuple(c.strip() for c in rows[0]) if rows else ()
    folder = "folder" if "folder" in header else "session"
    known = COLUMNS if folder == "folder" else CSV_HEADER
    unknown = [c for c in header if c not in known]
    if not header or folder not in header or unknown or len(set(header)) != len(header):
        raise UsageError(f"{p}: the first line must name the columns, e.g. "
                         f"folder,session,procedures,equipment,notes (current API) or "
                         f"{','.join(CSV_HEADER)} (2023)"
                         + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    jobs = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(header):
            raise UsageError(f"{p}:{n}: {len(row)} cells, expected {len(header)}")
        cells = dict(zip(header, [c.strip() for c in row] + [""] * len(header), strict=False))
        path = cells.pop(folder)
        given: dict[str, Any] = {
            k: (tuple(a.strip() for a in v.split(";") if a.strip()) if k in _LIST_COLUMNS
                else v or None) for k, v in cells.items()}
        jobs.append(SessionJob(_session_path(p, path), _creating(given), f"{p.name}:{n}"))
    return jobs


def _creating(given: dict[str, Any]) -> dict[str, Any]:
    """A row with a project and no session creates its session (--create-session)."""
    if given.get("project") and not given.get("session"):
        given["create_session"] = True
    return given


def _read_toml(p: Path) -> list[SessionJob]:
    from .sessionconfig import TOP_TYPES, _rule, check_types, read_toml

    data = read_toml(p, " the manifest")
    tables = data.get("session")
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise UsageError(f"{p}: expected [[session]] tables")
    jobs = []
    for i, t in enumerate(tables):
        where = f"{p.name}: session[{i}]"
        check_types(where, t, TOP_TYPES)
        folder = "folder" if "folder" in t else "session"
        known = {*(COLUMNS if folder == "folder" else CSV_HEADER), "existing", "type_map",
                 "files"}
        unknown = set(t) - known
        if unknown or folder not in t:
            raise UsageError(f"{where}: needs 'folder' (or, 2023 layout, 'session'); unknown "
                             f"keys: {', '.join(sorted(unknown)) or 'none'}")
        rules = type_map_rules(t.get("type_map") or ())
        rules += tuple(_rule(p, j, r) for j, r in enumerate(t.get("files") or []))
        given = {k: v for k, v in t.items() if k not in (folder, "type_map", "files")}
        for k in _LIST_COLUMNS:
            if isinstance(given.get(k), str):
                given[k] = (given[k],)
        given["rules"] = rules
        jobs.append(SessionJob(_session_path(p, str(t[folder])), _creating(given), where))
    return jobs


def _session_path(manifest: Path, value: str) -> Path:
    from .paths import local_path

    if not value:
        raise UsageError(f"{manifest}: a row has no session folder")
    path = local_path(value, f"{manifest}: session")  # D:\..., sessions\day3 (Windows rigs)
    return path if path.is_absolute() else manifest.parent / path


def check_rows(jobs: Sequence[SessionJob], *, api: str | None = None, source: str | None = None,
               procedures: Sequence[str] = (), actions: Sequence[str] = (),
               existing: str | None = None, stated: tuple[FileRule, ...] = ()) -> None:
    """Raise :class:`~bsingest.errors.ManifestError`, a line per row, for the rows that
    cannot run whatever the server says: an ID that is not a UUID (in the row or the
    session's ``bsingest.toml``), the other generation's names, a missing link. No request.

    The generation: ``api`` if stated (``source`` says where, for messages), else the one
    the row's names imply (with ``procedures``/``actions``, the defaults of every row);
    else a row is bad only when it is bad in every generation (the reason given is the
    current one's). A folder that is not there, or a session looked up by name, is left
    to the run: a session may arrive late, and only the server knows its names.
    """
    lines = []
    for job in jobs:
        if "missing" in job.given or not job.session.is_dir():
            continue
        named = {k for k, v in job.given.items() if v not in (None, "", (), [], False)}
        both = [sorted(named & set(g.links.all)) for g in GENERATIONS.values()]
        implied = implied_by(named | ({"procedures"} if procedures else set())
                             | ({"actions"} if actions else set()))
        if api is None and all(both):  # no generation can take the row as it is
            lines.append(_row_line(job, _both(both)))
            continue
        gens = ([generation(api)] if api else [implied] if implied is not None
                else sorted(GENERATIONS.values(), key=lambda g: g.name != DEFAULT))
        problems = []
        for gen in gens:
            _, problem = _options(job, _defaults(gen, procedures, actions), existing, gen.name,
                                  "the server", stated, said=source if api else None)
            if problem is None:
                break
            problems.append(problem)
        else:
            lines.append(_row_line(job, problems[0]))
    if lines:
        raise ManifestError(lines)


def _both(names: list[list[str]]) -> str:
    """Why a row naming links of both generations (``names``, per generation) cannot run,
    and the columns of each."""
    gens = list(GENERATIONS.values())
    said = ", ".join(f"{n} ({g.name})" for g, ns in zip(gens, names, strict=True) for n in ns)
    columns = " or ".join(f"{','.join(g.links.all[:4])} ({g.name})" for g in reversed(gens))
    return f"{said}: columns of both API generations; give one's: {columns}"


def _row_line(job: SessionJob, problem: str) -> str:
    """``m.csv:3 (day1): reason``: the row, its folder and why, said once each."""
    reason = problem.removeprefix(f"{job.session.name}: ")
    reason = reason.removeprefix(f"{job.line}: ") if job.line else reason
    where = f"{job.line} ({job.session.name})" if job.line else job.session.name
    return f"{where}: {reason}"


def _defaults(gen: Generation, procedures: Sequence[str], actions: Sequence[str],
              verify: bool = False) -> dict[str, Any]:
    """What every row takes where it says nothing: --procedure or --action, whichever
    ``gen``'s procedures link is called; --verify."""
    given = {"procedures": procedures, "actions": actions}
    defaults: dict[str, Any] = {gen.links.procedures: tuple(given[gen.links.procedures])}
    if verify:
        defaults["verify"] = True
    return defaults


def sessions_by_name(root: str | os.PathLike[str], match: str, client: BrainstemClient, *,
                     kind: str = "dataset", project: str | None = None) -> list[SessionJob]:
    """Folders under ``root`` matching ``match``, each with the dataset (2023) or session
    (``kind="session"``) of the same name. With ``project``, a folder with no session of
    its name gets one created there (``--create-session``)."""
    base = Path(root)
    if not base.is_dir():
        raise UsageError(f"{base}: not a folder")
    return [session_by_name(folder, client, kind=kind, project=project)
            for folder in sorted(p for p in base.glob(match) if p.is_dir())]


def session_by_name(folder: Path, client: BrainstemClient, *, kind: str = "dataset",
                    project: str | None = None) -> SessionJob:
    """One folder of :func:`sessions_by_name` (``bsingest watch`` asks as each settles)."""
    find = client.find_session_by_name if kind == "session" else client.find_dataset_by_name
    found = find(folder.name)
    given: dict[str, Any] = {kind: found["id"]} if found else {"missing": folder.name}
    if not found and kind == "session" and project:
        given = {"create_session": True, "project": project}
    return SessionJob(folder, given, folder.name)


def read_ahead(readers: Executor, jobs: Sequence[SessionJob], count: int, *, api: str,
               procedures: Sequence[str] = (), actions: Sequence[str] = (),
               existing: str | None = None, record_type: str | None = None,
               stated: Mapping[str, Any] | None = None, verify: bool = False) -> None:
    """Start reading the first ``count`` sessions of ``jobs`` in ``readers`` (a
    :func:`bsingest.readers.reader_pool`), with the options :func:`batch` will give them
    for a server of generation ``api`` (the one stated: no request is made), before the
    client is there. :func:`batch` then takes each read over (``readers.submit`` of an
    equal call); a row whose options cannot be known here is left to it."""
    ahead = getattr(readers, "ahead", None)
    if ahead is None:
        return
    defaults = _defaults(generation(api), procedures, actions, verify)
    rules = stated_rules(record_type, stated)
    for job in jobs[:count]:
        options, problem = _options(job, defaults, existing, api, "the server", rules)
        if options is not None and problem is None:
            ahead(prepare, job.session, options, jobs=1)


def batch(sessions: str | os.PathLike[str] | Sequence[SessionJob], *,
          client: BrainstemClient, journal: Journal | None, server_key: str | None = None,
          actions: Sequence[str] = (), existing: str | None = None, dry_run: bool = False,
          jobs: int | None = None, concurrency: int = 8,
          progress: Callable[[str, Any], None] | None = None,
          procedures: Sequence[str] = (), record_type: str | None = None,
          stated: Mapping[str, Any] | None = None, dask: str | None = None,
          keep_files: bool = True, verify: bool = False,
          readers: Executor | None = None) -> BatchReport:
    """Ingest many sessions; see the module docstring.

    Parameters
    ----------
    sessions
        A manifest path, or :class:`SessionJob` objects.
    client, journal
        Shared by every session: one connection pool, one outbox (None only for a dry
        run, which writes nothing).
    actions, procedures, existing
        Defaults for sessions whose manifest row does not say (actions for a 2023 server,
        procedures for one of the current API).
    jobs
        Extraction processes (default: the number of cores).
    concurrency
        Requests in flight at once, over all sessions.
    record_type, stated
        What ``extract`` takes for files without a sidecar (``n_channels``, ``sr``,
        ``dtype``, ``lsb``), for every file of every session; a session's
        ``bsingest.toml`` and the manifest's ``files`` rules say it per glob and win.
    verify
        As for :func:`~bsingest.ingest.ingest`: check indexes against the data (slow).
    progress
        Called with ``("sessions", n)`` once the manifest is read, ``("planned", n)``
        when a session's ``n`` records are built, ``("file", FileResult)`` for every
        record as it is done, and ``("session", IngestReport)`` when a session is done.
    dask
        Extract on the Dask cluster whose scheduler is at this address (``"local"``: a
        ``LocalCluster`` of ``jobs`` processes); see :mod:`bsingest.distributed`.
    readers
        Reader processes started before (:func:`bsingest.readers.reader_pool`, so that
        they start while the caller does), shut down by the caller.
    keep_files
        False: the returned report keeps each session's counts and error, not its
        per-file results (which ``progress`` got as each session finished), so that an
        archive of 10^5 records runs in bounded memory.

    Notes
    -----
    Sessions stream: at most a window of them is extracted and not yet delivered, and
    what the batch remembers of a dataset (its lock, listing, claimed file names) goes
    with its last session.
    """
    if journal is None and not dry_run:
        raise UsageError("batch needs a journal unless it is a dry run")
    job_list = (read_manifest(sessions) if isinstance(sessions, str | os.PathLike)
                else list(sessions))
    report = BatchReport()
    stated_defaults = stated_rules(record_type, stated)
    lock = threading.Lock()
    if progress:
        progress("sessions", len(job_list))

    def done(r: IngestReport) -> None:
        with lock:
            report.sessions.append(r if keep_files else _slim(r))
        if progress:
            progress("session", r)

    def file_done(r: FileResult) -> None:
        if progress:
            progress("file", r)

    def planned(n: int) -> None:
        if progress:
            progress("planned", n)

    workers = jobs or os.cpu_count() or 1
    # Every row's usage errors, before the server is asked anything (its generation too).
    stated_api = getattr(client, "stated", False)
    check_rows(job_list, api=client.api if stated_api else None,
               source=getattr(client, "api_source", None), procedures=procedures,
               actions=actions, existing=existing, stated=stated_defaults)
    api = client_api(client)
    defaults = _defaults(generation(api), procedures, actions, verify)
    stop = threading.Event()
    lookups = Lookups()
    planned_jobs: list[tuple[SessionJob, IngestOptions | None, str | None]] = []
    first_row: dict[str, str] = {}  # session folder -> the row that lists it first
    for job in job_list:
        options, problem = _options(job, defaults, existing, api, client.server,
                                    stated_defaults)
        folder = os.path.realpath(job.session)
        if problem is None and folder in first_row:
            problem = (f"{job.line}: a duplicate row: {first_row[folder]} lists the "
                       "same session folder")
        first_row.setdefault(folder, job.line)
        planned_jobs.append((job, options, problem))
    if any(problem for _, _, problem in planned_jobs):
        # A problem may be a stated --api's (names of the other generation): a server that
        # does not speak the stated one is one usage error saying what it speaks.
        client.check_stated_api()
    # Sessions still to finish per container: with its last, the batch lets go of it.
    remaining = collections.Counter(_container(job, options) for job, options, problem
                                    in planned_jobs if options is not None and not problem)
    with _extraction_pool(workers, dask, jobs, len(planned_jobs), readers) as extract_pool, \
            RequestPool(max(1, concurrency)) as request_pool, \
            ThreadPoolExecutor(max_workers=max(2, min(8, len(job_list) or 1)),
                               thread_name_prefix="bsingest-session") as session_pool:
        pending: list[Future[Any]] = []
        # Per dataset (or session), the sessions already submitted: an earlier one keeps a
        # file name both hold (see _Claims).
        claims: dict[str, _Claims] = {}
        # Each dataset's lock is held from its first session to the batch's end: the
        # listings the sessions share (lookups) stay true only while no other process
        # (a push, another batch) uploads to the dataset.
        held = contextlib.ExitStack()
        locks: dict[str, contextlib.ExitStack] = {}
        # Sessions extracted or being extracted and not yet delivered: a bounded window,
        # so that the client holds a few sessions' records, whatever the batch's size.
        # On a cluster: twice its threads (a few sessions queued on every worker).
        width = getattr(extract_pool, "width", workers)
        window = threading.BoundedSemaphore(min(_WINDOW, 2 * width + 8))

        def finished(container: str, _: Future[Any]) -> None:
            window.release()
            with lock:
                remaining[container] -= 1
                last = remaining[container] <= 0
            if last:
                claims.pop(container, None)
                lookups.forget(container)
                with contextlib.suppress(KeyError):
                    locks.pop(container).close()

        try:
            for rank, (job, options, problem) in enumerate(planned_jobs):
                if problem:
                    done(IngestReport(str(job.session), server_key or client.server,
                                      options.container if options else None, error=problem,
                                      api=api))
                    continue
                assert options is not None
                window.acquire()
                # Every session is read in a worker, the first too (reading it here while
                # the workers start saved under a second, but a reader's crash would end
                # the whole batch).
                prepared = extract_pool.submit(prepare, job.session, options, jobs=1)
                container = _container(job, options)
                if (journal is not None and not dry_run and options.container
                        and container not in locks):
                    locks[container] = contextlib.ExitStack()
                    held.callback(locks[container].close)
                    locks[container].enter_context(journal.dataset_lock(
                        server_key or client.server, container))
                container_claims = claims.setdefault(container, _Claims())
                # Later sessions of the container need this one's keys, not its records.
                index = container_claims.add(job, _keys_only(prepared))
                session = session_pool.submit(
                    _deliver_when_ready, job, options, prepared, client, journal, server_key,
                    dry_run, request_pool, rank, file_done, planned, done, stop, lookups,
                    container_claims, index)
                session.add_done_callback(functools.partial(finished, container))
                pending.append(session)
            if isinstance(extract_pool, ProcessPoolExecutor):
                # Every session is submitted: the workers end as they run out of work,
                # while the uploads go on, instead of after them.
                extract_pool.shutdown(wait=False)
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


def _container(job: SessionJob, options: IngestOptions) -> str:
    """The dataset (or session) a job's records go to; a session still to be created is a
    container of its own (its name's)."""
    return options.container or f"new session {job.session.name}"


#: At most this many sessions extracted and not yet delivered (a few MB each at most).
_WINDOW = 64


@contextlib.contextmanager
def _extraction_pool(workers: int, dask: str | None, jobs: int | None, sessions: int,
                     readers: Executor | None = None) -> Iterator[Any]:
    """``readers`` (started by the caller, who shuts it down), processes on this machine,
    or the Dask cluster at ``dask``."""
    if readers is not None:
        yield readers
        return
    if dask:
        from .distributed import dask_pool

        with dask_pool(dask, workers=jobs) as pool:
            yield pool
        return
    # spawn: the caller may have threads (uploads, maybe the demo server) and open files
    # (the journal, the dataset locks); fork would copy them. Workers ignore SIGINT:
    # Ctrl-C is the parent's to handle, once.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, min(workers, sessions or 1)), mp_context=ctx,
                             initializer=_ignore_sigint) as pool:
        yield pool


def _keys_only(prepared: Future[Prepared]) -> Future[Prepared]:
    """A future of ``prepared``'s (path, key) pairs alone, without bodies or failures."""
    slim: Future[Prepared] = Future()

    def copy(f: Future[Prepared]) -> None:
        if f.cancelled():
            slim.cancel()
            slim.set_running_or_notify_cancel()
        elif f.exception() is not None:
            slim.set_exception(f.exception())
        else:
            slim.set_result(Prepared([(p, k, {}, "") for p, k, _, _ in f.result().records],
                                     [], {}))

    prepared.add_done_callback(copy)
    return slim


@dataclass
class _Slim(IngestReport):
    """A session's report without the results of files that went well: their counts and
    exit code (the failed and queued ones stay, with their reasons, for the summary)."""

    tally: dict[str, int] = field(default_factory=dict)
    code: int = 0

    def counts(self) -> dict[str, int]:
        return dict(self.tally)

    @property
    def exit_code(self) -> int:
        return self.code


def _slim(r: IngestReport) -> IngestReport:
    said = [f for f in r.results if f.error and f.outcome in (FAILED, QUEUED, "would-fail")]
    return _Slim(r.session, r.server, r.dataset, said, dry_run=r.dry_run, error=r.error,
                 api=r.api, created_session=r.created_session, notes=r.notes,
                 tally=r.counts(), code=r.exit_code)


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
        return Prepared(records, failures, ready.skipped_files, notes=ready.notes)


def _records_of(future: Future[Prepared]) -> list[tuple[str, str, dict[str, Any], str]]:
    try:
        if future.exception() is not None:
            return []  # its own session reports the failure; it claims nothing
    except CancelledError:
        return []
    return future.result().records


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _options(job: SessionJob, defaults: dict[str, Any], existing: str | None, api: str,
             server: str, stated: tuple[FileRule, ...] = (), *, said: str | None = None
             ) -> tuple[IngestOptions | None, str | None]:
    """A row's options for generation ``api``, or the one-line reason it cannot run.
    ``said``: where ``api`` was stated (``--api 2023``), for messages."""
    if "missing" in job.given:
        kind = generation(api).links.container
        return None, f"{job.session.name}: no {kind} named {job.given['missing']!r}"
    if not job.session.is_dir():
        return None, f"{job.session}: no such session folder ({job.line})"
    try:
        given = dict(job.given)
        for name, value in defaults.items():
            given[name] = given.get(name) or value
        given["existing"] = given.get("existing") or existing
        rules: tuple[FileRule, ...] = given.pop("rules", ())
        options = load_options(job.session, **given)
        # Stated on the command line: before the session's own rules, which win.
        options = replace(options, rules=stated + options.rules + rules).for_api(
            api, server, row=job.line or None, in_row=job.given, stated=said)
        options.check_ids(job.line or None)
    except BsingestError as exc:
        return None, f"{job.session.name}: {exc}"
    links = options.generation.links
    if links.creates:  # the container may be created (the current API's sessions)
        if options.create_session and not options.project:
            return options, f"{job.session.name}: creating its session needs a project"
        if not options.container and not options.create_session:
            return options, (f"{job.session.name}: no session (in the manifest, the "
                             "session's bsingest.toml, or a project to create it in)")
        return options, None
    missing = [links.name_of(k) for k, _ in options.generation.required
               if not getattr(options, k)]
    if missing:
        return options, (f"{job.session.name}: no {' and no '.join(missing)} "
                         f"(in the manifest, or the session's bsingest.toml)")
    return options, None


def _deliver_when_ready(job: SessionJob, options: IngestOptions, prepared: Future[Prepared],
                        client: BrainstemClient, journal: Journal | None,
                        server_key: str | None,
                        dry_run: bool, request_pool: RequestPool, rank: int,
                        file_done: Callable[[FileResult], None],
                        planned: Callable[[int], None],
                        done: Callable[[IngestReport], None], stop: threading.Event,
                        lookups: Lookups, claims: _Claims | None = None,
                        index: int = 0) -> None:
    if stop.is_set():
        return
    try:
        if not dry_run:
            # Ask the server what we will need while the files are still being read, and
            # while deliver() stages them in the journal: it waits for these answers (its
            # check_references and listing take them) only once the rows are written.
            # Waiting here, before staging, put ~20 ms of 8 sessions' journal writes
            # between the answers and the first POST (benchmarks/RESULTS.md, issue 25).
            from .ingest import reference_getter, references

            if options.container:
                # Every check at once (they went one after another), beside the listing.
                for kind, model, id in references(options):
                    lookups.ask_early(kind, id, reference_getter(client, model),
                                      request_pool.submit)
                # The listing goes out beside the checks (the first session's, before
                # any upload): for a container that is not there (or not ours) it fails
                # too, and the check's error is the one deliver() reports.
                if not lookups.listed(options.container):
                    request_pool.submit(lookups.listing, options.container,
                                        Uploader(client, None,
                                                 wire=wire_for(options.api)).server_records)
        ready = prepared.result()
        if claims is not None:
            ready = claims.unclaimed(index, ready)
        if stop.is_set():
            return
        planned(len(ready.records) + len(ready.failures))
        report = deliver(job.session, options, ready, client, None if dry_run else journal,
                         server_key, dry_run=dry_run, executor=request_pool.at(rank),
                         concurrency=request_pool.max_workers,
                         progress=file_done, stop=stop, lookups=lookups)
    except CancelledError:  # Ctrl-C cancelled its extraction
        return
    except BrokenProcessPool as exc:  # a reader crashed its worker process (or it was killed)
        report = IngestReport(str(job.session), server_key or client.server, options.container,
                              error=f"{job.session.name}: the extraction process died ({exc})",
                              api=options.generation.name)
    except (BsingestError, OSError) as exc:
        report = IngestReport(str(job.session), server_key or client.server, options.container,
                              error=f"{job.session.name}: {exc}", api=options.generation.name)
    except Exception as exc:  # a bug in one session must not stop the others
        log.exception("session %s failed", job.session)
        report = IngestReport(str(job.session), server_key or client.server, options.container,
                              error=f"{job.session.name}: unexpected {type(exc).__name__}: {exc}",
                              api=options.generation.name)
    done(report)


# bsingest.batch(...) calls batch() even where the package's attribute is this module (see
# bsingest._CallableModule).
_callable(__name__)
