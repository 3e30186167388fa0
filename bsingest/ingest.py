"""Ingest a session: files in, records on the server, exactly once.

The records are Experiment Data in a dataset (the 2023 API) or Data Acquisition in a
session (the current API), whichever the server speaks (:mod:`bsingest.records`).

Steps: wait for the files to settle (optional) → take the session's lock → discover and
extract (threads) → build and validate every record → create the session if asked
(``--create-session``, :mod:`bsingest.sessions`) → stage them in the journal → check
once that the container and what the records link to exist → adopt records bsingest 0.1
wrote (with ``stream``) → compare with what the container holds → create, update or
skip → report an outcome per file.

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _callable, exitcodes
from .errors import (
    UNAVAILABLE,
    ApiError,
    AuthError,
    BsingestError,
    RecordInvalid,
    UsageError,
)
from .generations import DEFAULT, GENERATIONS, Wire, implied_by, wire_for
from .journal import Entry, Journal
from .sessionconfig import IngestOptions, load_options
from .uploader import (
    FAILED,
    QUEUED,
    UNCHANGED,
    UPDATED,
    Lookups,
    Outcome,
    Uploader,
    summarize,
)

if TYPE_CHECKING:

    from extractors.base import Extraction

    from .client import BrainstemClient

__all__ = ["FileResult", "IngestReport", "Prepared", "Run", "check_usage", "deliver",
           "fingerprint", "ingest", "options_for", "prepare", "push"]

log = logging.getLogger(__name__)

_EDGE = 1 << 20  # the fingerprint hashes the first and the last MiB


@dataclass
class FileResult:
    """What became of one file (or one record of a file holding several)."""

    path: str
    outcome: str  # created, updated, unchanged, skipped, failed, queued, would-create, ...
    type: str | None = None
    key: str | None = None
    server_id: str | None = None
    error: str | None = None
    note: str | None = None  # e.g. a twin another run created was removed

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class IngestReport:
    """The outcome of ingesting one session."""

    session: str
    server: str
    dataset: str | None  # the container: a dataset (2023) or a session (current API)
    results: list[FileResult] = field(default_factory=list)
    skipped_files: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    error: str | None = None  # a session-wide failure (bad dataset, lock, ...)
    api: str = DEFAULT
    #: What --create-session did (:meth:`bsingest.sessions.SessionOutcome.to_json`).
    created_session: dict[str, Any] | None = None
    #: Lines told once for the run (stated optics some files did not take); not errors.
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return summarize(self.results)  # type: ignore[arg-type]

    @property
    def exit_code(self) -> int:
        """0 all done, 1 something failed, 3 queued for later (:mod:`bsingest.exitcodes`)."""
        return exitcodes.from_outcomes((r.outcome for r in self.results),
                                       error=bool(self.error))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "session": self.session, "server": self.server, "dataset": self.dataset,
            "api": self.api, "dry_run": self.dry_run, "error": self.error,
            "counts": self.counts(), "files": [r.to_json() for r in self.results],
            "skipped_files": self.skipped_files}
        if self.created_session is not None:
            out["created_session"] = self.created_session
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    @property
    def container_kind(self) -> str:
        """What the records went to: ``dataset`` (2023) or ``session``."""
        return wire_for(self.api).container


@dataclass
class Prepared:
    """A session's records, built and validated, before anything is uploaded."""

    records: list[tuple[str, str, dict[str, Any], str]]  # (path, key, body, fingerprint)
    failures: list[FileResult]
    skipped_files: dict[str, str]
    #: key -> the key bsingest 0.1 gave the same record, where it differs.
    legacy: dict[str, str] = field(default_factory=dict)
    #: (start time, path, provenance detail) of every record whose file states its start.
    starts: list[tuple[str, str, str]] = field(default_factory=list)
    #: Lines told once for the run: stated optics some files did not take.
    notes: list[str] = field(default_factory=list)


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
    """Discover, extract (in ``jobs`` threads), build and validate the session's records.

    One :class:`extractors.run.Run` spans the session, its threads too: a sidecar its
    files share (a Neuroscope XML, an Intan ``info.rhd``) is read once, and each file's
    claim asked once. Here they were read per file, unlike ``bsingest extract``: 100
    ``.dat`` files beside one XML took 0.10 s, now 0.023 s with the schema checks' own
    savings (``benchmarks/bench_prepare.py``, issue 25). With one job the files are read
    in this thread: a pool of one only added a hand-over per file.
    """
    from extractors import discover
    from extractors.run import run

    from .extraction import unapplied_notes

    with run() as r:
        found = discover(session_dir)

        def build(p: Path) -> _Built:
            with run(r):  # a pool thread starts outside the session's run
                return _build(session_dir, p, options)

        workers = jobs or min(8, (os.cpu_count() or 1) * 2)
        if workers == 1 or len(found.data) < 2:
            results = [build(p) for p in found.data]
        else:
            with ThreadPoolExecutor(max_workers=workers,
                                    thread_name_prefix="bsingest-extract") as pool:
                results = list(pool.map(build, found.data))
    skipped = {_rel(session_dir, p): r for p, r in found.skipped.items()}
    records: list[tuple[str, str, dict[str, Any], str]] = []
    failures: list[FileResult] = []
    legacy: dict[str, str] = {}
    starts: list[tuple[str, str, str]] = []
    seen: dict[str, str] = {}
    unapplied: list[Extraction] = []
    for built, failure, olds, began, declined in results:
        unapplied += declined
        failures += failure
        starts += began
        for path, key, body, fp in built:
            if key in seen:  # fileName is the session-relative path: a bug, if it happens
                failures.append(FileResult(path, FAILED, body["type"], key, error=(
                    f"{path}: same type and fileName as {seen[key]}")))
                continue
            seen[key] = path
            records.append((path, key, body, fp))
            if key in olds:
                legacy[key] = olds[key]
    # bsingest 0.1 named a file by its bare name: two files of one name in different
    # folders shared an old key, and only the first (in path order) can have been sent.
    firsts: dict[str, str] = {}
    path_of = {key: path for path, key, _, _ in records}
    for key in sorted(legacy, key=lambda k: (path_of[k], k)):
        firsts.setdefault(legacy[key], key)
    legacy = {new: old for old, new in firsts.items()}
    return Prepared(records, failures, skipped, legacy, sorted(starts),
                    unapplied_notes(unapplied))


