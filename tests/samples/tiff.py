"""TIFF imaging samples: ScanImage 2016+ and 3.x, OME-TIFF, ImageJ and plain stacks
(written by tifffile in the writers' layouts, ``tests/imaging_fixtures.py``); bad: IFD
chains that loop or point past the end, and a ``.tif`` that is not a TIFF."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.imaging_fixtures import (
    ifd_offsets,
    si_software,
    write_looping_tiff,
    write_plain_stack,
    write_scanimage,
    write_scanimage_legacy,
    write_tiff_past_end,
)

EXTRACTOR = "tiff"


def good(tmp: Path) -> list[Path]:
    import tifffile

    tmp.mkdir(parents=True, exist_ok=True)
    si = write_scanimage(tmp / "si_00001_00001.tif", 6,
                         software=si_software(channels=(1, 2), slices=3, step=2.0))
    legacy = write_scanimage_legacy(tmp / "legacy.tif", 4)
    ome = tmp / "stack.ome.tif"
    tifffile.imwrite(ome, np.zeros((5, 2, 6, 7), "uint16"), ome=True,
                     metadata={"axes": "TCYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5,
                               "TimeIncrement": 0.05})
    imagej = tmp / "imagej.tif"
    tifffile.imwrite(imagej, np.zeros((4, 6, 7), "uint16"), imagej=True,
                     metadata={"axes": "TYX", "finterval": 0.1})
    plain = write_plain_stack(tmp / "plain.tiff", 3)
    return [si, legacy, ome, imagej, plain]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    loop = write_looping_tiff(tmp / "loop.tif")
    past = write_tiff_past_end(tmp / "past_end.tif")
    truncated = write_plain_stack(tmp / "truncated.tif", 5, (16, 16))
    last = ifd_offsets(truncated)[-1]
    truncated.write_bytes(truncated.read_bytes()[: last + 10])  # the last IFD is cut
    return [loop, past, truncated]
