"""Extraction as the rest of bsingest uses it: one path, or a whole session folder.

A bad file never stops the others: :func:`extract_paths` records each file's error
(one line, naming the file) and goes on.
"""

from __future__ import annotations

import functools
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from .errors import BsingestError
from .quantities import STATED

if TYPE_CHECKING:
    from extractors.base import Extraction, Extractor
    from extractors.run import Run

    from .sessionconfig import FileSettings, IngestOptions

__all__ = ["ExtractReport", "Share", "extract", "extract_folder", "extract_or_error",
           "extract_paths", "iter_extract", "iter_rendered", "unapplied_groups",
           "unapplied_notes"]

log = logging.getLogger(__name__)


@dataclass
class ExtractReport:
    """What came of extracting a set of paths."""

    extractions: list[Extraction] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # path -> one-line message
    skipped: dict[str, str] = field(default_factory=dict)  # path -> reason
    sidecars: dict[str, str] = field(default_factory=dict)  # sidecar path -> data file
    #: Records that left a stated value out (kept apart: a streamed run keeps no extractions).
    unapplied: list[Extraction] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def notes(self) -> list[str]:
        """Lines to tell the user once for the whole run (stated values not applied)."""
        return unapplied_notes(self.unapplied)

    def to_json(self) -> list[dict[str, Any]]:
        """The ``--json`` list: one entry per extraction, then one per error."""
        out: list[dict[str, Any]] = [e.to_json() for e in self.extractions]
        out += [{"path": p, "error": msg} for p, msg in self.errors.items()]
        return out


def extract(path: str | os.PathLike[str], *, record_type: str | None = None,
            verify: bool = False, **stated: Any) -> list[Extraction]:
    """Describe one file: its records, with provenance. Raises on a bad file.

    Parameters
    ----------
    path
        A recording file (``.dat``, ``.wav``, ``.mp4``, ...).
    record_type
        Restate the record type of a time-series file (e.g. ``"GeneralTimeSeries"``).
    verify
        Check what a container's index promises against the data: a video is decoded in
        full and, where the counts differ, ``nFrames`` is the decoded count with a warning
        giving both. As slow as playing the video; the default counts what the container
        stores, without decoding.
    **stated
        ``n_channels``, ``sr``, ``dtype``, ``lsb`` for files without a sidecar;
        ``excitation_wavelength``, ``laser_power``, ``imaging_depth`` with units
        (``"920 nm"``, ``"30 mW"``, ``"250 um"``) for imaging records.
    """
    return _extract_by(path, None, record_type, verify, stated)


def _extract_by(path: str | os.PathLike[str], owner: type[Extractor] | None,
                record_type: str | None, verify: bool, stated: Mapping[str, Any]
                ) -> list[Extraction]:
    """:func:`extract` by ``owner``, the family a folder's listing found for ``path``
    (whose the file is is decided once per file); None: decided here."""
    if owner is not None:
        return owner().extract(path, record_type=record_type, verify=verify, **stated)
    global _extractor_for
    find = _extractor_for
    if find is None:  # imported on first use (an import statement per file costs ~1 µs)
        from extractors import extractor_for

        find = _extractor_for = extractor_for
    return find(path).extract(path, record_type=record_type, verify=verify, **stated)  # type: ignore[no-any-return]


_extractor_for: Callable[[str | os.PathLike[str]], Any] | None = None


def extract_folder(path: str | os.PathLike[str], *, record_type: str | None = None,
                   verify: bool = False, **stated: Any) -> ExtractReport:
    """Describe every recognised file under a session folder; see :func:`extract_paths`."""
    return extract_paths([path], record_type=record_type, verify=verify, **stated)


def extract_paths(paths: Iterable[str | os.PathLike[str]], *, record_type: str | None = None,
                  verify: bool = False, **stated: Any) -> ExtractReport:
    """Describe files and folders. A folder means every recognised file in it.

    Files given by name are always tried (an unknown one is an error); files found in a
    folder that no extractor reads are listed in ``skipped`` with the reason. Each file
    is read with what ``ingest`` would state for it: its session's ``bsingest.toml``
    ``[[files]]`` rules (the session: the nearest folder at or above the path given that
    holds one), then ``record_type`` and ``stated``, which win.
    """
    report = ExtractReport()
    for found in iter_extract(paths, report, record_type=record_type, verify=verify, **stated):
        report.extractions += found
    return report


