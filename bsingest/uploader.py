"""Exactly-once upload of journal entries to a dataset's Experiment Data (2023) or a
session's Data Acquisition (the current API generation).

The server tells records apart by container (dataset or session), type and
``fileName`` (in ``type_json`` or ``details``): that triple is the key. Which generation's
model, bodies, keys and comparison apply is the client's (:class:`bsingest.generations.Wire`).
For every entry the uploader compares with what the dataset already holds, then creates,
updates, adopts or skips, and records each outcome in the journal.

Unknown outcomes, in waves. A POST whose outcome is unknown (no answer, a dropped
connection, a 5xx after the request went out) is never simply sent again. The entry
waits out its back-off (a write a gateway timed out on may land late) and joins the next
*wave*: one narrow query (``filter{type_json.fileName.in}``, or ``details.fileName`` in
the current generation, a hundred names at a time)
answers every entry waiting at that moment, while the other records keep going. A
record with our key found there is adopted; one not found is posted again. A 429, or a
503 with ``Retry-After``, says the server did not act: the POST is repeated after the
wait, without a look.

Convergence across machines. Processes with separate journals (a rig's hook and a nightly
batch on shared storage) may create the same key at the same moment: nothing on the
server prevents it. So every key this run created (and every key the dataset already
held twice) is read back in those waves; where a key has several records, every process
keeps the one with the smallest id (a rule all compute alike, from the server's answer
alone), deletes the others *that hold our content*, and journals the survivor. A record
with other content is reported, never deleted. Each key is then on the server once
after any run finishes; README.md says what is guaranteed and what is not.

What the journal says, when. A row says ``sending`` before its POST goes out: written for
the next wave of creates at once, by the thread that decides (a row written ahead and
never sent is found missing by the next run's look and sent then; a run that stops
queues it ``pending`` again, its attempt taken back). A POST's answer (``uploaded``, the
id) is written with the journal's next write, and a wave's survivors in one transaction
before their outcomes are reported. A crash at any point leaves each row ``pending``,
``sending`` (looked for before anything is sent again) or written: no row says
``uploaded`` for a record the server did not answer for, and none is sent without a
look after a crash, as before the writes were grouped.

Circuit breaker. After ``breaker`` requests in a row without an answer (or with 5xx/429),
the next wave is a probe: if the server does not answer it either (after the client's
retries), nothing more is sent; what is left stays queued in the journal (exit 3), for
``bsingest push`` or the next run.

One entry never blocks another: a record the client cannot send (a value JSON cannot
carry), or any unexpected error of one request, fails that entry alone, with its reason.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .errors import (
    UNAVAILABLE,
    ApiError,
    AuthError,
    JournalError,
    NotFound,
    Rejected,
    TransportError,
)
from .generations import Wire, wire_for
from .journal import Entry, Journal
from .reconcile import (
    CREATED,
    FAILED,
    QUEUED,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    Listing,
    Outcome,
    by_key,
    differing_fields,
    differs,
    judge_narrow,
    others_note,
    record_id,
    record_key,
    same_content,
    settle,
    summarize,
    with_note,
)
from .reconcile import plan as plan_steps
from .sessionconfig import Existing

if TYPE_CHECKING:
    from .client import BrainstemClient

# Listing, Outcome and the comparisons live in :mod:`bsingest.reconcile` (the decisions,
# without I/O); they are named here too, where callers have always found them.
__all__ = ["CREATED", "FAILED", "MODEL", "QUEUED", "SKIPPED", "UNCHANGED", "UPDATED",
           "Listing", "Lookups", "Outcome", "Uploader", "differing_fields", "record_key",
           "same_content", "summarize"]

log = logging.getLogger(__name__)

MODEL = "modules/experimentdata"

#: Names asked for in one query of a wave: a URL of a few KiB, one page of answers.
WAVE = 100


class Lookups:
    """Answers worth asking once per batch: which references exist, what a dataset held.

    A batch shares one; each session then spends no request on a dataset, action or
    device another session already checked, nor on listing a dataset already listed.
    The listing is a snapshot from before the batch wrote: sessions write disjoint keys.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ok: set[tuple[str, str]] = set()
        self._checking: dict[tuple[str, str], Future[None]] = {}
        # Errors of checks asked early (ask_early), for the first check() that comes.
        self._early: dict[tuple[str, str], BaseException] = {}
        self._listings: dict[str, dict[str, dict[str, Any]]] = {}
        self._per_dataset: dict[str, threading.Lock] = {}

    def check(self, kind: str, id: str, fetch: Callable[[str], Any]) -> None:
        """Call ``fetch(id)`` unless it already succeeded for (kind, id).

        Sessions that start together share one request: those that come while it is in
        flight wait for its answer (its error too: a server that is down is not asked
        once per session in a row); one that comes after a failure asks again.
        """
        if (kind, id) in self._ok:
            return
        with self._lock:
            early = self._early.pop((kind, id), None)
            asking = self._checking.get((kind, id))
            mine = asking is None and early is None
            if mine:
                asking = self._checking[(kind, id)] = Future()
        if early is not None:
            raise early
        assert asking is not None
        if not mine:
            try:
                asking.result()
            except BaseException:
                with self._lock:  # this call came for the early answer: it is taken
                    self._early.pop((kind, id), None)
                raise
            return
        try:
            fetch(id)
        except BaseException as exc:
            asking.set_exception(exc)
            raise
        else:
            with self._lock:
                self._ok.add((kind, id))
            asking.set_result(None)
        finally:
            with self._lock:
                self._checking.pop((kind, id), None)

    def ask_early(self, kind: str, id: str, fetch: Callable[[str], Any],
                  submit: Callable[[Callable[[], None]], object]) -> None:
        """Send the request of a :meth:`check` that will come, now, through ``submit`` (a
        pool's): the checks of a session go out together instead of one after another.
        The first ``check`` of (kind, id) that comes gets this answer, its error too."""
        with self._lock:
            key = (kind, id)
            if key in self._ok or key in self._checking or key in self._early:
                return
            asking = self._checking[key] = Future()

        def ask() -> None:
            try:
                fetch(id)
            except BaseException as exc:
                with self._lock:
                    self._early[key] = exc
                    self._checking.pop(key, None)
                asking.set_exception(exc)
            else:
                with self._lock:
                    self._ok.add(key)
                    self._checking.pop(key, None)
                asking.set_result(None)

        try:
            submit(ask)
        except BaseException as exc:  # the pool is shut down (Ctrl-C)
            with self._lock:
                self._checking.pop(key, None)
            asking.set_exception(exc)
            raise

    def listing(self, dataset: str, fetch: Callable[[str], dict[str, dict[str, Any]]]
                ) -> dict[str, dict[str, Any]]:
        with self._lock:
            lock = self._per_dataset.setdefault(dataset, threading.Lock())
        with lock:
            if dataset not in self._listings:
                self._listings[dataset] = fetch(dataset)
            return self._listings[dataset]

    def listed(self, dataset: str) -> bool:
        """Whether ``dataset``'s listing is known (asking for it costs no request)."""
        return dataset in self._listings

    def forget(self, dataset: str) -> None:
        """Drop what is known of ``dataset``'s records (a batch done with it)."""
        with self._lock:
            self._listings.pop(dataset, None)
            self._per_dataset.pop(dataset, None)


