"""Inscopix .isxd, Femtonics .mesc and Miniscope folders: extraction cost against data size.

- ``.isxd``: the frames are a sparse region (``os.truncate``: nothing written) of 1 MB,
  1 GB and 100 GB before the real footer; bsingest reads the last 8 bytes and the header.
- ``.mesc``: each unit's channel datasets are declared with 5, 5,000 and 500,000 frames
  of 512 x 512 uint16 (up to 262 GB) and never written; bsingest reads attributes and
  shapes in the HDF5 worker process.
- Miniscope: a device folder of 1, 10 and 40 AVIs of 20 frames (the cost is one AVI index
  read per file, whatever a file's size: see ``bench_video.py``).

Times are in-process, after one warm-up call, median of ``--repeat`` runs. The "x first"
column is the ratio to the smallest case: flat means the cost does not grow with the data.

    .venv/bin/python benchmarks/bench_scopes.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_call
from bsingest.extraction import extract
from tests.samples.femtonics import write_mesc
from tests.samples.inscopix import header
from tests.samples.miniscope import write_device


def _isxd(folder: Path, data: int) -> Path:
    w, h = 512, 512
    n = data // (w * h * 2)
    text = json.dumps(header(n, w, h)).encode()
    path = folder / f"movie_{data}.isxd"
    with open(path, "wb") as fh:
        fh.truncate(n * w * h * 2)
        fh.seek(0, os.SEEK_END)
        fh.write(text + b"\0" + struct.pack("<Q", len(text)))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases: list[tuple[str, str, Path]] = []
        for label, size in (("1 MB", 10**6), ("1 GB", 10**9), ("100 GB", 100 * 10**9)):
            cases.append((".isxd", label, _isxd(root, size)))
        for frames in (5, 5000, 500_000):
            gb = frames * 512 * 512 * 2 * 2 / 1e9
            cases.append((".mesc", f"{frames:,} frames ({gb:.3g} GB)",
                          write_mesc(root / f"u{frames}.mesc",
                                     [{"frames": frames, "width": 512, "height": 512}])))
        for files in (1, 10, 40):
            cases.append(("Miniscope", f"{files} AVIs", write_device(
                root / f"d{files}" / "Miniscope", [20] * files, per_file=20)))
        first: dict[str, float] = {}
        for family, label, path in cases:
            seconds, _ = median_call(lambda p=path: extract(p), args.repeat)
            first.setdefault(family, seconds)
            rows.append((family, label, seconds, seconds / first[family]))
    print("| family | case | bsingest | x first |")
    print("|---|---|---|---|")
    for family, label, seconds, ratio in rows:
        print(f"| {family} | {label} | {seconds * 1000:.2f} ms | {ratio:.2f} |")


if __name__ == "__main__":
    main()
