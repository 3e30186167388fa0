"""Exactly-once upload of journal entries to a dataset's Experiment Data (2023) or a
session's Data Acquisition (the current API generation).

The server tells records apart by container (dataset or session), type and
``fileName`` (in ``type_json`` or ``details``): that triple is the key. Which generation's
model, bodies, keys and comparison apply is the client's (:class:`bsingest.records.Wire`).
For every entry the uploader compares with what the dataset already holds, then creates,
updates, adopts or skips, and records each outcome in the journal.

A POST whose outcome is unknown (no answer, a dropped connection, a 5xx or 429 after the
request went out) is never simply sent again: the dataset is listed first, and a record
with the same key is adopted. When none is there, the uploader waits its back-off and
looks once more (a write a gateway timed out on may land late) before it repeats the
POST. When the server cannot be reached at all, entries stay in the journal
(``pending`` or ``sending``) and ``bsingest push`` continues later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import (
    ApiError,
    AuthError,
    NotFound,
    RateLimited,
    Rejected,
    ServerError,
    TransportError,
)
from .journal import Entry, Journal
from .records import API_2023, Wire, wire_for
from .sessionconfig import Existing

if TYPE_CHECKING:
    from .client import BrainstemClient

__all__ = ["MODEL", "Lookups", "Outcome", "Uploader", "differing_fields", "record_key",
           "same_content"]

log = logging.getLogger(__name__)

MODEL = "modules/experimentdata"

#: Outcomes of one entry.
CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED, QUEUED = (
    "created", "updated", "unchanged", "skipped", "failed", "queued")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one journal entry."""

    dataset: str
    key: str
    path: str
    outcome: str  # created, updated, unchanged, skipped, failed, queued (or would-* in a dry run)
    server_id: str | None = None
    error: str | None = None


def record_key(record: Mapping[str, Any]) -> str:
    """The key of a 2023 record body: ``type|fileName`` (session-relative, #part).

    A record that bsingest 0.1 wrote carries a ``stream`` in ``type_json``; its key is the
    legacy ``type|fileName|stream``, which :attr:`Extraction.legacy_key` reproduces.
    (Either generation: :meth:`bsingest.records.Wire.key`.)
    """
    return wire_for(API_2023).key(record)