class _Unreachable(Exception):
    """The server could not be reached; the entry stays queued."""


@dataclass(eq=False)
class _Job:
    """One entry on its way: how often it was posted, and what is known of it."""

    entry: Entry
    posts: int = 0
    ready_at: float = 0.0  # monotonic time before which it waits (back-off, Retry-After)
    created: str | None = None  # the id our POST was answered with
    # The row says ``sending`` (attempt counted) for a POST not sent yet: written ahead,
    # with the next ones' (_Delivery._mark_ahead).
    marked: bool = False
    outcome: Outcome | None = None  # provisional, until the key is read back
    error: str = ""

    @property
    def key(self) -> str:
        return self.entry.key


@dataclass
class _Breaker:
    """Requests in a row without an answer (or with 5xx/429). ``limit`` of them open it:
    nothing more is sent until a probe (a read) answers; ``limit`` more right after a
    probe, or a probe without an answer, trip it: nothing more is sent in this run."""

    limit: int
    in_a_row: int = 0
    last: str = ""
    probed: bool = False  # a probe answered, and no write has since
    tripped: str | None = None  # the reason, once tripped

    def failed(self, reason: str) -> None:
        self.in_a_row += 1
        self.last = reason
        if self.probed and self.in_a_row >= self.limit:
            self.tripped = (f"the server stopped answering: {self.limit} requests in a row "
                            "got no answer, then again after a check")

    def answered(self) -> None:
        self.in_a_row = 0
        self.probed = False

    def probe_answered(self) -> None:
        self.in_a_row = 0
        self.probed = True

    @property
    def open(self) -> bool:
        return self.tripped is not None or self.in_a_row >= self.limit


