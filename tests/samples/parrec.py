"""Philips PAR/REC samples (v4.2 PAR layout)."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_mri_photometry import write_parrec

EXTRACTOR = "parrec"


def good(tmp: Path) -> list[Path]:
    return [write_parrec(tmp, "anat"), write_parrec(tmp, "bold", dynamics=6, tr_ms=2500.0)]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    rec = tmp / "lonely.par"
    rec.write_text("# === DATA DESCRIPTION FILE\n" + "x" * (5 * 2**20))
    return [rec]
