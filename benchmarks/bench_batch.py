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

Targets (issue 7): bsingest >= 90% of ideal's records/s and >= 7x the loop's; (issue 25):
>= 0.95x ideal, and at most 0.05 look-ups (GETs) per create (POST) when nothing fails.
The server (this script with ``--serve``, a child process) counts the requests each method
sent; ``--repeat N`` runs the batch and the ideal client N times in turn and gives the
median ratio.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_batch.py [--records 1000] \
        [--concurrency 8] [--repeat 3] [--api 2023|2026]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures import write_dat, write_neuroscope_xml

TOKEN = "f5f0ead7d8a638b2e97fed0cc1a4dc8c555b4c0d"  # alice, the local server's demo seed
PAT = "bspat_665845864902649509ce0118296f926258b17c93"  # alice's personal access token
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


def body(name: str, dataset: str, api: str) -> dict[str, object]:
    if api == "2026":
        return {"type": "ExtracellularEphys", "session": dataset, "procedures": [ACTION],
                "equipment": [], "notes": None, "type_schema_version": "1.1.0",
                "details": {"fileName": name, "format": "DAT", "type": "int16",
                            "nChannels": 2, "sr": {"value": 20000, "unit": "Hz"},
                            "nSamples": 5}}
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


def serve(port: int, db: str, latency: float) -> None:
    """The server, in this (child) process: each line on stdin is answered with the
    requests seen since the last one, by method, as one JSON line."""
    from bsingest.server import Faults, LocalServer
    from bsingest.server import http as server_http

    # When each request came and went (wall clock, shared with the parent): the timeline.
    spans: list[tuple[float, float, str]] = []
    dispatch = server_http._Handler._dispatch

    def timed(handler: server_http._Handler, method: str) -> None:
        began = time.time()
        try:
            dispatch(handler, method)
        finally:
            spans.append((began, time.time(), method))

    server_http._Handler._dispatch = timed  # type: ignore[method-assign]
    srv = LocalServer(db_path=Path(db), faults=Faults(latency=latency), port=port)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    seen = shown = 0
    for line in sys.stdin:
        hits = srv.hits
        counts: dict[str, object] = dict(collections.Counter(h.method for h in hits[seen:]))
        if line.strip() == "spans":
            counts["spans"] = spans[shown:]
        print(json.dumps(counts), flush=True)
        seen, shown = len(hits), len(spans)


def requests_since(server: subprocess.Popen[str], spans: bool = False) -> dict[str, Any]:
    """The requests the server saw since the last call, by method (and with ``spans``,
    each request's start and end, wall clock, under "spans")."""
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write("spans\n" if spans else "\n")
    server.stdin.flush()
    return dict(json.loads(server.stdout.readline()))


def ideal_timeline(spans: list[tuple[float, float, str]]) -> str:
    """The ideal client's requests, as :func:`timeline` says them (it starts at once)."""
    first = min(b for b, _, _ in spans)
    last = max(e for _, e, _ in spans)
    busy = sum(e - b for b, e, _ in spans)
    return (f"  ideal: first POST to last answer {last - first:.2f} s, mean in flight "
            f"{busy / (last - first):.2f} ({middle(spans, first, last):.2f} in the middle "
            f"fifth to four fifths), mean POST {busy / len(spans) * 1000:.1f} ms")


def middle(spans: list[tuple[float, float, str]], first: float, last: float) -> float:
    """Mean POSTs in flight from a fifth to four fifths of [first, last]: the steady
    state, without the start and the end."""
    lo, hi = first + (last - first) / 5, first + (last - first) * 4 / 5
    return sum(max(0.0, min(e, hi) - max(b, lo)) for b, e, m in spans if m == "POST") / (hi - lo)


def timeline(spans: list[tuple[float, float, str]], began: float, ended: float,
             concurrency: int) -> str:
    """Where one batch run's wall time went, seen from the server: the start (command
    start to first request, to first POST), the requests in flight against time, the end
    (last answer to the command's exit)."""
    spans = sorted(spans)
    posts = [s for s in spans if s[2] == "POST"]
    last = max(e for _, e, _ in spans)
    lines = [f"  first request {spans[0][0] - began:.2f} s, first POST "
             f"{posts[0][0] - began:.2f} s, last answer {last - began:.2f} s, exit "
             f"{ended - began:.2f} s"]
    step = 0.25
    t = posts[0][0]
    row = []
    while t < last:
        # Mean requests in flight over [t, t + step).
        busy = sum(max(0.0, min(e, t + step) - max(b, t)) for b, e, _ in spans) / step
        row.append(f"{busy:.1f}")
        t += step
    lines.append(f"  in flight per {step} s from the first POST (of {concurrency}): "
                 + " ".join(row))
    full = sum(e - b for b, e, _ in posts) / (last - posts[0][0])
    lines.append(f"  mean in flight, first POST to last answer: {full:.2f} "
                 f"({middle(spans, posts[0][0], last):.2f} in the middle fifth to four "
                 f"fifths), mean POST {sum(e - b for b, e, _ in posts) / len(posts) * 1000:.1f} ms")
    return "\n".join(lines)