class Uploader:
    """Uploads entries of one (server, dataset) with bounded concurrency.

    Parameters
    ----------
    client
        A :class:`~bsingest.client.BrainstemClient`, shared (its connection pool too).
    journal
        The outbox the outcomes are written to.
    existing
        What to do with a record the dataset already holds with other values; None: what
        each entry's run asked for (``Entry.existing``), else skip.
    concurrency
        Requests in flight at once: the threads of the pool :meth:`run` makes. Given an
        executor (a batch's), its threads bound what the server sees; a dataset's
        delivery hands it at most twice this many requests at once, so that a thread
        that is done finds the next one waiting.
    stop
        An event that, once set, makes the entries not yet started stay queued (Ctrl-C).
    lookups
        Shared answers of a batch (:class:`Lookups`); None: ask the server every time.
    post_attempts
        POSTs tried for one record before it is left queued.
    lock_timeout
        Seconds to wait for another process uploading to the same dataset.
    breaker
        Requests in a row without an answer after which the server is probed, and if it
        does not answer, nothing more is sent.
    wire
        The API generation's record form; None: the one ``client`` speaks.
    """

    def __init__(self, client: BrainstemClient, journal: Journal | None, *,
                 existing: Existing | None = Existing.SKIP, concurrency: int = 8,
                 post_attempts: int = 6, stop: threading.Event | None = None,
                 lookups: Lookups | None = None, lock_timeout: float = 600.0,
                 breaker: int = 5, wire: Wire | None = None) -> None:
        self.client = client
        self.wire = wire or wire_for(client.api)
        self.lookups = lookups
        self.stop = stop or threading.Event()  # set: leave what is not started queued
        self.journal = journal
        self.existing = existing
        self.concurrency = max(1, concurrency)
        self.post_attempts = post_attempts
        self.lock_timeout = lock_timeout
        self.breaker = breaker
        # False once the server is seen not to filter records by a JSON field's value.
        self._narrow = True

    # -- planning -----------------------------------------------------------------------

    def server_records(self, dataset: str) -> dict[str, dict[str, Any]]:
        """The dataset's records on the server, by key (a :class:`Listing`)."""
        return Listing(self.wire.records(self.client, dataset), self.wire.key)

    def plan(self, entries: Sequence[Entry], on_server: Mapping[str, Mapping[str, Any]]
             ) -> list[tuple[Entry, str]]:
        """What each entry needs: create, update, adopt, unchanged, skip or conflict
        (:func:`bsingest.reconcile.plan`)."""
        return list(plan_steps(entries, on_server, self.wire, self.existing))

    # -- doing --------------------------------------------------------------------------

    def _journal(self) -> Journal:
        if self.journal is None:
            raise RuntimeError("an Uploader without a journal can only plan")
        return self.journal

    def run(self, entries: Sequence[Entry], *,
            progress: Callable[[Outcome], None] | None = None,
            executor: Executor | None = None) -> list[Outcome]:
        """Bring the server in line with ``entries``; one :class:`Outcome` per entry.

        Requests run in ``executor`` (shared by several sessions in a batch, so that its
        size bounds what the server sees) or in a pool of ``concurrency`` threads. Each
        dataset goes alone: one that cannot be listed (the server down: its entries are
        queued; refused: they fail, with the reason) does not stop the others.
        """
        if not entries:
            return []
        if executor is None:
            with ThreadPoolExecutor(max_workers=self.concurrency,
                                    thread_name_prefix="bsingest-upload") as pool:
                return self.run(entries, progress=progress, executor=pool)
        outcomes: list[Outcome] = []

        def emit(o: Outcome) -> None:
            outcomes.append(o)
            if progress:
                progress(o)

        for server, dataset in sorted({(e.server, e.dataset) for e in entries}):
            mine = [e for e in entries if (e.server, e.dataset) == (server, dataset)]
            # Held from the listing to the last request: a POST decided from a listing is
            # safe only while no other run *sharing this journal* creates the same key (a
            # push, a re-run); runs with other journals are made to converge afterwards.
            with self._journal().dataset_lock(server, dataset, self.lock_timeout):
                try:
                    on_server = (self.lookups.listing(dataset, self.server_records)
                                 if self.lookups else self.server_records(dataset))
                except UNAVAILABLE as exc:
                    for e in mine:
                        emit(self._not_listed(e, exc))
                    continue
                except ApiError as exc:
                    for e in mine:
                        self._journal().mark(e, "failed", error=str(exc))
                        emit(Outcome(e.dataset, e.key, e.path, FAILED, None, str(exc)))
                    continue
                try:
                    _Delivery(self, dataset, mine, on_server, executor, emit).run()
                except BaseException:
                    with contextlib.suppress(JournalError):  # the error said is the first
                        self._journal().flush()
                    raise
                # The outcomes left for the next write (mark_soon), written as the run ends:
                # a process that goes on (watch) may not write the journal again for hours.
                self._journal().flush()
        return outcomes

    def _not_listed(self, e: Entry, exc: Exception) -> Outcome:
        if e.state == "uploaded":  # uploaded before, unchanged since: nothing to queue
            return Outcome(e.dataset, e.key, e.path, UNCHANGED, e.server_id,
                           note=f"not checked on the server ({exc}); the journal has it "
                                "uploaded")
        self._journal().mark(e, e.state, error=str(exc))  # `bsingest status` says why
        return Outcome(e.dataset, e.key, e.path, QUEUED, None, f"queued: {exc}")

    def _do(self, e: Entry, step: str, theirs: Mapping[str, Any] | None) -> Outcome:
        """Every step but create: adopt, unchanged, skip, conflict, update."""
        their_id = str(theirs.get("id")) if theirs else None
        if step in ("unchanged", "adopt"):
            self._journal().mark(e, "uploaded", server_id=their_id)
            return Outcome(e.dataset, e.key, e.path, UNCHANGED, their_id)
        if step == "skip":  # say which fields differ, and how to change them
            msg = (f"exists on the server with other values{differs(e.record, theirs, self.wire)}"
                   "; kept (--existing update changes it)")
            self._journal().mark(e, "skipped", server_id=their_id, error=msg)
            return Outcome(e.dataset, e.key, e.path, SKIPPED, their_id, msg)
        if step == "conflict":
            msg = (f"exists on the server with other values{differs(e.record, theirs, self.wire)}"
                   " (use --existing update to change it, or --existing skip)")
            self._journal().mark(e, "failed", server_id=their_id, error=msg)
            return Outcome(e.dataset, e.key, e.path, FAILED, their_id, msg)
        assert step == "update" and their_id is not None
        try:
            return self._update(e, their_id)
        except _Unreachable as exc:
            return Outcome(e.dataset, e.key, e.path, QUEUED, None, f"queued: {exc}")

    def _update(self, e: Entry, server_id: str) -> Outcome:
        changes = self.wire.changes(e.record)
        self._journal().mark(e, "sending", server_id=server_id, attempt=True)
        try:
            self.client.update(self.wire.model, server_id, changes)  # PATCH: retried
        except UNAVAILABLE as exc:
            self._journal().mark(e, "pending", error=str(exc))
            raise _Unreachable(str(exc)) from exc
        except ApiError as exc:
            self._journal().mark(e, "failed", error=str(exc))
            return Outcome(e.dataset, e.key, e.path, FAILED, server_id, str(exc))
        self._journal().mark(e, "uploaded", server_id=server_id)
        return Outcome(e.dataset, e.key, e.path, UPDATED, server_id)

    def _post(self, job: _Job) -> tuple[str, Any]:
        """POST once: ("created", id), ("unknown", error), ("later", (seconds, error)) or
        ("failed", message). Never raises: one record's trouble is that record's alone."""
        e = job.entry
        # Written before the request goes out (here, or ahead with the next ones'): if we
        # die now, the next run looks first.
        if not job.marked:
            self._journal().mark(e, "sending", attempt=True)
        job.marked = False
        try:
            body = self.client.create(self.wire.model, e.record)
        except ApiError as exc:
            if _refused(exc):
                # The server answered and did not write: a definite, lasting refusal.
                self._journal().mark(e, "failed", error=str(exc))
                return "failed", str(exc)
            wait_for = _did_not_act(exc)
            if wait_for is not None:
                self._journal().mark(e, "pending", error=str(exc))
                return "later", (wait_for, str(exc))
            return "unknown", str(exc)
        except TransportError as exc:
            return "unknown", str(exc)
        except Exception as exc:  # one record must not stop the others
            # The client could not even build the request (a value JSON cannot carry), or
            # a bug: this entry fails alone and says why; nothing was sent that can be
            # known to have arrived, and a re-run stages it again.
            msg = f"cannot send the record: {type(exc).__name__}: {exc}"
            log.warning("%s: %s", e.path, msg)
            self._journal().mark(e, "failed", error=msg)
            return "failed", msg
        server_id = str(body.get("id"))
        # Written with the next write (the next request's "sending"): until then the row
        # says "sending", which a crash leaves to be read back, never sent again.
        self._journal().mark_soon(e, "uploaded", server_id=server_id)
        return "created", server_id

    # -- reading back: the waves ---------------------------------------------------------

    def read_back(self, dataset: str, names: Sequence[str], known: Mapping[str, str]
                  ) -> dict[str, list[dict[str, Any]]]:
        """Every record of ``dataset`` named in ``names``, by key.

        One narrow query per hundred names where the server filters on ``fileName``; the
        whole listing where it does not, or where a name cannot be put in the filter.
        ``known`` maps names to the id of a record known to be there: a narrow answer
        missing one of them is not trusted (the server's filter does not work), nor is one
        holding names not asked for (it ignored the filter).
        """
        wanted = set(names)
        if self._narrow and not any("," in n for n in wanted):
            found: list[dict[str, Any]] = []
            chunks = sorted(wanted)
            trusted = True
            for i in range(0, len(chunks), WAVE):
                part = chunks[i:i + WAVE]
                try:
                    got = self._records_named(dataset, part)
                except Rejected:
                    trusted = False  # the server refuses the filter
                    break
                verdict = judge_narrow(part, got, wanted, known, self.wire)
                if verdict == "stray":  # the filter was ignored: this is the whole dataset
                    self._narrow = False
                    return by_key((r for r in got if self.wire.file_name(r) in wanted),
                                  self.wire)
                if verdict == "missing":
                    trusted = False
                    break
                found += got
            if trusted:
                return by_key(found, self.wire)
            log.info("the server does not filter records by fileName; listing the dataset")
            self._narrow = False
        return by_key((r for r in self.wire.records(self.client, dataset)
                       if self.wire.file_name(r) in wanted), self.wire)

    def _records_named(self, dataset: str, names: Sequence[str]) -> list[dict[str, Any]]:
        """The container's records whose fileName is one of ``names`` (one query)."""
        return self.client.list(self.wire.model, filters={
            self.wire.container: dataset, f"{self.wire.details_field}.fileName.in": list(names)})

    def _delete(self, server_id: str) -> None:
        self.client.delete(self.wire.model, server_id)

    def converge(self, job: _Job, records: Sequence[Mapping[str, Any]]) -> Outcome | None:
        """Settle one key from what the server holds for it; None: post it (again).

        :func:`bsingest.reconcile.settle` decides (the smallest id is kept, the others
        that hold our content go, those with other content stay); this deletes, journals
        the survivor and says what happened in the outcome's note.
        """
        e = job.entry
        posted = job.outcome is not None or job.created is not None
        done = settle(e, records, posted=posted, wire=self.wire, existing=self.existing)
        if done.action == "post":
            return None
        prov = job.outcome or Outcome(e.dataset, e.key, e.path, CREATED, job.created)
        if done.action == "gone":
            return with_note(prov, "not found on the server when read back")
        assert done.survivor is not None
        sid = record_id(done.survivor)
        removed, trouble = [], []
        for rid in done.delete:
            try:
                self._delete(rid)
                removed.append(rid)
            except NotFound:
                removed.append(rid)  # another run removed it first
            except (TransportError, ApiError) as exc:
                trouble.append(f"twin {rid} not removed ({exc}); the next run removes it")
        notes = []
        if removed:
            notes.append(f"the key was on the server {len(removed) + 1} times (another run "
                         f"created it too): kept {sid}, removed {', '.join(removed)}")
        notes += trouble
        if done.kept:
            notes.append(others_note(records, done.survivor, e.record, self.wire))
        if done.action == "ours":
            # With the wave's other outcomes, in one transaction (_Delivery._wave); a
            # crash before it leaves the row to be read back again.
            self._journal().mark_soon(e, "uploaded", server_id=sid)
            outcome = replace(prov, server_id=sid)
        else:  # the one kept says something else: as if it had been there before us
            assert done.step is not None
            outcome = self._do(e, done.step, done.survivor)
        return with_note(outcome, "; ".join(n for n in notes if n) or None)

    def _pause(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds the entry waits before its next POST (or look)."""
        policy = self.client.retry
        if not policy.wait:
            return 0.0
        return policy.delay(attempt, retry_after)


class _Delivery:
    """One dataset's entries through POSTs, waves and convergence, in the caller's thread.

    The caller's thread decides; the executor's threads send. A job is in one place at a
    time: ``todo`` (to post now), ``later`` (to post after a wait), ``unknown`` (sent, its
    outcome to be read back), ``settle`` (on the server, its key to be read back), or in
    flight.
    """

    def __init__(self, up: Uploader, dataset: str, entries: Sequence[Entry],
                 on_server: Mapping[str, Mapping[str, Any]], executor: Executor,
                 emit: Callable[[Outcome], None]) -> None:
        self.up = up
        self.dataset = dataset
        self.executor = executor
        self.emit = emit
        self.on_server = on_server
        self.twins: Mapping[str, Any] = getattr(on_server, "twins", {})
        self.steps = up.plan(entries, on_server)
        self.todo: deque[_Job] = deque()
        self.later: list[_Job] = []
        self.unknown: list[_Job] = []
        self.settle: list[_Job] = []
        self.others = deque((e, step) for e, step in self.steps if step != "create")
        self.in_flight: dict[Future[Any], tuple[str, Any]] = {}
        self.breaker = _Breaker(up.breaker)
        self.probing = False
        # Requests given to the executor and not yet answered: twice the threads. The
        # executor's threads never send more than ``concurrency`` at once; the other half
        # wait there, so that a thread whose answer came takes this session's next
        # request at once. With only the threads' worth, every answer waited for this
        # thread to wake and hand over the next: ~4 ms a round, 7.6 of 8 in flight when a
        # session runs alone (``ingest``, a batch's last session), against 7.85 for a bare
        # pooled client (benchmarks/RESULTS.md, issue 25). Those waiting are taken back
        # when the breaker opens.
        self.outstanding = 2 * up.concurrency
        # Rows written ``sending`` ahead at the next write (_mark_ahead): first what the
        # executor takes at once, then a wave. The sessions of a batch start together
        # and each writes ahead before its first POST; at a wave each, the first POST
        # waited ~10 ms for 8 sessions' 800 rows (traced; benchmarks/RESULTS.md, issue 25).
        self.ahead = self.outstanding
        # Names known to be on the server, with an id: they vouch for a narrow query.
        self.known = {self.up.wire.file_name(r): record_id(r) for r in on_server.values()}

    def run(self) -> None:
        self.todo.extend(_Job(e) for e, step in self.steps if step == "create")
        pending_others = self.others
        try:
            while True:
                if self.up.stop.is_set() or self.breaker.tripped:
                    self._give_up(pending_others)
                    self._drain()
                    return
                self._start_wave()
                while len(self.in_flight) < self.outstanding and not self.breaker.open:
                    if pending_others:
                        e, step = pending_others.popleft()
                        self._submit("other", (e, step), self.up._do, e, step,
                                     self.on_server.get(e.key))
                    elif self._ready_job(self.todo, self.later):
                        self._mark_ahead()
                        job = self.todo.popleft()
                        self._submit("post", job, self.up._post, job)
                    else:
                        break
                if not (self.in_flight or self.todo or self.later or self.unknown
                        or self.settle or pending_others):
                    return
                self._wait()
        except KeyboardInterrupt:
            # Ctrl-C: requests in flight finish and journal their outcome; the rest is not
            # started (it stays in the journal for the next run).
            self.up.stop.set()
            self._take_back()
            for future in self.in_flight:  # a read-back not started yet: not started
                future.cancel()
            unsent = [job for job in self.todo if job.marked]
            # Rows written ``sending`` ahead of POSTs that will not go out: pending again.
            with contextlib.suppress(JournalError):
                self.up._journal().mark_all([j.entry for j in unsent], "pending",
                                            attempt=-1)
            raise

    # -- scheduling ------------------------------------------------------------------

    def _submit(self, kind: str, what: Any, fn: Callable[..., Any], *args: Any) -> None:
        self.in_flight[self.executor.submit(fn, *args)] = (kind, what)

    def _ready_job(self, todo: deque[_Job], later: list[_Job]) -> bool:
        now = time.monotonic()
        for job in [j for j in later if j.ready_at <= now]:
            later.remove(job)
            todo.appendleft(job)  # first: a retry left to the end would make the run longer
        return bool(todo)

    def _mark_ahead(self) -> None:
        """Write ``sending`` for the next POSTs, up to ``self.ahead`` of them (a wave after
        the first write), in one transaction, when the next one is not written yet.

        A row must say ``sending`` before its POST goes out (a crash then leaves it to be
        read back, never sent blindly again); saying it earlier is as safe, and costs a
        crash at most a wave of rows read back that were never sent. Written here, by the
        thread that decides, a request's thread writes nothing before it sends (it wrote
        twice per request, each time waiting for the journal's lock among 8 threads: ~1.7
        ms of each create's thread, profiled; benchmarks/RESULTS.md, issue 25).
        """
        if self.todo[0].marked:
            return
        ahead: list[_Job] = []
        for job in self.todo:
            if job.marked or len(ahead) == self.ahead:
                break
            ahead.append(job)
        try:
            self.up._journal().mark_all([j.entry for j in ahead], "sending", attempt=True)
        except JournalError:
            return  # each POST writes its own, and fails alone if the journal cannot
        self.ahead = WAVE
        for job in ahead:
            job.marked = True

    def _posts_in_flight(self) -> bool:
        """Whether requests still in flight (or not started) may add to the next wave."""
        return bool(self.others) or any(kind in ("post", "other")
                                        for kind, _ in self.in_flight.values())

    def _start_wave(self) -> None:
        if any(kind == "wave" for kind, _ in self.in_flight.values()):
            return
        now = time.monotonic()
        ready = [j for j in self.unknown if j.ready_at <= now]
        names = ready + self.settle
        if self.breaker.open:
            # A probe: does the server answer at all? It reads back what is ready, or a
            # record known to be there, once the requests in flight have ended.
            if any(kind != "wave" for kind, _ in self.in_flight.values()):
                return
            due = True
        elif not names:
            return
        else:
            idle = not self.todo and not any(j.ready_at <= now for j in self.later)
            due = (len(names) >= WAVE or (idle and bool(ready))
                   or (idle and not self._posts_in_flight()
                       and not [j for j in self.unknown if j.ready_at > now]))
        if not due:
            return
        batch = names[:WAVE]
        for job in batch:
            (self.unknown if job in self.unknown else self.settle).remove(job)
        self.probing = self.breaker.open
        self._submit("wave", batch, self._wave, batch)

    def _wave(self, jobs: list[_Job]) -> list[tuple[_Job, Outcome | None]]:
        """Read back the keys of ``jobs`` (one query) and settle each."""
        names = {self.up.wire.file_name(j.entry.record) for j in jobs}
        known = {self.up.wire.file_name(j.entry.record): j.created for j in jobs if j.created}
        if not known and self.known:  # something to vouch for the answer
            name, rid = min(self.known.items())
            names.add(name)
            known[name] = rid
        if not names:  # a probe with nothing to read back: the dataset held nothing
            self.up.server_records(self.dataset)
            return []
        found = self.up.read_back(self.dataset, sorted(names), known)
        try:
            return [(job, self.up.converge(job, found.get(job.key, []))) for job in jobs]
        finally:
            self.up._journal().flush()  # the wave's outcomes, written before they are said

    def _wait(self) -> None:
        now = time.monotonic()
        waits = [j.ready_at for j in self.later + self.unknown if j.ready_at > now]
        timeout = max(0.0, min(waits) - now) if waits else None
        if not self.in_flight:
            # Nothing to wait for but time: sleep until the next entry is ready (or Ctrl-C).
            self.up.stop.wait(min(timeout if timeout is not None else 0.05, 1.0))
            return
        done, _ = wait(list(self.in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            kind, what = self.in_flight.pop(future)
            getattr(self, f"_done_{kind}")(what, future)

    # -- results ---------------------------------------------------------------------

    def _done_other(self, what: tuple[Entry, str], future: Future[Outcome]) -> None:
        e, _ = what
        try:
            outcome = future.result()
        except Exception as exc:  # this entry fails alone
            outcome = self._failed_alone(e, exc)
        if e.key in self.twins and outcome.outcome in (UNCHANGED, UPDATED, SKIPPED):
            # The dataset held this key more than once (a run that died before it read
            # back, or bsingest 0.1): settle it now.
            self.settle.append(_Job(e, outcome=outcome, created=None))
            return
        self.emit(outcome)

    def _done_post(self, job: _Job, future: Future[tuple[str, Any]]) -> None:
        e = job.entry
        job.posts += 1
        try:
            kind, value = future.result()
        except Exception as exc:  # the journal failed for this entry alone
            self.emit(self._failed_alone(e, exc))
            return
        if kind == "created":
            self.breaker.answered()
            job.created = value
            job.outcome = Outcome(e.dataset, e.key, e.path, CREATED, value)
            self.known[self.up.wire.file_name(e.record)] = value
            self.settle.append(job)
        elif kind == "failed":
            self.breaker.answered()
            self.emit(Outcome(e.dataset, e.key, e.path, FAILED, None, value))
        elif kind == "later":
            seconds, job.error = value
            self._failed(job.error)
            if seconds > self.up.client.retry.max_retry_after:
                self._queue(job, f"the server asks to wait {seconds:g} s: {job.error}")
            elif job.posts >= self.up.post_attempts:
                self._queue(job, f"no answer after {job.posts} attempts: {job.error}")
            else:
                job.ready_at = time.monotonic() + self.up._pause(job.posts, seconds)
                self.later.append(job)
        else:  # unknown: wait out the back-off, then read it back in the next wave
            job.error = value
            self._failed(value)
            log.info("POST for %s: outcome unknown (%s); reading it back", e.path, value)
            job.ready_at = time.monotonic() + self.up._pause(job.posts)
            self.unknown.append(job)

    def _failed(self, reason: str) -> None:
        """A request without an answer: count it; once the breaker opens, take back the
        requests still waiting in the executor (never sent), to be sent after the probe,
        or queued if the breaker trips."""
        self.breaker.failed(reason)
        if self.breaker.open:
            self._take_back()

    def _take_back(self) -> None:
        """Cancel the requests still waiting in the executor (never sent) and put them
        first again, in their order; a job's row stays written ``sending`` ahead."""
        back: dict[str, list[Any]] = {"post": [], "other": []}
        for future, (kind, what) in list(self.in_flight.items()):
            if kind in back and future.cancel():
                del self.in_flight[future]
                back[kind].append(what)
        self.todo.extendleft(reversed(back["post"]))
        self.others.extendleft(reversed(back["other"]))

    def _done_wave(self, jobs: list[_Job], future: Future[list[tuple[_Job, Outcome | None]]]
                   ) -> None:
        probe, self.probing = self.probing, False
        try:
            settled = future.result()
        except (TransportError, ApiError) as exc:
            # The client retried this read already: the server is not answering.
            self.breaker.tripped = (f"the server stopped answering ({exc})"
                                    if not isinstance(exc, ApiError) or exc.status >= 500
                                    or exc.status == 429
                                    else f"cannot read back the records ({exc})")
            for job in jobs:
                (self.settle if job.created or job.outcome else self.unknown).append(job)
            return
        except Exception as exc:  # a bug must not leave entries unsaid
            for job in jobs:
                self.emit(self._failed_alone(job.entry, exc))
            return
        if probe:
            self.breaker.probe_answered()
        for job, outcome in settled:
            if outcome is not None:
                self.emit(outcome)
            elif job.posts >= self.up.post_attempts:
                self._queue(job, f"no answer after {job.posts} attempts: {job.error}")
            else:  # not on the server: the POST did not land; send it again, first
                self.up._journal().mark(job.entry, "pending", error=job.error)
                self.todo.appendleft(job)

    # -- endings ---------------------------------------------------------------------

    def _queue(self, job: _Job, reason: str) -> None:
        """Posted ``post_attempts`` times, and not on the server: left for the next run."""
        e = job.entry
        self.up._journal().mark(e, "pending", error=reason)
        self.emit(Outcome(e.dataset, e.key, e.path, QUEUED, None, f"queued: {reason}"))

    def _give_up(self, pending_others: deque[tuple[Entry, str]]) -> None:
        """Stopped (Ctrl-C) or the breaker tripped: what is left stays queued, at once."""
        reason = ("interrupted" if self.up.stop.is_set() and not self.breaker.tripped
                  else self.breaker.tripped or "stopped")
        if self.breaker.tripped and self.breaker.last and "(" not in reason:
            reason = f"{reason} (last: {self.breaker.last})"
        for e, _ in pending_others:
            self.emit(Outcome(e.dataset, e.key, e.path, QUEUED, None, f"queued: {reason}"))
        pending_others.clear()
        for job in list(self.todo) + self.later:
            # A row written ``sending`` ahead of a POST never sent: the attempt taken back.
            self.up._journal().mark(job.entry, "pending", error=reason,
                                    attempt=-1 if job.marked else False)
            self.emit(Outcome(job.entry.dataset, job.key, job.entry.path, QUEUED, None,
                              f"queued: {reason}"))
        for job in self.unknown:  # sent, outcome unknown: the next run reads it back first
            self.up._journal().mark(job.entry, "sending", error=reason)
            self.emit(Outcome(job.entry.dataset, job.key, job.entry.path, QUEUED, None,
                              f"queued: {reason}"))
        for job in self.settle:  # on the server; not read back for twins
            assert job.outcome is not None or job.created is not None
            prov = job.outcome or Outcome(job.entry.dataset, job.key, job.entry.path, CREATED,
                                          job.created)
            self.emit(with_note(prov, f"not read back for twins ({reason}); the "
                                     "next run does it"))
        self.todo.clear()
        self.later.clear()
        self.unknown.clear()
        self.settle.clear()

    def _drain(self) -> None:
        """Wait for the requests in flight; their entries end as their answers say."""
        while self.in_flight:
            done, _ = wait(list(self.in_flight), return_when=FIRST_COMPLETED)
            for future in done:
                kind, what = self.in_flight.pop(future)
                getattr(self, f"_done_{kind}")(what, future)
            self._give_up(deque())

    def _failed_alone(self, e: Entry, exc: BaseException) -> Outcome:
        msg = f"unexpected {type(exc).__name__}: {exc} (a bug in bsingest; please report it)"
        log.error("%s: %s", e.path, msg, exc_info=exc)
        try:
            self.up._journal().mark(e, "failed", error=msg)
        except Exception:  # said in the outcome; the journal is the trouble
            pass
        return Outcome(e.dataset, e.key, e.path, FAILED, None, msg)


def _did_not_act(exc: ApiError) -> float | None:
    """Seconds to wait when the answer says the server did not act on the request: a 429,
    or a 503 with ``Retry-After``; None when the write may have happened."""
    retry_after = getattr(exc, "retry_after", None)
    if exc.status == 429:
        return retry_after or 0.0
    if exc.status == 503 and retry_after is not None:
        return float(retry_after)
    return None


def _refused(exc: ApiError) -> bool:
    """A 4xx answer (400, 401, 403, 404, 405, 413, ...): the server wrote nothing, and
    asking again will not change its mind. Not 408 or 429: those say "try again later"."""
    return isinstance(exc, Rejected | AuthError | NotFound) or (
        400 <= exc.status < 500 and exc.status not in (408, 429))
