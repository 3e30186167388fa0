"""Batch extraction on a Dask cluster (``bsingest batch --dask ADDRESS``).

Discovery, extraction, validation and fingerprinting of each session
(:func:`bsingest.ingest.prepare`) run as one task on a ``dask.distributed`` worker, where
the data is mounted (at the same path as on the client). The session's records come back
to the client, which alone writes the journal and uploads: workers need no token and no
journal, and every guarantee of ``bsingest batch`` holds as it is.

A task that raises is retried (``retries``); one whose worker dies is run again on
another worker by the scheduler (up to its ``allowed-failures``). A session whose task
fails even so fails alone, and the report names it and says why.

``dask[distributed]`` is an optional extra: ``pip install 'bsingest[dask]'``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError
from typing import Any

from .errors import BsingestError, UsageError

__all__ = ["INSTALL", "DaskPool", "ExtractionLost", "dask_pool", "require_dask"]

#: What to install when dask is missing.
INSTALL = "pip install 'bsingest[dask]'"
#: Tries of a session's task that raised (the scheduler reruns one whose worker died).
RETRIES = 2


class ExtractionLost(BsingestError):
    """A session's extraction task failed on the cluster, retries included."""


def require_dask() -> None:
    """Raise a one-line :class:`UsageError` unless ``dask.distributed`` can be imported."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError(f"--dask needs dask.distributed: {INSTALL}") from None


class DaskPool:
    """The batch's extraction pool on a Dask cluster: ``submit`` returns a
    :class:`concurrent.futures.Future`, as a ``ProcessPoolExecutor``'s does.

    Each result is fetched to the client once its task finishes, and the cluster's copy is
    released at once: workers keep no session's records after it is done.
    """

    def __init__(self, client: Any, retries: int = RETRIES) -> None:
        self.client = client
        self.retries = retries
        self._lock = threading.Lock()
        self._live: dict[Future[Any], Any] = {}  # ours -> the cluster's, until done

    @property
    def width(self) -> int:
        """Tasks the cluster runs at once now (its workers' threads)."""
        return max(1, sum(self.client.nthreads().values()))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        ours: Future[Any] = Future()
        theirs = self.client.submit(fn, *args, retries=self.retries, pure=False, **kwargs)
        with self._lock:
            self._live[ours] = theirs

        def finished(theirs: Any) -> None:  # in a thread of the client's
            try:
                if theirs.status == "cancelled" or ours.cancelled():
                    return
                try:
                    value = theirs.result()
                except Exception as exc:  # the task's own error, or a lost worker's
                    with contextlib.suppress(InvalidStateError):
                        ours.set_exception(_lost(exc))
                    return
                with contextlib.suppress(InvalidStateError):
                    ours.set_result(value)
            finally:
                with self._lock:
                    self._live.pop(ours, None)
                theirs.release()

        theirs.add_done_callback(finished)
        return ours

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Cancel the tasks not finished (``cancel_futures``); the cluster stays up."""
        if not cancel_futures:
            return
        with self._lock:
            live = list(self._live.items())
        for ours, theirs in live:
            ours.cancel()
            with contextlib.suppress(Exception):
                theirs.cancel()


def _lost(exc: BaseException) -> BaseException:
    """The task's failure as the session's one-line error; bsingest's own errors as they
    are (a reader's :class:`BsingestError` says what is wrong with the session)."""
    if isinstance(exc, BsingestError | OSError):
        return exc
    name = type(exc).__name__
    if name == "KilledWorker":
        return ExtractionLost(f"the extraction task was lost with its worker too often "
                              f"(the cluster gave up on it: {exc})")
    return ExtractionLost(f"the extraction task failed on the cluster, after "
                          f"{RETRIES + 1} tries: {name}: {exc}")


@contextlib.contextmanager
def dask_pool(address: str, *, workers: int | None = None,
              retries: int = RETRIES) -> Iterator[DaskPool]:
    """A :class:`DaskPool` on the scheduler at ``address``, or on a ``LocalCluster``
    started for the call (``address="local"``, ``workers`` processes of one thread)."""
    require_dask()
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        try:
            if address == "local":
                cluster = stack.enter_context(LocalCluster(
                    n_workers=workers or 2, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=40))
                client = stack.enter_context(Client(cluster))
            else:
                client = stack.enter_context(Client(address, timeout="30s"))
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"--dask {address}: cannot reach the scheduler: {exc}") from exc
        yield DaskPool(client, retries)
