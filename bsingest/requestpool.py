"""The threads that send a batch's requests: look-ups first, then earlier sessions first.

A batch delivers several sessions at once through one pool of ``--concurrency`` threads
(its size is what the server sees). With a first-come queue every session advanced at the
same pace: they all finished their creates together, read them back together (a wave
each, 100 ms), and the sessions waiting for a session thread started only then. For a
quarter of a second no POST was in flight (benchmarks/RESULTS.md, issue 25).

Here each session's requests carry its rank in the batch, and a free thread takes the
earliest session's request first. A session still fills every thread its predecessors
leave idle (while they decide what to send next, or read back), so nothing waits that
could go; but the sessions end one after another: each one's read-back overlaps the next
ones' creates, and its session thread is free for a new session sooner. Users see
sessions completed in the manifest's order (unless one waits on retries), not all at the
end. Look-ups and listings (plain :meth:`RequestPool.submit`) go before any session's
creates: a session waits for them to begin.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["RequestPool"]

#: The rank of plain submissions: before every session's.
_FIRST = -1
#: The rank of the sentinels that end the threads: after every task.
_LAST = 1 << 62
_Task = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class RequestPool(Executor):
    """``max_workers`` threads taking tasks by rank, then in the order they came."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "bsingest-upload") -> None:
        # The tasks, by rank then arrival, under the lock; a token in the C queue per task.
        # A thread blocks on the tokens: a PriorityQueue's Python condition variable cost
        # every request ~0.7 ms more of the client's time on 2 busy cores than the plain
        # pool it replaced (benchmarks/RESULTS.md, issue 25).
        self._heap: list[tuple[int, int, _Task | None]] = []
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._order = itertools.count()  # ties in rank: first come, first served
        self._lock = threading.Lock()
        self._shut = False
        self.max_workers = max(1, max_workers)  # requests in flight at most
        self._threads = [threading.Thread(target=self._work, daemon=True,
                                          name=f"{thread_name_prefix}_{i}")
                         for i in range(self.max_workers)]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` before any session's request."""
        return self.put(_FIRST, fn, *args, **kwargs)

    def at(self, rank: int) -> Executor:
        """An executor whose tasks run at ``rank`` (a session's place in the batch, from
        0): after those of lower ranks that are waiting."""
        return _Ranked(self, rank)

    def put(self, rank: int, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._shut:
                raise RuntimeError("cannot schedule new requests after shutdown")
            heapq.heappush(self._heap, (rank, next(self._order), (future, fn, args, kwargs)))
        self._tokens.put(None)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if not self._shut:
                self._shut = True
                if cancel_futures:
                    self._cancel_waiting()
                # After every task still waiting: a thread that takes one of these ends.
                for _ in self._threads:
                    heapq.heappush(self._heap, (_LAST, next(self._order), None))
                    self._tokens.put(None)
        if wait:
            for t in self._threads:
                t.join()

    def _cancel_waiting(self) -> None:
        for _, _, task in self._heap:  # under the lock; the threads skip them
            if task is not None:
                task[0].cancel()

    def _work(self) -> None:
        while True:
            self._tokens.get()
            with self._lock:
                _, _, task = heapq.heappop(self._heap)
            if task is None:
                return
            future, fn, args, kwargs = task
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while it waited (Ctrl-C)
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # the caller's future says it, as a pool's does
                future.set_exception(exc)
            else:
                future.set_result(result)
            del task, future, fn, args, kwargs  # a finished task's values are not kept


class _Ranked(Executor):
    """A :class:`RequestPool` seen by one session: its tasks at its rank."""

    def __init__(self, pool: RequestPool, rank: int) -> None:
        self._pool = pool
        self._rank = rank

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self._pool.put(self._rank, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """The pool is the batch's: a session does not end it."""
