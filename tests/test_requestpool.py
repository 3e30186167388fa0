"""The batch's request pool: look-ups first, then earlier sessions first, each rank in the
order its tasks came; a pool's contract otherwise (results, errors, cancelling, shutdown)."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError

import pytest

from bsingest.requestpool import RequestPool


def _blocked(pool: RequestPool, workers: int) -> threading.Event:
    """Occupy every thread of ``pool`` until the returned event is set."""
    release = threading.Event()
    started = threading.Barrier(workers + 1)

    def hold() -> None:
        started.wait(timeout=10)
        release.wait(timeout=10)

    for _ in range(workers):
        pool.submit(hold)
    started.wait(timeout=10)  # every thread is now inside hold()
    return release


def test_lookups_then_earlier_sessions_then_arrival_order() -> None:
    ran: list[str] = []
    with RequestPool(1) as pool:
        release = _blocked(pool, 1)
        futures = [pool.at(2).submit(ran.append, "s2"),
                   pool.at(0).submit(ran.append, "s0-first"),
                   pool.at(1).submit(ran.append, "s1"),
                   pool.submit(ran.append, "look-up"),
                   pool.at(0).submit(ran.append, "s0-second")]
        release.set()
        for f in futures:
            f.result(timeout=10)
    assert ran == ["look-up", "s0-first", "s0-second", "s1", "s2"]


def test_an_error_is_its_task_s_alone() -> None:
    with RequestPool(1) as pool:
        failed = pool.at(0).submit(int, "not a number")
        fine = pool.at(0).submit(int, "42")
        with pytest.raises(ValueError):
            failed.result(timeout=10)
        assert fine.result(timeout=10) == 42


def test_a_cancelled_task_does_not_run() -> None:
    ran: list[str] = []
    with RequestPool(1) as pool:
        release = _blocked(pool, 1)
        dropped = pool.at(0).submit(ran.append, "dropped")
        kept = pool.at(0).submit(ran.append, "kept")
        assert dropped.cancel()
        release.set()
        kept.result(timeout=10)
    assert ran == ["kept"]
    with pytest.raises(CancelledError):
        dropped.result()


def test_shutdown_can_cancel_what_waits_and_refuses_more() -> None:
    ran: list[str] = []
    pool = RequestPool(1)
    release = _blocked(pool, 1)
    waiting = [pool.at(0).submit(ran.append, str(i)) for i in range(3)]
    pool.shutdown(wait=False, cancel_futures=True)  # while the thread is still held
    release.set()
    pool.shutdown(wait=True)  # again: now only waits for the thread to end
    assert all(f.cancelled() for f in waiting)
    assert ran == []
    with pytest.raises(RuntimeError):
        pool.submit(ran.append, "late")


def test_shutdown_waits_for_every_task_given() -> None:
    ran: list[int] = []
    pool = RequestPool(2)
    for i in range(20):
        pool.at(i % 3).submit(ran.append, i)
    pool.shutdown(wait=True)
    assert sorted(ran) == list(range(20))


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_as_many_tasks_run_at_once_as_threads(workers: int) -> None:
    # Each task waits for all of them: only a pool of ``workers`` threads gets past it.
    together = threading.Barrier(workers)
    with RequestPool(workers) as pool:
        futures = [pool.at(0).submit(together.wait, 10) for _ in range(workers)]
        assert sorted(f.result(timeout=20) for f in futures) == list(range(workers))
