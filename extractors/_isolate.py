"""Run a reader in a worker process, so that a crash in a C library fails one file only.

libhdf5 dereferences what a damaged file says: a corrupted global-heap reference in a
variable-length string attribute (every NWB ``unit`` and ``neurodata_type``) ends the
process with a segmentation fault (found by changing a few bytes of a generated NWB file),
and a root ``nwb_version`` pointing into a damaged heap makes it loop for ever (the fuzz
suite's seed 11).
No check in Python can see it coming, and it would end a whole ingest. So the HDF5 part of
a family's extraction runs in a worker: a plain ``python`` child running ``_serve``
that reads requests on its stdin and answers on its stdout (pickled, length-prefixed).

- A worker that dies (a crash) is a one-line error naming the file; the next call starts
  a new one. A call that takes longer than ``timeout`` stops the worker the same way, so
  nothing hangs.
- Not ``multiprocessing``: its fork server and spawned children import the caller's
  ``__main__`` again (a script without a main guard would run twice), and forking the
  extracting process itself could copy a lock another extraction thread holds.
- One worker, one call at a time (a lock; a folder's run makes its calls from one thread
  of its own, see ``bsingest.extraction._in_order``): NWB headers take milliseconds. The worker
  starts once per process (the first NWB file took 350 ms instead of 65 ms: Python,
  numpy and h5py start in it); each call then costs a round trip (the five-series test
  file: 4.9 ms median against 2.8 ms in-process).
- A reader that eats memory fails alone too: the worker's data segment is limited
  (``RLIMIT_DATA``: heap and private anonymous mappings, not the read-only memory maps
  neo and h5py read large files through) to half the machine's memory
  (``BSINGEST_WORKER_MEMORY_MB`` sets another), so a damaged header
  that makes a reader allocate without end is a MemoryError in the worker, one line here,
  before the kernel's out-of-memory killer picks a process. A worker killed from outside
  anyway (SIGKILL that is not our timeout's) is named so, not called slow.
- Where pipes cannot be waited on with a timeout (Windows), the reader runs in-process,
  as before. ``BSINGEST_NO_ISOLATION=1`` does the same (for debugging a reader).
"""

from __future__ import annotations

import atexit
import importlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from bsingest.errors import BsingestError, ExtractionError

__all__ = ["MEMORY_LIMIT", "isolated", "prewarm"]

#: The worker's data segment where the machine's memory is unknown (bytes). Reading a
#: header needs far less, but neo's Plexon reader lists every block of a ``.plx`` in memory
#: (a 59 MB grown copy took 150 MB in all): half the RAM lets a multi-GB file through.
MEMORY_LIMIT = 8 * 2**30

_HEADER = struct.Struct("<Q")
_lock = threading.Lock()
_worker: subprocess.Popen[bytes] | None = None
_pending = 0  # replies to prewarm requests not read yet


def prewarm(modules: tuple[str, ...]) -> None:
    """Start the worker and have it import ``modules`` while this process goes on: a run
    that will read an NWB file pays for the worker's start and h5py's import on the other
    core, not before its first answer. The reply is read by the next :func:`isolated`."""
    global _pending
    if sys.platform == "win32" or os.environ.get("BSINGEST_NO_ISOLATION") or not modules:
        return
    with _lock:
        worker = _running()
        assert worker.stdin is not None
        try:
            _send(worker.stdin, pickle.dumps((__name__, "_import", (modules,))))
            _pending += 1
        except OSError:
            _stop(worker)


