"""DICOM samples, written by pydicom: MR, a multi-frame fMRI file, CT; big-endian too."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_mri_photometry import write_dicom

EXTRACTOR = "dicom"


def good(tmp: Path) -> list[Path]:
    return [
        write_dicom(tmp / "mr.dcm"),
        write_dicom(tmp / "bold.dcm", frames=12, temporal=12, tr_ms=1500.0),
        write_dicom(tmp / "ct" / "17106", modality="CT", field_t=None, tr_ms=None),
        write_dicom(tmp / "mr_big.dcm", syntax="big"),
    ]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    good = write_dicom(tmp / "src.dcm")
    raw = good.read_bytes()
    no_preamble = tmp / "nopreamble.dcm"
    no_preamble.write_bytes(raw[132:])
    cut = tmp / "cut.dcm"
    cut.write_bytes(raw[:200])
    us = write_dicom(tmp / "us.dcm", modality="US")
    good.unlink()
    return [no_preamble, cut, us]
