"""TDT tanks whose streams are fiber photometry (Synapse's photometry gizmos): one
``FiberPhotometry`` record per photometry store.

A TDT block is a folder of ``<block>.tsq`` (the index: one 40-byte record per block of
samples of one channel of one store), ``<block>.tev`` (the samples) and optionally
``.sev`` files. Synapse names the demodulated photometry stores after the LED's
wavelength: ``465A``, ``405A``, ``560B`` (a 4-character store code; the tdt package shows
them as ``_465A``, TDTbin2mat as ``x465A`` because a name cannot start with a digit);
``Fi1r``/``Fi2r`` are the raw photodetector streams of the fiber photometry gizmo and
``Fi1d`` its LED driver signals; the RZ5P gizmo writes its demodulated signals as
``Dv1A``, ``Dv2A``, ``Dv3B``... (no wavelength in the name), Lux rigs magnitudes as
``LMag``, and TDT's own photometry scripts recognise ``Isb*``, ``IG*``, ``IR*``, ``IC*``,
``GC*``, ``RC*`` stores. A block whose stream stores are all of these is
photometry: this family claims its ``.tev`` (else its ``.tsq``, when the ``.tev`` is not
there), the file the neo-based TDT family anchors a block on too, and names the records
alike (``block.tev#465A``); the other files of the block are sidecars. A block with other
streams (ephys) is the neo family's: it should stand aside for a block
:func:`photometry_only` accepts, and may describe the photometry stores of a mixed block
with :func:`photometry_fields` (or at least recognise them with
:func:`is_photometry_store`). Stores that Synapse wrote to ``.sev`` files have no blocks in
the ``.tsq`` and are not described here.

Per store: ``frameRate`` = the store's rate (``frequency`` of its tsq records, float32),
``nFrames`` = samples per channel: the sum over the store's channel-1 records of
(size - 10 words) x 4 bytes / the sample size of its data format; for a
``<wavelength><letter>`` store, ``excitationWavelength`` = the wavelength in its name
(the system's convention; the provenance says so). The block's start is the tsq's start
mark (an epoch time, given in UTC).

Choice of reader: our own (numpy over the tsq index, in 1 MiB chunks). neo's
``TdtRawIO`` reads the same index but types every stream as a signal and needs the
folder layout it expects; here only the tsq is read, never the ``.tev`` samples. Cost:
linear in the tsq (the index, ~1/64 of the data at 256-sample blocks): ~10 ms a MB.
"""

from __future__ import annotations

import datetime
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import Claim, Extraction, Extractor, Fields, Source
from .run import cached

__all__ = ["TdtPhotometryExtractor", "TdtStore", "is_photometry_store", "photometry_fields",
           "photometry_only", "read_tsq_stores", "store_wavelength"]

_RECORD = 40
_STREAM = 0x8101
_MARK = 0x8801
_ITEMSIZE = {0: 4, 1: 4, 2: 2, 3: 1, 4: 8, 5: 8}  # float32, int32, int16, int8, double, int64
_WAVELENGTH = re.compile(r"^[_x]?(\d{3})[A-Za-z]?$")
# Fiber photometry gizmos' other stores: Fi1r/Fi1d raw photodetector and LED driver
# streams, Dv1A/Dv2A... demodulated values (RZ5P), LMag Lux magnitudes, and the stores
# TDT's own photometry tools (rmCrosstalk.m) recognise by their first letters.
_RAW = re.compile(r"^(Fi\d[rd]|Dv\d[A-Za-z]|LMag|Isb.|I[GRC]..|[GR]C..)$")
_CHUNK = 1 << 15  # records per read (1.25 MiB)
_COMPANIONS = (".tsq", ".tev", ".tbk", ".tdx", ".tin", ".tnt", ".sev")


def _index_of(path: Path) -> Path | None:
    """The block's ``.tsq`` when ``path`` is its ``.tev``, or a ``.tsq`` without a ``.tev``."""
    suffix = path.suffix.lower()
    if suffix == ".tev":
        for ext in (".tsq", ".TSQ"):
            tsq = path.with_suffix(ext)
            if tsq.is_file():
                return tsq
        return None
    if suffix == ".tsq" and not any(path.with_suffix(e).is_file() for e in (".tev", ".TEV")):
        return path
    return None


def is_photometry_store(code: str) -> bool:
    """Whether a 4-character TDT store code is a photometry stream by Synapse's naming."""
    m = _WAVELENGTH.match(code)
    return bool(m and 300 <= int(m[1]) <= 800) or bool(_RAW.match(code))


def store_wavelength(code: str) -> int | None:
    """The LED wavelength (nm) a ``465A``-style store code names, else None."""
    m = _WAVELENGTH.match(code)
    return int(m[1]) if m and 300 <= int(m[1]) <= 800 else None


@dataclass
class TdtStore:
    """One stream store of a tank, from its tsq records."""

    code: str
    rate: float
    channels: int
    samples: int  # per channel (channel 1's records)
    fmt: int


