"""The durable outbox: what bsingest means to upload, and what became of it.

One SQLite file (``<user data dir>/bsingest/journal.sqlite``, or ``BSINGEST_JOURNAL``, or
``--journal``) with a row per (server, dataset, record key). A row holds the record's
POST body, a fingerprint of its file, a state, the server's id once known, and the API
generation the body is written for (``api``: ``2023``, Experiment Data in a dataset, or
``2026``, Data Acquisition in a session; the ``dataset`` column then holds the session).
Sessions that ``--create-session`` makes have rows of their own (:meth:`Journal.session`).
Every state change is committed before what depends on it is done (a row's ``sending``
before its request; several rows' at once with :meth:`Journal.mark_all`; an upload's
outcome with the next write, :meth:`Journal.mark_soon`), so a run killed at any point
leaves a journal that the next run (or ``bsingest push``) continues from.

States::

    pending  --POST/PATCH sent-->  sending  --answer-->  uploaded
       ^                              |                      |
       +---- outcome unknown ---------+     (file changed) --+--> pending
    failed   the server refused the record (400) or the file could not be described
    skipped  the record exists on the server and ``--existing skip`` kept it as it is

``sending`` is written *before* a request goes out: a row found in ``sending`` may have
been created on the server, so it is resolved by looking there before any new POST. It
may be written well before (an upload writes it for the next wave of POSTs at once): a
row left ``sending`` whose request never went out is looked for like the others, found
missing, and sent then.

Looking, then POSTing, is only safe if no one else POSTs the same key in between: every
run that uploads to a dataset holds :meth:`Journal.dataset_lock` (a lock file beside the
journal, see :mod:`bsingest.locks`, shared by the threads of one process) from its listing
to its last request, so a ``bsingest push`` and an ``ingest`` of the same session take
turns. Runs with other journals (another machine) never meet that lock: they converge
afterwards instead, by reading back what they wrote (:mod:`bsingest.uploader`).

A row never stops another: a record that cannot be stored (a value JSON cannot carry, a
file name that is not UTF-8) is refused alone with :class:`~bsingest.errors.RecordInvalid`
naming the file; text from file names is stored, and shown, with undecodable bytes
escaped (:func:`shown`); a stored record that cannot be read back is read as empty, which
the server refuses, so that row fails alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import JournalError, RecordInvalid
from .locks import exclusive

if TYPE_CHECKING:
    from filelock import BaseFileLock

__all__ = ["STATES", "Entry", "Journal", "SessionRow", "default_journal_path", "shown"]

STATES = ("pending", "sending", "uploaded", "failed", "skipped")
_OPEN_TIMEOUT = 30.0  # seconds a new journal may stay locked by another process creating it

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    server      TEXT NOT NULL,
    dataset     TEXT NOT NULL,
    key         TEXT NOT NULL,
    path        TEXT NOT NULL,
    record      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state       TEXT NOT NULL,
    server_id   TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    updated_at  REAL NOT NULL,
    existing    TEXT,
    api         TEXT NOT NULL DEFAULT '2023',
    PRIMARY KEY (server, dataset, key)
);
CREATE INDEX IF NOT EXISTS entries_state ON entries (state);
CREATE TABLE IF NOT EXISTS sessions (
    server      TEXT NOT NULL,
    name        TEXT NOT NULL,
    project     TEXT NOT NULL,
    folder      TEXT NOT NULL,
    state       TEXT NOT NULL,
    server_id   TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (server, name)
);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One journal row."""

    server: str
    dataset: str
    key: str
    path: str
    record: dict[str, Any]
    fingerprint: str
    state: str
    server_id: str | None
    attempts: int
    last_error: str | None
    updated_at: float
    existing: str | None = None  # the --existing policy of the run that staged it
    api: str = "2023"  # the API generation ``record`` is written for (``dataset``: session)


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session that ``--create-session`` makes: its state and, once known, its id."""

    server: str
    name: str
    project: str
    folder: str
    state: str
    server_id: str | None
    attempts: int
    last_error: str | None


def default_journal_path() -> Path:
    """``BSINGEST_JOURNAL``, else ``journal.sqlite`` in the user data directory."""
    env = os.environ.get("BSINGEST_JOURNAL")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("bsingest", appauthor=False)) / "journal.sqlite"


class Journal:
    """The SQLite outbox. Safe to share between threads of one process."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        self._lock = threading.RLock()
        # Outcomes to write with the next write (mark_soon): rows for _MARK. Their own
        # lock, never held across a statement: a request's thread leaves its outcome
        # without waiting for a transaction another thread has open.
        self._later: list[tuple[Any, ...]] = []
        self._later_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"journal {shown(str(self.path))}: cannot open: {exc}") from exc
        # Two processes creating the journal at the same moment: switching to WAL (and
        # the first CREATE) needs the file to itself, and SQLite answers "database is
        # locked" at once instead of waiting. The loser waits a moment and tries again.
        deadline = time.monotonic() + _OPEN_TIMEOUT
        while True:
            try:
                self._db = self._open()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise JournalError(f"journal {shown(str(self.path))}: cannot open: {exc}"
                                       ) from exc
                if time.monotonic() >= deadline:
                    raise JournalError(f"journal {shown(str(self.path))}: cannot open: {exc} "
                                       f"(for {_OPEN_TIMEOUT:g} s)") from exc
                time.sleep(random.uniform(0.01, 0.1))
            except (OSError, sqlite3.Error) as exc:
                raise JournalError(f"journal {shown(str(self.path))}: cannot open: {exc}"
                                   ) from exc

    def _open(self) -> sqlite3.Connection:
        # autocommit mode: every statement commits unless inside _tx().
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                             check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives the process being killed at any point (the
            # failure that matters here); FULL would add an fsync per state change, three
            # per record, which costs more than the upload on a slow disk.
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            columns = {r[1] for r in db.execute("PRAGMA table_info(entries)")}
            if "existing" not in columns:  # a journal written before the column existed
                db.execute("ALTER TABLE entries ADD COLUMN existing TEXT")
            if "api" not in columns:  # written before the current API: every row is 2023's
                db.execute("ALTER TABLE entries ADD COLUMN api TEXT NOT NULL DEFAULT '2023'")
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._lock:
            try:
                self.flush()
            finally:
                self._db.close()

    def dataset_lock(self, server: str, dataset: str, timeout: float = 600.0
                     ) -> contextlib.AbstractContextManager[None]:
        """Hold the uploads to (server, dataset) against other processes.

        Threads of one process share the lock (a batch delivers several sessions of one
        dataset at once, with disjoint keys); another process waits up to ``timeout``
        seconds, then gets a one-line :class:`~bsingest.errors.BsingestError`.
        """
        name = hashlib.sha256(f"{server}\0{dataset}".encode()).hexdigest()[:24]
        path = self.path.parent / "locks" / f"dataset-{name}.lock"
        return _shared_flock(path, timeout, f"dataset {dataset}: another bsingest run is "
                                            "uploading to it")

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction, with the outcomes :meth:`mark_soon` left for it first."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                with self._later_lock:
                    later = self._later[:]
                if later:
                    self._db.executemany(_MARK, later)
                yield self._db
                self._db.execute("COMMIT")
                if later:
                    with self._later_lock:
                        del self._later[:len(later)]
            except sqlite3.Error as exc:
                self._rollback()
                raise JournalError(f"journal {self.path}: {exc}") from exc
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    # -- reading ---------------------------------------------------------------------

    def get(self, server: str, dataset: str, key: str) -> Entry | None:
        rows = self._select("WHERE server=? AND dataset=? AND key=?", (server, dataset, key))
        return rows[0] if rows else None

    def entries(self, *, server: str | None = None, dataset: str | None = None,
                states: Sequence[str] | None = None, api: str | None = None) -> list[Entry]:
        where, args = [], []
        if api is not None:
            where.append("api=?")
            args.append(api)
        if server is not None:
            where.append("server=?")
            args.append(server)
        if dataset is not None:
            where.append("dataset=?")
            args.append(dataset)
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            args += list(states)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        return self._select(clause + " ORDER BY server, dataset, path, key", tuple(args))

    def counts(self) -> dict[tuple[str, str, str], int]:
        """(server, dataset, state) -> number of rows."""
        with self._lock:
            self.flush()
            try:
                rows = self._db.execute(
                    "SELECT server, dataset, state, COUNT(*) FROM entries "
                    "GROUP BY server, dataset, state").fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: {exc}") from exc
        return {(s, d, st): n for s, d, st, n in rows}

    def _select(self, clause: str, args: tuple[Any, ...]) -> list[Entry]:
        with self._lock:
            self.flush()
            try:
                rows = self._db.execute(
                    "SELECT server, dataset, key, path, record, fingerprint, state, server_id, "
                    f"attempts, last_error, updated_at, existing, api FROM entries {clause}",
                    args).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: {exc}") from exc
        return [Entry(r[0], r[1], r[2], r[3], _record(r[4]), *r[5:]) for r in rows]

    # -- writing: one transaction per change --------------------------------------------

    def stage(self, server: str, dataset: str, key: str, path: str, record: dict[str, Any],
              fingerprint: str, existing: str | None = None, api: str = "2023") -> Entry:
        """Make sure a row says what should be on the server; return it as it now stands.

        A new key, or a record or file that changed since the last run, becomes
        ``pending``; an unchanged row keeps its state (and its server id). ``existing``
        (the run's ``--existing`` policy) is kept, so that ``bsingest push`` finishes the
        row the way the run that queued it asked. ``api`` is the generation ``record`` is
        written for.
        """
        body = _storable(path, key, record)
        with self._tx() as db:
            self._stage_row(db, server, dataset, key, path, body, fingerprint, existing, api)
        entry = self.get(server, dataset, key)
        assert entry is not None
        return entry

    def stage_all(self, server: str, dataset: str,
                  records: Sequence[tuple[str, str, dict[str, Any], str]],
                  existing: str | None = None, api: str = "2023"
                  ) -> list[Entry | RecordInvalid]:
        """:meth:`stage` for a session's records, ``(path, key, record, fingerprint)``, in
        one transaction (a batch stages sessions while other sessions' requests, which
        write the journal too, go on); in their order, each row as it now stands, or the
        :class:`~bsingest.errors.RecordInvalid` of a record the journal cannot hold."""
        bodies: list[str | RecordInvalid] = []
        for path, key, record, _ in records:
            try:
                bodies.append(_storable(path, key, record))
            except RecordInvalid as exc:
                bodies.append(exc)
        with self._tx() as db:
            for (path, key, _, fingerprint), body in zip(records, bodies, strict=True):
                if isinstance(body, str):
                    self._stage_row(db, server, dataset, key, path, body, fingerprint,
                                    existing, api)
        keys = [key for (_, key, _, _), body in zip(records, bodies, strict=True)
                if isinstance(body, str)]
        rows: dict[str, Entry] = {}
        for i in range(0, len(keys), _KEYS_PER_SELECT):
            part = keys[i:i + _KEYS_PER_SELECT]
            rows.update((e.key, e) for e in self._select(
                f"WHERE server=? AND dataset=? AND key IN ({','.join('?' * len(part))})",
                (server, dataset, *part)))
        return [body if isinstance(body, RecordInvalid) else rows[key]
                for (_, key, _, _), body in zip(records, bodies, strict=True)]

    @staticmethod
    def _stage_row(db: sqlite3.Connection, server: str, dataset: str, key: str, path: str,
                   body: str, fingerprint: str, existing: str | None, api: str) -> None:
        row = db.execute("SELECT record, fingerprint, state FROM entries "
                         "WHERE server=? AND dataset=? AND key=?",
                         (server, dataset, key)).fetchone()
        now = time.time()
        if row is None:
            db.execute("INSERT INTO entries (server, dataset, key, path, record, fingerprint,"
                       " state, updated_at, existing, api) "
                       "VALUES (?,?,?,?,?,?, 'pending', ?, ?, ?)",
                       (server, dataset, key, path, body, fingerprint, now, existing, api))
        elif row[0] != body or row[1] != fingerprint or row[2] == "failed":
            # 'sending' stays 'sending': the last request's outcome is still unknown.
            state = "sending" if row[2] == "sending" else "pending"
            db.execute("UPDATE entries SET path=?, record=?, fingerprint=?, state=?, "
                       "last_error=NULL, updated_at=?, api=? "
                       "WHERE server=? AND dataset=? AND key=?",
                       (path, body, fingerprint, state, now, api, server, dataset, key))
        if row is not None and existing is not None:
            db.execute("UPDATE entries SET existing=? WHERE server=? AND dataset=? AND key=?",
                       (existing, server, dataset, key))

    def rename_keys(self, server: str, dataset: str, renames: dict[str, str]) -> int:
        """Give rows staged under an old key (``old -> new``) their new key; return how many.

        Rows bsingest 0.1 staged are keyed ``type|bare name|stream``; the same record is
        now ``type|path#part``. Renaming keeps the row's state and server id, so that a
        record uploaded (or maybe uploaded: ``sending``) under the old key is not sent
        again. Where a row of the new key exists already, the old row is dropped.
        """
        done = 0
        with self._tx() as db:
            for old, new in renames.items():
                if old == new:
                    continue
                where = (server, dataset, old)
                if db.execute("SELECT 1 FROM entries WHERE server=? AND dataset=? AND key=?",
                              where).fetchone() is None:
                    continue
                taken = db.execute("SELECT 1 FROM entries WHERE server=? AND dataset=? AND "
                                   "key=?", (server, dataset, new)).fetchone()
                if taken:
                    db.execute("DELETE FROM entries WHERE server=? AND dataset=? AND key=?",
                               where)
                else:
                    db.execute("UPDATE entries SET key=? WHERE server=? AND dataset=? AND key=?",
                               (new, *where))
                done += 1
        return done

    def session(self, server: str, name: str) -> SessionRow | None:
        """The row of a session ``--create-session`` makes (or made) on ``server``."""
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT server, name, project, folder, state, server_id, attempts, "
                    "last_error FROM sessions WHERE server=? AND name=?",
                    (server, name)).fetchone()
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: {exc}") from exc
        return SessionRow(*row) if row else None

    def sessions(self, server: str | None = None) -> list[SessionRow]:
        """Every session row (of ``server``, if given), by server and name."""
        where, args = ("WHERE server=? ", (server,)) if server is not None else ("", ())
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT server, name, project, folder, state, server_id, attempts, "
                    f"last_error FROM sessions {where}ORDER BY server, name", args).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: {exc}") from exc
        return [SessionRow(*r) for r in rows]

    def mark_session(self, server: str, name: str, project: str, folder: str, state: str, *,
                     server_id: str | None = None, error: str | None = None,
                     attempt: bool = False) -> None:
        """Write a session row's state (``sending`` before its POST goes out)."""
        if state not in STATES:
            raise ValueError(state)
        with self._tx() as db:
            db.execute(
                "INSERT INTO sessions (server, name, project, folder, state, server_id, attempts,"
                " last_error, updated_at) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (server, name) DO UPDATE SET project=excluded.project, "
                "folder=excluded.folder, state=excluded.state, "
                "server_id=COALESCE(excluded.server_id, server_id), "
                "attempts=attempts+excluded.attempts, last_error=excluded.last_error, "
                "updated_at=excluded.updated_at",
                (server, name, project, folder, state, server_id, int(attempt), error,
                 time.time()))

    def mark(self, entry: Entry, state: str, *, server_id: str | None = None,
             error: str | None = None, attempt: bool | int = False) -> None:
        """Move a row to ``state`` (``server_id`` kept unless given; ``attempt`` counts one,
        or adds that many: -1 takes back one counted ahead, :meth:`mark_all`)."""
        if state not in STATES:
            raise ValueError(state)
        row = (state, server_id, shown(error) if error is not None else None, int(attempt),
               time.time(), entry.server, entry.dataset, entry.key)
        with self._lock:
            if self._later:
                with self._tx() as db:
                    db.execute(_MARK, row)
                return
            # One statement, its own transaction (the connection autocommits): BEGIN and
            # COMMIT around it were two more calls, each letting go of the GIL and waiting
            # to get it back, on the thread that sends the next request.
            try:
                self._db.execute(_MARK, row)
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: {exc}") from exc

    def mark_soon(self, entry: Entry, state: str, *, server_id: str | None = None) -> None:
        """:meth:`mark`, written with the journal's next write, in its transaction.

        For an upload's outcome (``uploaded``), on the thread that sends the next request,
        which never waits for a transaction another thread holds: two writes per request,
        each waiting for the journal, kept the requests in flight at 7.6 of 8 where the
        ideal client keeps 7.8 (benchmarks/RESULTS.md, issue 25).
        Safe to lose in a crash: the row says ``sending`` until it is written, and a run
        reads such a row back from the server before it sends it again. Reads and
        :meth:`close` write it first.
        """
        if state not in STATES:
            raise ValueError(state)
        row = (state, server_id, None, 0, time.time(), entry.server, entry.dataset, entry.key)
        with self._later_lock:
            self._later.append(row)

    def mark_all(self, entries: Sequence[Entry], state: str, *, attempt: bool | int = False
                 ) -> None:
        """:meth:`mark` for several rows, in one transaction (with what :meth:`mark_soon`
        left): the ``sending`` of the next POSTs, written ahead of them
        (:mod:`bsingest.uploader`), so that no request waits for a write of its own."""
        if state not in STATES:
            raise ValueError(state)
        if not entries:
            return
        now = time.time()
        rows = [(state, None, None, int(attempt), now, e.server, e.dataset, e.key)
                for e in entries]
        with self._tx() as db:
            db.executemany(_MARK, rows)

    def flush(self) -> None:
        """Write what :meth:`mark_soon` left, now."""
        if self._later:
            with self._lock, self._tx():
                pass