#: The container of records built before the session they go to exists (--create-session);
#: replaced by the session's id before anything is staged or sent.
PENDING_CONTAINER = "00000000-0000-0000-0000-000000000000"


#: What :func:`_build` gives for one file.
_Built = tuple[list[tuple[str, str, dict[str, Any], str]], list[FileResult], dict[str, str],
               list[tuple[str, str, str]], list["Extraction"]]


def _build(session_dir: Path, path: Path, options: IngestOptions) -> _Built:
    """The file's records (path, key, body, fingerprint), failures, keys bsingest 0.1 gave
    them, start times, and its records that did not take a stated optical quantity."""
    from .extraction import extract_or_error

    wire = wire_for(options.api)
    rel = _rel(session_dir, path)
    per_file = options.for_file(rel)
    extractions, error = extract_or_error(path, record_type=per_file.record_type,
                                          verify=options.verify, **per_file.stated)
    if error is None:
        try:
            fp = fingerprint(path)
        except OSError as exc:
            error = f"{path.name}: {exc.strerror or exc}"
    if error is not None:
        return [], [FileResult(rel, FAILED, error=error)], {}, [], []
    built, failures, olds, starts = [], [], {}, []
    container = options.container or PENDING_CONTAINER
    relative = [x.relative_to(session_dir) for x in extractions]
    for x in relative:
        try:
            body = wire.body(x.type, x.type_json, options.links(rel, container))
            problems = wire.problems(body)
            if problems:
                raise RecordInvalid(problems, subject=x.file_name)
        except RecordInvalid as exc:
            failures.append(FileResult(rel, FAILED, wire.wire_type(x.type),
                                       f"{wire.wire_type(x.type)}|{x.file_name}",
                                       error=str(exc)))
            continue
        key = wire.key(body)
        old = wire.legacy_key(*x.legacy_key)
        if old != key:
            olds[key] = old
        if x.start_time:
            began = x.provenance.get("startTime")
            starts.append((x.start_time, rel, began.detail if began else ""))
        built.append((rel, key, body, fp))
    return built, failures, olds, starts, [x for x in relative if x.unapplied]


