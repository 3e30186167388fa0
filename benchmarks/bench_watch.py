"""What watching costs: 10,000 session folders, a poll cycle's time, memory, idle CPU.

A ROOT of ``--sessions`` folders of ``--files`` small files each (local disk). The watcher
(:class:`bsingest.watch.Watcher`, in this process, ingesting nothing) first scans them all
as at start, with all of them already ingested (the steady state of a rig's archive), then:

- a poll cycle: the median seconds of :meth:`Watcher.scan` (one ``scandir`` and one
  ``stat`` per file) over ``--cycles`` cycles, and per session;
- memory: the process' RSS before the watcher, after the first scan, and after the last
  cycle (flat: no per-file state is kept, one 16-byte signature per session);
- idle CPU with file events: the watcher's loop and the watchdog observer run for
  ``--idle`` seconds with nothing changing; CPU seconds used per minute.

    .venv/bin/python benchmarks/bench_watch.py [--sessions 10000] [--files 4]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bsingest.watch import Watcher, WatchOptions


def rss_mib() -> float:
    """The resident set size now (Linux: /proc/self/statm), in MiB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_root(root: Path, sessions: int, files: int) -> None:
    for i in range(sessions):
        folder = root / f"rat{i % 100:02}" / f"2024-{i:05}"
        folder.mkdir(parents=True)
        for j in range(files):
            (folder / f"rec{j}.dat").write_bytes(b"\0" * 64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--idle", type=float, default=20.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        root = Path(tmp) / "root"
        t0 = time.perf_counter()
        make_root(root, args.sessions, args.files)
        print(f"made {args.sessions} sessions x {args.files} files in "
              f"{time.perf_counter() - t0:.1f} s")
        before = rss_mib()
        options = WatchOptions(root, "rat*/2024-*", settle=60.0)
        watcher = Watcher(options, ingest_session=lambda folder: None,  # type: ignore[arg-type,return-value]
                          push=lambda: [], state_dir=Path(tmp) / "state")
        t0 = time.perf_counter()
        watcher.scan()
        first = time.perf_counter() - t0
        for key, (sig, _) in watcher.pending.items():  # as if each had been ingested
            watcher.done[key] = sig.digest
        watcher.pending.clear()
        after_first = rss_mib()
        times = []
        for _ in range(args.cycles):
            t0 = time.perf_counter()
            watcher.scan()
            times.append(time.perf_counter() - t0)
        assert not watcher.pending
        after_cycles = rss_mib()
        cycle = statistics.median(times)
        # Idle with file events: the loop and the observer, nothing changing.
        watcher.queued = False
        runner = threading.Thread(target=watcher.run, daemon=True)
        runner.start()
        time.sleep(3.0)  # the start-up scan and the observer's watches on every folder
        cpu0, wall0 = time.process_time(), time.perf_counter()
        time.sleep(args.idle)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        watcher.request_stop()
        runner.join(timeout=60)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    files = args.sessions * args.files
    print(f"| sessions | files | first scan | poll cycle | per session | RSS before | "
          f"after scan | after {args.cycles} more | idle CPU (events) | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.sessions:,} | {files:,} | {first:.2f} s | {cycle:.2f} s | "
          f"{cycle / args.sessions * 1e6:.0f} µs | {before:.0f} MiB | {after_first:.0f} MiB | "
          f"{after_cycles:.0f} MiB | {cpu / wall * 60:.2f} CPU s/min | {peak:.0f} MiB |")


if __name__ == "__main__":
    main()
