"""The neo family: whole-process time and peak memory of ``bsingest extract --json`` on a
small file and a large one per format, and their ratio (issue 22).

Large files are sparse copies (``os.truncate``: nothing written) where the format's
header says how much data follows (Blackrock NSx, Axona ``.eeg``), and grown copies where
neo walks the data to find it (Neuralynx ``.ncs``: records written; Plexon ``.plx``: the
real file's data blocks repeated; Plexon continuous: a file in Plexon's layout whose
data blocks are repeated and whose header tallies are multiplied to match, read from its
headers; the same without tallies, which neo walks). Spike2, TDT, AlphaOmega and MaxWell
are timed on their real corpus files only (growing them needs their block chains or HDF5
layouts rewritten). NeuroNexus, AxoGraph, WinEDR, Elan and BCI2000 grow as sparse files:
the metadata, header or file size states the samples, and AxoGraph's data columns are
holes. Each row: median of ``--repeat`` runs after one warm-up; the process starts
Python, bsingest, and the worker process that imports neo.

    .venv/bin/python benchmarks/bench_neo.py [--repeat 3] [--large-mb 1024]
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks._timing import measure
from extractors.neo.plexon import PROBE_BLOCKS
from tests.samples.neo import (
    NCS_HEADER,
    write_axograph,
    write_axona_lfp,
    write_bci2000,
    write_edr,
    write_elan,
    write_ncs,
    write_nsx21,
    write_nsx22,
    write_plx,
    write_xdat,
)

CORPUS3 = Path(__file__).resolve().parents[2] / "shared" / "corpus3" / "files"


def _nsx22(folder: Path, size: int) -> Path:
    n_channels = 32
    head = 314 + 66 * n_channels + 9
    n = max((size - head) // (2 * n_channels), 10)
    path = write_nsx22(folder / "big.ns5", n_channels=n_channels, segments=(10,))
    with open(path, "r+b") as fh:  # the packet's sample count, then the data to match
        fh.seek(314 + 66 * n_channels + 5)
        fh.write(struct.pack("<I", n))
    os.truncate(path, head + n * 2 * n_channels)
    return path


def _nsx21(folder: Path, size: int) -> Path:
    path = write_nsx21(folder / "big.ns2", n_channels=32, n_samples=10)
    head = 32 + 4 * 32
    os.truncate(path, head + (size - head) // 64 * 64)
    return path


def _ncs(folder: Path, size: int) -> Path:
    n = max((size - NCS_HEADER) // 1044, 3)
    path = write_ncs(folder / "big.ncs", sr=32000, valid=(512,))
    chunk = 4096  # records per write: the bench's own memory stays small (a child
    # process inherits its parent's peak RSS in ru_maxrss)
    with open(path, "r+b") as fh:
        fh.seek(NCS_HEADER)
        for first in range(0, n, chunk):
            k = min(chunk, n - first)
            rec = np.zeros(k, dtype=[("ts", "<u8"), ("ch", "<u4"), ("sr", "<u4"),
                                     ("n", "<u4"), ("s", "<i2", 512)])
            rec["ts"] = 1_000_000 + np.arange(first, first + k, dtype=np.uint64) * 16000
            rec["ch"], rec["sr"], rec["n"] = 3, 32000, 512
            rec.tofile(fh)
    return path


def _eeg(folder: Path, size: int) -> Path:
    n = size - 300
    path = write_axona_lfp(folder / "big.eeg", n=10, declared=n)
    body = path.read_bytes()
    start = body.index(b"data_start") + len(b"data_start")
    os.truncate(path, start + n)
    with open(path, "ab") as fh:
        fh.write(b"\r\ndata_end\r\n")
    return path


def _xdat(folder: Path, size: int) -> Path:
    """Allego: the metadata states the samples; the data and timestamp files sparse."""
    channels = 32 + 1 + 2
    n = size // (4 * channels)
    path = write_xdat(folder, "big", n_samples=10, declared=n)
    os.truncate(path, n * 4 * channels)
    os.truncate(folder / "big_timestamp.xdat", n * 8)
    return path


def _axograph(folder: Path, size: int) -> Path:
    """AxoGraph X, 2 channels x 4 sweeps, every data column a hole."""
    return write_axograph(folder / "big.axgx", episodes=4, n_points=size // 16, holes=True)


def _edr(folder: Path, size: int) -> Path:
    n = (size - 2048) // 2 // 4 * 4
    path = write_edr(folder / "big.EDR", n_channels=4, n_frames=10, declared=n)
    os.truncate(path, 2048 + 2 * n)
    return path


def _elan(folder: Path, size: int) -> Path:
    """Elan: no sample count in the header; the .eeg's size states it (6 channels)."""
    path = write_elan(folder / "big.eeg")
    os.truncate(path, size // 12 * 12)
    return path


def _bci2000(folder: Path, size: int) -> Path:
    path = write_bci2000(folder / "big.dat", n_samples=10)
    first = path.read_bytes().split(b"\r\n", 1)[0].decode()
    header_len = int(first.split("HeaderLen=")[1].split()[0])
    frame = 4 * 2 + 3
    os.truncate(path, header_len + (size - header_len) // frame * frame)
    return path


def _plx(folder: Path, size: int) -> Path | None:
    real = CORPUS3 / "plexon" / "File_plexon_1.plx"
    if not real.is_file():
        return None
    data = real.read_bytes()
    n_dsp, n_event, n_slow = struct.unpack_from("<3i", data, 140)  # neo GlobalHeader
    start = 7504 + 1020 * n_dsp + 296 * n_event + 296 * n_slow
    path = folder / "big.plx"
    with open(path, "wb") as fh:
        fh.write(data)
        blocks = data[start:]
        for _ in range(max(size // len(blocks) - 1, 0)):
            fh.write(blocks)
    return path


def _plx_small(folder: Path, counts: bool) -> Path:
    """About 8.6 MB in Plexon's layout: 2 WB channels at 1 kHz, 1 FP at 500 Hz, spikes and
    events, more blocks than the header reader probes."""
    return write_plx(folder / "s.plx", blocks=PROBE_BLOCKS + 100, per_block=400,
                     counts=counts)


def _plx_grown(folder: Path, size: int, counts: bool) -> Path:
    """The small file's data blocks repeated up to ``size`` (written, not sparse), its
    header's tallies (TSCounts, WFCounts, EVCounts) multiplied to match."""
    small = _plx_small(folder, counts)
    data = bytearray(small.read_bytes())
    small.unlink()
    start = 7504 + 1020 + 296 + 3 * 296  # write_plx: 1 spike, 1 event, 3 continuous
    body = bytes(data[start:])
    k = max(size // len(body), 1)
    tallies = np.frombuffer(bytes(data[7504 - 4 * (650 + 650 + 512):7504]), "<i4") * k
    data[7504 - 4 * (650 + 650 + 512):7504] = tallies.astype("<i4").tobytes()
    path = folder / "big.plx"
    with open(path, "wb") as fh:
        fh.write(bytes(data[:start]))
        for _ in range(k):
            fh.write(body)
    return path


def _small(name: str, folder: Path) -> Path | None:
    writers = {"Blackrock NSx 2.2": lambda: write_nsx22(folder / "s.ns5", segments=(100,)),
               "Blackrock NSx 2.1": lambda: write_nsx21(folder / "s.ns2"),
               "Neuralynx .ncs": lambda: write_ncs(folder / "s.ncs"),
               "Axona .eeg": lambda: write_axona_lfp(folder / "s.eeg"),
               PLX_HEADER: lambda: _plx_small(folder, True),
               PLX_WALK: lambda: _plx_small(folder, False),
               "NeuroNexus .xdat": lambda: write_xdat(folder, "s"),
               "AxoGraph .axgx": lambda: write_axograph(folder / "s.axgx", episodes=4),
               "WinEDR .EDR": lambda: write_edr(folder / "s.EDR", n_channels=4),
               "Elan .eeg": lambda: write_elan(folder / "s.eeg"),
               "BCI2000 .dat": lambda: write_bci2000(folder / "s.dat")}
    if name in writers:
        return writers[name]()
    real = {"Plexon .plx": "plexon/File_plexon_1.plx",
            "Spike2 .smr": "spike2/File_spike2_1.smr",
            "MaxWell .raw.h5": "maxwell/MaxOne_data/Activity_Scan/000008/data.raw.h5",
            "TDT block": "tdt/dataset_0_single_block",
            "AlphaOmega .mpx": "alphaomega/mpx_map_version4_mapfile0053"}[name]
    src = CORPUS3 / real
    if not src.exists():
        return None
    if src.is_dir():
        shutil.copytree(src, folder / src.name)
        anchor = [p for p in (folder / src.name).iterdir()
                  if p.suffix.lower() in (".tev", ".mpx")]
        return sorted(anchor)[0]
    shutil.copy(src, folder / src.name)
    return folder / src.name


PLX_HEADER = "Plexon .plx, continuous"
PLX_WALK = "Plexon .plx, no counts kept (neo's walk)"
LARGE = {"Blackrock NSx 2.2": _nsx22, "Blackrock NSx 2.1": _nsx21, "Neuralynx .ncs": _ncs,
         "Axona .eeg": _eeg, "Plexon .plx": _plx,
         PLX_HEADER: lambda folder, size: _plx_grown(folder, size, True),
         PLX_WALK: lambda folder, size: _plx_grown(folder, size, False),
         "NeuroNexus .xdat": _xdat, "AxoGraph .axgx": _axograph, "WinEDR .EDR": _edr,
         "Elan .eeg": _elan, "BCI2000 .dat": _bci2000}
FORMATS = ("Blackrock NSx 2.2", "Blackrock NSx 2.1", "Neuralynx .ncs", "Axona .eeg",
           "Plexon .plx", PLX_HEADER, PLX_WALK, "Spike2 .smr", "MaxWell .raw.h5", "TDT block",
           "AlphaOmega .mpx", "NeuroNexus .xdat", "AxoGraph .axgx", "WinEDR .EDR",
           "Elan .eeg", "BCI2000 .dat")
#: Written (not sparse) large files: at most this many MB (--written-mb).
WRITTEN = ("Neuralynx .ncs", "Plexon .plx", PLX_WALK)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--large-mb", type=int, default=1024,
                    help="size of the large file (sparse, or written for Plexon continuous)")
    ap.add_argument("--written-mb", type=int, default=256,
                    help="size of the grown copies that neo walks (time grows with it)")
    ap.add_argument("--only", default="", help="formats whose name contains this text")
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "bsingest.cli.main", "extract", "--json"]
    print("| format | small | time | peak RSS | large | time | peak RSS | time ratio |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in FORMATS:
            if args.only not in name:
                continue
            folder = Path(tmp) / "".join(c if c.isalnum() else "_" for c in name)
            (folder / "small").mkdir(parents=True)
            (folder / "large").mkdir()
            small = _small(name, folder / "small")
            if small is None:
                print(f"| {name} | (no corpus) | | | | | | |")
                continue
            t_s, m_s = measure([*cmd, str(small)], args.repeat)
            row = f"| {name} | {_size(small)} | {t_s:.2f} s | {m_s:.0f} MiB |"
            grow = LARGE.get(name)
            size = args.large_mb * 2**20
            if name in WRITTEN:
                size = min(size, args.written_mb * 2**20)  # written, not sparse
            large = grow(folder / "large", size) if grow else None
            if large is None:
                print(row + " (real file only) | | | |")
                continue
            t_l, m_l = measure([*cmd, str(large)], args.repeat)
            print(row + f" {_size(large)} | {t_l:.2f} s | {m_l:.0f} MiB | {t_l / t_s:.2f}x |")


def _size(p: Path) -> str:
    n = sum(f.stat().st_size for f in p.parent.iterdir()) if p.suffix in (".tev", ".mpx") \
        else p.stat().st_size
    for unit, div in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= div:
            return f"{n / div:.3g} {unit}"
    return f"{n} B"


if __name__ == "__main__":
    main()
