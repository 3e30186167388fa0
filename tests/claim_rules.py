"""Issue 25's rule for claims, checked on a :func:`tests.claimprobe.probe` report: deciding
whose a file is reads at most its name, its size and a few bytes of its head, and imports
no reader library. The exceptions are listed here, each with why.
"""

from __future__ import annotations

import os
from typing import Any

#: "A few bytes of its head": the most a claim reads of any file (the DeepLabCut CSV's and
#: the Neuroscope XML's look at their first 64 KiB; most claims read 4 to 512 bytes).
HEAD = 64 * 1024

#: Libraries that read formats: importing one costs 50 ms to 1 s, and a folder that holds
#: none of their files must not pay for it.
READERS = frozenset({"av", "cv2", "h5py", "mne", "neo", "nibabel", "numpy", "pandas", "PIL",
                     "pydicom", "pyedflib", "scipy", "soundfile", "tifffile"})


def _tsq(who: str, path: str) -> bool:
    # A TDT block is photometry or electrophysiology by the stores its index lists, and a
    # .tsq states no store list: the whole index is read (numpy over its 40-byte entries),
    # once per run, and the extraction uses that reading (tests/test_run_cache.py).
    return who in ("neo.claim", "tdt_photometry.claim") and path.lower().endswith(".tsq")


def _dicom(who: str, path: str) -> bool:
    # A DICOM slice is a series' companion by the series UID and instance number of every
    # DICOM file beside it: their headers are read (pydicom, before the pixels), once per
    # folder and its modification time.
    return who == "dicom.claim"


def _sleap_tail(who: str, path: str, start: int, end: int) -> bool:
    # HDF5 keeps a small file's link names at its end: an .h5 that no family knows by its
    # name is looked for /track_occupancy and /node_names in its last 64 KiB too.
    return who == "sleap_analysis.claim_content" and start >= os.path.getsize(path) - HEAD


def reads_past_the_head(report: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    """(asker, file, start, end) of every read past :data:`HEAD` that no exception allows."""
    return [(who, path, start, end) for who, path, start, end in report["reads"]
            if end > HEAD and not (_tsq(who, path) or _dicom(who, path)
                                   or _sleap_tail(who, path, start, end))]


def readers_imported(report: dict[str, Any]) -> dict[str, list[str]]:
    """asker -> the reader libraries its claims imported, the exceptions aside."""
    out = {}
    for who, modules in report["imports"].items():
        heavy = READERS.intersection(modules)
        if who == "dicom.claim":
            heavy -= {"pydicom", "numpy", "PIL"}  # pydicom imports numpy and PIL itself
        if who in ("neo.claim", "tdt_photometry.claim"):
            heavy -= {"numpy"}  # the .tsq read (see _tsq)
        if heavy:
            out[who] = sorted(heavy)
    return out
