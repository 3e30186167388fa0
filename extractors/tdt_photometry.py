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

__all__ = ["TdtPhotometryExtractor", "TdtStore", "TsqIndex", "block_index", "code_name",
           "code_value", "is_photometry_store", "photometry_fields", "photometry_only",
           "read_tsq_index", "read_tsq_stores", "store_wavelength", "stores_of"]

_RECORD = 40
_STREAM = 0x8101
_SNIP = 0x8201
_MARK = 0x8801
_TYPE_MASK = 0xFF0F  # neo's EVTYPE_MASK: the flag bits (0x10 UCF, 0x20 phantom) aside
_ITEMSIZE = {0: 4, 1: 4, 2: 2, 3: 1, 4: 8, 5: 8}  # float32, int32, int16, int8, double, int64
_ITEM_LUT = [_ITEMSIZE.get(i, 0) for i in range(8)]  # 0: not a format TDT writes
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


@dataclass(frozen=True, slots=True)
class TsqIndex:
    """What a ``.tsq`` states, grouped per (store, channel) in one chunked pass.

    Stream entries (type 0x8101 with any flag bits, as neo selects them) are grouped by
    store code, channel and whether the type is exactly 0x8101: one row per group, in
    arrays of equal length. Codes are the 4 bytes as a little-endian u32 (``code_name``).
    """

    entries: int  # 40-byte entries in the file
    start: float | None  # the time of the first start mark (type 0x8801, code 1)
    starts_marked: bool  # the second entry is the start mark (code 1), as neo expects
    start_entry: float  # the second entry's time (neo's block start when marked)
    stops_marked: bool  # the last entry is the stop mark (code 2)
    code: Any  # u4 per group
    channel: Any  # u2
    exact: Any  # bool: type exactly 0x8101 (no flag bits)
    count: Any  # i8: entries
    first: Any  # i8: index of the group's first entry in the file
    ts: Any  # f8: first entry's time
    freq: Any  # f4: first entry's rate
    fmt: Any  # i4: first entry's data format
    samples: Any  # i8: sum of (size - 10 words) x 4 // the entry's own sample size
    bad_fmt: Any  # i8: entries whose data format is not one TDT writes
    min_words: Any  # i8: the smallest (size - 10): negative in a damaged index
    end: Any  # i8: the furthest byte an entry's data reach (offset + (size - 10) x 4)
    snips: Any  # u8: unique code << 32 | channel << 16 | sort code of snippet entries


def code_name(code: int) -> str:
    """A u32 store code as its name (trailing NULs dropped, as numpy's ``S4`` does)."""
    return int(code).to_bytes(4, "little").rstrip(b"\0").decode("latin-1")


def code_value(name: str) -> int:
    """A store name as the u32 the index holds (its first 4 bytes, NUL-padded)."""
    return int.from_bytes(name.encode("latin-1")[:4].ljust(4, b"\0"), "little")


