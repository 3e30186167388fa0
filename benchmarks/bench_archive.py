"""Archive scale (issue 17): ``bsingest batch`` over N sessions x 100 tiny files.

Each session is a folder of 100 two-sample ``.dat`` files and one Neuroscope XML (100
records); the manifest (``folder,project,procedures``) makes each a session of the current
API, created by the batch (``--create-session`` per row), on the local server (in this
process, no added latency, a fresh database per run). Side by side, each a whole
``bsingest batch`` process:

- pool: today's local process pool (``--jobs 2``), or ``--dask local`` (a LocalCluster of 2
  worker processes, started by the command);
- extract-only (``--dry-run``: discovery, extraction, fingerprints, validation, a look at
  the server) or with uploads (journal, session creation, POSTs).

Reported: records/s, the client's peak RSS (``VmHWM`` of the batch process alone, read
from /proc while it runs: workers not included), the journal's size. Run at 10^4 and 10^5
records to see the client's memory not grow with the count.

    .venv/bin/python benchmarks/bench_archive.py [--sessions 100] [--files 100]
        [--pools local,dask] [--modes extract,upload]
    .venv/bin/python benchmarks/bench_archive.py --journal-rows 100000

``--sessions 1000`` (10^5 records) takes ~15 minutes on 2 cores for all four runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures import write_neuroscope_xml

PROJECT = "ad24d33e-bdc2-4550-ace6-dcf49ce21854"  # rat01-lab, alice's (the local seed)
PROCEDURE = "087b71c4-6785-437c-b8ef-e35a82a8463e"


def make_archive(root: Path, sessions: int, files: int) -> Path:
    """``sessions`` folders of ``files`` tiny .dat files and one XML; the manifest."""
    xml = write_neuroscope_xml(root / "template.xml", 2).read_bytes()
    dat = bytes(range(8))  # 2 channels x 2 samples of int16
    rows = ["folder,project,procedures"]
    for s in range(sessions):
        folder = root / "archive" / f"s{s:05d}"
        folder.mkdir(parents=True)
        (folder / "session.xml").write_bytes(xml)
        for j in range(files):
            (folder / f"r{j:03d}.dat").write_bytes(dat)
        rows.append(f"{folder},{PROJECT},{PROCEDURE}")
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def peak_rss(pid: int) -> float:
    """The process's peak resident set (MiB) so far, 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run(bsingest: str, manifest: Path, work: Path, pool: str, mode: str) -> dict[str, float]:
    from bsingest.server import LocalServer

    work.mkdir(parents=True)
    with LocalServer(db_path=work / "server.sqlite3") as srv:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("BRAINSTEM") and k != "PYTHONDONTWRITEBYTECODE"}
        env.update(BRAINSTEM_SERVER=srv.url, BRAINSTEM_TOKEN=srv.pat,
                   BSINGEST_JOURNAL=str(work / "journal.sqlite"))
        cmd = [bsingest, "batch", "--api", "2026", str(manifest), "--jobs", "2",
               "--report", str(work / "report.jsonl")]
        cmd += ["--dask", "local"] if pool == "dask" else []
        cmd += ["--dry-run"] if mode == "extract" else []
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, peak_rss(proc.pid))
            time.sleep(0.2)
        seconds = time.perf_counter() - t0
        err = proc.stderr.read() if proc.stderr else ""
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{cmd} exited {proc.returncode}: {err[-2000:]}")
    lines = (work / "report.jsonl").read_text().splitlines()
    import json

    counts = json.loads(lines[-1])["counts"]
    records = sum(n for k, n in counts.items() if k != "failed sessions")
    journal = sum(p.stat().st_size for p in work.glob("journal.sqlite*"))
    return {"records": records, "seconds": seconds, "rate": records / seconds,
            "rss": peak, "journal": journal / 2**20, "counts": counts}  # type: ignore[dict-item]


def journal_figures(rows: int, sample: int = 1000) -> None:
    """Microseconds per record for the journal's part of an upload (stage, then ``sending``
    and ``uploaded``: three transactions, each an indexed lookup), on a journal that is
    empty and on one that already holds ``rows`` rows."""
    from bsingest.journal import Journal

    body = {"type": "ExtracellularEphys", "session": PROJECT, "procedures": [PROCEDURE],
            "details": {"fileName": "r000.dat", "format": "DAT", "nChannels": 2}}

    def one(jr: Journal, i: int) -> None:
        e = jr.stage("srv", f"session-{i // 100}", f"ExtracellularEphys|r{i:07d}.dat",
                     f"r{i:07d}.dat", body, f"8:{i}:abc", "skip", api="2026")
        jr.mark(e, "sending", attempt=True)
        jr.mark(e, "uploaded", server_id=str(i))

    with tempfile.TemporaryDirectory() as tmp, Journal(Path(tmp) / "j.sqlite") as jr:
        figures = []
        for start, stop in ((0, sample), (sample, rows - sample), (rows - sample, rows)):
            t0 = time.perf_counter()
            for i in range(start, stop):
                one(jr, i)
            figures.append((time.perf_counter() - t0) / max(1, stop - start) * 1e6)
        size = sum(p.stat().st_size for p in Path(tmp).glob("j.sqlite*")) / 2**20
    print(f"journal: {figures[0]:.0f} us per record (stage + 2 marks) on an empty journal, "
          f"{figures[2]:.0f} us at {rows:,} rows; {size:.1f} MiB for {rows:,} rows", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--pools", default="local,dask")
    parser.add_argument("--modes", default="extract,upload")
    parser.add_argument("--journal-rows", type=int, default=0,
                        help="Only time the journal's work per record at this many rows.")
    args = parser.parse_args()
    if args.journal_rows:
        journal_figures(args.journal_rows)
        return
    bsingest = shutil.which("bsingest", path=str(Path(sys.executable).parent)) or "bsingest"
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        manifest = make_archive(Path(tmp), args.sessions, args.files)
        made = time.perf_counter() - t0
        print(f"{args.sessions} sessions x {args.files} files, made in {made:.1f} s",
              flush=True)
        print(f"{'pool':<6} {'mode':<8} {'records':>8} {'seconds':>8} {'records/s':>10} "
              f"{'client peak RSS':>16} {'journal':>9}", flush=True)
        for mode in args.modes.split(","):
            for pool in args.pools.split(","):
                r = run(bsingest, manifest, Path(tmp) / f"{pool}-{mode}", pool, mode)
                print(f"{pool:<6} {mode:<8} {r['records']:8.0f} {r['seconds']:8.1f} "
                      f"{r['rate']:10.1f} {r['rss']:12.0f} MiB {r['journal']:5.1f} MiB  "
                      f"{r['counts']}", flush=True)


if __name__ == "__main__":
    main()
