"""NIfTI samples, written by nibabel: NIfTI-1 and -2, both byte orders, ``.nii.gz``."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_mri_photometry import write_nifti

EXTRACTOR = "nifti"


def good(tmp: Path) -> list[Path]:
    return [
        write_nifti(tmp / "bold.nii", (6, 5, 4, 7), (3.0, 3.0, 3.5, 2.0),
                    sidecar={"MagneticFieldStrength": 3, "RepetitionTime": 2.0}),
        write_nifti(tmp / "anat.nii.gz", (8, 7, 6), (1.0, 1.0, 1.2)),
        write_nifti(tmp / "big2.nii", (4, 4, 3, 5), (2.0, 2.0, 2.0, 1500.0),
                    units=("mm", "msec"), version=2, endian=">"),
    ]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    fake = tmp / "notgzip.nii.gz"
    fake.write_bytes(b"\x5c\x01\x00\x00" + b"\x00" * 400)
    short = tmp / "short.nii"
    short.write_bytes(b"\x5c\x01\x00\x00" + b"\x00" * 100)
    other = tmp / "other.nii"
    other.write_bytes(b"RIFF" + b"\x00" * 600)
    nomagic = write_nifti(tmp / "nomagic.nii", (4, 4, 4), (1.0, 1.0, 1.0))
    raw = bytearray(nomagic.read_bytes())
    raw[344:348] = b"xxxx"
    nomagic.write_bytes(bytes(raw))
    return [fake, short, other, nomagic]