def iter_extract(paths: Iterable[str | os.PathLike[str]], report: ExtractReport, *,
                 record_type: str | None = None, verify: bool = False, **stated: Any
                 ) -> Iterator[list[Extraction]]:
    """:func:`extract_paths` file by file: yields each file's extractions as soon as they
    are known, and fills ``report``'s errors, skipped files and sidecars (not its
    extractions: a caller that streams them keeps no list of 100,000 records).

    One :class:`extractors.run.Run` spans the call: a sidecar many files share is read
    once, and a file's claims are worked out once.
    """
    given = [Path(raw) for raw in paths]
    # Every bsingest.toml is read (and a bad one said) here, before the first record is
    # given: a --json list must not stop half way.
    stated_for = _session_rules(given, record_type, stated)
    return _iter_extract(given, report, stated_for, verify)


def _iter_extract(paths: Sequence[Path], report: ExtractReport,
                  stated_for: Callable[[Path, str], FileSettings], verify: bool
                  ) -> Iterator[list[Extraction]]:
    from extractors.run import run

    with run() as r:
        for p, data, owners, root in _listings(paths, report):
            for named in _in_order(r, p, data, owners, root, report, stated_for, verify):
                if named:
                    yield named


#: A data file's family, as its folder's listing found it (None: decided when it is read).
Owner: TypeAlias = "type[Extractor] | None"


def _listings(paths: Sequence[Path], report: ExtractReport
              ) -> Iterator[tuple[Path, list[str], list[Owner], str]]:
    """(path given, its data files in reverse order, their families (None: to be decided
    when read), the folder their names are relative to) per path; a folder's skipped
    files and sidecars, and what is missing, go into ``report``."""
    from extractors import _sort_owned

    for p in paths:
        if not p.exists():
            report.errors[str(p)] = f"{p.name or p}: no such file or folder"
            continue
        data: list[str]
        owners: list[Owner]
        if p.is_dir():
            # The listing as text: a Path per file is made only where a family needs
            # one (100,000 Paths held for a run cost more than their headers' reading).
            # warm: the reader process starts when the listing meets its first file
            data, owners, sidecars, skipped = _sort_owned(p, warm=True)
            report.skipped.update(skipped)
            report.sidecars.update(sidecars)
            root = str(p)
            if not data:  # a folder named like a file (x.dat) must not pass for one
                report.errors[str(p)] = (f"{p.name or p}: is a folder, and no file in it "
                                         "is a recording bsingest reads")
        else:
            data, owners, root = [str(p)], [None], str(p.parent)
        data.reverse()  # taken from the end: each file's path is let go once read
        owners.reverse()
        yield p, data, owners, root


#: Files read here, at most, while one read in the reader process is waited for (their
#: records held back until it is done).
AHEAD_MAX = 256
#: Files of the reader process asked for ahead of their turn, at most (their records wait
#: for theirs).
AHEAD_JOBS = 16

# A file's records and the errors reading it gave, once read.
_Read: TypeAlias = "tuple[list[Extraction], ExtractReport]"


def _in_order(r: Run, given: Path, data: list[str], owners: list[Owner], root: str,
              report: ExtractReport, stated_for: Callable[[Path, str], FileSettings],
              verify: bool) -> Iterator[list[Extraction]]:
    """Each file's records (:func:`_extract_one`), taken from the end of ``data`` and
    ``owners`` (as :func:`_listings` gives them), in that order; ``report`` filled in it.

    The files whose family reads them in the reader process (:mod:`extractors._isolate`:
    NWB, DeepLabCut's HDF5, SLEAP, ...) are read on a thread of their own, which mostly
    waits for that process (which starts and imports h5py, ~0.2 s, on the other core, then
    answers in ~15 ms a file), up to :data:`AHEAD_JOBS` of them ahead of their turn. While
    this thread waits for one, it reads the files after it, up to :data:`AHEAD_MAX` of
    them, their records and errors held back until the files before them are done.
    Records and errors come in the listing's order, whatever was read first.
    """
    reader: _Reader | None = None
    held: deque[_Job | _Read] = deque()
    # Where in data the reader process's files are (the next one last: data is taken
    # from its end), and those of them asked for.
    later = [i for i, o in enumerate(owners)
             if o is not None and o.warm and o.warms(data[i])]  # see Extractor.warms
    asked: dict[int, _Job] = {}
    try:
        while data:
            while later and len(asked) < AHEAD_JOBS:
                if reader is None:
                    reader = _Reader()
                i = later.pop()
                asked[i] = reader.submit(functools.partial(
                    _read_apart, r, given, data[i], owners[i], root, stated_for, verify))
            job = asked.pop(len(data) - 1, None)
            f, owner = data.pop(), owners.pop()
            if job is not None:
                held.append(job)
            elif not held:  # the usual case: nothing waited for, read and given in turn
                yield _extract_one(r, given, f, owner, root, report, stated_for, verify)
                continue
            else:
                own = ExtractReport()
                held.append((_extract_one(r, given, f, owner, root, own, stated_for, verify),
                             own))
            while held and (len(held) >= AHEAD_MAX or not isinstance(held[0], _Job)
                            or held[0].done.is_set()):
                yield _give(report, held.popleft())
        while held:
            yield _give(report, held.popleft())
    finally:
        if reader is not None:
            reader.stop()


