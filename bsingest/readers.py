"""The processes that read a batch's sessions, started as early as the command can.

Every session of a batch is read in a worker process: a reader that crashes (a damaged
file, a native library's bug) takes its worker down, not the batch. A worker needs a
moment to start and to import the extractors (0.3-0.4 s for a new interpreter on a busy
2-core machine), and the first session's records wait for it: ``bsingest batch`` starts
the workers before it imports the client and asks the server anything, so that their
start overlaps its own (benchmarks/RESULTS.md, issue 25).

On Linux, a process that has no thread yet is forked: the child has every module the
parent imported, and costs a few milliseconds. Elsewhere (macOS, where forking a process
that used system frameworks is unsafe; Windows, which cannot fork), and in a process
that runs threads already (a test's local server, a host application), workers are
spawned, as before: fork copies the parent's locks in whatever state its threads hold
them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["reader_pool", "start_method"]


def start_method() -> str:
    """``fork`` where it is safe now (Linux, this process has no other thread), else
    ``spawn``."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


def reader_pool(workers: int | None = None, sessions: int | None = None
                ) -> ProcessPoolExecutor:
    """A pool of ``workers`` reader processes (default: the cores; at most ``sessions``
    when the number of sessions is known), started now, importing the extractors while
    the caller goes on. The caller shuts it down."""
    count = max(1, workers or os.cpu_count() or 1)
    if sessions is not None:
        count = max(1, min(count, sessions))
    method = start_method()
    if method == "fork":  # what is buffered now would be written by every child too
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    ctx = multiprocessing.get_context(method)
    pool = _Readers(max_workers=count, mp_context=ctx, initializer=_ready)
    # A pool starts its processes at the first submit (fork: all of them; spawn: one per
    # submit while none is idle): start them all now.
    for _ in range(count):
        pool.start_one()
    return pool


class _Readers(ProcessPoolExecutor):
    """Reader processes that yield the CPU to the uploads once each has read a session,
    and that may be handed their first sessions before the batch asks (:meth:`ahead`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ahead: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any],
                                Future[Any]]] = []
        self._ahead_lock = threading.Lock()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self._ahead_lock:
            for i, (f, a, k, future) in enumerate(self._ahead):
                if f is fn and a == args and k == kwargs:
                    del self._ahead[i]
                    return future
        return super().submit(_read, fn, *args, **kwargs)

    def ahead(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Start ``fn(*args, **kwargs)`` now; the :meth:`submit` of an equal call gets its
        future (one not asked for is dropped with the pool). ``bsingest batch`` reads its
        first sessions while it imports the client and asks the server for its checks:
        the first upload waited for the first session's files, read only once the
        batch had planned its sessions (benchmarks/RESULTS.md, issue 25)."""
        future = super().submit(_read, fn, *args, **kwargs)
        with self._ahead_lock:
            self._ahead.append((fn, args, kwargs, future))

    def start_one(self) -> None:
        super().submit(_nothing)


_first = True  # in a worker: no session read yet


def _read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker. The first session a worker reads is awaited
    at once (the first requests wait for it); the ones after are read ahead of the
    uploads, and at a lower priority they no longer take the CPU the requests need (on
    a 2-core machine, 2 workers reading ahead made the requests in flight dip from 7.8
    to 5 of 8 for half a second)."""
    global _first
    try:
        return fn(*args, **kwargs)
    finally:
        if _first:
            _first = False
            with contextlib.suppress(AttributeError, OSError):  # no os.nice on Windows
                os.nice(_READ_AHEAD_NICENESS)


#: How much lower a worker's priority goes once it has read its first session.
_READ_AHEAD_NICENESS = 5


def _ready() -> None:
    """A worker's start: Ctrl-C is the parent's to handle (once); then the imports every
    session's reading needs, before the first session arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import bsingest.extraction
    import bsingest.ingest  # noqa: F401
    import extractors  # noqa: F401


def _nothing() -> None:
    """A task that starts a worker."""
