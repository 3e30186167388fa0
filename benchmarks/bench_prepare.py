"""A session read for upload (``prepare``: what ``ingest`` and each session of ``batch``
read), this checkout beside another, interleaved (issue 25).

Sessions of the shapes a batch meets: ``.dat`` files beside one Neuroscope XML (the batch
benchmark's sessions), and an Intan RHX folder of per-channel ``.dat`` files beside one
``info.rhd``. Each checkout reads each session in a child process of its own: a warm-up
read, then ``--repeat`` reads with one job (as a batch's reader process does); the median
seconds of a read, and how often the shared sidecar was parsed in one read.

Run:  PYTHONPATH=$PWD python benchmarks/bench_prepare.py [--other /path/to/checkout]
          [--repeat 7] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from tests.fixtures import write_dat, write_neuroscope_xml  # noqa: E402  (after the path)
from tests.fixtures_intan_oe import IntanSpec, write_intan_rhx  # noqa: E402

SESSION = "4b060709-9585-484b-bde0-0a47a554aaab"
PROCEDURE = "087b71c4-6785-437c-b8ef-e35a82a8463e"

# Run in the child, with the checkout under test first on its path.
CHILD = """
import json, statistics, sys, time
from pathlib import Path
from bsingest.ingest import prepare
from bsingest.sessionconfig import load_options
from extractors import intan, rawbinary
folder, repeat = Path(sys.argv[1]), int(sys.argv[2])
parses = []
for module, name in ((rawbinary, "read_neuroscope_xml"), (intan, "read_intan_header")):
    original = getattr(module, name)
    def counted(*a, _original=original, **k):
        parses.append(1)
        return _original(*a, **k)
    setattr(module, name, counted)
options = load_options(folder, api="2026", session=sys.argv[3], procedures=[sys.argv[4]])
ready = prepare(folder, options, jobs=1)
assert not ready.failures, ready.failures
times = []
for _ in range(repeat):
    intan._layout_cached.cache_clear()  # each read as a new reader process's first
    parses.clear()
    t0 = time.perf_counter()
    prepare(folder, options, jobs=1)
    times.append(time.perf_counter() - t0)
print(json.dumps({"seconds": statistics.median(times), "records": len(ready.records),
                  "parses": len(parses)}))
"""


def sessions(root: Path) -> dict[str, Path]:
    out = {}
    for n in (100, 1000):
        folder = root / f"dat{n}"
        write_neuroscope_xml(folder / "session.xml", 2)
        for i in range(n):
            write_dat(folder / f"rec_{i:04d}.dat", n_channels=2, n_samples=5)
        out[f"{n} .dat + one Neuroscope XML"] = folder
    rhx = write_intan_rhx(root / "rhx" / "rec_231117_120000", IntanSpec(), 300, "channel")
    out[f"Intan RHX per channel ({len(list(rhx.glob('*.dat')))} .dat + info.rhd)"] = rhx.parent
    return out


def read(checkout: str, folder: Path, repeat: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = checkout
    # Started outside any checkout: the working folder would come first on the path.
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(repeat), SESSION,
                          PROCEDURE], env=env,
                         capture_output=True, text=True, check=True,
                         cwd=tempfile.gettempdir())
    return dict(json.loads(out.stdout.splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--other", help="another checkout to compare with")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3,
                    help="child processes per checkout and session, interleaved")
    args = ap.parse_args()
    checkouts = {"this checkout": str(HERE)}
    if args.other:
        checkouts["other"] = args.other
    with tempfile.TemporaryDirectory() as d:
        print(f"(load {os.getloadavg()[0]:.1f})\n\n| session | checkout | records | "
              "seconds per read | ms per record | sidecar parses per read |\n"
              "|---|---|---|---|---|---|")
        for name, folder in sessions(Path(d)).items():
            runs: dict[str, list[dict[str, float]]] = {k: [] for k in checkouts}
            for _ in range(args.rounds):
                for label, path in checkouts.items():
                    runs[label].append(read(path, folder, args.repeat))
            for label, rows in runs.items():
                seconds = statistics.median(r["seconds"] for r in rows)
                records = int(rows[0]["records"])
                print(f"| {name} | {label} | {records} | {seconds:.4f} | "
                      f"{seconds / records * 1000:.3f} | {int(rows[0]['parses'])} |",
                      flush=True)


if __name__ == "__main__":
    main()
