"""SpikeGLX, NWB, Axon ABF and WinWCP: extraction cost at 1 MB, 1 GB and 100 GB.

Each size is a sparse copy (``os.truncate``: nothing written) or, for NWB, an HDF5
dataset of that many bytes that was never written. Times are in-process, after one
warm-up call, median of ``--repeat`` runs: bsingest's ``extract(path)`` beside neo's
``parse_header()`` on the same file (neo has no NWB rawio without pynwb, so NWB has
no neo column). The "x 1 MB" columns are the ratio to the 1 MB time: flat means the
cost does not grow with the data.

    .venv/bin/python benchmarks/bench_spikeglx_nwb_abf.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_call
from bsingest.extraction import extract
from tests.samples.abf import BLOCK, write_abf2
from tests.samples.nwb import write_nwb
from tests.samples.spikeglx import write_spikeglx
from tests.samples.winwcp import SECTOR, write_wcp

SIZES = {"1 MB": 10**6, "1 GB": 10**9, "100 GB": 100 * 10**9}
NEO_LIMIT_S = 120.0  # neo runs that take longer than this once are not repeated


def _spikeglx(folder: Path, size: int) -> tuple[Path, Callable[[], object] | None]:
    frame = 385 * 2
    path = write_spikeglx(folder / "run_g0_t0.imec0.ap.bin", n_samples=1, n_neural=384,
                          meta_size=size // frame * frame)
    os.truncate(path, size // frame * frame)

    def neo() -> object:
        from neo.rawio import SpikeGLXRawIO

        r = SpikeGLXRawIO(dirname=str(folder))
        r.parse_header()
        return r

    return path, neo


def _abf(folder: Path, size: int) -> tuple[Path, Callable[[], object] | None]:
    path = write_abf2(folder / "rec.abf", sweeps=(10,), n_channels=2, mode=3)
    start = 5 * BLOCK
    n_points = (size - start) // 2 // 2 * 2
    with open(path, "r+b") as fh:
        fh.seek(236 + 8)
        fh.write(struct.pack("<q", n_points))  # data section: entry count
    os.truncate(path, start + 2 * n_points)

    def neo() -> object:
        from neo.rawio import AxonRawIO

        r = AxonRawIO(filename=str(path))
        r.parse_header()
        return r

    return path, neo


def _winwcp(folder: Path, size: int) -> tuple[Path, Callable[[], object] | None]:
    nbd = 390  # records of 200 kB, as in the corpus file
    record = (2 + nbd) * SECTOR
    n_records = max((size - 1024) // record, 1)
    path = write_wcp(folder / "rec.wcp", n_records=1, nbd=nbd, declared_records=n_records)
    os.truncate(path, 1024 + n_records * record)

    def neo() -> object:
        from neo.rawio import WinWcpRawIO

        r = WinWcpRawIO(filename=str(path))
        r.parse_header()
        return r

    return path, neo


def _nwb(folder: Path, size: int) -> tuple[Path, Callable[[], object] | None]:
    return write_nwb(folder / "rec.nwb", n_channels=64, huge=size // (64 * 2)), None


FORMATS = {"SpikeGLX": _spikeglx, "ABF2": _abf, "WinWCP": _winwcp, "NWB": _nwb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'format':>8} {'size':>7} | {'bsingest ms':>11} {'x 1 MB':>7} | "
          f"{'neo ms':>9} {'x 1 MB':>7} | {'neo / bsingest':>14}")
    for name, make in FORMATS.items():
        base = neo_base = None
        for label, size in SIZES.items():
            with tempfile.TemporaryDirectory() as tmp:
                path, neo = make(Path(tmp), size)
                ours = median_call(lambda p=path: extract(p), args.repeat)[0] * 1e3
                theirs = (median_call(neo, args.repeat, give_up_after=NEO_LIMIT_S)[0] * 1e3
                          if neo else None)
            base = base or ours
            neo_base = neo_base or theirs
            if theirs is not None and neo_base:
                neo_cols = f"{theirs:9.2f} {theirs / neo_base:7.2f} | {theirs / ours:14.2f}"
            else:
                neo_cols = f"{'n/a':>9} {'':>7} | {'n/a':>14}"

            print(f"{name:>8} {label:>7} | {ours:11.2f} {ours / base:7.2f} | {neo_cols}",
                  flush=True)


if __name__ == "__main__":
    main()