@dataclass(frozen=True)
class Run:
    """How one run goes, as opposed to what its records say (:class:`IngestOptions`).

    ``dry_run`` compares with the server and writes nothing anywhere; ``journal`` is a
    :class:`Journal` or the path of its file (default: ``options.journal``, else the user
    data directory); ``server_key`` the name the journal knows the server by (default: its
    URL); ``lock_timeout`` how long to wait for another run on the session; ``concurrency``
    requests at once; ``jobs`` extraction threads; ``progress`` is called per record.
    """

    dry_run: bool = False
    journal: Journal | str | os.PathLike[str] | None = None
    server_key: str | None = None
    lock_timeout: float = 600.0
    concurrency: int = 8
    jobs: int | None = None
    progress: Callable[[FileResult], None] | None = None


#: The convenience keywords of :func:`ingest` that say what the records link to and how
#: files are read (see :func:`options_for`), and those that say how the run goes (Run).
_OPTION_KEYWORDS = frozenset({
    *(name for gen in GENERATIONS.values() for name in gen.links.all),  # either's links
    "existing", "type_map", "server", "settle", "record_type", "stated", "verify"})
_RUN_KEYWORDS = frozenset(Run.__dataclass_fields__)
_CLIENT_KEYWORDS = frozenset({"api", "token"})


def options_for(session_dir: str | os.PathLike[str], *, dataset: str | None = None,
                actions: Sequence[str] = (), hardware_device: str | None = None,
                description: str | None = None, session: str | None = None,
                procedures: Sequence[str] = (), equipment: Sequence[str] = (),
                notes: str | None = None, create_session: bool = False,
                project: str | None = None, session_name: str | None = None,
                existing: str | None = None, type_map: Sequence[str] = (),
                server: str | None = None, settle: float | None = None,
                record_type: str | None = None, stated: Mapping[str, Any] | None = None,
                verify: bool = False) -> IngestOptions:
    """The :class:`IngestOptions` of a session: the user's config file, the session's
    ``bsingest.toml``, then these values (either generation's link names; see
    :func:`ingest`). Checks them as far as that needs no server."""
    from .sessionconfig import check_call, stated_rules, type_map_rules

    for name, ids in (("actions", actions), ("procedures", procedures),
                      ("equipment", equipment)):
        if isinstance(ids, str):  # tuple("<uuid>") would be its 36 characters
            raise UsageError(f"{name}: expected a list of UUIDs, got the string {ids!r} "
                             f"(write {name}=[{ids!r}])")
    check_call({"dataset": dataset, "actions": actions, "hardware_device": hardware_device,
                "description": description, "session": session, "procedures": procedures,
                "equipment": equipment, "notes": notes, "create_session": create_session,
                "project": project, "session_name": session_name, "existing": existing,
                "type_map": type_map, "server": server, "settle": settle,
                "record_type": record_type, "verify": verify})
    return load_options(session_dir, existing=existing, server=server, settle=settle,
                        rules=type_map_rules(type_map) + stated_rules(record_type, stated),
                        verify=verify or None, dataset=dataset, actions=tuple(actions),
                        hardware_device=hardware_device, description=description,
                        session=session, procedures=tuple(procedures),
                        equipment=tuple(equipment), notes=notes,
                        create_session=create_session or None, project=project,
                        session_name=session_name)


