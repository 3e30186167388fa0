"""Lock files that keep two bsingest processes apart, on every operating system.

The locks come from ``filelock`` (a maintained library; virtualenv and tox lock with
it): ``flock`` on Linux and macOS, ``msvcrt.locking`` on Windows, so an acquisition rig
on Windows takes the same locks as a Linux server. Both are held through an open file
that the operating system releases when the process ends, however it ends, so a killed
run leaves no lock behind. ``fcntl`` is imported neither here nor anywhere else in
bsingest: Windows has no such module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import BsingestError, JournalError

if TYPE_CHECKING:
    from filelock import BaseFileLock

__all__ = ["exclusive"]


def exclusive(path: Path, timeout: float, busy: str) -> BaseFileLock:
    """Take the lock on ``path`` (created 0600 when missing) and return it, held.

    Another process holding it is waited for up to ``timeout`` seconds, then
    :class:`~bsingest.errors.BsingestError` says ``busy`` and names the lock file. The
    lock is not tied to the thread that took it (``thread_local=False``): the journal
    shares one between the threads of a batch, and the last of them releases it.
    Release with ``.release()``.
    """
    from filelock import FileLock, Timeout

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JournalError(f"lock {path}: {exc.strerror or exc}") from exc
    lock = FileLock(os.fspath(path), mode=0o600, thread_local=False)
    try:
        lock.acquire(timeout=timeout, poll_interval=0.1)
    except Timeout:
        raise BsingestError(f"{busy} (lock {path} held for more than {timeout:g} s)") from None
    except OSError as exc:
        raise JournalError(f"lock {path}: {exc.strerror or exc}") from exc
    return lock