def endpoint(url: str, api: str) -> tuple[str, dict[str, str]]:
    """Where records are created, and the headers that sign the request."""
    if api == "2026":
        return (f"{url}/api/private/modules/dataacquisition/",
                {"Authorization": f"Bearer {PAT}"})
    return f"{url}/rest/private/modules/experimentdata/", {"Authorization": f"Token {TOKEN}"}


def run_batch(bsingest: str, url: str, root: Path, n: int, concurrency: int,
              api: str) -> tuple[float, float, float]:
    """The command's seconds, and its start and end on the wall clock."""
    per = 100
    root.mkdir(parents=True)
    rows = [("folder,session,procedures,equipment,notes" if api == "2026"
             else "session,dataset,actions,hardware_device,description")]
    for s in range(max(1, n // per)):
        folder = root / f"s{s:02d}"
        for j in range(per):
            write_dat(folder / f"batch_{s:02d}_{j:03d}.dat", n_channels=2, n_samples=5)
        write_neuroscope_xml(folder / "session.xml", 2)
        rows.append(f"{folder},{DATASET},{ACTION},,")
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    env = {**os.environ, "BRAINSTEM_SERVER": url,
           "BRAINSTEM_TOKEN": PAT if api == "2026" else TOKEN,
           "BSINGEST_JOURNAL": str(root / "journal.sqlite")}
    # An installed bsingest has its bytecode cached: without it, the command and each of
    # its extraction workers would compile every module they import, at every run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    began, t0 = time.time(), time.perf_counter()
    proc = subprocess.run([bsingest, "batch", str(manifest), "--concurrency",
                           str(concurrency), "--api", api, "--json"], env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    ended = time.time()
    if proc.returncode:
        raise SystemExit(f"bsingest batch failed ({proc.returncode}): {proc.stderr[-2000:]}"
                         f"{proc.stdout[-2000:]}")
    return seconds, began, ended


def run_loop(url: str, n: int, api: str) -> float:
    where, headers = endpoint(url, api)
    t0 = time.perf_counter()
    for i in range(n):
        r = httpx.post(where, json=body(f"loop_{i}.dat", LOOP_DATASET, api), headers=headers)
        r.raise_for_status()
    return time.perf_counter() - t0


def run_ideal(url: str, n: int, concurrency: int, api: str) -> float:
    where, headers = endpoint(url, api)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(limits=limits, headers=headers) as client:
        def post(i: int) -> None:
            client.post(where, json=body(f"ideal_{i}.dat", IDEAL_DATASET, api)
                        ).raise_for_status()

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
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--api", choices=("2023", "2026"), default="2023")
    parser.add_argument("--timeline", action="store_true",
                        help="print where each batch run's time went, seen from the server")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], args.latency)
        return
    bsingest = shutil.which("bsingest", path=str(Path(sys.executable).parent)) or "bsingest"
    with tempfile.TemporaryDirectory() as tmp:
        ideal_rates, our_rates, ratios = [], [], []
        loop = 0.0
        for r in range(args.repeat):
            # A fresh server each time: every run creates all its records and lists a
            # dataset as empty as the first run's.
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            server = subprocess.Popen([sys.executable, __file__, "--serve", str(port),
                                       str(Path(tmp) / f"server{r}.sqlite3"), "--latency",
                                       str(args.latency)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
            try:
                wait_up(url)
                requests_since(server)
                ideal_rates.append(args.records / run_ideal(url, args.records,
                                                            args.concurrency, args.api))
                ideal_requests = requests_since(server, spans=args.timeline)
                ideal_spans = ideal_requests.pop("spans", None)
                if ideal_spans:
                    print(ideal_timeline(ideal_spans), flush=True)
                seconds, began, ended = run_batch(
                    bsingest, url, Path(tmp) / f"run{r}", args.records, args.concurrency,
                    args.api)
                our_rates.append(args.records / seconds)
                ours = requests_since(server, spans=args.timeline)
                spans = ours.pop("spans", None)
                if r == 0:
                    loop = args.loop_records / run_loop(url, args.loop_records, args.api)
            finally:
                server.terminate()
                server.wait()
            ratios.append(our_rates[-1] / ideal_rates[-1])
            posts = ours.get("POST", 0)
            print(f"run {r + 1}: ideal {ideal_rates[-1]:.1f} rec/s, requests "
                  f"{dict(sorted(ideal_requests.items()))}; bsingest {our_rates[-1]:.1f} "
                  f"rec/s, requests {dict(sorted(ours.items()))} "
                  f"({sum(ours.values())} in all, {ours.get('GET', 0) / max(1, posts):.3f} "
                  f"GETs per POST); ratio {ratios[-1]:.2f}", flush=True)
            if spans:
                print(timeline(spans, began, ended, args.concurrency), flush=True)
    ideal, ours_rate = statistics.median(ideal_rates), statistics.median(our_rates)
    print(f"{args.records} records, API {args.api}, {args.latency * 1000:.0f} ms latency, "
          f"concurrency {args.concurrency}, median of {args.repeat}")
    print(f"{'method':<16} {'records/s':>10} {'vs ideal':>9} {'vs loop':>8}")
    for name, rate in (("bsingest batch", ours_rate), ("ideal pooled", ideal), ("loop", loop)):
        print(f"{name:<16} {rate:10.1f} {rate / ideal:9.2f} {rate / loop:8.1f}")
    print(f"median of the paired ratios: {statistics.median(ratios):.2f}")

if __name__ == "__main__":
    main()
