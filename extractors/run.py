"""What one run over many files shares: a cache of sidecars, claims and resolved folders.

A session folder's files share sidecars (an Intan RHX folder's ``info.rhd`` describes each
of its per-channel ``.dat`` files, a Neuroscope XML every ``.dat`` and ``.lfp`` beside it,
an Open Ephys ``structure.oebin`` each of its streams, a SpikeGLX ``.meta`` its ``.bin``),
and listing a folder asks whose each file is before extracting it. Within one run each of
these is worked out once: :func:`bsingest.extraction.extract_paths` opens a :class:`Run`
for its whole call (:func:`bsingest.ingest.prepare` one per session, its threads
included), and the extractors look things up through :func:`cached`.

Outside a run (one file described on its own) :func:`cached` just calls the function: no
state is kept between calls, so an edited sidecar is always read afresh.

A cached value is keyed by the file's path, size and modification time, so a file that
changes during a run (a recorder still writing) is read again.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["Run", "cached", "current", "run"]

T = TypeVar("T")

_CURRENT: contextvars.ContextVar[Run | None] = contextvars.ContextVar("bsingest_run",
                                                                      default=None)


class Run:
    """The per-run cache. ``parses`` counts the calls of each kind that were not cached
    (how often a sidecar was really read): tests use it, never timing."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self.claims: dict[str, Any] = {}  # path's text -> (best claim, claimants), see extractors
        self.resolved: dict[str, Path] = {}  # folder -> its resolved path
        self._relative: dict[tuple[str, str], str | None] = {}
        self.parses: Counter[str] = Counter()
        self._gates: dict[Hashable, threading.Lock] = {}
        self._gates_lock = threading.Lock()

    def cached(self, kind: str, path: str | os.PathLike[str], fn: Callable[[], T],
               *extra: Hashable) -> T:
        """``fn()``, computed once per run for ``kind`` of the file ``path`` as it is now
        (its size and modification time are part of the key). An exception is not cached:
        each file that needs a damaged sidecar says so itself."""
        key = (kind, _identity(path), *extra)
        try:
            return self._values[key]  # type: ignore[no-any-return]
        except KeyError:
            pass
        # Threads of one run (a session read in several) that miss together wait for the
        # first: the sidecar is still read once, not once per thread.
        with self._gates_lock:
            gate = self._gates.setdefault(key, threading.Lock())
        with gate:
            try:
                return self._values[key]  # type: ignore[no-any-return]
            except KeyError:
                pass
            value = fn()
            self.parses[kind] += 1
            self._values[key] = value
        return value

    def resolve(self, folder: str) -> Path:
        """``Path(folder).resolve()``, once per folder per run."""
        found = self.resolved.get(folder)
        if found is None:
            found = self.resolved[folder] = Path(folder).resolve()
        return found

    def relative(self, folder: str, root: str) -> str | None:
        """``folder`` resolved, relative to ``root`` resolved, as a ``/``-separated path
        ("." for the root itself); None when it is not below ``root``. Once per pair."""
        key = (folder, root)
        try:
            return self._relative[key]
        except KeyError:
            pass
        try:
            found: str | None = self.resolve(folder).relative_to(self.resolve(root)).as_posix()
        except ValueError:
            found = None
        self._relative[key] = found
        return found


def _identity(path: str | os.PathLike[str]) -> Hashable:
    text = os.fspath(path)
    try:
        st = os.stat(text)
    except OSError:
        return (text, None)
    return (text, st.st_size, st.st_mtime_ns)


def current() -> Run | None:
    """The run in progress in this context, if any."""
    return _CURRENT.get()


def cached(kind: str, path: str | os.PathLike[str], fn: Callable[[], T], *extra: Hashable) -> T:
    """``fn()``, once per run for ``kind`` of ``path`` (see :meth:`Run.cached`); called
    every time outside a run."""
    r = _CURRENT.get()
    if r is None:
        return fn()
    return r.cached(kind, path, fn, *extra)


@contextmanager
def run(existing: Run | None = None) -> Iterator[Run]:
    """Make ``existing`` (or a new :class:`Run`) the current run for the ``with`` block;
    a run already in progress is kept (nested calls share it)."""
    outer = _CURRENT.get()
    if outer is not None and existing is None:
        yield outer
        return
    token = _CURRENT.set(existing or Run())
    try:
        yield _CURRENT.get()  # type: ignore[misc]
    finally:
        _CURRENT.reset(token)
