"""Pose and position files: extraction time, small against large (issue 24).

SLEAP ``.slp`` with 1,000 and 1,000,000 labelled frames (h5py, in the worker process:
shapes only), SLEAP analysis exports with 1,000 and 1,000,000 frames, Neuralynx ``.nvt``
of 10 and 10,000,000 records (sparse: 18 GB), FicTrac ``.dat`` of 1 MB and 10 GB (sparse
between its first and last rows), Axona ``.pos`` of 100 and 10,000,000 samples (sparse).
The large files must cost what the small ones do.

    .venv/bin/python benchmarks/bench_pose.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_call
from bsingest.extraction import extract
from tests.samples import axona_pos, fictrac, nvt, sleap, sleap_analysis


def _sparse_nvt(path: Path, n: int) -> Path:
    with open(path, "wb") as fh:
        fh.write(nvt.header())
        fh.truncate(16384 + n * nvt.RECORD.size)
    return path


def _sparse_fictrac(path: Path, size: int) -> Path:
    head = fictrac.write_dat(path.with_suffix(".head"), 1000)
    rows = head.read_bytes()
    with open(path, "wb") as fh:
        fh.write(rows)
        # A hole, then the last 64 KiB of rows (counters and times of a long run).
        last = 60 * 3600 * 24
        tail = "".join(fictrac.row(last - 999 + i, fictrac.T0_MS + (last - 1000 + i) * 1000 / 60)
                       + "\n" for i in range(1000)).encode()
        fh.seek(size - len(tail))
        fh.write(tail)
    return path


def _sparse_pos(path: Path, n: int) -> Path:
    small = axona_pos.write_pos(path.with_suffix(".small"), 0, declared=n).read_bytes()
    head = small[:small.index(b"data_start") + len(b"data_start")]
    with open(path, "wb") as fh:
        fh.write(head)
        fh.seek(len(head) + 20 * n)
        fh.write(b"\r\ndata_end\r\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases = [
            ("SLEAP .slp", "1,000 frames", sleap.write_slp(
                root / "a.slp", [(0, i) for i in range(1000)], [sleap.video_entry("x.mp4")])),
            ("SLEAP .slp", "1,000,000 frames", sleap.write_slp(
                root / "b.slp", [(0, i) for i in range(1_000_000)],
                [sleap.video_entry("x.mp4")], instances_per_frame=1)),
            ("SLEAP analysis", "1,000 frames",
             sleap_analysis.write_analysis(root / "a.analysis.h5", 1000)),
            ("SLEAP analysis", "1,000,000 frames",
             sleap_analysis.write_analysis(root / "b.analysis.h5", 1_000_000, n_nodes=2)),
            ("NVT", "10 records", _sparse_nvt(root / "a.nvt", 10)),
            ("NVT", "10,000,000 records", _sparse_nvt(root / "b.nvt", 10_000_000)),
            ("FicTrac", "1 MB", _sparse_fictrac(root / "a.dat", 10**6)),
            ("FicTrac", "10 GB", _sparse_fictrac(root / "b.dat", 10**10)),
            ("Axona POS", "100 samples", _sparse_pos(root / "a.pos", 100)),
            ("Axona POS", "10,000,000 samples", _sparse_pos(root / "b.pos", 10_000_000)),
        ]
        print(f"{'format':<15} | {'size':<19} | {'extract ms':>10} | nFrames")
        print(f"{'-' * 15}-|-{'-' * 19}-|-{'-' * 10}-|--------")
        for fmt, label, path in cases:
            seconds, result = median_call(lambda p=path: extract(p), args.repeat)
            (r,) = result  # type: ignore[misc]
            print(f"{fmt:<15} | {label:<19} | {seconds * 1000:10.2f} | {r.type_json['nFrames']}")


if __name__ == "__main__":
    main()