def ingest(session_dir: str | os.PathLike[str], options: IngestOptions | None = None,
           client: BrainstemClient | None = None, *, run: Run | None = None,
           **keywords: Any) -> IngestReport:
    """Ingest one session folder; see the module docstring for the steps.

    The call is ``ingest(path, options, client, run=Run(...))``: ``options`` say what the
    records link to (:func:`options_for`, :func:`bsingest.sessionconfig.load_options`),
    ``client`` is the server's :class:`~bsingest.client.BrainstemClient` (its generation
    chosen there), ``run`` how the run goes (:class:`Run`).

    For Python users the same is available by keywords (``options`` left out):

    session, procedures, equipment, notes
        For a server of the current API: the session (UUID) the records go to, the
        procedures and equipment they link to (lists of UUIDs), notes for every record.
    dataset, actions, hardware_device, description
        The same for a 2023 server: dataset, actions (a list), one hardware device, a
        description. Any left out come from the session's ``bsingest.toml`` or the user's
        config file; the other generation's names are a :class:`UsageError`. Names of one
        generation only choose it, on a server that speaks both.
    create_session, project, session_name
        Current API: create the session in ``project`` when none called ``session_name``
        (default: the folder's name) exists; its ``date_time`` is the recording's start as
        the files state it. Exactly once, like the records.
    existing
        ``skip`` (default), ``update`` or ``error``: what to do with a record the
        dataset already holds with other values.
    type_map
        ``GLOB=TYPE`` overrides of the record type.
    record_type, stated
        What ``extract`` takes for files without a sidecar, for every file of the
        session: the record type, and ``n_channels``, ``sr``, ``dtype``, ``lsb``
        (``bsingest.toml``'s ``[[files]]`` rules say it per glob).
    verify
        Check what an index promises against the data (video: decode every frame and
        report both counts when they differ); as slow as playing the video.
    settle
        First wait until no file has changed for this many seconds.
    server, token, api
        With no ``client``: the server (or ``BRAINSTEM_SERVER``, ``bsingest.toml``, the
        config file; none configured: the local demo server, see :mod:`bsingest.target`),
        its token, and its API generation (``"2023"``/``"2026"``; default: stated in
        ``bsingest.toml`` or the config file, else found out). Ignored with ``client``.
    dry_run, journal, server_key, lock_timeout, concurrency, jobs, progress
        The fields of :class:`Run`.

    Returns
    -------
    IngestReport
        One :class:`FileResult` per record, ``exit_code`` for scripts.
    """
    unknown = set(keywords) - _OPTION_KEYWORDS - _RUN_KEYWORDS - _CLIENT_KEYWORDS
    if unknown:
        raise TypeError(f"ingest() got unexpected keyword arguments {', '.join(sorted(unknown))}")
    folder = Path(session_dir)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    if run is None:
        run = Run(**{k: v for k, v in keywords.items() if k in _RUN_KEYWORDS})
    if options is None:
        options = options_for(folder, **{k: v for k, v in keywords.items()
                                         if k in _OPTION_KEYWORDS})
    elif set(keywords) & _OPTION_KEYWORDS:
        raise TypeError("ingest(): give options, or their keywords, not both")
    if client is None:  # the same choice as the command line: configured, else local demo
        from .target import configured_api, configured_server, open_target

        chosen = configured_server(keywords.get("server"), options.server)
        said = configured_api(keywords.get("api"), options.api, chosen) or (None, None)
        check_usage(options, said[0], said[1])
        with open_target(chosen, token=keywords.get("token"), portal=options.portal,
                         read_only=run.dry_run, api=said[0], api_source=said[1],
                         prefer=_implied(options)) as target:
            return ingest(folder, options, target.client,
                          run=replace(run, server_key=target.server_key))
    return _ingest_with(folder, options, client, run)


def _implied(options: IngestOptions) -> str | None:
    found = implied_by(options.given)
    return found.name if found is not None else None


