"""MRI and fiber photometry: cost of describing a small and a large file, per family.

In-process, per file (the median of ``--repeat`` calls after one warm-up). ``.nii`` and
``.ppd`` are sparse (header written, data made with ``os.truncate``); the ``.nii.gz`` is a
real gzip stream of zeros (the reader inflates only its first 540 bytes, whatever the
stream holds); DICOM files carry their pixels; the NPM CSV and the TDT index are read
in full by design (a CSV states no row count; the tsq is the index), so their cost
grows with the recording, and the figures say by how much.

    .venv/bin/python benchmarks/bench_mri_photometry.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import gzip
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_call
from bsingest.extraction import extract
from tests.fixtures_mri_photometry import (
    write_dicom,
    write_npm,
    write_ppd,
    write_tdt,
)

MB, GB = 10**6, 10**9


def _nifti_header(shape: tuple[int, ...]) -> bytes:
    h = bytearray(352)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, len(shape), *shape, *([1] * (7 - len(shape))))
    struct.pack_into("<hh", h, 70, 4, 16)
    struct.pack_into("<8f", h, 76, 1.0, 2.0, 2.0, 2.0, 1.5, 0, 0, 0)
    struct.pack_into("<f", h, 108, 352.0)
    h[123] = 2 | 8
    h[344:348] = b"n+1\x00"
    return bytes(h)


_VOLUME = (128, 128, 64)  # 2 MiB of int16 a volume
_VOLUME_BYTES = 128 * 128 * 64 * 2


def _nii(path: Path, n_bytes: int) -> Path:
    vols = max(1, n_bytes // _VOLUME_BYTES)
    path.write_bytes(_nifti_header((*_VOLUME, vols)))
    os.truncate(path, 352 + vols * _VOLUME_BYTES)
    return path


def _nii_gz(path: Path, n_bytes: int) -> Path:
    vols = max(1, n_bytes // _VOLUME_BYTES)
    chunk = bytes(_VOLUME_BYTES)
    with gzip.open(path, "wb", compresslevel=1) as gz:
        gz.write(_nifti_header((*_VOLUME, vols)))
        for _ in range(vols):
            gz.write(chunk)
    return path


def _ppd(path: Path, n_bytes: int) -> Path:
    write_ppd(path, 10)
    os.truncate(path, path.stat().st_size + n_bytes // 4 * 4)
    return path


def _dicom(path: Path, n_bytes: int) -> Path:
    side = 512
    frames = max(1, n_bytes // (side * side * 2))
    return write_dicom(path, rows=side, columns=side, frames=frames, temporal=frames)


def _npm(path: Path, n_bytes: int) -> Path:
    return write_npm(path, max(2, n_bytes // 60))  # ~60 bytes a row


def _tdt(folder: Path, n_bytes: int) -> Path:
    blocks = max(1, n_bytes // (2 * 256 * 4))
    tsq = write_tdt(folder, "b", {"465A": (1017.25, 1, blocks), "405A": (1017.25, 1, blocks)})
    return tsq.with_suffix(".tev")


FAMILIES = {"nii": (_nii, ".nii", (10 * MB, 10 * GB)),
            "nii.gz": (_nii_gz, ".nii.gz", (10 * MB, 1 * GB)),
            "ppd": (_ppd, ".ppd", (10 * MB, 10 * GB)),
            "dicom": (_dicom, ".dcm", (1 * MB, 100 * MB)),
            "npm csv": (_npm, ".csv", (1 * MB, 100 * MB)),
            "tdt tev+tsq": (_tdt, "", (1 * MB, 100 * MB))}


def _import_cost(module: str) -> float:
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    print("| family | small | large | small file | large file | ratio |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (make, suffix, sizes) in FAMILIES.items():
            times = []
            for i, size in enumerate(sizes):
                target = Path(tmp) / f"{name.replace(' ', '_')}{i}{suffix}"
                path = make(target, size)
                t, _ = median_call(lambda p=path: extract(p), args.repeat)
                times.append(t)
            print(f"| {name} | {sizes[0] / MB:g} MB | {sizes[1] / MB:g} MB | "
                  f"{times[0] * 1e3:.2f} ms | {times[1] * 1e3:.2f} ms | "
                  f"{times[1] / times[0]:.2f} |")
    for module in ("nibabel", "pydicom", "h5py"):
        print(f"import {module}: {_import_cost(module) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