def same_content(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> bool:
    """Whether the server's 2023 record already says what ours says."""
    return wire_for(API_2023).same_content(ours, theirs)


def differing_fields(ours: Mapping[str, Any], theirs: Mapping[str, Any],
                     wire: Wire | None = None) -> list[str]:
    """The fields ``wire.same_content`` finds different, named as that wire names them and
    the type's own ones by key (``description``, ``type_json.nSamples``): what a skipped
    record's message names."""
    wire = wire or wire_for(API_2023)
    a, b = wire.canonical(ours), wire.canonical(theirs)
    names = _NAMES_2023 if wire.api == API_2023 else {}
    out = []
    for k in sorted({*a, *b}, key=lambda k: (_ORDER.index(k) if k in _ORDER else 99, k)):
        x, y = a.get(k), b.get(k)
        if x == y:
            continue
        if k == "type_json" and isinstance(x, Mapping) and isinstance(y, Mapping):
            details = "type_json" if wire.api == API_2023 else "details"
            out += [f"{details}.{j}" for j in sorted({*x, *y}) if x.get(j) != y.get(j)]
        else:
            out.append(names.get(k, k))
    return out


_ORDER = ("type", "procedures", "equipment", "notes", "type_json")
_NAMES_2023 = {"procedures": "actions", "equipment": "hardware_device", "notes": "description"}


def _differs(ours: Mapping[str, Any], theirs: Mapping[str, Any] | None, wire: Wire) -> str:
    fields = differing_fields(ours, theirs, wire) if theirs is not None else []
    return f" ({', '.join(fields)})" if fields else ""


class Lookups:
    """Answers worth asking once per batch: which references exist, what a dataset held.

    A batch shares one; each session then spends no request on a dataset, action or
    device another session already checked, nor on listing a dataset already listed.
    The listing is a snapshot from before the batch wrote: sessions write disjoint keys.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ok: set[tuple[str, str]] = set()
        self._listings: dict[str, dict[str, dict[str, Any]]] = {}
        self._per_dataset: dict[str, threading.Lock] = {}

    def check(self, kind: str, id: str, fetch: Callable[[str], Any]) -> None:
        """Call ``fetch(id)`` unless it already succeeded for (kind, id)."""
        if (kind, id) in self._ok:
            return
        fetch(id)
        with self._lock:
            self._ok.add((kind, id))

    def listing(self, dataset: str, fetch: Callable[[str], dict[str, dict[str, Any]]]
                ) -> dict[str, dict[str, Any]]:
        with self._lock:
            lock = self._per_dataset.setdefault(dataset, threading.Lock())
        with lock:
            if dataset not in self._listings:
                self._listings[dataset] = fetch(dataset)
            return self._listings[dataset]


class _Unreachable(Exception):
    """The server could not be reached; the entry stays queued."""


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
        Requests in flight at once; the server is never sent more.
    stop
        An event that, once set, makes the entries not yet started stay queued (Ctrl-C).
    lookups
        Shared answers of a batch (:class:`Lookups`); None: ask the server every time.
    post_attempts
        POSTs tried for one record (each after a look on the server) before giving up.
    lock_timeout
        Seconds to wait for another process uploading to the same dataset.
    wire
        The API generation's record form; None: the one ``client`` speaks.
    """

    def __init__(self, client: BrainstemClient, journal: Journal | None, *,
                 existing: Existing | None = Existing.SKIP, concurrency: int = 8,
                 post_attempts: int = 6, stop: threading.Event | None = None,
                 lookups: Lookups | None = None, lock_timeout: float = 600.0,
                 wire: Wire | None = None) -> None:
        self.client = client
        self.wire = wire or wire_for(getattr(client, "api", API_2023))
        self.lookups = lookups
        self.stop = stop or threading.Event()  # set: leave what is not started queued
        self.journal = journal
        self.existing = existing
        self.concurrency = max(1, concurrency)
        self.post_attempts = post_attempts
        self.lock_timeout = lock_timeout

    # -- planning -----------------------------------------------------------------------

    def server_records(self, dataset: str) -> dict[str, dict[str, Any]]:
        """The dataset's records on the server, by key (the first of any duplicates)."""
        out: dict[str, dict[str, Any]] = {}
        for rec in self.wire.records(self.client, dataset):
            out.setdefault(self.wire.key(rec), rec)
        return out

    def plan(self, entries: Sequence[Entry], on_server: Mapping[str, Mapping[str, Any]]
             ) -> list[tuple[Entry, str]]:
        """What each entry needs: create, update, adopt, unchanged, skip or conflict."""
        plan = []
        for e in entries:
            theirs = on_server.get(e.key)
            if theirs is None:
                plan.append((e, "create"))
            elif self.wire.same_content(e.record, theirs):
                plan.append((e, "unchanged" if e.state == "uploaded" else "adopt"))
            elif (policy := self._policy(e)) is Existing.UPDATE:
                plan.append((e, "update"))
            elif policy is Existing.SKIP:
                plan.append((e, "skip"))
            else:
                plan.append((e, "conflict"))
        return plan

    def _policy(self, e: Entry) -> Existing:
        if self.existing is not None:
            return self.existing
        try:
            return Existing(e.existing or Existing.SKIP.value)
        except ValueError:
            return Existing.SKIP

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
        size bounds what the server sees) or in a pool of ``concurrency`` threads.
        Raises the client's error (``TransportError``, or ``ServerError``/``RateLimited``
        after its retries) only if the dataset cannot be listed at all; entries are then
        untouched (still queued in the journal).
        """
        if not entries:
            return []
        if executor is None:
            with ThreadPoolExecutor(max_workers=self.concurrency,
                                    thread_name_prefix="bsingest-upload") as pool:
                return self.run(entries, progress=progress, executor=pool)
        outcomes: list[Outcome] = []
        for server, dataset in sorted({(e.server, e.dataset) for e in entries}):
            # Held from the listing to the last request: a POST decided from a listing is
            # safe only while no other process creates the same key (a push, a re-run).
            with self._journal().dataset_lock(server, dataset, self.lock_timeout):
                mine = [e for e in entries if (e.server, e.dataset) == (server, dataset)]
                self._run_dataset(dataset, mine, outcomes, progress, executor)
        return outcomes

    def _run_dataset(self, dataset: str, entries: Sequence[Entry], outcomes: list[Outcome],
                     progress: Callable[[Outcome], None] | None, executor: Executor) -> None:
        on_server = (self.lookups.listing(dataset, self.server_records) if self.lookups
                     else self.server_records(dataset))
        steps = self.plan(entries, on_server)
        futures = [executor.submit(self._do, e, step, on_server) for e, step in steps]
        try:
            for future in as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                if progress:
                    progress(outcome)
        except KeyboardInterrupt:
            # Ctrl-C: requests in flight finish and journal their outcome; the rest is not
            # started (it stays pending for the next run) instead of being run to the end
            # by the pool's shutdown.
            self.stop.set()
            for future in futures:
                future.cancel()
            raise

    def _do(self, e: Entry, step: str, on_server: Mapping[str, Mapping[str, Any]]) -> Outcome:
        theirs = on_server.get(e.key)
        their_id = theirs.get("id") if theirs else None
        if self.stop.is_set():
            return Outcome(e.dataset, e.key, e.path, QUEUED, None, "interrupted")
        try:
            if step in ("unchanged", "adopt"):
                self._journal().mark(e, "uploaded", server_id=their_id)
                return Outcome(e.dataset, e.key, e.path, UNCHANGED, their_id)
            if step in ("skip", "conflict"):  # say which fields differ
                differs = _differs(e.record, theirs, self.wire)
            if step == "skip":
                msg = (f"exists on the server with other values{differs}; "
                       "kept (--existing update changes it)")
                self._journal().mark(e, "skipped", server_id=their_id, error=msg)
                return Outcome(e.dataset, e.key, e.path, SKIPPED, their_id, msg)
            if step == "conflict":
                msg = (f"exists on the server with other values{differs} "
                       "(use --existing update to change it, or --existing skip)")
                self._journal().mark(e, "failed", server_id=their_id, error=msg)
                return Outcome(e.dataset, e.key, e.path, FAILED, their_id, msg)
            if step == "update":
                return self._update(e, str(their_id))
            return self._create(e)
        except _Unreachable as exc:
            return Outcome(e.dataset, e.key, e.path, QUEUED, None, str(exc))

    def _update(self, e: Entry, server_id: str) -> Outcome:
        changes = self.wire.changes(e.record)
        self._journal().mark(e, "sending", server_id=server_id, attempt=True)
        try:
            self.client.update(self.wire.model, server_id, changes)  # PATCH: retried
        except (TransportError, RateLimited, ServerError) as exc:
            self._journal().mark(e, "pending", error=str(exc))
            raise _Unreachable(str(exc)) from exc
        except ApiError as exc:
            self._journal().mark(e, "failed", error=str(exc))
            return Outcome(e.dataset, e.key, e.path, FAILED, server_id, str(exc))
        self._journal().mark(e, "uploaded", server_id=server_id)
        return Outcome(e.dataset, e.key, e.path, UPDATED, server_id)

    def _create(self, e: Entry) -> Outcome:
        last_error = ""
        for attempt in range(1, self.post_attempts + 1):
            # Written before the request goes out: if we die now, the next run looks first.
            self._journal().mark(e, "sending", attempt=True)
            try:
                body = self.client.create(self.wire.model, e.record)
            except (TransportError, ApiError) as exc:
                if isinstance(exc, ApiError) and _refused(exc):
                    # The server answered and did not write: a definite, lasting refusal.
                    self._journal().mark(e, "failed", error=str(exc))
                    return Outcome(e.dataset, e.key, e.path, FAILED, None, str(exc))
                last_error = str(exc)
                log.info("POST for %s: outcome unknown (%s); looking on the server", e.path, exc)
                found = self._look(e)
                if found is None:
                    self._journal().mark(e, "pending", error=last_error)
                    self._pause(attempt, exc)
                    # Look once more after the pause: a write that a gateway timed out on
                    # (504) may land late, and must not be created a second time.
                    found = self._look(e)
                if found is not None:
                    self._journal().mark(e, "uploaded", server_id=found)
                    return Outcome(e.dataset, e.key, e.path, CREATED, found)
                continue
            server_id = str(body.get("id"))
            self._journal().mark(e, "uploaded", server_id=server_id)
            return Outcome(e.dataset, e.key, e.path, CREATED, server_id)
        raise _Unreachable(f"gave up after {self.post_attempts} attempts: {last_error}")

    def _look(self, e: Entry) -> str | None:
        """The id of the dataset's record with ``e``'s key, if the server has one."""
        try:
            records = self.wire.records(self.client, e.dataset, type=e.record.get("type"))
        except (TransportError, ApiError) as exc:
            # Cannot tell whether the POST happened: leave it 'sending' for the next run.
            raise _Unreachable(f"cannot look on the server: {exc}") from exc
        for rec in records:
            if self.wire.key(rec) == e.key:
                return str(rec.get("id"))
        return None

    def _pause(self, attempt: int, exc: Exception) -> None:
        policy = self.client.retry
        if not policy.wait:
            return
        retry_after = getattr(exc, "retry_after", None)
        policy.sleep(policy.delay(attempt, retry_after))


def _refused(exc: ApiError) -> bool:
    """A 4xx answer (400, 401, 403, 404, 405, 413, ...): the server wrote nothing, and
    asking again will not change its mind. Not 408 or 429: those say "try again later"."""
    return isinstance(exc, Rejected | AuthError | NotFound) or (
        400 <= exc.status < 500 and exc.status not in (408, 429))


def summarize(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Count outcomes by kind."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    return counts
