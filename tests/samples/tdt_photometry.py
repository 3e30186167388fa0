"""TDT photometry tanks: 465A/405A demodulated stores and a raw Fi1r store."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_mri_photometry import write_tdt

EXTRACTOR = "tdt_photometry"


def good(tmp: Path) -> list[Path]:
    tsq = write_tdt(tmp / "block1", "tank-240101-1", {
        "465A": (1017.2526, 1, 8), "405A": (1017.2526, 1, 8), "Fi1r": (6103.5156, 3, 48)})
    alone = write_tdt(tmp / "index_only", "tank-240101-2", {"560B": (1017.2526, 1, 4)})
    alone.with_suffix(".tev").unlink()
    return [tsq.with_suffix(".tev"), alone]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    short = tmp / "short.tev"
    short.write_bytes(b"\x00" * 50)
    (tmp / "short.tsq").write_bytes(b"\x00" * 50)
    return [short]
