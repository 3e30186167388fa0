"""Doric ``.doric`` samples in both HDF5 layouts."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_mri_photometry import write_doric

EXTRACTOR = "doric"


def good(tmp: Path) -> list[Path]:
    return [write_doric(tmp / "new.doric", 2000),
            write_doric(tmp / "two.doric", 500, series=("Series0001", "Series0002")),
            write_doric(tmp / "old.doric", 1200, rate=12000.0 / 10, layout="old"),
            write_doric(tmp / "values.doric", 800, layout="values")]


def bad(tmp: Path) -> list[Path]:
    import h5py

    tmp.mkdir(parents=True, exist_ok=True)
    other = tmp / "other.doric"
    other.write_bytes(b"not hdf5" * 20)
    empty = tmp / "empty.doric"
    with h5py.File(empty, "w") as h:
        h["x"] = [1, 2, 3]
    return [other, empty]
