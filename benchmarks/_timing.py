"""How the benchmarks measure: a call in this process, or a whole child process."""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence


def measure(cmd: Sequence[str], repeat: int = 5) -> tuple[float, float]:
    """Median wall seconds and max peak RSS (MiB) of ``cmd`` over ``repeat`` runs.

    As a user runs it: bytecode caches allowed (some sandboxes set
    PYTHONDONTWRITEBYTECODE, which makes every start compile every module) and warm, after
    one run that is not counted.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times, rss = [], []
    for _ in range(repeat):
        # stderr to a file, not a pipe: a command that says more than a pipe holds (64 KiB,
        # a line per session of a big batch) would block on it while we wait for it to end.
        with tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            times.append(time.perf_counter() - t0)
            if os.waitstatus_to_exitcode(status) != 0:
                err.seek(0)
                raise RuntimeError(f"{cmd} failed: {err.read().decode(errors='replace')}")
        rss.append(usage.ru_maxrss / 1024)  # Linux reports KiB
    return statistics.median(times), max(rss)


def median_call(fn: Callable[[], object], repeat: int, *,
                give_up_after: float | None = None) -> tuple[float, object]:
    """Median seconds of ``fn()`` over ``repeat`` calls after a warm-up call, and its result.

    A warm-up slower than ``give_up_after`` seconds is returned as it is: repeating a call
    that takes minutes (a reader that scans 100 GB) tells nothing more.
    """
    gc.collect()  # garbage of an earlier run must not be paid for by this one
    t0 = time.perf_counter()
    result = fn()  # warm-up: imports, caches
    once = time.perf_counter() - t0
    if give_up_after is not None and once > give_up_after:
        return once, result
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result
