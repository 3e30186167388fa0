"""Does a family's cost follow the file's size? Every format of issues 22-24, small beside
large (issue 25).

Each family's sample writer (``tests/samples``, ``tests/fixtures_*``, the growers of the
older per-issue benchmarks) makes a small file (about 10 MB) and a large one (10 GB,
sparse where the format allows: its samples are a hole the header counts). The target:
the large file costs at most 1.5x the small one. A format whose header or index grows
with the recording (TIFF pages, a PAR line per image, a CSV's rows, a TDT index, a
PrairieView XML's frames) cannot meet it; its slope is measured from two sizes and
listed in ``docs/performance.md``.

In-process ``extract()``, the fastest of ``--repeat`` calls after a warm-up, small and
large taken in turn (HDF5 families include the round trip to the reader process).

    PYTHONPATH=$PWD python benchmarks/bench_scaling.py [--repeat 7] [--only edf,nifti]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bench_eeg, bench_mri_photometry, bench_neo, bench_pose, bench_scopes
from bsingest.extraction import extract

MB, GB = 10**6, 10**9
Grow = Callable[[Path, int], Path]


@dataclass(frozen=True)
class Case:
    family: str
    issue: int
    grow: Grow  # (folder, size in bytes or units) -> the file to extract
    small: int
    large: int
    unit: str = "bytes"  # what small and large count
    flat: bool = True  # False: the format reads more as it grows; the slope is reported


def _sized(n: int, unit: str) -> str:
    if unit != "bytes":
        return f"{n:,} {unit}"
    return f"{n / GB:g} GB" if n >= GB else f"{n / MB:g} MB"


# --- growers the older benchmarks do not have ----------------------------------------


def _cellexplorer(folder: Path, size: int) -> Path:
    from tests.fixtures_cellexplorer import write_session_mat

    write_session_mat(folder / "s.session.mat", n_channels=8)
    dat = folder / "s.dat"
    with open(dat, "wb") as fh:
        fh.truncate(size // 16 * 16)  # 8 int16 channels: whole frames, all a hole
    return dat


def _scanbox(folder: Path, size: int) -> Path:
    from tests.imaging_fixtures import write_scanbox

    return write_scanbox(folder / "m.sbx", frames=max(1, size // (512 * 512 * 2)),
                         lines=512, pixels=512)


def _thorimage(folder: Path, size: int) -> Path:
    from tests.imaging_fixtures import write_thorimage

    frame = 512 * 512 * 2 * 2
    return write_thorimage(folder, raw_frames=max(1, size // frame), pixels=512, lines=512)


def _isxd(folder: Path, size: int) -> Path:
    return bench_scopes._isxd(folder, size)


def _mesc(folder: Path, size: int) -> Path:
    from tests.samples.femtonics import write_mesc

    frames = max(1, size // (512 * 512 * 2 * 2))
    return write_mesc(folder / "u.mesc", [{"frames": frames, "width": 512, "height": 512}])


def _paravision(folder: Path, size: int) -> Path:
    from tests.fixtures_mri_photometry import write_paravision

    scan = folder / "5"
    write_paravision(scan)
    for data in (scan / "fid", scan / "pdata" / "1" / "2dseq"):
        os.truncate(data, size)  # the samples: a hole
    return scan / "method"


def _doric(folder: Path, size: int) -> Path:
    from tests.fixtures_mri_photometry import write_doric

    return write_doric(folder / "r.doric", max(2, size // 16))  # time + one signal, float64


def _slp(folder: Path, frames: int) -> Path:
    from tests.samples import sleap

    return sleap.write_slp(folder / "a.slp", [(0, i) for i in range(frames)],
                           [sleap.video_entry("x.mp4")])


def _analysis(folder: Path, frames: int) -> Path:
    from tests.samples import sleap_analysis

    return sleap_analysis.write_analysis(folder / "a.analysis.h5", frames, n_nodes=2)


def _scanimage(folder: Path, pages: int) -> Path:
    from benchmarks.bench_tiff import write_scanimage_like

    return write_scanimage_like(folder / "si.tif", pages)


def _bruker(folder: Path, frames: int) -> Path:
    from tests.imaging_fixtures import write_bruker

    return write_bruker(folder / "TSeries-001", frames=frames, write_tifs=1)


def _parrec(folder: Path, images: int) -> Path:
    from tests.fixtures_mri_photometry import write_parrec

    return write_parrec(folder, "scan", dynamics=images, recon=(16, 16), slices=1)


def _nvt(folder: Path, size: int) -> Path:
    from tests.samples import nvt

    return bench_pose._sparse_nvt(folder / "v.nvt", max(10, size // nvt.RECORD.size))


def _pos(folder: Path, size: int) -> Path:
    return bench_pose._sparse_pos(folder / "t.pos", max(100, size // 20))


def _miniscope(folder: Path, avis: int) -> Path:
    from tests.samples.miniscope import write_device

    return write_device(folder / "Miniscope", [30] * avis)


CASES: tuple[Case, ...] = (
    # issue 22: electrophysiology and EEG
    Case("EDF", 22, lambda d, n: bench_eeg._edf(d, n, False), 10 * MB, 10 * GB),
    Case("BDF", 22, lambda d, n: bench_eeg._edf(d, n, True), 10 * MB, 10 * GB),
    Case("BrainVision", 22, lambda d, n: bench_eeg._brainvision(d, n)[0], 10 * MB, 10 * GB),
    Case("CellExplorer .dat + session.mat", 22, _cellexplorer, 10 * MB, 10 * GB),
    Case("Blackrock NSx 2.2", 22, bench_neo._nsx22, 10 * MB, 10 * GB),
    Case("Blackrock NSx 2.1", 22, bench_neo._nsx21, 10 * MB, 10 * GB),
    Case("Axona .eeg", 22, bench_neo._eeg, 10 * MB, 10 * GB),
    Case("Neuralynx .ncs (records written)", 22, bench_neo._ncs, 10 * MB, 200 * MB,
         flat=False),
    # issue 23: imaging
    Case("Scanbox .sbx", 23, _scanbox, 10 * MB, 10 * GB),
    Case("ThorImage .raw", 23, _thorimage, 10 * MB, 10 * GB),
    Case("Inscopix .isxd", 23, _isxd, 10 * MB, 10 * GB),
    Case("Femtonics .mesc", 23, _mesc, 10 * MB, 10 * GB),
    Case("ScanImage TIFF", 23, _scanimage, 2_000, 20_000, "pages", flat=False),
    Case("Bruker PrairieView", 23, _bruker, 100, 10_000, "frames", flat=False),
    Case("Miniscope device", 23, _miniscope, 1, 10, "AVIs", flat=False),
    # issue 24: MRI, photometry, pose
    Case("NIfTI .nii", 24, lambda d, n: bench_mri_photometry._nii(d / "a.nii", n),
         10 * MB, 10 * GB),
    Case("NIfTI .nii.gz (gzip written)", 24,
         lambda d, n: bench_mri_photometry._nii_gz(d / "a.nii.gz", n), 10 * MB, 1 * GB),
    Case("DICOM multi-frame (pixels written)", 24,
         lambda d, n: bench_mri_photometry._dicom(d / "a.dcm", n), 10 * MB, 200 * MB),
    Case("Philips PAR/REC", 24, _parrec, 10, 10_000, "images", flat=False),
    Case("Bruker ParaVision", 24, _paravision, 10 * MB, 10 * GB),
    Case("pyPhotometry .ppd", 24, lambda d, n: bench_mri_photometry._ppd(d / "a.ppd", n),
         10 * MB, 10 * GB),
    Case("Doric .doric (samples written)", 24, _doric, 10 * MB, 200 * MB),
    Case("Neurophotometrics CSV", 24, lambda d, n: bench_mri_photometry._npm(d / "a.csv", n),
         10 * MB, 200 * MB, flat=False),
    Case("TDT photometry .tev + .tsq", 24, bench_mri_photometry._tdt, 10 * MB, 200 * MB,
         flat=False),
    Case("SLEAP .slp", 24, _slp, 1_000, 1_000_000, "frames"),
    Case("SLEAP analysis .h5", 24, _analysis, 1_000, 1_000_000, "frames"),
    Case("Neuralynx .nvt", 24, _nvt, 10 * MB, 10 * GB),
    Case("FicTrac .dat", 24, lambda d, n: bench_pose._sparse_fictrac(d / "f.dat", n),
         10 * MB, 10 * GB),
    Case("Axona .pos", 24, _pos, 10 * MB, 10 * GB),
)


def _best(paths: list[Path], repeat: int) -> list[float]:
    """The fastest of ``repeat`` calls per path, the paths taken in turn: on a shared
    machine a load spike then hits both sizes alike, and the minimum is the cost of the
    work itself (a median still moved 3x between runs for the HDF5 families)."""
    for p in paths:
        extract(p)  # warm-up: imports, the reader process, the page cache
    best = [float("inf")] * len(paths)
    for _ in range(repeat):
        for i, p in enumerate(paths):
            t0 = time.perf_counter()
            extract(p)
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def run_case(case: Case, root: Path, repeat: int) -> str:
    paths = []
    for size in (case.small, case.large):
        folder = root / f"{case.family.split()[0]}-{size}"
        folder.mkdir(parents=True)
        paths.append(case.grow(folder, size))
    times = _best(paths, repeat)
    small, large = times
    ratio = large / small
    if case.flat:
        verdict = "met" if ratio <= 1.5 else "NOT met"
    else:
        per = (large - small) / (case.large - case.small)
        shown = per * GB if case.unit == "bytes" else per
        verdict = (f"slope {shown * 1e3:.3g} ms per "
                   + ("GB" if case.unit == "bytes" else case.unit.rstrip("s")))
    return (f"| {case.family} | {case.issue} | {_sized(case.small, case.unit)} | "
            f"{small * 1e3:.2f} ms | {_sized(case.large, case.unit)} | {large * 1e3:.2f} ms | "
            f"{ratio:.2f} | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", default="", help="comma-separated family name starts")
    args = parser.parse_args()
    wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    print("| family | issue | small | time | large | time | large / small | target 1.5x |")
    print("|---|---|---|---|---|---|---|---|")
    for case in CASES:
        if wanted and not any(case.family.lower().startswith(w) for w in wanted):
            continue
        with tempfile.TemporaryDirectory() as d:
            try:
                print(run_case(case, Path(d), args.repeat), flush=True)
            except Exception as exc:  # a writer needing a library this machine lacks
                print(f"| {case.family} | {case.issue} | | | | | | not measured: "
                      f"{type(exc).__name__}: {str(exc)[:80]} |", flush=True)


if __name__ == "__main__":
    main()
