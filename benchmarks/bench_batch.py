"""Upload throughput: ``bsingest batch`` vs a naive loop vs an ideal pooled client.

A local BrainSTEM-compatible server runs in its own process with 100 ms added to every
request. Side by side, in one run, each writing its own records:

- **bsingest batch**: the whole command (manifest of 10 sessions x 100 tiny ``.dat``
  files: extraction, validation, journal, reference checks, listing, uploads);
- **loop**: one ``httpx.post`` per record, a new connection each time (the seed's
  ``save_model`` style), sequential; run on the first ``--loop-records`` records, since it
  takes ~0.1 s per record whatever the count;
- **ideal**: a plain pooled ``httpx.Client`` POSTing the same bodies with the same
  concurrency, and nothing else.

Targets (issue 7): bsingest >= 90% of ideal's records/s and >= 7x the loop's.

    .venv/bin/python benchmarks/bench_batch.py [--records 1000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures import write_dat, write_neuroscope_xml

TOKEN = "f5f0ead7d8a638b2e97fed0cc1a4dc8c555b4c0d"  # alice, the local server's demo seed
# Each method writes to its own dataset of the demo seed, so that none pays for listing
# another's records.
DATASET = "4b060709-9585-484b-bde0-0a47a554aaab"  # bsingest batch
IDEAL_DATASET = "a2987175-c93b-47a6-9a35-6aa48c3e2640"
LOOP_DATASET = "1f7f103b-e949-405a-9b01-ddda3b2f10cf"
ACTION = "087b71c4-6785-437c-b8ef-e35a82a8463e"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body(name: str, dataset: str) -> dict[str, object]:
    return {"type": "Extracellular", "dataset": dataset, "actions": [ACTION],
            "hardware_device": None, "description": None,
            "type_json": {"fileName": name, "format": "DAT", "type": "int16", "nChannels": 2,
                          "sr": 20000, "nSamples": 5}}


def wait_up(url: str) -> None:
    for _ in range(200):
        try:
            httpx.get(f"{url}/rest/public/stem/dataset/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def run_batch(bsingest: str, url: str, root: Path, n: int, concurrency: int) -> float:
    per = 100
    rows = ["session,dataset,actions,hardware_device,description"]
    for s in range(max(1, n // per)):
        folder = root / f"s{s:02d}"
        for j in range(per):
            write_dat(folder / f"batch_{s:02d}_{j:03d}.dat", n_channels=2, n_samples=5)
        write_neuroscope_xml(folder / "session.xml", 2)
        rows.append(f"{folder},{DATASET},{ACTION},,")
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    env = {**os.environ, "BRAINSTEM_SERVER": url, "BRAINSTEM_TOKEN": TOKEN,
           "BSINGEST_JOURNAL": str(root / "journal.sqlite")}
    t0 = time.perf_counter()
    subprocess.run([bsingest, "batch", str(manifest), "--concurrency", str(concurrency),
                    "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def run_loop(url: str, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        r = httpx.post(f"{url}/rest/private/modules/experimentdata/",
                       json=body(f"loop_{i}.dat", LOOP_DATASET),
                       headers={"Authorization": f"Token {TOKEN}"})
        r.raise_for_status()
    return time.perf_counter() - t0


def run_ideal(url: str, n: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(limits=limits, headers={"Authorization": f"Token {TOKEN}"}) as client:
        def post(i: int) -> None:
            client.post(f"{url}/rest/private/modules/experimentdata/",
                        json=body(f"ideal_{i}.dat", IDEAL_DATASET)).raise_for_status()

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(post, range(n)))
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--loop-records", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    bsingest = shutil.which("bsingest", path=str(Path(sys.executable).parent)) or "bsingest"
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([bsingest, "server", "--port", str(port), "--db",
                                   str(Path(tmp) / "server.sqlite3"), "--latency",
                                   str(args.latency)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            wait_up(url)
            ideal = args.records / run_ideal(url, args.records, args.concurrency)
            ours = args.records / run_batch(bsingest, url, Path(tmp), args.records,
                                            args.concurrency)
            loop = args.loop_records / run_loop(url, args.loop_records)
        finally:
            server.terminate()
            server.wait()
    print(f"{args.records} records, {args.latency * 1000:.0f} ms latency, "
          f"concurrency {args.concurrency}")
    print(f"{'method':<16} {'records/s':>10} {'vs ideal':>9} {'vs loop':>8}")
    for name, rate in (("bsingest batch", ours), ("ideal pooled", ideal), ("loop", loop)):
        print(f"{name:<16} {rate:10.1f} {rate / ideal:9.2f} {rate / loop:8.1f}")


if __name__ == "__main__":
    main()
