"""Raw binary ephys with a Neuroscope XML: cost at 1 MB, 1 GB and 1 TB.

Whole process (start-up included) and peak RSS of ``bsingest extract --json`` beside a
process that runs neo's ``NeuroScopeRawIO.parse_header`` on the same sparse files.
Targets (issue 2): bsingest at most half of neo's time, peak RSS at most 100 MB, and the
same cost at every size.

    .venv/bin/python benchmarks/bench_rawbinary.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import measure
from tests.fixtures import write_neuroscope_xml

SIZES = {"1 MB": 10**6, "1 GB": 10**9, "1 TB": 10**12}
N_CHANNELS = 64

NEO = ("import sys; from neo.rawio import NeuroScopeRawIO; "
       "r = NeuroScopeRawIO(filename=sys.argv[1]); r.parse_header()")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bsingest = shutil.which("bsingest", path=str(Path(sys.executable).parent)) or "bsingest"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, approx in SIZES.items():
            folder = Path(tmp) / label.replace(" ", "")
            folder.mkdir()
            frame = N_CHANNELS * 2
            dat = folder / "rec.dat"
            with open(dat, "wb") as fh:
                fh.truncate(approx // frame * frame)  # sparse: nothing is written
            write_neuroscope_xml(folder / "rec.xml", N_CHANNELS)
            ours = measure([bsingest, "extract", "--json", str(dat)], args.repeat)
            neo = measure([sys.executable, "-c", NEO, str(dat)], args.repeat)
            rows.append((label, ours, neo))
    print(f"{'size':>6} | {'bsingest s':>10} {'RSS MiB':>8} | {'neo s':>8} {'RSS MiB':>8} | "
          f"{'time vs neo':>11} | {'time vs 1 MB':>12}")
    base = rows[0][1][0]
    for label, (t, m), (nt, nm) in rows:
        print(f"{label:>6} | {t:10.3f} {m:8.1f} | {nt:8.3f} {nm:8.1f} | {t / nt:11.2f} | "
              f"{t / base:12.2f}")


if __name__ == "__main__":
    main()