def check_usage(options: IngestOptions, api: str | None = None,
                source: str | None = None) -> IngestOptions:
    """Every usage error ``options`` hold that needs no server, raised before any request.

    ``api``/``source``: a stated generation and where it was stated (``--api 2023``).
    Without one, the generation the given link names imply is checked (``--dataset``
    means 2023); with neither, every ID given is checked for being a UUID. Returns the
    options for the generation checked (else as they were).
    """
    name = api or _implied(options)
    if name is None:
        options.check_ids(every=True)
        return options
    checked = options.for_api(name, stated=source if api else None)
    _check_ids(checked, stated=source if api else None)
    return checked


def _ingest_with(folder: Path, options: IngestOptions, client: BrainstemClient,
                 run: Run) -> IngestReport:
    """:func:`ingest` with its three parts: check, choose the generation, run."""
    check_usage(options, client.api if client.stated else None,
                getattr(client, "api_source", None))
    implied = _implied(options)
    if implied is not None and not client.stated:
        client.prefer(implied)
    server_key = run.server_key
    if run.dry_run:  # writes nothing anywhere: no journal, no lock file
        options = resolve_api(options, client)
        _check_ids(options)
        return _ingest(folder, options, client, None, server_key, dry_run=True,
                       concurrency=run.concurrency, jobs=run.jobs, progress=run.progress)
    journal = run.journal
    own_journal = not isinstance(journal, Journal)
    # Opened before the server is asked which generation it speaks: a journal that
    # cannot be opened (--journal in a folder that cannot be made) is said before any
    # request, as a usage error is (it was said after the probe).
    jr = journal if isinstance(journal, Journal) else Journal(journal or options.journal)
    try:
        options = resolve_api(options, client)
        _check_ids(options)
        with session_lock(jr.path.parent, folder, timeout=run.lock_timeout):
            if options.settle:
                wait_until_settled(folder, options.settle)
            return _ingest(folder, options, client, jr, server_key, dry_run=False,
                           concurrency=run.concurrency, jobs=run.jobs, progress=run.progress)
    finally:
        if own_journal:
            jr.close()


def client_api(client: BrainstemClient) -> str:
    """The API generation ``client`` speaks (``2023`` or ``2026``)."""
    return client.api


