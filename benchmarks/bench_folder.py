"""Whole folders, whole process (issue 25): ``bsingest extract DIR --json`` beside the
floor, a 10-line stdlib loop that opens every WAV with ``wave`` and prints the same four
values (path, channels, rate, frames) as JSON lines.

Also the real corpus (``../shared/corpus``) beside importing the libraries it needs, and
a mixed session (WAV, ``.dat`` + XML, MP4).

Run:  PYTHONPATH=$PWD python benchmarks/bench_folder.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import measure

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus")

# The floor: what reading four header values per WAV costs in plain Python.
LOOP = """
import json, os, sys, wave
for e in os.scandir(sys.argv[1]):
    if e.name.endswith('.wav'):
        with wave.open(e.path) as w:
            print(json.dumps({'path': e.path, 'nChannels': w.getnchannels(),
                              'sr': w.getframerate(), 'nSamples': w.getnframes()}))
"""


def bsingest(*args: str) -> list[str]:
    return [sys.executable, "-m", "bsingest.cli.main", *args]


def write_wavs(folder: Path, n: int) -> None:
    """``n`` small WAVs (2 channels, 16 bit) that differ: file ``i`` holds ``100 + i % 997``
    frames at one of four rates, so no two neighbours share their bytes or their record
    (a run must not gain from identical files). The first is written by ``wave``; the others
    by the same 44-byte header ``wave`` writes (writing 100,000 with ``wave`` takes longer
    than reading them), which the first checks."""
    import struct

    folder.mkdir(parents=True, exist_ok=True)

    def wav_bytes(frames: int, rate: int) -> bytes:
        data = bytes(range(256)) * (frames * 4 // 256 + 1)
        data = data[:frames * 4]
        return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
                + struct.pack("<IHHIIHH", 16, 1, 2, rate, rate * 4, 4, 16)
                + b"data" + struct.pack("<I", len(data)) + data)

    rates = (20000, 22050, 30000, 44100)
    first = folder / "a000000.wav"
    with wave.open(str(first), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rates[0])
        w.writeframes(wav_bytes(100, rates[0])[44:])
    if first.read_bytes() != wav_bytes(100, rates[0]):  # our header is wave's
        raise RuntimeError("write_wavs: the header written differs from wave's")
    for i in range(1, n):
        (folder / f"a{i:06d}.wav").write_bytes(wav_bytes(100 + i % 997, rates[i % 4]))


def write_mixed(folder: Path, n: int) -> None:
    """A mixed session: a third WAVs, a third ``.dat`` with one Neuroscope XML each, a
    third small MP4s (copies of one PyAV-written file)."""
    from tests.fixtures import write_dat, write_neuroscope_xml

    folder.mkdir(parents=True, exist_ok=True)
    write_wavs(folder, n // 3)
    mp4 = folder / "v000000.mp4"
    from tests.samples.video import encode

    encode(mp4, n=30)
    data = mp4.read_bytes()
    for i in range(1, n // 3):
        (folder / f"v{i:06d}.mp4").write_bytes(data)
    write_dat(folder / "d000000.dat", n_channels=2, n_samples=4)
    write_neuroscope_xml(folder / "d000000.xml", 2)
    dat, xml = (folder / "d000000.dat").read_bytes(), (folder / "d000000.xml").read_bytes()
    for i in range(1, n - 2 * (n // 3)):
        (folder / f"d{i:06d}.dat").write_bytes(dat)
        (folder / f"d{i:06d}.xml").write_bytes(xml)


def wav_table(tmp: Path, sizes: list[int], repeat: int) -> None:
    print("| files | bsingest | peak RSS | stdlib loop | loop RSS | time ratio | RSS ratio "
          "| bsingest µs/file |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        folder = tmp / f"wav{n}"
        write_wavs(folder, n)
        rep = repeat if n <= 10_000 else max(1, repeat // 2)
        ours = measure(bsingest("extract", str(folder), "--json"), rep)
        floor = measure([sys.executable, "-c", LOOP, str(folder)], rep)
        print(f"| {n:,} WAV | {ours[0]:.2f} s | {ours[1]:.0f} MiB | {floor[0]:.2f} s "
              f"| {floor[1]:.0f} MiB | {ours[0] / floor[0]:.2f} | {ours[1] / floor[1]:.2f} "
              f"| {ours[0] / n * 1e6:.0f} |", flush=True)


def corpus_table(repeat: int) -> None:
    if not CORPUS.is_dir():
        print(f"(no corpus at {CORPUS})")
        return
    n = sum(len(f) for _, _, f in os.walk(CORPUS))
    ours = measure(bsingest("extract", str(CORPUS), "--json"), repeat)
    imports = measure([sys.executable, "-c", "import numpy, h5py, av"], repeat)
    bare = measure([sys.executable, "-c", "pass"], repeat)
    print("| what | time | peak RSS |")
    print("|---|---|---|")
    print(f"| bsingest extract corpus --json ({n} files) | {ours[0]:.3f} s | {ours[1]:.0f} MiB |")
    print(f"| python -c 'import numpy, h5py, av' | {imports[0]:.3f} s | {imports[1]:.0f} MiB |")
    print(f"| python -c pass | {bare[0]:.3f} s | {bare[1]:.0f} MiB |")
    print(f"ratio to the imports: {ours[0] / imports[0]:.2f} (target <= 1.7, or <= 0.5 s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", choices=("wav", "corpus", "mixed"), default=None)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.only in (None, "wav"):
            wav_table(tmp, sizes, args.repeat)
        if args.only in (None, "corpus"):
            corpus_table(args.repeat)
        if args.only in (None, "mixed"):
            folder = tmp / "mixed"
            write_mixed(folder, 10_000)
            ours = measure(bsingest("extract", str(folder), "--json"), args.repeat)
            print(f"mixed 10,000 files (WAV, .dat + XML, MP4): {ours[0]:.2f} s, "
                  f"{ours[1]:.0f} MiB, {ours[0] / 10_000 * 1e6:.0f} µs/file")


if __name__ == "__main__":
    main()
