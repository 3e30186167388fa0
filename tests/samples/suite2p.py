"""Suite2p samples: ``plane0/ops.npy`` as ``numpy.save`` writes Suite2p's ops dict; bad: an
``ops.npy`` whose pickle names a callable (refused, never run), and one that is a plain
numeric array."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from tests.imaging_fixtures import write_suite2p

EXTRACTOR = "suite2p"


class _Evil:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, ("echo pwned > /dev/null",))


def good(tmp: Path) -> list[Path]:
    return write_suite2p(tmp, planes=2)


def bad(tmp: Path) -> list[Path]:
    evil = tmp / "evil" / "plane0" / "ops.npy"
    evil.parent.mkdir(parents=True, exist_ok=True)
    with open(evil, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "|O", "fortran_order": False, "shape": ()})
        fh.write(pickle.dumps(_Evil(), protocol=2))
    numeric = tmp / "numeric" / "plane0" / "ops.npy"
    numeric.parent.mkdir(parents=True, exist_ok=True)
    np.save(numeric, np.zeros(4))
    return [evil, numeric]
