"""Neurophotometrics FP3002 CSV samples (Bonsai's newer and older column names)."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_mri_photometry import write_npm

EXTRACTOR = "neurophotometrics"


def good(tmp: Path) -> list[Path]:
    return [write_npm(tmp / "fp_data.csv", 400),
            write_npm(tmp / "old.csv", 300, rate=20.0, leds=(2,), new=False)]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    empty = tmp / "header_only.csv"
    empty.write_text("FrameCounter,SystemTimestamp,LedState,Region0G\n")
    return [empty]
