"""Hostile files that used to cost seconds to hours, each as a ratio to its honest twin.

- a Neuroscope XML with 400,000 channel groups (28 s before: a whole tree, then every
  group checked twice) against the same session's XML with 8 groups;
- a DeepLabCut ``.csv`` followed by 2 GiB of NUL padding (7.7 s before, and one frame
  too many) against the same ``.csv`` without it;
- an ``.mkv`` followed by 2 GiB of zeros (42 s before: FFmpeg scanned them for a cluster)
  against the same ``.mkv`` without them;
- a ``.ts`` followed by 2 GiB of zeros (refused before: FFmpeg lost sync in them and gave
  up, "Resource temporarily unavailable") against the same ``.ts`` without them;
- an ``.mpg`` (MPEG-PS) and an ``.flv`` followed by 2 GiB of zeros (FFmpeg scanned them,
  ~9 s and ~6 s a GiB, without a word) against the same files without them.

The padding is sparse (``truncate``): it costs no disk, and a reader that reads it pays
for every byte. Times are in-process medians of ``bsingest.extraction.extract``; the
ratio is the figure (a machine-independent "cost does not grow with the junk").

    .venv/bin/python benchmarks/bench_hostile.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_call
from bsingest.errors import BsingestError
from bsingest.extraction import extract
from tests.fixtures import write_dat, write_neuroscope_xml
from tests.samples.dlc import SCORER, write_csv
from tests.samples.video import encode

PADDING = 2 * 2**30


def _extract_or_refusal(path: Path) -> Callable[[], object]:
    def run() -> object:
        try:
            return extract(path)
        except BsingestError as exc:  # a refusal is an answer too: time it
            return str(exc)
    return run


def _pairs(tmp: Path) -> dict[str, tuple[Path, Path]]:
    honest, hostile = tmp / "honest", tmp / "hostile"
    out = {}
    for folder, groups in ((honest, [list(range(i * 8, i * 8 + 8)) for i in range(8)]),
                           (hostile, [[i % 64] for i in range(400_000)])):
        write_dat(folder / "xml" / "rec.dat", n_channels=64, n_samples=1000)
        write_neuroscope_xml(folder / "xml" / "rec.xml", 64, groups=groups)
    out["Neuroscope XML, 400,000 groups vs 8"] = (honest / "xml" / "rec.dat",
                                                  hostile / "xml" / "rec.dat")
    for folder in (honest, hostile):
        write_csv(folder / f"m{SCORER}.csv", 10_000)
        encode(folder / "v.mkv", "libx264", 300)
        encode(folder / "v.ts", "libx264", 300)
        encode(folder / "v.mpg", "mpeg2video", 300)
        encode(folder / "v.flv", "flv1", 300)
    for name in (f"m{SCORER}.csv", "v.mkv", "v.ts", "v.mpg", "v.flv"):
        path = hostile / name
        os.truncate(path, path.stat().st_size + PADDING)
    out["DLC .csv + 2 GiB of NUL padding vs none"] = (honest / f"m{SCORER}.csv",
                                                      hostile / f"m{SCORER}.csv")
    out[".mkv + 2 GiB of zeros vs none"] = (honest / "v.mkv", hostile / "v.mkv")
    out[".ts + 2 GiB of zeros vs none"] = (honest / "v.ts", hostile / "v.ts")
    out[".mpg + 2 GiB of zeros vs none"] = (honest / "v.mpg", hostile / "v.mpg")
    out[".flv + 2 GiB of zeros vs none"] = (honest / "v.flv", hostile / "v.flv")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for label, (honest, hostile) in _pairs(Path(tmp)).items():
            base, _ = median_call(_extract_or_refusal(honest), args.repeat)
            cost, result = median_call(_extract_or_refusal(hostile), args.repeat,
                                       give_up_after=60)
            outcome = result if isinstance(result, str) else "; ".join(
                w for r in result for w in r.warnings)  # type: ignore[attr-defined]
            rows.append((label, base, cost, outcome))
    print("| file | honest | hostile | ratio | what the user is told |")
    print("|---|---|---|---|---|")
    for label, base, cost, outcome in rows:
        print(f"| {label} | {base * 1e3:.2f} ms | {cost * 1e3:.2f} ms | {cost / base:.2f}x | "
              f"{outcome[:90]} |")


if __name__ == "__main__":
    main()
