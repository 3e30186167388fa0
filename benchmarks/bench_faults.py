"""Recovery cost under faults: GETs per POST and throughput, beside the same run without.

``bsingest ingest`` (the whole command, in its own process, default retry policy with its
real waits) uploads a session of ``--records`` tiny ``.dat`` files to a dataset that
already holds 1,000 or 10,000 records, against the local BrainSTEM-compatible server (in
this process, in a thread) with ``--latency`` added to every request. Each fault mode in
turn hits 20 % of the POSTs. Each faulted run is paired with the same run without faults
just before it (on a shared machine the load drifts more in a minute than the faults
cost), and its throughput is given as the ratio to its pair; the "none" row is the first
of those pairs. The pre-existing records are inserted into the server's store directly,
once per size (a template database copied for each run): seeding 10,000 costs a second.

Columns: POSTs and GETs the server saw, GETs per POST (target <= 0.2: each unknown
outcome used to list the dataset, 100 records a page), records/s of the whole command and
its ratio to the paired run without faults (target >= 0.7), and whether every key is on
the server exactly once at the end. (``_timing.median_call`` does not fit here: every run
needs a fresh copy of the server's database, so runs are paired instead of repeated.)

    .venv/bin/python benchmarks/bench_faults.py [--records 600] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bsingest.server import Faults, LocalServer
from tests.fixtures import write_dat, write_neuroscope_xml

DATASET = "4b060709-9585-484b-bde0-0a47a554aaab"  # alice's rat01-2024-03-01 in the demo seed
ACTION = "087b71c4-6785-437c-b8ef-e35a82a8463e"
MODES = ("error_before", "unavailable", "throttle", "unavailable_no_retry_after",
         "error_after", "drop_after", "drop_before", "late_commit")


def seeded_template(root: Path, existing: int) -> Path:
    """A server database whose dataset holds ``existing`` more records (other files)."""
    db = root / f"template-{existing}.sqlite3"
    LocalServer(db_path=db).stop()  # creates and seeds it
    rows = []
    for i in range(existing):
        rid = str(uuid.uuid4())
        body = {"id": rid, "dataset": DATASET, "type": "Extracellular", "actions": [ACTION],
                "hardware_device": None, "description": None,
                "type_json": {"fileName": f"old/{i:05d}.dat", "format": "DAT", "type": "int16",
                              "nChannels": 2, "sr": 20000.0, "nSamples": 5}}
        rows.append((rid, DATASET, json.dumps(body)))
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO experiment_data (id, dataset, body) VALUES (?, ?, ?)",
                         rows)
    conn.close()
    return db


def make_session(folder: Path, n: int) -> Path:
    for i in range(n):
        write_dat(folder / f"rec{i:05d}.dat", n_channels=2, n_samples=5)
    write_neuroscope_xml(folder / "session.xml", 2)
    return folder


@dataclass(frozen=True)
class Run:
    """What one ``bsingest ingest`` did, as the server saw it."""

    mode: str
    exit: int
    posts: int
    gets: int
    rate: float  # records per second of the whole command
    once: bool  # every key on the server exactly once at the end


def one_run(bsingest: str, template: Path, session: Path, root: Path, mode: str | None,
            latency: float) -> Run:
    db = root / "server.sqlite3"
    shutil.copy(template, db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    journal = root / "journal.sqlite"
    journal.unlink(missing_ok=True)
    faults = Faults(latency=latency, rate=0.2 if mode else 0.0, modes=(mode,) if mode else (),
                    seed=13)
    with LocalServer(db_path=db, faults=faults) as srv:
        before = srv.record_count(DATASET)
        # The local server speaks both API generations: this one states the 2023 one.
        config = root / "cfg" / "bsingest" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'server = "{srv.url}"\napi = "2023"\n')
        env = {**os.environ, "BRAINSTEM_SERVER": srv.url, "BRAINSTEM_TOKEN": srv.token,
               "BSINGEST_JOURNAL": str(journal), "XDG_CONFIG_HOME": str(root / "cfg")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        t0 = time.perf_counter()
        proc = subprocess.run([bsingest, "ingest", str(session), "--dataset", DATASET,
                               "--action", ACTION, "--json"], env=env, capture_output=True,
                              text=True)
        seconds = time.perf_counter() - t0
        hits = srv.hits
        srv.set_faults(Faults())
        with sqlite3.connect(db) as conn:
            names = collections.Counter(
                json.loads(b)["type_json"]["fileName"] for (b,) in conn.execute(
                    "SELECT body FROM experiment_data WHERE dataset = ?", (DATASET,)))
        conn.close()
        records = srv.record_count(DATASET) - before
    posts = sum(h.method == "POST" for h in hits)
    gets = sum(h.method == "GET" for h in hits)
    n = sum(1 for p in session.glob("*.dat"))
    once = records == n and all(names[f"rec{i:05d}.dat"] == 1 for i in range(n))
    return Run(mode or "none", proc.returncode, posts, gets, n / seconds, once)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=600)
    parser.add_argument("--existing", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--modes", nargs="+", default=list(MODES))
    args = parser.parse_args()
    bsingest = shutil.which("bsingest", path=str(Path(sys.executable).parent)) or "bsingest"
    print(f"{args.records} new records, {args.latency * 1000:.0f} ms latency, 20 % of POSTs "
          "faulted, default retry policy (real waits)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        session = make_session(root / "session", args.records)
        for existing in args.existing:
            template = seeded_template(root, existing)
            print(f"\n{existing:,} records already in the dataset")
            print(f"{'faults':<28} {'exit':>4} {'POSTs':>6} {'GETs':>5} {'GET/POST':>8} "
                  f"{'rec/s':>6} {'vs none':>7} {'once':>5}")
            for i, mode in enumerate(args.modes):
                base = one_run(bsingest, template, session, root, None, args.latency)
                if i == 0:
                    show(base, base.rate)
                show(one_run(bsingest, template, session, root, mode, args.latency), base.rate)


def show(r: Run, base: float) -> None:
    print(f"{r.mode:<28} {r.exit:>4} {r.posts:>6} {r.gets:>5} {r.gets / max(1, r.posts):8.3f} "
          f"{r.rate:6.1f} {r.rate / base:7.2f} {'yes' if r.once else 'NO':>5}", flush=True)

if __name__ == "__main__":
    main()
