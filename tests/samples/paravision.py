"""Bruker ParaVision scan folders (method, acqp, fid, pdata)."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_mri_photometry import write_paravision

EXTRACTOR = "paravision"


def good(tmp: Path) -> list[Path]:
    return [write_paravision(tmp / "study" / "3"),
            write_paravision(tmp / "study" / "5", reps=20, tr_ms=1000.0)]


def bad(tmp: Path) -> list[Path]:
    scan = tmp / "bad" / "4"
    write_paravision(scan)
    (scan / "method").write_text("not jcamp\n")
    (scan / "method").write_bytes(b"##" + b"x" * (5 * 2**20))
    return [scan / "method"]
