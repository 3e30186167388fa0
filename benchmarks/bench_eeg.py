"""EDF, BDF and BrainVision: cost at 1 MB, 1 GB and 100 GB (sparse files).

Whole process (start-up included) and peak RSS of ``bsingest extract --json`` beside a
process that opens the same file with the field's reader (pyedflib for EDF/BDF, MNE's
``read_raw_brainvision`` without preload for BrainVision), where installed. Target: the
same cost at every size (the header and one ``stat``).

    .venv/bin/python benchmarks/bench_eeg.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import measure
from tests.samples.brainvision import write_brainvision
from tests.samples.edf import eeg_signals, header

SIZES = {"1 MB": 10**6, "1 GB": 10**9, "100 GB": 10**11}
N_CHANNELS = 64

READERS = {
    "edf": ("pyedflib", "import sys, pyedflib; pyedflib.EdfReader(sys.argv[1]).close()"),
    "bdf": ("pyedflib", "import sys, pyedflib; pyedflib.EdfReader(sys.argv[1]).close()"),
    "brainvision": ("mne", "import sys, mne; mne.io.read_raw_brainvision(sys.argv[1], "
                    "preload=False, verbose='error')"),
}


def _edf(folder: Path, approx: int, bdf: bool) -> Path:
    # Plain EDF/BDF: an EDF+ annotation signal of zeros (a sparse file) is refused by
    # pyedflib, which reads every record's annotations when it opens a file.
    signals = eeg_signals(N_CHANNELS, 256)
    block = N_CHANNELS * 256 * (3 if bdf else 2)
    n = max(approx // block, 1)
    path = folder / ("rec.bdf" if bdf else "rec.edf")
    with open(path, "wb") as fh:
        fh.write(header(signals, n, bdf=bdf, plus=""))
        fh.truncate(256 * (len(signals) + 1) + n * block)  # sparse records
    return path


def _brainvision(folder: Path, approx: int) -> tuple[Path, Path]:
    data = write_brainvision(folder, n_channels=N_CHANNELS, n_samples=1)
    frame = N_CHANNELS * 2
    with open(data, "r+b") as fh:
        fh.truncate(approx // frame * frame)
    return data, data.with_suffix(".vhdr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bsingest = shutil.which("bsingest", path=str(Path(sys.executable).parent)) or "bsingest"
    print(f"{'format':>11} {'size':>6} | {'bsingest s':>10} {'RSS MiB':>8} | "
          f"{'reader s':>8} {'RSS MiB':>8} | {'time vs 1 MB':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("edf", "bdf", "brainvision"):
            name, code = READERS[kind]
            has_reader = importlib.util.find_spec(name) is not None
            base = None
            for label, approx in SIZES.items():
                folder = Path(tmp) / kind / label.replace(" ", "")
                folder.mkdir(parents=True)
                if kind == "brainvision":
                    ours_path, reader_path = _brainvision(folder, approx)
                else:
                    ours_path = reader_path = _edf(folder, approx, kind == "bdf")
                t, m = measure([bsingest, "extract", "--json", str(ours_path)], args.repeat)
                nt, nm = (measure([sys.executable, "-c", code, str(reader_path)], args.repeat)
                          if has_reader else (float("nan"), float("nan")))
                base = base or t
                print(f"{kind:>11} {label:>6} | {t:10.3f} {m:8.1f} | {nt:8.3f} {nm:8.1f} | "
                      f"{t / base:12.2f}")


if __name__ == "__main__":
    main()