def _groups(key: Any, cols: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Unique ``key`` values in order, with per-group first/sum/min/max of ``cols``
    (``first_*``, ``sum_*``, ``min_*``, ``max_*`` names say which); stable, so "first"
    is the earliest entry."""
    import numpy as np

    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if len(k) else np.zeros(0, "i8")
    out: dict[str, Any] = {}
    for name, v in cols.items():
        how, _, _ = name.partition("_")
        v = v[order]
        if how == "first":
            out[name] = v[starts]
        elif how == "sum":
            out[name] = np.add.reduceat(v, starts) if len(k) else v[:0]
        elif how == "min":
            out[name] = np.minimum.reduceat(v, starts) if len(k) else v[:0]
        else:
            out[name] = np.maximum.reduceat(v, starts) if len(k) else v[:0]
    return k[starts], out


def read_tsq_index(path: Path, owner: Path | None = None) -> TsqIndex:
    """Read a ``.tsq`` once, in 1.25 MiB chunks: cost linear in the index, whatever the
    number of stores and channels. Errors name ``owner`` (the block's ``.tev`` being
    described), else the ``.tsq``; a size that is not whole entries is refused."""
    owner = owner or path
    where = f"{path.name}: " if owner != path else ""
    import numpy as np

    dt = np.dtype([("size", "<i4"), ("evtype", "<i4"), ("code", "<u4"), ("channel", "<u2"),
                   ("sort", "<u2"), ("ts", "<f8"), ("offset", "<i8"), ("fmt", "<i4"),
                   ("freq", "<f4")])
    size = os.stat(path).st_size
    if size < 2 * _RECORD:
        raise ExtractionError(owner, f"{where}{size} bytes: too short for a TDT tsq index (a "
                              "header record and a start mark, 40 bytes each)")
    lut = np.array(_ITEM_LUT, dtype="i8")
    parts: list[tuple[Any, dict[str, Any]]] = []
    snips: list[Any] = []
    start: float | None = None
    second: Any = None
    last: Any = None
    base = 0
    with open(path, "rb") as fh:
        # The head first (a claim reads it whatever the size), then the size: a trailing
        # part of an entry is a copy cut inside an entry or a damaged index, refused.
        fh.read(2 * _RECORD)
        if size % _RECORD:
            raise ExtractionError(owner, f"{where}{size} bytes is not a whole number of "
                                  f"40-byte entries ({size % _RECORD} bytes over): a damaged "
                                  "or cut index")
        fh.seek(0)
        while True:
            raw = fh.read(_CHUNK * _RECORD)
            if not raw:
                break
            a = np.frombuffer(raw, dtype=dt)
            if second is None:
                second = a[1]
            last = a[-1]
            ev = a["evtype"]
            if start is None:
                marks = a[(ev == _MARK) & (a["code"] == 1)]
                if len(marks):
                    start = float(marks["ts"][0])
            sel = np.flatnonzero((ev & _TYPE_MASK) == _STREAM)
            if len(sel):
                s = a[sel]
                key = ((s["code"].astype("u8") << np.uint64(32))
                       | (s["channel"].astype("u8") << np.uint64(16))
                       | (s["evtype"] == _STREAM).astype("u8"))
                fmt = s["fmt"].astype("i8")
                item = lut[np.clip(fmt, 0, len(_ITEM_LUT) - 1)]
                item[(fmt < 0) | (fmt >= len(_ITEM_LUT))] = 0
                words = s["size"].astype("i8") - 10
                parts.append(_groups(key, {
                    "first_row": sel.astype("i8") + base, "first_ts": s["ts"],
                    "first_freq": s["freq"], "first_fmt": s["fmt"],
                    "sum_count": np.ones(len(s), "i8"),
                    "sum_samples": np.where(item > 0, words * 4 // np.maximum(item, 1), 0),
                    "sum_bad": (item == 0).astype("i8"), "min_words": words,
                    "max_end": s["offset"] + words * 4}))
            sn = a[ev == _SNIP]
            if len(sn):
                snips.append(np.unique((sn["code"].astype("u8") << np.uint64(32))
                                       | (sn["channel"].astype("u8") << np.uint64(16))
                                       | sn["sort"].astype("u8")))
            base += len(a)
            if len(raw) < _CHUNK * _RECORD:
                break
    if parts:
        key, g = _groups(np.concatenate([k for k, _ in parts]),
                         {name: np.concatenate([c[name] for _, c in parts])
                          for name in parts[0][1]})
    else:
        key, g = np.zeros(0, "u8"), {name: np.zeros(0, "i8") for name in (
            "first_row", "first_ts", "first_freq", "first_fmt", "sum_count", "sum_samples",
            "sum_bad", "min_words", "max_end")}
    return TsqIndex(
        entries=base, start=start, starts_marked=int(second["code"]) == 1,
        start_entry=float(second["ts"]), stops_marked=int(last["code"]) == 2,
        code=(key >> np.uint64(32)).astype("u4"),
        channel=((key >> np.uint64(16)) & np.uint64(0xFFFF)).astype("u2"),
        exact=(key & np.uint64(1)).astype(bool), count=g["sum_count"], first=g["first_row"],
        ts=g["first_ts"], freq=g["first_freq"], fmt=g["first_fmt"],
        samples=g["sum_samples"], bad_fmt=g["sum_bad"], min_words=g["min_words"],
        end=g["max_end"],
        snips=np.unique(np.concatenate(snips)) if snips else np.zeros(0, "u8"))


#: The last index read, for calls outside a run (``extract()`` of one file asks for it
#: from the photometry claim, the neo claim and the extraction): keyed by the file's
#: identity as the run cache keys it (path, size, modification time).
_LAST: dict[tuple[str, int, int, int], TsqIndex] = {}


def block_index(tsq: Path, owner: Path | None = None) -> TsqIndex:
    """:func:`read_tsq_index`, once per run (and once for consecutive calls outside one):
    the photometry claim, the neo family's claim and its extraction share it."""
    def read() -> TsqIndex:
        st = os.stat(tsq)
        key = (os.fspath(tsq), st.st_size, st.st_mtime_ns, st.st_ino)
        found = _LAST.get(key)
        if found is None:
            found = read_tsq_index(tsq, owner)
            _LAST.clear()
            _LAST[key] = found
        return found

    return cached("tdt-tsq", tsq, read)


def read_tsq_stores(path: Path, owner: Path | None = None
                    ) -> tuple[list[TdtStore], float | None]:
    """The stream stores of a ``.tsq`` (entries of type exactly 0x8101) and the block's
    start (epoch seconds, or None); errors name ``owner`` (the block's ``.tev`` being
    described), else the ``.tsq``."""
    return stores_of(read_tsq_index(path, owner), path, owner)


def stores_of(ix: TsqIndex, path: Path, owner: Path | None = None
              ) -> tuple[list[TdtStore], float | None]:
    """:func:`read_tsq_stores` from an index already read."""
    owner = owner or path
    where = f"{path.name}: " if owner != path else ""
    stores: list[TdtStore] = []
    for code in dict.fromkeys(int(c) for c in ix.code[ix.exact]):
        mine = [i for i in range(len(ix.code)) if ix.exact[i] and int(ix.code[i]) == code]
        name = code_name(code)
        first = min(mine, key=lambda i: int(ix.first[i]))  # the store's first entry
        fmt = int(ix.fmt[first])
        if fmt not in _ITEMSIZE or any(int(ix.bad_fmt[i]) for i in mine):
            shown = fmt if fmt not in _ITEMSIZE else "of some entries"
            raise ExtractionError(owner, f"{where}store {name}: data format {shown} is "
                                  "not one TDT writes")
        ch1 = [i for i in mine if int(ix.channel[i]) == 1]
        if any(int(ix.min_words[i]) < 0 for i in ch1):
            raise ExtractionError(owner, f"{where}store {name}: a record of fewer than "
                                  "10 words: a damaged index")
        stores.append(TdtStore(name, float(ix.freq[first]),
                               max(int(ix.channel[i]) for i in mine),
                               sum(int(ix.samples[i]) for i in ch1), fmt))
    return stores, ix.start


def photometry_only(tsq: Path) -> bool:
    """Whether every stream store of the tank is a photometry store (and there is one)."""
    try:
        # The whole index is read (a .tsq states no store list): once per run, shared
        # by this claim, neo's and the extraction.
        stores, _ = stores_of(block_index(tsq), tsq)
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
    stores, start = stores_of(block_index(tsq, owner), tsq, owner)
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
