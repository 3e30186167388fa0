"""Audio: cost of describing a 1 MB file and a multi-GB one, beside ``soundfile.info``.

In-process, per file (the median of ``--repeat`` calls after one warm-up), on sparse
WAV, RF64 and W64 files made with ``os.truncate`` (headers written, samples not) and on
real FLAC files (noise, so the frames are full size). The target (issue 3): the same
cost at every size, i.e. a ratio near 1 between the large and the small file.

    .venv/bin/python benchmarks/bench_audio.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_call
from bsingest.extraction import extract
from tests.samples.audio import (
    fmt_body,
    write_rf64_header,
    write_w64_header,
    write_wav_bytes,
)

MB, GB = 10**6, 10**9


def _wav(path: Path, data_bytes: int) -> Path:
    # A 32-bit data size: as large as a plain WAV can say (just under 4 GiB).
    write_wav_bytes(path, fmt_body(1, 2, 250_000, 16), b"", data_size=data_bytes)
    os.truncate(path, path.stat().st_size + data_bytes)
    return path


def _rf64(path: Path, data_bytes: int) -> Path:
    write_rf64_header(path, fmt_body(1, 2, 384_000, 16), data_bytes, data_bytes // 4)
    os.truncate(path, path.stat().st_size + data_bytes)
    return path


def _w64(path: Path, data_bytes: int) -> Path:
    write_w64_header(path, fmt_body(3, 2, 250_000, 32), data_bytes)
    os.truncate(path, path.stat().st_size + data_bytes)
    return path


def _flac(path: Path, n_bytes: int) -> Path:
    import numpy as np
    import soundfile as sf

    # Noise (incompressible: full-size frames), in whole 4096-sample blocks so that both
    # files end with a full frame: the cost is the check of the last frame, whatever
    # comes before it.
    rng = np.random.default_rng(0)
    block = 4096 * 64
    with sf.SoundFile(str(path), "w", 250_000, 1, "PCM_16", format="FLAC") as fh:
        for _ in range(max(1, n_bytes // (2 * block))):
            fh.write(rng.integers(-2**15, 2**15, block, dtype="int16"))
    return path


CASES = [
    ("WAV", _wav, 1 * MB, 4 * 2**30 - 4096),
    ("RF64", _rf64, 1 * MB, 8 * 2**30),
    ("W64", _w64, 1 * MB, 8 * 2**30),
    ("FLAC", _flac, 1 * MB, 64 * MB),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    import soundfile as sf

    print(f"{'format':>6} {'size':>9} | {'bsingest ms':>11} | {'sf.info ms':>10} | "
          f"{'nSamples':>12} {'sf frames':>20}")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, make, small, large in CASES:
            row = []
            for size in (small, large):
                path = make(Path(tmp) / f"{name}_{size}.{name.lower()}", size)
                ours, _ = median_call(lambda p=path: extract(p), args.repeat)
                theirs, _ = median_call(lambda p=path: sf.info(str(p)), args.repeat)
                n = extract(path)[0].type_json["nSamples"]
                frames = sf.info(str(path)).frames
                label = f"{path.stat().st_size / GB:.2f} GB" if size > GB else \
                    f"{path.stat().st_size / MB:.1f} MB"
                print(f"{name:>6} {label:>9} | {ours * 1e3:11.3f} | {theirs * 1e3:10.3f} | "
                      f"{n:12d} {frames:20d}")
                row.append((ours, theirs))
                path.unlink()
            ratios.append((name, row[1][0] / row[0][0], row[1][1] / row[0][1]))
    print()
    print(f"{'format':>6} | {'bsingest large/small':>20} | {'sf.info large/small':>19}")
    for name, ours, theirs in ratios:
        print(f"{name:>6} | {ours:20.2f} | {theirs:19.2f}")


if __name__ == "__main__":
    main()