def _import(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:  # the request that needs it says so, naming its file
            pass


def _drain(worker: subprocess.Popen[bytes], timeout: float) -> subprocess.Popen[bytes]:
    """Read the replies of earlier prewarm requests; a worker that died meanwhile is
    replaced (the request that follows is the one that matters)."""
    global _pending
    assert worker.stdout is not None
    while _pending:
        try:
            reply = _receive(worker.stdout, timeout)
        except (TimeoutError, OSError, EOFError):
            reply = None
        if reply is None:
            _stop(worker)
            _pending = 0
            return _running()
        _pending -= 1
    return worker


def isolated(path: Path, fn: Callable[..., Any], *args: Any, timeout: float = 120.0) -> Any:
    """``fn(*args)`` in the worker; its crash or hang is an error naming ``path``.

    ``fn`` must be a module-level function, its arguments and result picklable. Our own
    errors and OSErrors come back as they were raised; any other exception is a
    RuntimeError carrying the worker's traceback (a bug keeps its traceback).
    """
    if sys.platform == "win32" or os.environ.get("BSINGEST_NO_ISOLATION"):
        return fn(*args)
    request = pickle.dumps((fn.__module__, fn.__qualname__, args))
    with _lock:
        worker = _drain(_running(), timeout)
        assert worker.stdin is not None and worker.stdout is not None
        timed_out = False
        try:
            _send(worker.stdin, request)
            reply = _receive(worker.stdout, timeout)
        except TimeoutError:
            reply, timed_out = None, True
        except (OSError, EOFError):
            reply = None
        if reply is None:
            _stop(worker)
            code = worker.returncode
            if timed_out:
                reason = (f"reading it took more than {timeout:g} s: stopped (a damaged "
                          "file, or a file system that does not answer)")
            elif code == -signal.SIGKILL:
                # Not our timeout: the kernel's out-of-memory killer, or a person.
                reason = ("the reader was killed while reading it (signal SIGKILL, as the "
                          "system does when memory runs out): a damaged file, or too "
                          "little memory")
            elif code is not None and code < 0:
                reason = f"the reader crashed on it ({_signal_name(-code)}): a damaged file"
            else:
                reason = f"the reader stopped on it (exit status {code}): a damaged file"
            raise ExtractionError(path, reason)
    kind, value = pickle.loads(reply)
    if kind == "ok":
        return value
    if kind == "error":
        name, where, reason = value
        from bsingest import errors

        cls = getattr(errors, name, ExtractionError)
        if not (isinstance(cls, type) and issubclass(cls, ExtractionError)):
            cls = ExtractionError  # another signature: keep the message
        raise cls(where or path, reason)
    if kind == "oserror":
        raise OSError(*value)
    raise RuntimeError(f"bug while reading {path.name} in the reader process:\n{value}")


def _running() -> subprocess.Popen[bytes]:
    global _worker
    if _worker is None or _worker.poll() is not None:
        env = dict(os.environ)
        # The worker imports the same modules the caller does, from the same places.
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        # Not "-m extractors._isolate": the package imports this module first, and runpy
        # warns about running it a second time.
        serve = "from extractors._isolate import _serve; _serve()"
        _worker = subprocess.Popen([sys.executable, "-c", serve],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    return _worker


def _stop(worker: subprocess.Popen[bytes]) -> None:
    global _worker, _pending
    if worker.poll() is None:
        worker.kill()
    worker.wait()
    for stream in (worker.stdin, worker.stdout):
        if stream is not None:
            stream.close()
    if _worker is worker:
        _worker = None
        _pending = 0


@atexit.register
def _shutdown() -> None:
    if _worker is not None:
        _stop(_worker)


def _send(stream: IO[bytes], data: bytes) -> None:
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes], timeout: float) -> bytes | None:
    """One length-prefixed message, or None if the worker died; TimeoutError when
    ``timeout`` passed without a byte."""
    fd = stream.fileno()
    out = b""
    need = _HEADER.size
    header = True
    while True:
        while len(out) < need:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, need - len(out))
            if not chunk:
                return None
            out += chunk
        if not header:
            return out
        (need,) = _HEADER.unpack(out)
        out, header = b"", False


def _signal_name(number: int) -> str:
    try:
        return f"signal {signal.Signals(number).name}"
    except ValueError:
        return f"signal {number}"


def _memory_limit() -> int | None:
    """Bytes the worker's data segment may take: ``BSINGEST_WORKER_MEMORY_MB``, else half
    the machine's memory (:data:`MEMORY_LIMIT` where that is unknown); None: no limit."""
    stated = os.environ.get("BSINGEST_WORKER_MEMORY_MB", "").strip()
    if stated:
        try:
            return max(int(float(stated) * 2**20), 64 * 2**20)
        except ValueError:
            return None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return MEMORY_LIMIT
    return total // 2 if total > 0 else MEMORY_LIMIT


def _limit_memory() -> int | None:
    """Apply :func:`_memory_limit` to this process (the worker); the limit, or None."""
    limit = _memory_limit()
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if limit is None or (hard != resource.RLIM_INFINITY and hard < limit):
            return None
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    except (ImportError, OSError, ValueError):
        return None
    return limit


def _serve() -> None:
    """The worker's loop: a request on stdin, its answer on stdout, until stdin closes."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    limit = _limit_memory()
    while True:
        head = requests.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(head)
        module, name, args = pickle.loads(requests.read(size))
        try:
            target: Any = importlib.import_module(module)
            for part in name.split("."):
                target = getattr(target, part)
            answer: tuple[str, Any] = ("ok", target(*args))
        except BsingestError as exc:
            # Sent as text: our errors take (path, reason), which pickle cannot rebuild.
            answer = ("error", (type(exc).__name__, getattr(exc, "path", ""),
                                getattr(exc, "reason", str(exc))))
        except OSError as exc:  # the caller turns it into a one-line error, as in-process
            answer = ("oserror", (exc.errno, exc.strerror or str(exc)))
        except MemoryError:  # a header that makes the reader allocate without end
            cap = f" (the reader may take {limit / 2**30:.3g} GiB)" if limit else ""
            answer = ("error", ("ExtractionError", "", "reading it ran out of memory"
                                f"{cap}: stopped (a damaged file?)"))
        except Exception as exc:  # a bug: its traceback, as text
            import traceback

            answer = ("bug", "".join(traceback.format_exception(exc)))
        _send(replies, pickle.dumps(answer))

