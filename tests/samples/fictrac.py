"""FicTrac samples (``.dat``): 25 comma-separated numbers per frame as FicTrac v2 writes
them (frame counter, rotation vectors, positions, heading, speed, timestamp in ms since
the epoch, sequence counter, delta and alt. timestamps), or 23 as v1 does.

The writer is shared with ``tests/test_pose.py``; its arguments are the truth.
"""

from __future__ import annotations

from pathlib import Path

EXTRACTOR = "fictrac"

T0_MS = 1_709_287_205_250.0  # 2024-03-01 10:00:05.250 UTC


def row(counter: int, t_ms: float, columns: int = 25) -> str:
    values = [f"{counter}"] + [f"{0.001 * (counter % 7 + k):.6f}" for k in range(20)]
    values.append(f"{t_ms:.3f}")  # column 22
    values.append(f"{counter}")  # column 23: sequence counter
    if columns >= 24:
        values.append("16.683")
    if columns >= 25:
        values.append(f"{t_ms:.3f}")
    return ", ".join(values[:columns])


def write_dat(path: Path, n: int, *, rate: float = 60.0, first: int = 1, columns: int = 25,
              tail: bytes = b"") -> Path:
    lines = [row(first + i, T0_MS + i * 1000.0 / rate, columns) for i in range(n)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode() + tail)
    return path


def good(tmp: Path) -> list[Path]:
    return [write_dat(tmp / "fictrac-20240301_100005.dat", 600),
            write_dat(tmp / "v1.dat", 50, rate=30.0, columns=23),
            write_dat(tmp / "stopped.dat", 20, tail=b"21, 0.01, 0.0")]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    first_cut = tmp / "first_row_cut.dat"
    first_cut.write_text(row(1, T0_MS)[:-9])
    backwards = write_dat(tmp / "backwards.dat", 5, first=100)
    backwards.write_bytes(backwards.read_bytes() + (row(3, T0_MS + 99) + "\n").encode())
    junk = write_dat(tmp / "junk_end.dat", 5)
    junk.write_bytes(junk.read_bytes() + b"this is not a row\n")
    return [first_cut, backwards, junk]
