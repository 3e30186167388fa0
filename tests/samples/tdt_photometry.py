"""TDT photometry tanks: 465A/405A demodulated stores and a raw Fi1r store."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_mri_photometry import write_tdt

EXTRACTOR = "tdt_photometry"


def good(tmp: Path) -> list[Path]:
    return [write_tdt(tmp / "block1", "tank-240101-1", {
        "465A": (1017.2526, 1, 8), "405A": (1017.2526, 1, 8), "Fi1r": (6103.5156, 3, 48)})]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    short = tmp / "short.tsq"
    short.write_bytes(b"\x00" * 50)
    return [short]
