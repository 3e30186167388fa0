"""Ingest a session: files in, Experiment Data records on the server, exactly once.

Steps: wait for the files to settle (optional) → take the session's lock → discover and
extract (threads) → build and validate every record → stage them in the journal → check
once that dataset, actions and hardware device exist → compare with what the dataset
holds → create, update or skip → report an outcome per file.

Nothing is lost: a record is in the journal before any request is made, so a server
that is down, a killed process or a full disk leaves work that ``bsingest push`` (or
the next run) finishes. Nothing is doubled: see :mod:`bsingest.uploader`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import exitcodes
from .errors import (
    ApiError,
    BsingestError,
    RateLimited,
    RecordInvalid,
    ServerError,
    TransportError,
    UsageError,
)
from .journal import Entry, Journal
from .records import validate
from .sessionconfig import IngestOptions, load_options
from .uploader import FAILED, QUEUED, UNCHANGED, Lookups, Outcome, Uploader, record_key, summarize

if TYPE_CHECKING:

    from .client import BrainstemClient

__all__ = ["FileResult", "IngestReport", "Prepared", "deliver", "fingerprint", "ingest", "prepare",
           "push"]

log = logging.getLogger(__name__)

_EDGE = 1 << 20  # the fingerprint hashes the first and the last MiB
# No answer, or 5xx/429 that outlasted the retries: the server is down or overloaded, not
# refusing these records; they stay queued in the journal (exit 3) rather than fail.
_UNAVAILABLE = (TransportError, ServerError, RateLimited)


@dataclass
class FileResult:
    """What became of one file (or one record of a file holding several)."""

    path: str
    outcome: str  # created, updated, unchanged, skipped, failed, queued, would-create, ...
    type: str | None = None
    key: str | None = None
    server_id: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class IngestReport:
    """The outcome of ingesting one session."""

    session: str
    server: str
    dataset: str | None
    results: list[FileResult] = field(default_factory=list)
    skipped_files: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    error: str | None = None  # a session-wide failure (bad dataset, lock, ...)

    def counts(self) -> dict[str, int]:
        return summarize(self.results)  # type: ignore[arg-type]

    @property
    def exit_code(self) -> int:
        """0 all done, 1 something failed, 3 queued for later (:mod:`bsingest.exitcodes`)."""
        return exitcodes.from_outcomes((r.outcome for r in self.results),
                                       error=bool(self.error))

    def to_json(self) -> dict[str, Any]:
        return {"session": self.session, "server": self.server, "dataset": self.dataset,
                "dry_run": self.dry_run, "error": self.error, "counts": self.counts(),
                "files": [r.to_json() for r in self.results],
                "skipped_files": self.skipped_files}


@dataclass
class Prepared:
    """A session's records, built and validated, before anything is uploaded."""

    records: list[tuple[str, str, dict[str, Any], str]]  # (path, key, body, fingerprint)
    failures: list[FileResult]
    skipped_files: dict[str, str]


def fingerprint(path: str | os.PathLike[str]) -> str:
    """Size, mtime and a hash of the first and last MiB: cheap, and changes when data does."""
    st = os.stat(path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read(_EDGE))
        if st.st_size > 2 * _EDGE:
            fh.seek(st.st_size - _EDGE)
            h.update(fh.read(_EDGE))
    return f"{st.st_size}:{st.st_mtime_ns}:{h.hexdigest()[:32]}"


