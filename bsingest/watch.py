"""Watch a folder of session folders and ingest each session once it is complete.

A rig writes a session over hours; ``bsingest watch ROOT --match GLOB`` notices it through
the operating system's file events (``watchdog``: inotify, FSEvents, ReadDirectoryChangesW)
or, where those do not arrive (network shares: NFS, SMB/CIFS, sshfs), by polling. A session
is complete when its files have not changed for ``settle`` seconds, or sooner when a
completion marker is there (:func:`signature`); it is then ingested by
:func:`bsingest.ingest.ingest`, exactly as ``bsingest ingest`` does (the journal and the
server's listing make a second run create nothing twice).

State is small on purpose: per session folder one 16-byte signature (a hash of every
file's path, size and mtime) and, for sessions not yet ingested, when it last changed. The
signature of each ingested state is kept in ``watch.sqlite`` beside the journal, so a new
watcher (after a crash, a reboot, ``kill -9``) scans once at start, ingests what changed
while none ran, and leaves alone what it had done.

Offline: records a run could not send stay queued in the journal; the loop pushes them
(and re-ingests sessions that could not even be staged, e.g. a session to create or look
up by name) with exponential back-off from 1 s to ``retry_max``, sleeping in between.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import logging
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .errors import UNAVAILABLE, BsingestError, UsageError

if TYPE_CHECKING:
    from .ingest import FileResult, IngestReport

__all__ = ["DEFAULT_SETTLE", "NETWORK_FS", "Signature", "WatchOptions", "Watcher",
           "needs_polling", "session_of", "signature"]

log = logging.getLogger(__name__)

#: Seconds without change after which a session counts as complete. Rigs flush their files
#: at least every second while recording, and an SMB client caches file sizes and times for
#: 10 s (Windows' FileInfoCacheLifetime): a minute is far longer than either, and the
#: records still arrive about a minute after the recording stops.
DEFAULT_SETTLE = 60.0
#: Polling interval when ROOT is on a network share and none is given.
DEFAULT_POLL = 30.0
#: With a completion marker, the files only need to be still for this long (or ``settle``
#: if shorter): the acquisition program closes its other files as it writes the marker.
MARKER_SETTLE = 2.0
#: File systems whose changes made by another machine raise no local file event.
NETWORK_FS = frozenset({"nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "fuse.sshfs",
                        "sshfs", "9p", "afs", "fuse.rclone", "davfs", "fuse.davfs2",
                        "ceph", "fuse.ceph", "glusterfs", "fuse.glusterfs", "lustre"})
#: The watcher's own state, beside the journal.
STATE_FILE = "watch.sqlite"



@dataclass(frozen=True)
class Signature:
    """What a session folder holds now, in a few bytes."""

    digest: bytes  # blake2b of every file's (path, size, mtime), sorted
    files: int
    marked: bool  # a completion marker is there


@dataclass(frozen=True)
class WatchOptions:
    """How ``bsingest watch`` decides that a session is complete, and how it looks."""

    root: Path
    match: str = "*"
    settle: float = DEFAULT_SETTLE
    #: Seconds between polls; None: file events (with a full rescan every ``rescan`` s,
    #: for events the OS dropped, e.g. an inotify queue overflow).
    poll: float | None = None
    #: File name globs whose presence anywhere in a session marks it complete.
    markers: tuple[str, ...] = ()
    #: SpikeGLX writes a stream's ``.meta`` when it closes the ``.bin``: a session where
    #: every ``.bin`` has its ``.meta`` is complete.
    spikeglx: bool = True
    rescan: float = 600.0
    retry_max: float = 300.0


def needs_polling(root: Path) -> str | None:
    """Why ``root`` must be polled (a network file system), or None when events work.

    Linux: the file system type of the mount holding ``root`` (``/proc/mounts``) is one of
    :data:`NETWORK_FS`. Windows: ``root`` is a UNC path (``\\\\server\\share``) or on a
    mapped network drive. Elsewhere (macOS): events, unless ``--poll`` says otherwise.
    """
    if sys.platform == "win32":
        text = str(root)
        if text.startswith(("\\\\", "//")):
            return f"{root} is a UNC path (a network share)"
        drive = os.path.splitdrive(os.path.abspath(text))[0]
        with contextlib.suppress(Exception):
            import ctypes

            if drive and ctypes.windll.kernel32.GetDriveTypeW(drive + "\\") == 4:  # REMOTE
                return f"{drive} is a network drive"
        return None
    try:
        with open("/proc/mounts", encoding="utf-8", errors="replace") as fh:
            mounts = [line.split() for line in fh]
    except OSError:
        return None
    where = os.path.realpath(root)
    best: tuple[str, str] | None = None
    for fields in mounts:
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = where == point or where.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) > len(best[0])):
            best = (point, fields[2])
    if best and (best[1] in NETWORK_FS or best[1].startswith(("nfs", "smb", "fuse.sshfs"))):
        return f"{root} is on {best[1]} (mounted at {best[0]})"
    return None


def check_match(match: str) -> tuple[str, ...]:
    """The glob's steps; one line naming --match when it cannot name session folders."""
    steps = PurePosixPath(match.replace("\\", "/")).parts
    if not steps or any(s in ("**", "..", ".") for s in steps) or steps[0] == "/":
        raise UsageError(f"--match {match!r}: a glob of folders below ROOT, one step per "
                         "level (e.g. '*' or 'rat*/2024-*'; no '**', '..' or absolute path)")
    return steps


