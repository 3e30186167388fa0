"""Intan and Open Ephys: extraction cost at 1 MB, 1 GB and 100 GB, beside neo's parse_header.

Per format, a session is written whose data files are sparse (``os.truncate``: nothing is
written, the sizes are real) and both readers describe it in a child process that times
only the parse (imports excluded, so start-up does not hide the difference):

- bsingest: ``extract_folder(session)``, every record of the session;
- neo: ``parse_header()`` of IntanRawIO (traditional ``.rhd``; ``info.rhd`` of an RHX
  folder), OpenEphysBinaryRawIO and OpenEphysRawIO on the same files. neo reads every Intan
  timestamp, loads the Open Ephys ``.npy`` arrays, and scans legacy records, so its time
  grows with the data; runs that pass ``--timeout`` are shown as ``>N s``.

    .venv/bin/python benchmarks/bench_intan_openephys.py [--repeat 3] [--timeout 120]
        [--sizes 1MB,1GB,100GB] [--formats intan-rhd,intan-rhx,openephys,openephys-legacy]

Measured (2 cores, 2026-11-29; bsingest = the whole session incl. every family's claim):

    format              size | bsingest ms |     neo ms | neo / ours | ours vs 1MB
    intan-rhd            1MB |        6.75 |       41.7 |        6.2 |        1.00
    intan-rhd            1GB |       10.81 |      619.2 |       57.3 |        1.60
    intan-rhd          100GB |       12.20 |    37462.4 |     3070.6 |        1.81
    intan-rhx            1MB |        5.99 |       17.8 |        3.0 |        1.00
    intan-rhx            1GB |        5.80 |       56.7 |        9.8 |        0.97
    intan-rhx          100GB |        5.84 |     3275.5 |      560.8 |        0.98
    openephys            1MB |        4.97 |       13.5 |        2.7 |        1.00
    openephys            1GB |        4.66 |       29.8 |        6.4 |        0.94
    openephys          100GB |        4.76 |       11.9 |        2.5 |        0.96
    openephys-legacy     1MB |        2.42 |        8.6 |        3.6 |        1.00
    openephys-legacy     1GB |        2.57 |       23.5 |        9.2 |        1.06
    openephys-legacy   100GB |        2.54 |     failed |          - |        1.05

(neo refuses the sparse 100 GB legacy copy: its records are all zeros. The intan-rhd
1.6-1.8x is child-process noise at 7-12 ms: in one process, ``extract`` of that .rhd takes
0.51 ms at 1 MB and 0.51 ms at 100 GB, median of 50.)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = {"1MB": 10**6, "1GB": 10**9, "100GB": 100 * 10**9}
N_AMP = 64  # Intan: two 32-channel ports
N_PROBE = 384  # Open Ephys: one Neuropixels-like stream


def _sparse(path: Path, size: int) -> None:
    with open(path, "ab") as fh:
        fh.truncate(size)


# Session writers: small real headers, sparse data.


def intan_rhd(folder: Path, size: int) -> Path:
    from tests.fixtures_intan_oe import IntanSpec, write_intan_traditional

    spec = IntanSpec(ports={"A": 32, "B": 32})
    path = write_intan_traditional(folder / "rec.rhd", spec, n_blocks=1)
    n_blocks = max(1, (size - len(spec.header())) // spec.block_bytes())
    _sparse(path, len(spec.header()) + n_blocks * spec.block_bytes())
    return path


def intan_rhx(folder: Path, size: int) -> Path:
    from tests.fixtures_intan_oe import IntanSpec, write_intan_rhx

    spec = IntanSpec(ports={"A": 32, "B": 32})
    write_intan_rhx(folder, spec, 1, "signal")
    n = max(1, size // (2 * N_AMP))
    for name, cols in [("amplifier.dat", N_AMP), ("auxiliary.dat", 6), ("analogin.dat", 1),
                       ("digitalin.dat", 1)]:
        _sparse(folder / name, n * 2 * cols)
    _sparse(folder / "time.dat", n * 4)
    return folder


def openephys(folder: Path, size: int) -> Path:
    import numpy as np

    from tests.fixtures_intan_oe import OebStream, write_oebin_recording

    rec = folder / "Record Node 101" / "experiment1" / "recording1"
    (dat,) = write_oebin_recording(rec, [OebStream("Neuropix-PXI-100.ProbeA", n_neural=N_PROBE,
                                                   stream_name="ProbeA")], 1)
    n = max(1, size // (2 * N_PROBE))
    _sparse(dat, n * 2 * N_PROBE)
    for name, dtype in [("sample_numbers.npy", np.int64), ("timestamps.npy", np.float64)]:
        arr = np.lib.format.open_memmap(dat.parent / name, mode="w+", dtype=dtype, shape=(n,))
        del arr  # a sparse .npy of the right length: header written, data never touched
    return folder


def openephys_legacy(folder: Path, size: int) -> Path:
    """Real records up to 1 GB (neo checks every record's header); sparse beyond."""
    import numpy as np

    from tests.fixtures_intan_oe import (
        LEGACY_HEADER,
        LEGACY_RECORD,
        LEGACY_SAMPLES,
        legacy_header,
        write_continuous,
    )

    n = max(2, (size // 2 - LEGACY_HEADER) // LEGACY_RECORD)
    record = np.dtype([("ts", "<i8"), ("n", "<u2"), ("rec", "<u2"),
                       ("data", ">i2", LEGACY_SAMPLES), ("marker", "u1", 10)])
    for ch in (1, 2):
        path = folder / f"100_CH{ch}.continuous"
        if size > 10**9:
            write_continuous(path, 2, channel=f"CH{ch}")
            _sparse(path, LEGACY_HEADER + n * LEGACY_RECORD)
            continue
        with open(path, "wb") as fh:
            fh.write(legacy_header(channel=f"CH{ch}"))
            chunk = 4096
            for start in range(0, n, chunk):
                k = min(chunk, n - start)
                recs = np.zeros(k, dtype=record)
                recs["ts"] = (start + np.arange(k)) * LEGACY_SAMPLES
                recs["n"] = LEGACY_SAMPLES
                recs["marker"] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 255]
                fh.write(recs.tobytes())
    return folder


WRITERS: dict[str, Callable[[Path, int], Path]] = {
    "intan-rhd": intan_rhd, "intan-rhx": intan_rhx, "openephys": openephys,
    "openephys-legacy": openephys_legacy,
}

# Child-process parsers: print the seconds the parse took.
CHILD = {
    "ours": "import extractors\nfrom bsingest.extraction import extract_folder as f\n"
            "def run(p):\n r = f(p)\n assert not r.errors, r.errors\n",
    "intan-rhd": "from neo.rawio import IntanRawIO\n"
                 "def run(p): IntanRawIO(filename=p, ignore_integrity_checks=True)"
                 ".parse_header()\n",
    "intan-rhx": "from neo.rawio import IntanRawIO\n"
                 "def run(p): IntanRawIO(filename=p + '/info.rhd', "
                 "ignore_integrity_checks=True).parse_header()\n",
    "openephys": "from neo.rawio import OpenEphysBinaryRawIO\n"
                 "def run(p): OpenEphysBinaryRawIO(dirname=p).parse_header()\n",
    "openephys-legacy": "from neo.rawio import OpenEphysRawIO\n"
                        "def run(p): OpenEphysRawIO(dirname=p).parse_header()\n",
}
TIMER = ("import sys, time\n"
         "t0 = time.perf_counter(); run(sys.argv[1]); print(time.perf_counter() - t0)\n")


def timed(reader: str, path: Path, repeat: int, timeout: float) -> float | None:
    """Median seconds of ``repeat`` child runs; None if one ran past ``timeout``."""
    code = CHILD[reader] + TIMER
    times = []
    for _ in range(repeat):
        try:
            out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                                 text=True, timeout=timeout, cwd=ROOT, check=False)
        except subprocess.TimeoutExpired:
            return None
        if out.returncode != 0:
            last = (out.stderr.strip().splitlines() or ["?"])[-1]
            raise RuntimeError(f"{reader} on {path}: {last}")
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--formats", default=",".join(WRITERS))
    args = parser.parse_args()
    sizes = [s for s in args.sizes.split(",") if s]
    print(f"{'format':<17} {'size':>6} | {'bsingest ms':>11} | {'neo ms':>10} | "
          f"{'neo / ours':>10} | {'ours vs 1MB':>11}")
    for fmt in [f for f in args.formats.split(",") if f]:
        base = None
        for label in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                session = WRITERS[fmt](Path(tmp), SIZES[label])
                ours = timed("ours", session if session.is_dir() else session.parent,
                             args.repeat, args.timeout)
                neo_reps = 1 if SIZES[label] > 10**9 else args.repeat
                try:
                    neo = timed(fmt, session, neo_reps, args.timeout)
                except RuntimeError as exc:  # neo refuses sparse (all-zero) legacy records
                    neo, failed = None, str(exc).rsplit(": ", 1)[-1][:60]
                else:
                    failed = ""
            assert ours is not None
            base = base or ours
            if failed:
                neo_s, ratio = f"{'failed':>10}", f"{'-':>10}"
            elif neo is None:
                neo_s = f"{'>' + str(int(args.timeout)) + ' s':>10}"
                ratio = f"{'>' + str(int(args.timeout / ours)):>10}"
            else:
                neo_s, ratio = f"{neo * 1e3:10.1f}", f"{neo / ours:10.1f}"
            print(f"{fmt:<17} {label:>6} | {ours * 1e3:11.2f} | {neo_s} | {ratio} | "
                  f"{ours / base:11.2f}" + (f"  neo: {failed}" if failed else ""), flush=True)


if __name__ == "__main__":
    main()