def prepare(session_dir: Path, options: IngestOptions, *, jobs: int | None = None) -> Prepared:
    """Discover, extract (in threads), build and validate the session's records."""
    from extractors import discover

    found = discover(session_dir)
    skipped = {_rel(session_dir, p): r for p, r in found.skipped.items()}
    workers = jobs or min(8, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bsingest-extract") as pool:
        results = list(pool.map(lambda p: _build(session_dir, p, options), found.data))
    records: list[tuple[str, str, dict[str, Any], str]] = []
    failures: list[FileResult] = []
    seen: dict[str, str] = {}
    for built, failure in results:
        failures += failure
        for path, key, body, fp in built:
            if key in seen:  # fileName is the session-relative path: a bug, if it happens
                failures.append(FileResult(path, FAILED, body["type"], key, error=(
                    f"{path}: same type and fileName as {seen[key]}")))
                continue
            seen[key] = path
            records.append((path, key, body, fp))
    return Prepared(records, failures, skipped)


def _build(session_dir: Path, path: Path, options: IngestOptions
           ) -> tuple[list[tuple[str, str, dict[str, Any], str]], list[FileResult]]:
    from .extraction import extract_or_error

    rel = _rel(session_dir, path)
    per_file = options.for_file(rel)
    extractions, error = extract_or_error(path, record_type=per_file.record_type,
                                          **per_file.stated)
    if error is None:
        try:
            fp = fingerprint(path)
        except OSError as exc:
            error = f"{path.name}: {exc.strerror or exc}"
    if error is not None:
        return [], [FileResult(rel, FAILED, error=error)]
    built, failures = [], []
    for x in (x.relative_to(session_dir) for x in extractions):
        record = x.record(dataset=options.dataset or "", actions=options.actions,
                          hardware_device=per_file.hardware_device,
                          description=per_file.description)
        body = record.to_json()
        try:
            validate(record)
        except RecordInvalid as exc:
            failures.append(FileResult(rel, FAILED, x.type, record_key(body), error=str(exc)))
            continue
        built.append((rel, record_key(body), body, fp))
    return built, failures


def ingest(session_dir: str | os.PathLike[str], *, dataset: str | None = None,
           actions: Sequence[str] = (), hardware_device: str | None = None,
           description: str | None = None, existing: str | None = None,
           type_map: Sequence[str] = (), dry_run: bool = False,
           client: BrainstemClient | None = None, server: str | None = None,
           token: str | None = None, journal: Journal | str | os.PathLike[str] | None = None,
           server_key: str | None = None,
           settle: float | None = None, lock_timeout: float = 600.0,
           concurrency: int = 8, jobs: int | None = None,
           progress: Callable[[FileResult], None] | None = None,
           record_type: str | None = None, stated: Mapping[str, Any] | None = None
           ) -> IngestReport:
    """Ingest one session folder; see the module docstring for the steps.

    Parameters
    ----------
    session_dir
        The folder a recording session wrote.
    dataset, actions, hardware_device, description
        The IDs (UUIDs) the records link to, and a description; any left out come from
        the session's ``bsingest.toml`` or the user's config file.
    existing
        ``skip`` (default), ``update`` or ``error``: what to do with a record the
        dataset already holds with other values.
    type_map
        ``GLOB=TYPE`` overrides of the record type.
    dry_run
        Compare with the server and report what would happen; write nothing anywhere.
    client
        A ready :class:`~bsingest.client.BrainstemClient`. Else one is made for
        ``server`` (or ``BRAINSTEM_SERVER``, ``bsingest.toml``, the config file), with
        ``token`` or the token from the environment; with no server configured anywhere,
        the local demo server is started for the call (see :mod:`bsingest.target`).
    journal
        A :class:`Journal` or the path of its file (default: the user data directory).
    server_key
        The name the journal knows the server by (default: its URL).
    record_type, stated
        What ``extract`` takes for files without a sidecar, for every file of the
        session: the record type, and ``n_channels``, ``sr``, ``dtype``, ``lsb``
        (``bsingest.toml``'s ``[[files]]`` rules say it per glob).

    Returns
    -------
    IngestReport
        One :class:`FileResult` per record, ``exit_code`` for scripts.
    """
    from .sessionconfig import stated_rules, type_map_rules

    session = Path(session_dir)
    if not session.is_dir():
        raise UsageError(f"{session}: not a folder")
    options = load_options(session, dataset=dataset, actions=tuple(actions),
                           hardware_device=hardware_device, description=description,
                           existing=existing, server=server, settle=settle,
                           rules=type_map_rules(type_map) + stated_rules(record_type, stated))
    _check_ids(options)
    if client is None:  # the same choice as the command line: configured, else local demo
        from .target import configured_server, open_target

        with open_target(configured_server(server, options.server), token=token,
                         portal=options.portal, read_only=dry_run) as target:
            return ingest(session, dataset=dataset, actions=actions,
                          hardware_device=hardware_device, description=description,
                          existing=existing, type_map=type_map, dry_run=dry_run,
                          client=target.client, journal=journal, server_key=target.server_key,
                          settle=settle, lock_timeout=lock_timeout, concurrency=concurrency,
                          jobs=jobs, progress=progress, record_type=record_type, stated=stated)
    if dry_run:  # writes nothing anywhere: no journal, no lock file
        return _ingest(session, options, client, None, server_key, dry_run=True,
                       concurrency=concurrency, jobs=jobs, progress=progress)
    own_journal = not isinstance(journal, Journal)
    jr = journal if isinstance(journal, Journal) else Journal(journal or options.journal)
    try:
        with session_lock(jr.path.parent, session, timeout=lock_timeout):
            if options.settle:
                wait_until_settled(session, options.settle)
            return _ingest(session, options, client, jr, server_key, dry_run=False,
                           concurrency=concurrency, jobs=jobs, progress=progress)
    finally:
        if own_journal:
            jr.close()


def _ingest(session: Path, options: IngestOptions, client: BrainstemClient, jr: Journal | None,
            server_key: str | None, *, dry_run: bool, concurrency: int, jobs: int | None,
            progress: Callable[[FileResult], None] | None) -> IngestReport:
    prepared = prepare(session, options, jobs=jobs)
    return deliver(session, options, prepared, client, jr, server_key, dry_run=dry_run,
                   concurrency=concurrency, progress=progress)


def deliver(session: Path, options: IngestOptions, prepared: Prepared, client: BrainstemClient,
            jr: Journal | None, server_key: str | None, *, dry_run: bool = False,
            concurrency: int = 8, executor: Executor | None = None,
            progress: Callable[[FileResult], None] | None = None,
            stop: threading.Event | None = None, lookups: Lookups | None = None
            ) -> IngestReport:
    """Stage a prepared session's records in the journal and bring the server in line."""
    assert options.dataset is not None
    report = IngestReport(str(session), server_key or client.server, options.dataset,
                          dry_run=dry_run)
    report.skipped_files = prepared.skipped_files
    for failure in prepared.failures:
        _emit(report, failure, progress)
    uploader = Uploader(client, jr, existing=options.existing, concurrency=concurrency,
                        stop=stop, lookups=lookups)
    if dry_run or jr is None:
        return _dry_run(report, prepared, uploader, options, progress)
    # In the journal before any request: from here on nothing is lost.
    entries = [jr.stage(report.server, options.dataset, key, path, body, fp,
                        options.existing.value)
               for path, key, body, fp in prepared.records]
    by_key = {e.key: e for e in entries}

    def one_done(o: Outcome) -> None:  # as each record is done, for live progress
        _emit(report, _result(o, by_key[o.key]), progress)

    try:
        check_references(client, options, lookups)
        uploader.run(entries, executor=executor, progress=one_done)
    except _UNAVAILABLE as exc:
        log.warning("server unreachable: %s", exc)
        for e in entries:
            if e.state == "uploaded":  # uploaded before, unchanged since: nothing to queue
                result = FileResult(e.path, UNCHANGED, e.record.get("type"), e.key, e.server_id,
                                    error=f"not checked on the server ({exc}); the journal "
                                          "has it uploaded")
            else:
                jr.mark(e, e.state, error=str(exc))  # `bsingest status` says why it waits
                result = FileResult(e.path, QUEUED, e.record.get("type"), e.key,
                                    error=f"queued: {exc}")
            _emit(report, result, progress)
        return report
    except ApiError as exc:
        report.error = _reference_error(exc, options)
        for e in entries:
            jr.mark(e, "failed", error=report.error)
            _emit(report, FileResult(e.path, FAILED, e.record.get("type"), e.key,
                                     error=report.error), progress)
        return report
    report.results.sort(key=lambda r: (r.path, r.key or ""))
    return report


def _dry_run(report: IngestReport, prepared: Prepared, uploader: Uploader,
             options: IngestOptions, progress: Callable[[FileResult], None] | None
             ) -> IngestReport:
    assert options.dataset is not None
    try:  # a batch shares its answers (lookups): one look per dataset, not per session
        check_references(uploader.client, options, uploader.lookups)
        on_server = (uploader.lookups.listing(options.dataset, uploader.server_records)
                     if uploader.lookups else uploader.server_records(options.dataset))
    except _UNAVAILABLE as exc:
        report.error = f"dry run: cannot reach {uploader.client.server}: {exc}"
        for path, key, body, _ in prepared.records:
            _emit(report, FileResult(path, "would-queue", body["type"], key), progress)
        return report
    except ApiError as exc:
        report.error = _reference_error(exc, options)
        return report
    fake = [Entry(report.server, options.dataset, key, path, body, fp, "pending", None, 0,
                  None, 0.0) for path, key, body, fp in prepared.records]
    for e, step in uploader.plan(fake, on_server):
        their_id = (on_server.get(e.key) or {}).get("id")
        outcome = {"adopt": "unchanged", "conflict": "would-fail"}.get(step, f"would-{step}")
        if step == "unchanged":
            outcome = "unchanged"
        _emit(report, FileResult(e.path, outcome, e.record["type"], e.key, their_id), progress)
    return report


def push(*, client: BrainstemClient, journal: Journal, dataset: str | None = None,
         existing: str | None = None, concurrency: int = 8, server_key: str | None = None,
         progress: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    """Upload what the journal holds as pending (or unresolved) for ``client``'s server.

    ``existing`` overrides, for every entry, the policy of the run that staged it.
    """
    from .sessionconfig import Existing

    entries = journal.entries(server=server_key or client.server, dataset=dataset,
                              states=("pending", "sending"))
    uploader = Uploader(client, journal, existing=Existing(existing) if existing else None,
                        concurrency=concurrency)
    by_key = {(e.dataset, e.key): e for e in entries}
    results = []
    try:
        outcomes = uploader.run(entries)
    except _UNAVAILABLE as exc:
        return [FileResult(e.path, QUEUED, e.record.get("type"), e.key, error=f"queued: {exc}")
                for e in entries]
    for o in outcomes:
        results.append(_result(o, by_key[(o.dataset, o.key)]))
        if progress:
            progress(results[-1])
    return results


def check_references(client: BrainstemClient, options: IngestOptions,
                     lookups: Lookups | None = None) -> None:
    """Raise ApiError/TransportError unless dataset, actions and device are there to use."""
    assert options.dataset is not None
    lookups = lookups or Lookups()
    lookups.check("dataset", options.dataset, client.get_dataset)
    for action in options.actions:
        lookups.check("action", action, client.get_action)
    devices = {options.hardware_device, *(r.hardware_device for r in options.rules)}
    for device in sorted(d for d in devices if d):
        lookups.check("hardwaredevice", device, client.get_hardware_device)


def _reference_error(exc: ApiError, options: IngestOptions) -> str:
    return (f"nothing uploaded: {exc} (do the dataset, actions and hardware device exist, "
            "and may this token write to them?)")


def _check_ids(options: IngestOptions) -> None:
    problems = []
    if not options.dataset:
        problems.append("no dataset (--dataset UUID, or 'dataset' in bsingest.toml)")
    if not options.actions:
        problems.append("no action (--action UUID, or 'actions' in bsingest.toml)")
    if problems:
        raise UsageError("; ".join(problems))


def _result(o: Outcome, e: Entry) -> FileResult:
    return FileResult(e.path, o.outcome, e.record.get("type"), e.key, o.server_id, o.error)


def _emit(report: IngestReport, result: FileResult,
          progress: Callable[[FileResult], None] | None) -> None:
    report.results.append(result)
    if progress:
        progress(result)


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


# -- the rig hook's helpers -----------------------------------------------------------------


@contextlib.contextmanager
def session_lock(lock_dir: Path, session: Path, timeout: float = 600.0) -> Iterator[None]:
    """Hold an exclusive lock on ``session`` so two hooks on it cannot race."""
    from .locks import exclusive

    name = hashlib.sha256(str(session.resolve()).encode()).hexdigest()[:24]
    lock = exclusive(lock_dir / "locks" / f"{name}.lock", timeout,
                     f"{session}: another bsingest run is ingesting this session")
    try:
        yield
    finally:
        lock.release()


def wait_until_settled(session: Path, seconds: float, *, max_wait: float | None = None,
                       sleep: Callable[[float], None] = time.sleep) -> None:
    """Return once no file under ``session`` changed size or mtime for ``seconds``."""
    limit = max_wait if max_wait is not None else max(60.0, 20 * seconds)
    deadline = time.monotonic() + limit
    before = _snapshot(session)
    while True:
        sleep(seconds)
        now = _snapshot(session)
        if now == before:
            return
        if time.monotonic() >= deadline:
            raise BsingestError(f"{session}: files still changing after {limit:g} s of "
                                f"waiting for {seconds:g} s without a change; is the "
                                "recording still running?")
        before = now


def _snapshot(session: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, _, files in os.walk(session):
        for f in files:
            p = os.path.join(dirpath, f)
            with contextlib.suppress(OSError):
                st = os.stat(p)
                out[p] = (st.st_size, st.st_mtime_ns)
    return out