def resolve_api(options: IngestOptions, client: BrainstemClient) -> IngestOptions:
    """``options`` for the generation ``client``'s server speaks (a usage error when the
    user named the other generation's links)."""
    stated = getattr(client, "api_source", None) if client.stated else None
    return options.for_api(client_api(client), server=client.server, stated=stated)


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
    wire = wire_for(options.api)
    report = IngestReport(str(session), server_key or client.server, options.container,
                          dry_run=dry_run, api=wire.api)
    report.skipped_files = prepared.skipped_files
    report.notes = list(prepared.notes)
    for failure in prepared.failures:
        _emit(report, failure, progress)
    if options.container is None:  # --create-session: find or create it first
        try:
            made = _session_for(session, options, prepared, client, jr, report.server,
                                dry_run=dry_run)
        except UNAVAILABLE as exc:
            return _all(report, prepared, QUEUED if not dry_run else "would-queue",
                        f"queued: the session could not be created ({exc}); run the same "
                        "command again", progress)
        except ApiError as exc:
            report.error = f"cannot create session {_session_name(session, options)!r}: {exc}"
            return _all(report, prepared, FAILED, report.error, progress)
        report.created_session = made.to_json()
        report.dataset = made.id
        if made.id is None:  # a dry run: the session does not exist yet
            for path, key, body, _ in prepared.records:
                _emit(report, FileResult(path, "would-create", body.get("type"), key), progress)
            return report
        prepared = _linked(prepared, wire, made.id)
        options = options.with_container(made.id)
    container = options.container
    assert container is not None
    uploader = Uploader(client, jr, existing=options.existing, concurrency=concurrency,
                        stop=stop, lookups=lookups, wire=wire)
    if dry_run or jr is None:
        return _dry_run(report, prepared, uploader, options, progress)
    # Rows bsingest 0.1 staged under the old key go on under the new one (state, id kept).
    # A row without 0.1's stream under a bare name may be another folder's file at its
    # top, sent in the new form: only rows in the old form are renamed.
    rows = {r.key: r for r in jr.entries(server=report.server, dataset=container)}
    jr.rename_keys(report.server, container, {
        old: new for new, old in prepared.legacy.items()
        if old not in rows or wire.is_legacy(rows[old].record)})
    # In the journal before any request: from here on nothing is lost.
    entries = []
    staged = jr.stage_all(report.server, container, prepared.records, options.existing.value,
                          api=wire.api)
    for (path, key, body, _), entry in zip(prepared.records, staged, strict=True):
        if isinstance(entry, RecordInvalid):  # one record the journal cannot hold fails alone
            _emit(report, FileResult(path, FAILED, body.get("type"), key, error=str(entry)),
                  progress)
        else:
            entries.append(entry)
    by_key = {e.key: e for e in entries}

    def one_done(o: Outcome) -> None:  # as each record is done, for live progress
        _emit(report, _result(o, by_key[o.key]), progress)

    try:
        check_references(client, options, lookups)
        done: set[str] = set()
        if any(e.key in prepared.legacy and e.state != "uploaded" for e in entries):
            with jr.dataset_lock(report.server, container, uploader.lock_timeout):
                on_server = (lookups.listing(container, uploader.server_records) if lookups
                             else uploader.server_records(container))
                for outcome in adopt_legacy(uploader, entries, prepared.legacy, on_server):
                    one_done(outcome)
                    done.add(outcome.key)
        uploader.run([e for e in entries if e.key not in done], executor=executor,
                     progress=one_done)
    except UNAVAILABLE as exc:
        log.warning("server unreachable: %s", exc)
        reported = {r.key for r in report.results}
        for e in (e for e in entries if e.key not in reported):
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


def adopt_legacy(uploader: Uploader, entries: Sequence[Entry], legacy: dict[str, str],
                 on_server: dict[str, dict[str, Any]]) -> list[Outcome]:
    """Bring records bsingest 0.1 wrote into the new form, each by a PATCH, never a POST.

    Such a record is keyed ``type|bare name|stream`` (:attr:`Prepared.legacy`); when the
    container holds it and nothing under the new key, it is changed to say what the file
    says now, in the new form (no ``stream``, the session-relative fileName): a strict
    server refuses the old form, and 0.1's values are the ones issue 11 corrected. The
    listing ``on_server`` is updated in place (a batch shares it). A PATCH that fails
    leaves the entry out of this run (``pending`` or ``failed``), so it is never POSTed.
    """
    outcomes = []
    wire = uploader.wire
    journal = uploader.journal
    assert journal is not None  # deliver() adopts only when it journals
    # A bare name without 0.1's ``stream`` is also the new form of a file at the top of a
    # session: one this run sends itself, or one another folder's run sent to the same
    # container (the journal has its row under that key; 0.1's rows were renamed).
    ours = {e.key for e in entries}
    sent = {(row.server, row.dataset, row.key) for e in entries[:1]
            for row in journal.entries(server=e.server, dataset=e.dataset)}
    for e in entries:
        old = legacy.get(e.key)
        theirs = on_server.get(old) if old else None
        if old is None or theirs is None or e.key in on_server:
            continue
        if not wire.is_legacy(theirs) and (old in ours or (e.server, e.dataset, old) in sent):
            continue  # not 0.1's record: another file's, in the new form
        server_id = str(theirs.get("id"))
        journal.mark(e, "sending", server_id=server_id, attempt=True)
        try:
            changed = uploader.client.update(wire.model, server_id, wire.changes(e.record))
        except UNAVAILABLE as exc:
            journal.mark(e, "pending", error=str(exc))
            outcomes.append(Outcome(e.dataset, e.key, e.path, QUEUED, None, f"queued: {exc}"))
            continue
        except ApiError as exc:
            journal.mark(e, "failed", error=str(exc))
            outcomes.append(Outcome(e.dataset, e.key, e.path, FAILED, server_id, str(exc)))
            continue
        journal.mark(e, "uploaded", server_id=server_id)
        del on_server[old]
        on_server[e.key] = changed if isinstance(changed, dict) and changed else theirs
        log.info("%s: adopted the record bsingest 0.1 wrote (%s), now in the new form",
                 e.path, server_id)
        outcomes.append(Outcome(e.dataset, e.key, e.path, UPDATED, server_id,
                                note="adopted: written by bsingest 0.1, brought to the new "
                                     "form"))
    return outcomes


