"""Whole folders by CPU time (issue 25), for a machine too busy for wall clocks.

Two tables over small WAVs (written as ``bench_folder.py`` writes them):

- ``bsingest extract DIR --json`` of this checkout (with its forked workers, and in one
  process: ``BSINGEST_WORKERS=1``), of another (``--other PATH``), and the stdlib floor
  loop of ``bench_folder.py``, run in turn (interleaved, so that a change of
  load hits all alike); median user + sys CPU of each process, its wall time and peak RSS;
- where one run's CPU goes, stage by stage, in this process (best of 3 per stage).

With ``--corpus``, the first table over the real corpus (``../shared/corpus``) instead,
beside importing the libraries it needs (numpy, h5py, PyAV) as the floor.

Run:  PYTHONPATH=$PWD python benchmarks/bench_folder_cpu.py [--sizes 1000,10000]
          [--other /path/to/other/checkout] [--repeat 5] [--corpus]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from benchmarks.bench_folder import CORPUS, LOOP, write_wavs  # noqa: E402  (after the path)


def interleaved(commands: dict[str, tuple[list[str], dict[str, str]]], repeat: int) -> None:
    runs: dict[str, list[tuple[float, float, float]]] = {k: [] for k in commands}
    for cmd, env in commands.values():  # warm-up: bytecode caches, page cache
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       cwd=tempfile.gettempdir())
    for _ in range(repeat):
        for name, (cmd, env) in commands.items():
            t0 = time.perf_counter()
            # Started outside any checkout: ``python -m`` puts the working folder first
            # on the path, which would make every PYTHONPATH run this checkout's code.
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir())
            _, _, usage = os.wait4(proc.pid, 0)
            runs[name].append((time.perf_counter() - t0, usage.ru_utime + usage.ru_stime,
                               usage.ru_maxrss / 1024))
    floor = statistics.median(c for _, c, _ in runs["floor"])
    wall_floor = statistics.median(w for w, _, _ in runs["floor"])
    for name, rows in runs.items():
        cpu = statistics.median(c for _, c, _ in rows)
        wall = statistics.median(w for w, _, _ in rows)
        print(f"| {name} | {wall:.3f} s | {wall / wall_floor:.2f} | {cpu:.3f} s "
              f"| {cpu / floor:.2f} | {max(m for _, _, m in rows):.0f} MiB |", flush=True)


def stages(folder: Path) -> None:
    from bsingest.cli.jsonstream import dumps_extraction
    from bsingest.extraction import ExtractReport, iter_extract
    from bsingest.records import check_type_json
    from extractors import discover
    from extractors.audio import AudioExtractor
    from extractors.base import plausibility_problems
    from extractors.run import run

    def best(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(3):
            t0 = time.process_time()
            fn()
            times.append(time.process_time() - t0)
        return min(times)

    def listing() -> None:
        with run():
            discover(folder)

    def whole() -> None:
        for found in iter_extract([folder], ExtractReport()):
            for x in found:
                dumps_extraction(x, "  ")

    with run():
        files = discover(folder).data
    audio = AudioExtractor()
    records = [x for found in iter_extract([folder], ExtractReport()) for x in found]
    table = {
        "whole run: listing, claims, extraction, checks, JSON text": whole,
        "listing and claims (discover)": listing,
        "open + read 64 bytes + close (the floor pays it too)":
            lambda: [open(p, "rb").read(64) for p in files],
        "the WAV family's _extract (open, parse, Fields, result)":
            lambda: [None for p in files if audio._extract(p, {}) is None],
        "base extract (stat, _extract, plausibility, schema check)":
            lambda: [None for p in files if audio.extract(p) is None],
        "plausibility check": lambda: [plausibility_problems(r.type, r.type_json)
                                       for r in records],
        "schema check (check_type_json)": lambda: [check_type_json(r.type, r.type_json)
                                                   for r in records],
        "JSON text of a record (dumps_extraction)": lambda: [dumps_extraction(r, "  ")
                                                             for r in records],
    }
    print("| stage | µs CPU per file |\n|---|---|")
    for name, fn in table.items():
        print(f"| {name} | {best(fn) / len(files) * 1e6:.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--other", help="another checkout to compare with (e.g. main)")
    ap.add_argument("--corpus", action="store_true",
                    help="the real corpus beside importing numpy, h5py and av, not WAVs")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if args.corpus:
        ours = [sys.executable, "-m", "bsingest.cli.main", "extract", str(CORPUS), "--json"]
        commands = {"this checkout": (ours, {**env, "PYTHONPATH": str(HERE)})}
        if args.other:
            commands["other"] = (ours, {**env, "PYTHONPATH": args.other})
        commands["floor"] = ([sys.executable, "-c", "import numpy, h5py, av"], env)
        print(f"\n{CORPUS} (load {os.getloadavg()[0]:.1f})\n\n"
              "| what | wall | wall / floor | CPU | CPU / floor | peak RSS |\n"
              "|---|---|---|---|---|---|")
        interleaved(commands, args.repeat)
        return
    with tempfile.TemporaryDirectory() as d:
        for n in (int(s) for s in args.sizes.split(",")):
            folder = Path(d) / f"wav{n}"
            write_wavs(folder, n)
            ours = [sys.executable, "-m", "bsingest.cli.main", "extract", str(folder), "--json"]
            commands = {"this checkout": (ours, {**env, "PYTHONPATH": str(HERE)}),
                        "this checkout, one process": (
                            ours, {**env, "PYTHONPATH": str(HERE), "BSINGEST_WORKERS": "1"})}
            if args.other:
                commands["other"] = (ours, {**env, "PYTHONPATH": args.other})
            commands["floor"] = ([sys.executable, "-c", LOOP, str(folder)], env)
            print(f"\n{n:,} WAVs (load average {os.getloadavg()[0]:.1f})\n\n"
                  "| what | wall | wall / floor | CPU | CPU / floor | peak RSS |\n"
                  "|---|---|---|---|---|---|")
            interleaved(commands, args.repeat)
        folder = Path(d) / "wav10000"
        if not folder.is_dir():
            write_wavs(folder, 10_000)
        print()
        stages(folder)


if __name__ == "__main__":
    main()
