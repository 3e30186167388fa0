"""TIFF imaging: counting 50,000 pages, our IFD walk beside tifffile's own page count.

Three ScanImage-like BigTIFFs (ScanImage's header at byte 16, every page with its IFD,
its frame description, the ``SI.`` Software tag and the ROI JSON, then its pixels):

- 50,000 pages of 16x16 int16 (~100 MB: ScanImage's per-page tags are most of it);
- the same 50,000 pages spaced to make a **10 GB** file, sparse (the pixels are holes:
  the disk holds only the IFDs and tags), so 10 GB costs nothing to make;
- 500 pages, a small file, to show that the cost follows the pages, not the bytes.

For each: ``scan`` (our walk: the page count and the first page's tags), the whole
``extract`` (record built and checked), and ``len(tifffile.TiffFile(f).pages)``, as the
median of ``--repeat`` calls after a warm-up (the file in the page cache, as after a
recording), and the peak Python memory of one call (tracemalloc, measured apart from the
timing: tracing slows Python code several fold).

    .venv/bin/python benchmarks/bench_tiff.py [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_call
from bsingest.extraction import extract
from extractors._tiffwalk import scan
from tests.imaging_fixtures import si_artist, si_frame, si_software

GB = 10**9


def write_scanimage_like(path: Path, pages: int, *, stride: int = 0, lines: int = 16,
                         pixels: int = 16) -> Path:
    """A ScanImage-like BigTIFF; ``stride`` > 0 places page i at i * stride and leaves
    the bytes between pages as holes (a sparse file)."""
    software = si_software(lines=lines, pixels=pixels).encode() + b"\0"
    artist = si_artist([(pixels, lines, 2.0)]).encode() + b"\0"
    image = lines * pixels * 2
    with open(path, "wb") as fh:
        fh.write(b"II+\0" + struct.pack("<HHQ", 8, 0, 0))
        fh.write(struct.pack("<IIII", 0x07030301, 3, len(software), len(artist)))
        fh.write(software + artist)
        at = fh.tell() + (fh.tell() % 2)
        previous_next = 8
        for i in range(pages):
            if stride:
                at = max(at, 4096 + i * stride)
            desc = si_frame(i + 1).encode() + b"\0"
            n = 13
            values = at + 8 + n * 20 + 8
            data = values + len(desc) + len(software) + len(artist)
            data += data % 2
            tags = [(256, 3, 1, pixels), (257, 3, 1, lines), (258, 3, 1, 16), (259, 3, 1, 1),
                    (262, 3, 1, 1), (270, 2, len(desc), values), (273, 16, 1, data),
                    (277, 3, 1, 1), (278, 3, 1, lines), (279, 16, 1, image),
                    (305, 2, len(software), values + len(desc)),
                    (315, 2, len(artist), values + len(desc) + len(software)),
                    (339, 3, 1, 2)]
            ifd = struct.pack("<Q", n) + b"".join(struct.pack("<HHQQ", *t) for t in tags)
            fh.seek(previous_next)
            fh.write(struct.pack("<Q", at))
            fh.seek(at)
            fh.write(ifd)
            previous_next = fh.tell()
            fh.write(struct.pack("<Q", 0) + desc + software + artist)
            if not stride:
                fh.seek(data)
                fh.write(b"\0" * image)
                at = fh.tell()
            else:
                at = data + image
        fh.truncate(max(at, fh.tell()))
    return path


def tifffile_pages(path: Path) -> int:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        return len(tif.pages)


def peak_mib(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pages", type=int, default=50_000)
    ap.add_argument("--keep", type=Path, help="make the files here and keep them")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        files = {
            f"{args.pages} pages, dense": write_scanimage_like(
                folder / "dense.tif", args.pages),
            f"{args.pages} pages, 10 GB sparse": write_scanimage_like(
                folder / "sparse.tif", args.pages, stride=10 * GB // args.pages),
            "500 pages, dense": write_scanimage_like(folder / "small.tif", 500),
        }
        print("| file | size | on disk | pages (ours / tifffile) | scan | extract | "
              "tifffile | peak MiB: scan / tifffile |")
        print("|---|---|---|---|---|---|---|---|")
        for name, path in files.items():
            st = os.stat(path)
            t_scan, info = median_call(lambda p=path: scan(p), args.repeat)
            t_extract, _ = median_call(lambda p=path: extract(p), args.repeat)
            t_tf, n_tf = median_call(lambda p=path: tifffile_pages(p), args.repeat)
            assert info.pages == n_tf, (info.pages, n_tf)  # type: ignore[attr-defined]
            m_scan = peak_mib(lambda p=path: scan(p))
            m_tf = peak_mib(lambda p=path: tifffile_pages(p))
            print(f"| {name} | {st.st_size / 1e6:,.0f} MB | {st.st_blocks * 512 / 1e6:,.0f} MB"
                  f" | {info.pages} / {n_tf} | {t_scan * 1e3:.0f} ms | "  # type: ignore[attr-defined]
                  f"{t_extract * 1e3:.0f} ms | {t_tf * 1e3:.0f} ms | "
                  f"{m_scan:.2f} / {m_tf:.2f} |")


if __name__ == "__main__":
    main()