def _session_name(folder: Path, options: IngestOptions) -> str:
    return options.session_name or folder.resolve().name


def _session_for(folder: Path, options: IngestOptions, prepared: Prepared,
                 client: BrainstemClient, jr: Journal | None, server_key: str, *,
                 dry_run: bool) -> Any:
    from .sessions import ensure_session

    assert options.project is not None
    return ensure_session(client, jr, server_key, name=_session_name(folder, options),
                          project=options.project, folder=str(folder),
                          starts=prepared.starts, dry_run=dry_run or jr is None)


def _linked(prepared: Prepared, wire: Wire, container: str) -> Prepared:
    """``prepared`` with every record in ``container`` (built before it existed)."""
    records = [(path, key, wire.with_container(body, container), fp)
               for path, key, body, fp in prepared.records]
    return replace(prepared, records=records)


def _all(report: IngestReport, prepared: Prepared, outcome: str, error: str,
         progress: Callable[[FileResult], None] | None) -> IngestReport:
    for path, key, body, _ in prepared.records:
        _emit(report, FileResult(path, outcome, body.get("type"), key, error=error), progress)
    return report


def _dry_run(report: IngestReport, prepared: Prepared, uploader: Uploader,
             options: IngestOptions, progress: Callable[[FileResult], None] | None
             ) -> IngestReport:
    container = options.container
    assert container is not None
    try:  # a batch shares its answers (lookups): one look per container, not per session
        check_references(uploader.client, options, uploader.lookups)
        on_server = (uploader.lookups.listing(container, uploader.server_records)
                     if uploader.lookups else uploader.server_records(container))
    except UNAVAILABLE as exc:
        report.error = f"dry run: cannot reach {uploader.client.server}: {exc}"
        for path, key, body, _ in prepared.records:
            _emit(report, FileResult(path, "would-queue", body["type"], key), progress)
        return report
    except ApiError as exc:
        report.error = _reference_error(exc, options)
        return report
    fake = [Entry(report.server, container, key, path, body, fp, "pending", None, 0,
                  None, 0.0, api=uploader.wire.api) for path, key, body, fp in prepared.records]
    ours = {e.key for e in fake}
    for e in fake:  # what 0.1 wrote is adopted: shown as the update it would be
        old = prepared.legacy.get(e.key)
        if old in on_server and e.key not in on_server and (
                uploader.wire.is_legacy(on_server[old]) or old not in ours):
            _emit(report, FileResult(e.path, "would-update", e.record["type"], e.key,
                                     on_server[old].get("id"),
                                     note="adopted: written by bsingest 0.1"), progress)
    shown = {r.key for r in report.results}
    for e, step in uploader.plan([e for e in fake if e.key not in shown], on_server):
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

    ``existing`` overrides, for every entry, the policy of the run that staged it. Rows
    written for the other API generation than the server speaks now stay queued, and
    say so.
    """
    from .sessionconfig import Existing

    api = client_api(client)
    entries = journal.entries(server=server_key or client.server, dataset=dataset,
                              states=("pending", "sending"))
    wire = wire_for(api)
    results = [FileResult(e.path, QUEUED, e.record.get("type"), e.key, error=(
                   f"queued: written for the {e.api} API, and {client.server} now speaks "
                   f"the {api} one; ingest the session again"))
               for e in entries if e.api != api]
    # A row bsingest 0.1 queued holds the old form (``stream``), which a strict server
    # refuses: only a new ingest of its session knows the record's new name.
    results += [FileResult(e.path, QUEUED, e.record.get("type"), e.key, error=(
                    "queued: written by bsingest 0.1 in the old form (with stream); ingest "
                    "its session again to send it in the new one"))
                for e in entries if e.api == api and wire.is_legacy(e.record)]
    entries = [e for e in entries if e.api == api and not wire.is_legacy(e.record)]
    uploader = Uploader(client, journal, existing=Existing(existing) if existing else None,
                        concurrency=concurrency, wire=wire)
    by_key = {(e.dataset, e.key): e for e in entries}
    try:
        outcomes = uploader.run(entries)
    except UNAVAILABLE as exc:
        return results + [FileResult(e.path, QUEUED, e.record.get("type"), e.key,
                                     error=f"queued: {exc}") for e in entries]
    for o in outcomes:
        results.append(_result(o, by_key[(o.dataset, o.key)]))
        if progress:
            progress(results[-1])
    return results


def references(options: IngestOptions) -> list[tuple[str, str, str]]:
    """(kind, model, id) of what :func:`check_references` looks up, in its order."""
    container = options.container
    assert container is not None
    (kind, model), (p_kind, p_model), (e_kind, e_model) = options.generation.lookups
    return ([(kind, model, container)]
            + [(p_kind, p_model, procedure) for procedure in options.procedure_ids]
            + [(e_kind, e_model, item) for item in options.equipment_ids()])


def check_references(client: BrainstemClient, options: IngestOptions,
                     lookups: Lookups | None = None) -> None:
    """Raise ApiError/TransportError unless the container and the records' links are there
    to use: dataset, actions and hardware device (2023); session, procedures, equipment."""
    lookups = lookups or Lookups()
    for kind, model, id in references(options):
        lookups.check(kind, id, reference_getter(client, model))


def reference_getter(client: BrainstemClient, model: str) -> Callable[[str], Any]:
    """The look-up of one ``model`` record by id."""
    return lambda id: client.get(model, id)


def _reference_error(exc: ApiError, options: IngestOptions) -> str:
    if isinstance(exc, AuthError) and exc.status == 401:
        # The token itself was refused: its message says where it came from and how to get
        # a new one; a guess about the IDs would only mislead.
        return f"nothing uploaded: {exc}"
    return (f"nothing uploaded: {exc} (do the {options.generation.references} exist, "
            "and may this token write to them?)")


def _check_ids(options: IngestOptions, stated: str | None = None) -> None:
    """Missing links, then IDs that are not UUIDs: usage errors, before any request."""
    gen = options.generation
    problems = []
    creating = bool(gen.links.creates) and options.create_session
    if creating and options.container:
        if {gen.links.container, "create_session"} <= options.given:
            raise UsageError("--session and --create-session: give one (the session, "
                             "or a project to create it in)")
        # One of them comes from a file: the session named wins, nothing is created.
    if creating and not options.container and not options.project:
        problems.append("--create-session needs a project (--project UUID, or 'project' "
                        "in bsingest.toml)")
    for link, missing in gen.required:
        if link == "container" and (options.container or creating):
            continue
        if not getattr(options, link):
            problems.append(missing)
    if problems:
        said = f" ({stated} states {gen.speaks})" if stated else ""
        raise UsageError("; ".join(problems) + said)
    options.check_ids()


def _result(o: Outcome, e: Entry) -> FileResult:
    return FileResult(e.path, o.outcome, e.record.get("type"), e.key, o.server_id, o.error,
                      o.note)


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


# bsingest.ingest(...) calls ingest() even where the package's attribute is this module (see
# bsingest._CallableModule).
_callable(__name__)