def _read_apart(r: Run, given: Path, f: str, owner: Owner, root: str,
                stated_for: Callable[[Path, str], FileSettings], verify: bool) -> _Read:
    own = ExtractReport()
    return _extract_one(r, given, f, owner, root, own, stated_for, verify), own


def _give(report: ExtractReport, item: _Job | _Read) -> list[Extraction]:
    """A held file's records, its errors merged into ``report`` (waiting for it if read
    on the reader thread)."""
    named, own = item.result() if isinstance(item, _Job) else item
    _merge(report, own)
    return named


class _Job:
    """A file read on the :class:`_Reader` thread: :meth:`result` waits for it."""

    __slots__ = ("done", "error", "fn", "value")

    def __init__(self, fn: Callable[[], _Read]) -> None:
        import threading

        self.fn = fn
        self.done = threading.Event()
        self.value: _Read | None = None
        self.error: BaseException | None = None

    def result(self) -> _Read:
        self.done.wait()
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


class _Reader:
    """One thread reading the files that wait on the reader process, in turn, in this
    run's context (its :class:`~extractors.run.Run`: sidecars and claims shared)."""

    def __init__(self) -> None:
        import contextvars
        import queue
        import threading

        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.stopped = False
        context = contextvars.copy_context()
        self.thread = threading.Thread(target=context.run, args=(self._loop,), daemon=True,
                                       name="bsingest-reader")
        self.thread.start()

    def submit(self, fn: Callable[[], _Read]) -> _Job:
        job = _Job(fn)
        self.jobs.put(job)
        return job

    def stop(self) -> None:
        """No more files; the thread ends after the one it reads, and reads no other it
        was asked for (not waited for: a run stopped early waits for no file nobody will
        read)."""
        self.stopped = True
        self.jobs.put(None)

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            if not self.stopped:
                try:
                    job.value = job.fn()
                except BaseException as exc:  # given to the caller, which raises it
                    job.error = exc
            job.done.set()


def _extract_one(r: Run, given: Path, f: str, owner: Owner, root: str, report: ExtractReport,
                 stated_for: Callable[[Path, str], FileSettings], verify: bool
                 ) -> list[Extraction]:
    """One file's records named relative to ``root``; its error goes into ``report``."""
    per_file = stated_for(given, f)
    extracted, error = _or_error(f, owner, per_file.record_type, verify, per_file.stated)
    r.claims.pop(f, None)  # asked once when listing, once when extracting: done
    if error is not None:
        report.errors[f] = error
    if not extracted:
        return extracted
    named = [x.relative_to(root) for x in extracted]
    report.unapplied += [x for x in named if x.unapplied]
    return named


# --- a folder of many files on several cores ----------------------------------------------

#: Files a folder must hold before forked workers share them (below it, starting a worker
#: costs more than it saves).
SHARE_MIN = 2000
#: At most this many processes read one folder (this one included).
SHARE_MAX = 4
#: Files per run dealt to a process, at least (a run costs a message and a wait).
RUN_MIN = 64


@dataclass
class Share:
    """A worker's run of a folder's files: ``count`` records, as :func:`iter_rendered`'s
    ``sep`` and ``render`` give them, UTF-8, read in pieces by :meth:`pieces`."""

    count: int
    fd: int
    start: int
    size: int

    def pieces(self, piece: int = 1 << 16) -> Iterator[bytes]:
        pos, end = self.start, self.start + self.size
        while pos < end:
            data = os.pread(self.fd, min(piece, end - pos), pos)
            if not data:
                raise OSError(f"a worker's output ends at byte {pos} of {end}")
            pos += len(data)
            yield data