def session_of(root: Path, steps: tuple[str, ...], path: str | os.PathLike[str]) -> Path | None:
    """The session folder under ``root`` holding ``path`` (an event's), if any."""
    try:
        rel = Path(path).relative_to(root).parts
    except ValueError:
        return None
    if len(rel) < len(steps):
        return None
    head = rel[:len(steps)]
    if all(fnmatch.fnmatch(part, step) for part, step in zip(head, steps, strict=True)):
        return root.joinpath(*head)
    return None


def session_markers(folder: Path) -> tuple[str, ...]:
    """The completion markers a session's ``bsingest.toml`` names (``[watch] markers``)."""
    from .sessionconfig import SESSION_FILE, present, read_toml

    path = folder / SESSION_FILE
    if not present(path):
        return ()
    try:
        table = read_toml(path).get("watch") or {}
    except BsingestError as exc:
        log.warning("%s", exc)
        return ()
    markers = table.get("markers", ()) if isinstance(table, dict) else ()
    if isinstance(markers, str):
        markers = [markers]
    if not isinstance(markers, list) or not all(isinstance(m, str) for m in markers):
        log.warning("%s: [watch] markers must be a list of file name globs", path)
        return ()
    return tuple(markers)


def signature(folder: Path, options: WatchOptions, markers: tuple[str, ...] = ()
              ) -> Signature | None:
    """The folder's :class:`Signature`; None when it is gone. ``markers``: the session's
    own, beside ``options.markers``."""
    markers = (*options.markers, *markers)
    h = hashlib.blake2b(digest_size=16)
    entries: list[tuple[str, int, int]] = []
    names: set[str] = set()
    marked = False
    stack = [(folder, "")]
    while stack:
        here, prefix = stack.pop()
        try:
            with os.scandir(here) as it:
                for entry in it:
                    rel = prefix + entry.name
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append((Path(entry.path), rel + "/"))
                            continue
                        st = entry.stat()
                    except OSError:  # removed while we looked
                        continue
                    entries.append((rel, st.st_size, st.st_mtime_ns))
                    names.add(rel)
                    if not marked and any(fnmatch.fnmatch(entry.name, m)
                                          for m in markers):
                        marked = True
        except FileNotFoundError:
            if here == folder:
                return None
        except OSError as exc:
            log.warning("%s: cannot list: %s", here, exc)
    entries.sort()
    for rel, size, mtime in entries:
        h.update(f"{rel}\0{size}\0{mtime}\n".encode("utf-8", "surrogateescape"))
    if not marked and options.spikeglx:
        bins = [n for n in names if n.endswith(".bin")]
        marked = bool(bins) and all(n[:-4] + ".meta" in names for n in bins)
    return Signature(h.digest(), len(entries), marked)