_MARK = ("UPDATE entries SET state=?, server_id=COALESCE(?, server_id), last_error=?, "
         "attempts=attempts+?, updated_at=? WHERE server=? AND dataset=? AND key=?")

#: Keys in one ``IN (...)`` of a query (SQLite allows 999 parameters before 3.32).
_KEYS_PER_SELECT = 500


def shown(text: str) -> str:
    """``text`` as valid UTF-8: bytes a file name holds that are not UTF-8 (decoded with
    ``surrogateescape``, as Python does for file names) appear as ``\\xff`` escapes."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate not from a file name
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _storable(path: str, key: str, record: dict[str, Any]) -> str:
    """The record as the journal stores it; RecordInvalid (naming the file) when it cannot
    be: a value JSON cannot carry (NaN, Infinity, an object), or text that is not UTF-8
    (a file name with other bytes: the server keeps text, so no record can name it)."""
    try:
        body = json.dumps(record, sort_keys=True, allow_nan=False)
        json.dumps(record, ensure_ascii=False).encode("utf-8")
        (path + key).encode("utf-8")
    except UnicodeEncodeError:
        raise RecordInvalid(["the file name is not valid UTF-8, and a record's fileName "
                             "must be text; rename the file"], subject=shown(path)) from None
    except (TypeError, ValueError) as exc:
        raise RecordInvalid([f"cannot be stored as JSON ({exc})"], subject=shown(path)) from None
    return body


def _record(text: str) -> dict[str, Any]:
    """A stored record; one that cannot be read back becomes an empty record, which the
    server refuses (that entry fails alone) instead of stopping every read of the journal."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class _Held:
    """A lock file this process holds, and how many of its threads are inside."""

    acquiring: threading.Lock
    lock: BaseFileLock | None = None
    users: int = 0


_held_guard = threading.Lock()
_held: dict[str, _Held] = {}


@contextmanager
def _shared_flock(path: Path, timeout: float, busy: str) -> Iterator[None]:
    """An exclusive lock file on ``path`` against other processes, shared by our threads."""
    with _held_guard:
        held = _held.setdefault(str(path), _Held(threading.Lock()))
    with held.acquiring:
        if held.users == 0:
            held.lock = exclusive(path, timeout, busy)
        held.users += 1
    try:
        yield
    finally:
        with held.acquiring:
            held.users -= 1
            if held.users == 0 and held.lock is not None:
                held.lock.release()
                held.lock = None