def iter_rendered(paths: Iterable[str | os.PathLike[str]], report: ExtractReport,
                  render: Callable[[Extraction], str], sep: str, *,
                  record_type: str | None = None, verify: bool = False, **stated: Any
                  ) -> Iterator[str | Share]:
    """:func:`iter_extract`'s records as ``render`` writes each, in the same order, with
    ``report`` filled the same way.

    A folder of at least :data:`SHARE_MIN` files, on a POSIX machine with more than one
    core for this process and not kept busy by other work (load average below twice the
    cores), is shared with forked workers: its files
    are cut into runs dealt out in turn (this process reads every n-th run), a worker writes
    ``sep + render(record)`` per record (UTF-8) to a file, and each of its runs comes
    here as a :class:`Share`, in its place in the order. A worker that fails has its
    runs read here instead: the text is the same whatever the number of processes.
    """
    given = [Path(raw) for raw in paths]
    stated_for = _session_rules(given, record_type, stated)
    return _iter_rendered(given, report, render, sep, stated_for, verify)


def _iter_rendered(paths: Sequence[Path], report: ExtractReport,
                   render: Callable[[Extraction], str], sep: str,
                   stated_for: Callable[[Path, str], FileSettings], verify: bool
                   ) -> Iterator[str | Share]:
    from extractors.run import run

    with run() as r:
        for p, data, owners, root in _listings(paths, report):
            parts = _parts_for(len(data))
            if parts == 1:
                for named in _in_order(r, p, data, owners, root, report, stated_for, verify):
                    for x in named:
                        yield render(x)
                continue
            data.reverse()
            owners.reverse()
            size = max(RUN_MIN, min(1000, len(data) // (8 * parts)))
            runs = [(data[i:i + size], owners[i:i + size]) for i in range(0, len(data), size)]
            del data, owners
            yield from _shared(r, p, runs, parts, root, report, render, sep, stated_for,
                               verify)


#: A run of a folder's files: their paths, and their families as the listing found them.
FileRun: TypeAlias = "tuple[list[str], list[Owner]]"


def _read_run(r: Run, given: Path, files: FileRun, root: str,
              stated_for: Callable[[Path, str], FileSettings], verify: bool,
              render: Callable[[Extraction], str]) -> tuple[list[str], ExtractReport]:
    """One run's records as text, and its errors and notes in a report of their own."""
    own = ExtractReport()
    texts = [render(x) for f, owner in zip(*files, strict=True)
             for x in _extract_one(r, given, f, owner, root, own, stated_for, verify)]
    return texts, own


def _merge(report: ExtractReport, own: ExtractReport) -> None:
    report.errors.update(own.errors)
    report.unapplied += own.unapplied


def _shared(r: Run, given: Path, runs: list[FileRun], parts: int, root: str,
            report: ExtractReport, render: Callable[[Extraction], str], sep: str,
            stated_for: Callable[[Path, str], FileSettings], verify: bool
            ) -> Iterator[str | Share]:
    """Run ``j`` is read by process ``j % parts`` (this one is 0); the runs come out in
    order. This process reads its next run before waiting for the workers' runs before
    it, so it waits little while they read theirs."""
    workers = {k: _start(r, given, runs[k::parts], root, render, sep, stated_for, verify)
               for k in range(1, parts)}
    try:
        for j in range(0, len(runs), parts):
            texts, own = _read_run(r, given, runs[j], root, stated_for, verify, render)
            for i in range(max(0, j - parts + 1), j):  # the workers' runs before this one
                yield from _their_run(workers, i % parts, runs[i], r, given, root, report,
                                      render, stated_for, verify)
            _merge(report, own)
            yield from texts
            del texts
        last = (len(runs) - 1) // parts * parts  # this process's last run
        for i in range(last + 1, len(runs)):
            yield from _their_run(workers, i % parts, runs[i], r, given, root, report, render,
                                  stated_for, verify)
    finally:
        for worker in workers.values():
            if worker is not None:
                worker.close()


def _their_run(workers: dict[int, _Worker | None], k: int, files: FileRun, r: Run,
               given: Path, root: str, report: ExtractReport,
               render: Callable[[Extraction], str],
               stated_for: Callable[[Path, str], FileSettings], verify: bool
               ) -> Iterator[str | Share]:
    """Worker ``k``'s next run, or, if it has failed, the run read here."""
    worker = workers[k]
    done = worker.next_run() if worker is not None else None
    if done is None:
        if worker is not None:
            worker.close()
            workers[k] = None
        texts, own = _read_run(r, given, files, root, stated_for, verify, render)
        _merge(report, own)
        yield from texts
        return
    share, errors, unapplied = done
    report.errors.update(errors)
    report.unapplied += unapplied
    if share.count:
        yield share


def _parts_for(n_files: int) -> int:
    """How many processes share a folder of ``n_files``: 1 unless forking is safe here (a
    POSIX fork, no other thread, no reader process of :mod:`extractors._isolate` whose
    pipes a worker would share), there are cores and other work leaves them to us; at most
    :data:`SHARE_MAX`, or the environment's ``BSINGEST_WORKERS``."""
    import sys
    import threading

    if n_files < SHARE_MIN or not hasattr(os, "fork") or sys.platform == "darwin":
        return 1
    wanted = os.environ.get("BSINGEST_WORKERS", "")  # at most this many processes; 1: none
    limit = int(wanted) if wanted.isdigit() and int(wanted) > 0 else SHARE_MAX
    isolate = sys.modules.get("extractors._isolate")
    if threading.active_count() > 1 or getattr(isolate, "_worker", None) is not None:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    # On a machine that other work keeps busy (twice as many processes running as cores)
    # a worker only competes with this process: measured at a load of 5.5 on 2 cores, more
    # CPU and no less wall time; at 2.8, 100,000 WAVs took 5.6 s instead of 8.1 s.
    if os.getloadavg()[0] >= 2 * cores:
        return 1
    return max(1, min(cores, limit, n_files // (SHARE_MIN // 2)))


class _Worker:
    """A forked worker as its parent sees it: its process, the file its text goes to, and
    the pipe on which it says each run it has written (bytes, records, errors, notes)."""

    def __init__(self, pid: int, text: int, reports: int) -> None:
        self.pid, self.text, self.reports = pid, text, reports
        self.offset = 0
        self.reader = os.fdopen(reports, "rb")

    def next_run(self) -> tuple[Share, list[tuple[str, str]], list[Extraction]] | None:
        """The next run's text and report, once written; None if the worker failed."""
        import pickle
        import struct

        try:
            head = self.reader.read(8)
            if len(head) < 8:
                return None
            body = self.reader.read(struct.unpack("<Q", head)[0])
            size, count, errors, unapplied = pickle.loads(body)
        except Exception:  # a worker killed half way: its runs are read again
            return None
        share = Share(count, self.text, self.offset, size)
        self.offset += size
        return share, errors, unapplied

    def close(self) -> None:
        """End the worker (if it still runs) and let go of its file and pipe."""
        import signal

        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = 0
            self.reader.close()
            os.close(self.text)


def _start(r: Run, given: Path, runs: list[FileRun], root: str,
           render: Callable[[Extraction], str], sep: str,
           stated_for: Callable[[Path, str], FileSettings], verify: bool) -> _Worker | None:
    """Fork a worker that reads ``runs`` in turn, writing each run's text to a file and
    a line about it to a pipe; None when it cannot be started (its runs are read here)."""
    import pickle
    import struct
    import sys
    import tempfile

    text = tempfile.TemporaryFile()
    try:
        reports, said = os.pipe()
        pid = os.fork()
    except OSError:
        text.close()
        return None
    if pid:
        os.close(said)
        return _Worker(pid, os.dup(text.fileno()), reports)
    # The worker: never returns, never flushes what this process had buffered (stdout's
    # bytes belong to the parent), never runs the parent's exit handlers.
    code = 1
    try:
        os.close(reports)
        fd = text.fileno()
        for files in runs:
            texts, own = _read_run(r, given, files, root, stated_for, verify, render)
            data = "".join(sep + t for t in texts).encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            body = pickle.dumps((len(data), len(texts), list(own.errors.items()),
                                 own.unapplied))
            line = memoryview(struct.pack("<Q", len(body)) + body)
            while line:
                line = line[os.write(said, line):]
        code = 0
    except BaseException:  # the parent reads the runs not said
        try:
            log.exception("a worker reading %s failed; its files are read again", given)
            sys.stderr.flush()
        except BaseException:
            pass
    finally:
        os._exit(code)


def _session_rules(paths: Sequence[Path], record_type: str | None, stated: Mapping[str, Any]
                   ) -> Callable[[Path, str], FileSettings]:
    """What each file is read with, as ``ingest`` of its session reads it: the ``[[files]]``
    rules of the session's ``bsingest.toml`` (and of the user's config file), then the
    values of the call for every file, which win as ``ingest``'s command line does.

    A path's session is the nearest folder at or above it that holds a ``bsingest.toml``
    (a file's own folder when none does); rules match paths relative to it.
    """
    from .sessionconfig import SESSION_FILE, load_options, stated_rules

    call = stated_rules(record_type, stated)
    sessions: dict[Path, tuple[Path, IngestOptions, FileSettings | None]] = {}
    for p in paths:
        if p.exists() and p not in sessions:
            start = p if p.is_dir() else p.parent
            root = next((d for d in (start, *start.parents) if (d / SESSION_FILE).is_file()),
                        start)
            options = load_options(root)
            options = replace(options, rules=options.rules + call)
            # Without rules every file is read alike: the answer is worked out once.
            sessions[p] = (root, options, None if options.rules else options.for_file(""))

    def settings(given: Path, path: str) -> FileSettings:
        root, options, alike = sessions[given]
        if alike is not None:
            return alike
        file = Path(path)
        try:
            rel = file.relative_to(root).as_posix()
        except ValueError:
            rel = file.name
        return options.for_file(rel)

    return settings


def extract_or_error(path: str | os.PathLike[str], *, record_type: str | None = None,
                     verify: bool = False, **stated: Any) -> tuple[list[Extraction], str | None]:
    """:func:`extract`, with a failure returned as its one-line message instead of raised.

    For runs over many files, where one bad file must not stop the others: our own errors
    become their message; anything else is a bug, logged with its traceback and reported
    in one line too.
    """
    return _or_error(path, None, record_type, verify, stated)


def _or_error(path: str | os.PathLike[str], owner: Owner, record_type: str | None,
              verify: bool, stated: Mapping[str, Any]
              ) -> tuple[list[Extraction], str | None]:
    try:
        if owner is not None:  # _extract_by's first case, without its call (once per file)
            return owner().extract(path, record_type=record_type, verify=verify,
                                   **stated), None
        return _extract_by(path, None, record_type, verify, stated), None
    except BsingestError as exc:
        return [], str(exc)
    except Exception as exc:
        log.exception("unexpected error while extracting %s", path)
        return [], (f"{os.path.basename(path)}: unexpected {type(exc).__name__}: {exc} "
                    "(a bug in bsingest; please report it)")


#: Files named in a note; more are counted.
_NOTE_FILES = 5


class Declines(Protocol):
    """A record that may have left stated values out: an :class:`Extraction`, or the
    session report's view of one."""

    @property
    def file_name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def unapplied(self) -> Sequence[str]: ...


def unapplied_groups(records: Iterable[Declines]) -> list[tuple[str, list[str], list[str]]]:
    """(stated value, the files that did not take it, their types) per stated value, in
    the order first met; a file named once however many of its parts declined."""
    files: dict[str, list[str]] = {}
    types: dict[str, list[str]] = {}
    for x in records:
        name = x.file_name.split("#", 1)[0]
        for stated in x.unapplied:
            if name not in files.setdefault(stated, []):
                files[stated].append(name)
            if x.type not in types.setdefault(stated, []):
                types[stated].append(x.type)
    return [(stated, names, types[stated]) for stated, names in files.items()]


def unapplied_notes(extractions: Iterable[Declines]) -> list[str]:
    """One line per stated optical quantity that some records did not take, naming those
    files once (not a warning on each of a hundred MRI records): their type is a scanner's
    (MRI, CT, PET...), or has no field for it. Not an error: the value was meant for the
    session's imaging files."""
    out = []
    for stated, names, types in unapplied_groups(extractions):
        shown = ", ".join(names[:_NOTE_FILES])
        if len(names) > _NOTE_FILES:
            shown += f" and {len(names) - _NOTE_FILES} more"
        n = f"{len(names)} file{'s' if len(names) != 1 else ''}"
        field_name = STATED[stated.split(" = ", 1)[0]].field
        out.append(f"stated {stated} not applied to {n} ({shown}): not an optical record, or "
                   f"no {field_name} in its type ({', '.join(types)})")
    return out