class _State:
    """The signature of each session's last ingested state (``watch.sqlite``)."""

    def __init__(self, path: Path, root: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One thread at a time uses it (the loop's), not always the one that opened it.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS done (root TEXT, folder TEXT, "
                         "digest BLOB, at REAL, PRIMARY KEY (root, folder))")
        self._root = str(root.resolve())

    def load(self) -> dict[str, bytes]:
        rows = self._db.execute("SELECT folder, digest FROM done WHERE root = ?", (self._root,))
        return {folder: bytes(digest) for folder, digest in rows}

    def save(self, folder: str, digest: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO done VALUES (?, ?, ?, ?)",
                         (self._root, folder, digest, time.time()))

    def close(self) -> None:
        self._db.close()


class Watcher:
    """The loop of ``bsingest watch``: notice, wait for the settle, ingest, retry.

    ``ingest_session(folder)`` ingests one session (``bsingest.ingest.ingest`` with the
    run's IDs) and returns its report; ``push()`` sends what the journal holds queued and
    returns the outcomes. Both may raise an unavailable-server error, which is retried.
    """

    def __init__(self, options: WatchOptions, *, ingest_session: Callable[[Path], IngestReport],
                 push: Callable[[], list[FileResult]], state_dir: Path,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.options = options
        self.root = options.root
        self.steps = check_match(options.match)
        self._ingest = ingest_session
        self._push = push
        self._clock = clock
        self._state = _State(state_dir / STATE_FILE, self.root)
        self.done: dict[str, bytes] = self._state.load()
        #: Sessions changed since their last ingest: [signature or None, last change].
        self.pending: dict[str, list[Any]] = {}
        #: Sessions whose ingest could not even stage its records (server down).
        self.retry: set[str] = set()
        self.queued = True  # the journal may hold records of an earlier run: push at start
        self._backoff = 1.0
        self._next_retry = 0.0
        self._next_scan = float("inf")
        self.events: queue.Queue[str | None] = queue.Queue()
        self.stop = threading.Event()
        self.ingested = 0  # sessions ingested by this watcher (tests, the log)

    # -- what changed ---------------------------------------------------------------------

    def sessions(self) -> Iterator[Path]:
        """Every session folder now under ROOT."""
        return (p for p in self.root.glob("/".join(self.steps)) if p.is_dir())

    def scan(self) -> int:
        """Compare every session with what was ingested (at start, and every poll); the
        number of session folders."""
        now = self._clock()
        present = set()
        for folder in self.sessions():
            key = self._key(folder)
            present.add(key)
            sig = signature(folder, self.options)
            if sig is not None:
                self._observed(key, sig, now)
        for key in [k for k in self.pending if k not in present]:  # removed while pending
            del self.pending[key]
        return len(present)

    def _observed(self, key: str, sig: Signature, now: float) -> None:
        if self.done.get(key) == sig.digest:
            self.pending.pop(key, None)
            return
        if not sig.marked and key not in self.done:  # its bsingest.toml may name a marker
            own = session_markers(self.root / key)
            if own:
                sig = signature(self.root / key, self.options, own) or sig
        seen = self.pending.get(key)
        if seen is None:
            self.pending[key] = [sig, now]
        elif seen[0] is None:  # an event said it changed then; this is what it became
            seen[0] = sig
        elif seen[0] != sig:
            self.pending[key] = [sig, now]

    def changed(self, path: str) -> None:
        """A file event for ``path`` (the observer's thread puts it in the queue)."""
        folder = session_of(self.root, self.steps, path)
        if folder is not None:
            self.pending[self._key(folder)] = [None, self._clock()]

    def _key(self, folder: Path) -> str:
        return folder.relative_to(self.root).as_posix()

    # -- the loop -------------------------------------------------------------------------

    def due(self) -> list[str]:
        """Sessions still long enough to ingest now, after one more look at their files."""
        now = self._clock()
        ready = []
        for key, (sig, since) in list(self.pending.items()):
            quiet = now - since
            wait = self.options.settle
            if sig is not None and sig.marked and key not in self.done:
                wait = min(wait, MARKER_SETTLE)
            if quiet < wait:
                continue
            current = signature(self.root / key, self.options,
                                () if key in self.done else session_markers(self.root / key))
            if current is None:
                del self.pending[key]
            elif sig is not None and current != sig:  # changed with no event seen
                self.pending[key] = [current, now]
            elif self.done.get(key) == current.digest:
                del self.pending[key]
            else:
                self.pending[key] = [current, since]
                ready.append(key)
        return sorted(ready)

    def next_wakeup(self) -> float:
        """Seconds until something may be due (at most 5: the stop flag is looked at)."""
        now = self._clock()
        waits = [5.0, self._next_scan - now]
        for sig, since in self.pending.values():
            wait = self.options.settle
            if sig is not None and sig.marked:
                wait = min(wait, MARKER_SETTLE)
            waits.append(since + wait - now)
        if self.queued or self.retry:
            waits.append(self._next_retry - now)
        return max(0.05, min(waits))

    def ingest(self, key: str) -> None:
        """Ingest one settled session; remember it as done unless it must be retried."""
        folder = self.root / key
        sig = self.pending[key][0]
        log.info("%s: settled (%d files); ingesting", key, sig.files)
        try:
            report = self._ingest(folder)
        except UNAVAILABLE as exc:
            log.warning("%s: server unreachable (%s); will retry", key, exc)
            self.retry.add(key)
            self.pending.pop(key, None)
            return
        except BsingestError as exc:  # e.g. no IDs yet: tried again when its files change
            log.error("%s: %s", key, exc)
            report = None
        self.ingested += 1
        self.pending.pop(key, None)
        self.retry.discard(key)
        if report is not None:
            _log_report(report)
            counts = report.counts()
            if counts.get("queued"):
                self.queued = True
                # Queued before anything was staged (the session to create could not be):
                # push has nothing to send; only a new ingest does it.
                if report.dataset is None:
                    self.retry.add(key)
                    return
        self.done[key] = sig.digest
        self._state.save(key, sig.digest)

    def retry_due(self) -> None:
        """Push what the journal holds queued, then re-ingest the sessions to retry."""
        if not (self.queued or self.retry) or self._clock() < self._next_retry:
            return
        ok = True
        try:
            results = self._push()
            still = sum(r.outcome == "queued" for r in results)
            if results:
                log.info("push: %d records, %d still queued", len(results), still)
            ok = still == 0
        except UNAVAILABLE as exc:
            log.warning("push: server unreachable (%s)", exc)
            ok = False
        if ok:
            self.queued = False
            for key in sorted(self.retry):
                if self.stop.is_set():
                    return
                if (self.root / key).is_dir():
                    sig = signature(self.root / key, self.options)
                    if sig is not None:
                        self.pending[key] = [sig, 0.0]
                        self.ingest(key)
                else:
                    self.retry.discard(key)
            ok = not (self.queued or self.retry)
        if ok:
            self._backoff = 1.0
        else:
            log.info("retrying in %.0f s", self._backoff)
            self._next_retry = self._clock() + self._backoff
            self._backoff = min(self.options.retry_max, self._backoff * 2)

    def run(self) -> None:
        """Watch until :attr:`stop` is set (SIGTERM, Ctrl-C); what is in flight finishes."""
        observer = None
        try:
            interval = self.options.poll or self.options.rescan
            if self.options.poll is None:  # before the scan: nothing falls between the two
                try:
                    observer = self._observe()
                except OSError as exc:  # e.g. Linux's inotify watch limit (one per folder)
                    interval = DEFAULT_POLL
                    log.warning("no file events (%s): polling every %g s instead; on Linux, "
                                "raise fs.inotify.max_user_watches", exc, interval)
            found = self.scan()  # catch up with what arrived while no watcher ran
            log.info("watching %s (%s): %d sessions, %d to ingest once settled", self.root,
                     "file events" if observer is not None else f"polling every {interval:g} s",
                     found, len(self.pending))
            self._next_scan = self._clock() + interval
            while not self.stop.is_set():
                self._drain(self.next_wakeup())
                if self.stop.is_set():
                    break
                if self._clock() >= self._next_scan:
                    self.scan()
                    self._next_scan = self._clock() + interval
                for key in self.due():
                    if self.stop.is_set():
                        break
                    self.ingest(key)
                    self._drain(0)
                self.retry_due()
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=10)
            self._state.close()
        log.info("stopped; %d ingests by this run, %d sessions waiting to settle "
                 "(the next start picks them up)", self.ingested, len(self.pending))

    def _drain(self, timeout: float) -> None:
        try:
            item = self.events.get(timeout=timeout) if timeout > 0 else self.events.get_nowait()
        except queue.Empty:
            return
        while True:
            if item is not None:
                self.changed(item)
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                return

    def request_stop(self, *_: object) -> None:
        """Stop after what is in flight (a signal handler)."""
        self.stop.set()
        self.events.put_nowait(None)  # wake the loop

    def _observe(self) -> Any:
        from watchdog import events as ev
        from watchdog.observers import Observer

        events = self.events

        class Handler(ev.FileSystemEventHandler):
            def on_any_event(self, event: ev.FileSystemEvent) -> None:
                events.put(os.fsdecode(event.src_path))
                if getattr(event, "dest_path", ""):
                    events.put(os.fsdecode(event.dest_path))

        # Changes only: opening and reading (our own scans and ingests list every folder)
        # would flood inotify's queue with 2 events per folder per scan.
        changes: list[type[ev.FileSystemEvent]] = [
            ev.FileCreatedEvent, ev.DirCreatedEvent, ev.FileModifiedEvent, ev.DirModifiedEvent,
            ev.FileMovedEvent, ev.DirMovedEvent, ev.FileDeletedEvent, ev.DirDeletedEvent,
            ev.FileClosedEvent]
        observer = Observer()
        observer.schedule(Handler(), str(self.root), recursive=True, event_filter=changes)
        observer.daemon = True
        observer.start()
        return observer


def _log_report(report: IngestReport) -> None:
    for r in report.results:
        if r.outcome in ("failed", "queued"):
            log.warning("%s %s: %s%s", report.session, r.path, r.outcome,
                        f" ({r.error})" if r.error else "")
    if report.error:
        log.error("%s: %s", report.session, report.error)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(report.counts().items()))
    log.info("%s: %s", report.session, counts or "no records")