def read_tsq_stores(path: Path, owner: Path | None = None
                    ) -> tuple[list[TdtStore], float | None]:
    """The stream stores of a ``.tsq`` and the block's start (epoch seconds, or None);
    errors name ``owner`` (the block's ``.tev`` being described), else the ``.tsq``."""
    owner = owner or path
    where = f"{path.name}: " if owner != path else ""
    import numpy as np

    dt = np.dtype([("size", "<i4"), ("evtype", "<i4"), ("code", "S4"), ("channel", "<u2"),
                   ("sort", "<u2"), ("ts", "<f8"), ("offset", "<i8"), ("fmt", "<i4"),
                   ("freq", "<f4")])
    size = os.stat(path).st_size
    if size < 2 * _RECORD:
        raise ExtractionError(owner, f"{where}{size} bytes: too short for a TDT tsq index (a "
                              "header record and a start mark, 40 bytes each)")
    stores: dict[str, TdtStore] = {}
    start: float | None = None
    with open(path, "rb") as fh:
        while True:
            raw = fh.read(_CHUNK * _RECORD)
            if not raw:
                break
            whole = len(raw) // _RECORD * _RECORD
            a = np.frombuffer(raw[:whole], dtype=dt)
            marks = a[(a["evtype"] == _MARK) & (a["code"] == b"\x01")]
            if start is None and len(marks):
                start = float(marks["ts"][0])
            s = a[a["evtype"] == _STREAM]
            for code in np.unique(s["code"]):
                rows = s[s["code"] == code]
                name = code.decode("latin-1")
                st = stores.get(name)
                fmt = int(rows["fmt"][0])
                item = _ITEMSIZE.get(fmt)
                if item is None:
                    raise ExtractionError(owner, f"{where}store {name}: data format {fmt} is "
                                          "not one TDT writes")
                ch1 = rows[rows["channel"] == 1]
                words = ch1["size"].astype("i8") - 10
                if (words < 0).any():
                    raise ExtractionError(owner, f"{where}store {name}: a record of fewer than "
                                          "10 words: a damaged index")
                n = int((words * 4 // item).sum())
                chans = int(rows["channel"].max())
                if st is None:
                    stores[name] = TdtStore(name, float(rows["freq"][0]), chans, n, fmt)
                else:
                    st.samples += n
                    st.channels = max(st.channels, chans)
            if len(raw) < _CHUNK * _RECORD:
                break
    return list(stores.values()), start


def photometry_only(tsq: Path) -> bool:
    """Whether every stream store of the tank is a photometry store (and there is one)."""
    try:
        # The whole index is read (a .tsq states no store list): once per run, shared
        # by this claim, neo's and the extraction.
        stores, _ = cached("tdt-tsq", tsq, lambda: read_tsq_stores(tsq))
    except (ExtractionError, OSError, ValueError):
        return False
    return bool(stores) and all(is_photometry_store(s.code) for s in stores)


class TdtPhotometryExtractor(Extractor):
    """TDT tanks of photometry stores only: one record per store."""

    name = "tdt_photometry"
    suffixes = (".tev", ".tsq")
    record_types = ("FiberPhotometry",)

    claim_endings = (".tev", ".tsq")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        # The block's .tev is the record's file (its samples), as in the neo family's TDT
        # records (``block.tev#EEG1``); a .tsq without its .tev stands in.
        tsq = _index_of(path)
        if tsq is None:
            return Claim.NO
        return Claim.SPECIFIC if photometry_only(tsq) else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        tsq = _index_of(path)
        if tsq is None:
            return []
        block = tsq.with_suffix("")
        out = [p for p in sorted(tsq.parent.iterdir())
               if p != path and p.is_file() and (
                   (p.name.startswith(block.name) and p.suffix.lower() in _COMPANIONS)
                   or p.name == "StoresListing.txt")]
        return out

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        tsq = _index_of(path)
        if tsq is None:
            raise ExtractionError(path, "no .tsq index of its block beside it: not a TDT block")
        return [self.result(path, "FiberPhotometry", f, part=code)
                for code, f in photometry_fields(tsq, path)]


def photometry_fields(tsq: Path, owner: Path) -> list[tuple[str, Fields]]:
    """(store code, its ``FiberPhotometry`` fields) for each photometry store of a block.

    ``owner`` is the file the records are named by (the block's ``.tev``); errors name it.
    The neo family can describe the photometry stores of a block that also holds ephys
    streams with it: ``self.result(tev, "FiberPhotometry", f, part=code)`` for each pair.
    """
    stores, start = cached("tdt-tsq", tsq, lambda: read_tsq_stores(tsq, owner))
    if not stores:
        raise ExtractionError(owner, f"{tsq.name} lists no stream stores")
    tev = tsq.with_suffix(".tev")
    out = []
    for s in sorted(stores, key=lambda s: s.code):
        if not is_photometry_store(s.code):
            continue
        f = Fields()
        f.header("format", "TDT", f"{tsq.name}: the block's index, store {s.code}")
        if math.isfinite(s.rate) and s.rate > 0:
            f.header("frameRate", s.rate, f"{tsq.name} store {s.code} frequency")
        else:
            f.warn(f"store {s.code}: rate {s.rate:g} in the index: no frameRate")
        f.computed("nFrames", s.samples, f"{tsq.name} store {s.code}: the samples of "
                   f"channel 1's records ((size - 10 words) x 4 bytes / "
                   f"{_ITEMSIZE[s.fmt]}-byte samples), of {s.channels} channel(s)")
        w = store_wavelength(s.code)
        if w is not None:
            f.header("excitationWavelength", w, f"store name {s.code}: Synapse names "
                     "photometry stores by their LED's wavelength (nm)")
        if start is not None and 0 < start < 1e11:
            f.started(datetime.datetime.fromtimestamp(start, tz=datetime.timezone.utc),
                      Source.HEADER, f"{tsq.name} start mark (epoch time)")
        if not tev.is_file():
            f.warn(f"{tev.name} is not beside the index: the samples are not here")
        out.append((s.code, f))
    return out
