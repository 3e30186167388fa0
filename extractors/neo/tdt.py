"""TDT blocks: list a block's stores (for this family and for others, e.g. photometry).

:func:`block_summary` describes a block the way neo's ``TdtRawIO`` (0.14.6, single-block
mode) lists it, from our own reading: the ``.Tbk`` (the store list: name, type, channels,
samples per entry) and one chunked numpy pass over the ``.tsq`` index
(:func:`extractors.tdt_photometry.read_tsq_index`, shared with the photometry family and
read once per run). Per stream store: channels = the ``.Tbk``'s NumChan; samples = its
NumPoints x the channel's index entries (equal over the channels); rate and type = the
first entry's frequency and data format; a store without entries is listed with rate 1
and type ``int``, as neo lists it. The ``.tev`` is not read, only its size: entries whose
samples reach past it (a copy not finished; the real corpus block is cut so) are said in
one warning line naming it, and counted as neo counts them. Cost: linear in the index
(~0.2 s per GB of samples at 256-sample entries), whatever the number of channels; neo
masks the whole index once per channel.

neo stays the reader where ours does not model neo's answer: a store Synapse flagged as
written to ``.sev`` files (the UCF bit), a block without its ``.tev`` or ``.Tbk`` beside
the ``.tsq`` (``.sev``-only blocks), a folder neo does not take for a block, a data format
neo does not map, and stores whose channels disagree (neo refuses them in its own words).
:func:`block_summary` returns None then, and the caller asks neo in the worker process.

:func:`tank_stores` returns every continuous store with its rate, channel count, stored
type and sample count, empty ones too, for readers of other families.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._isolate import isolated

__all__ = ["READER", "TdtStore", "block_summary", "read_tbk", "tank_stores"]

#: How the records name this reader in their provenance.
READER = "bsingest's TDT reader (.Tbk store list, .tsq index)"

_STREAM, _SNIP, _STRON = 0x8101, 0x8201, 0x101
_TYPE_MASK = 0xFF0F  # neo's EVTYPE_MASK
_UCF = 0x10  # the store was written to .sev files, one per channel
#: neo's data_formats_map: format 5 (int64) is not in it.
_NEO_DTYPES = {0: "float32", 1: "int32", 2: "int16", 3: "int8", 4: "float64"}
_TBK_ITEM = re.compile(rb"NAME=(\w+);TYPE=(\w+);VALUE=(\S+);")  # neo's pattern, as it is
_TBK_FIELDS = ("StoreName", "HeadName", "Enabled", "CircType", "NumChan", "StrobeMode",
               "TankEvType", "NumPoints", "DataFormat", "SampleFreq")
_SEV = re.compile(r"_[cC]h(\d+)\.sev$")


@dataclass(frozen=True, slots=True)
class TdtStore:
    """One continuous store of a TDT block, as neo lists it."""

    name: str
    n_channels: int
    sr: float | None  # None when its channels disagree
    dtype: str  # as neo states it ("float32"; "int" for stores it lists without data)
    n_samples: int  # per channel, summed over the block's segments
    units: str
    gain: float | None  # None when its channels disagree


@dataclass(frozen=True, slots=True)
class TbkStore:
    """One store header of a ``.Tbk``."""

    name: str
    ev_type: int
    n_channels: int
    n_points: int


def read_tbk(path: Path) -> tuple[list[TbkStore], int]:
    """The store headers of a ``.Tbk`` as neo's ``read_tbk`` finds them (its pattern over
    each ``[STOREHDRITEM]`` section until ``[USERNOTEDELIMITER]`` opens one), and how many
    sections lack a field (neo keeps them as empty rows of no type: skipped here)."""
    text = path.read_bytes()
    out: list[TbkStore] = []
    incomplete = 0
    for section in text.split(b"[STOREHDRITEM]"):
        if section.startswith(b"[USERNOTEDELIMITER]"):
            break
        info = {n.decode("ascii"): v for n, _, v in _TBK_ITEM.findall(section)}
        if any(k not in info for k in _TBK_FIELDS):
            incomplete += 1
            continue
        # every field converted as neo converts it: one it cannot read fails here too
        for k in ("CircType", "StrobeMode", "DataFormat"):
            int(info[k])
        float(info["SampleFreq"])
        out.append(TbkStore(info["StoreName"][:4].rstrip(b"\0").decode("utf-8"),
                            int(info["TankEvType"]), int(info["NumChan"]),
                            int(info["NumPoints"])))
    return out, incomplete


def _stem(tsq: Path) -> Path:
    return tsq.with_suffix("")


def _neo_takes(folder: Path) -> bool:
    """neo's ``is_tdtblock``: the folder holds a .tbk, .tdx, .tev and .tsq (any case)."""
    found = {os.path.splitext(n)[1].lower() for n in os.listdir(folder)}
    return found >= {".tbk", ".tdx", ".tev", ".tsq"}


def block_summary(tsq: Path, owner: Path) -> dict[str, Any] | None:
    """The block of ``tsq`` as the neo family's worker would hand neo's header back
    (``{"rawio", "reader", "variants", "warnings"}``), or None where neo must read it.

    Raises :class:`~bsingest.errors.ExtractionError` naming ``owner`` (the ``.tev``) for a
    damaged index (not whole 40-byte entries); entries whose samples reach past the
    ``.tev`` (a copy not finished) are one warning line: the counts stay the index's.
    """
    from ..tdt_photometry import block_index, code_value

    stem = _stem(tsq)
    tbk, tev = stem.with_suffix(".Tbk"), stem.with_suffix(".tev")
    if tsq.suffix != ".tsq" or not tbk.is_file() or not tev.is_file() \
            or not _neo_takes(tsq.parent):
        return None  # neo's exact file names and folder test, or neo's own refusal
    tev_size = os.stat(tev).st_size
    if tev_size == 0:
        return None  # neo cannot map an empty .tev: its error stands
    try:
        stores, incomplete = read_tbk(tbk)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    listed = [s for s in stores if s.ev_type & _TYPE_MASK == _STREAM]
    if any(s.ev_type & _UCF or s.n_channels <= 0 for s in listed):
        return None
    ix = block_index(tsq, owner)
    import numpy as np

    global_t0 = ix.start_entry if ix.starts_marked else float("nan")
    sev = _sev_channels(tsq.parent)
    streams = []
    past: dict[str, int] = {}  # store: the furthest byte its entries reach past the .tev
    for stream_id, st in enumerate(listed):
        mine = ix.code == code_value(st.name)
        seen: dict[int, list[int]] = {}  # channel: its groups (exact and flagged types)
        for row in np.flatnonzero(mine):
            i = int(row)
            ch = int(ix.channel[i])
            seen.setdefault(ch, []).append(i)
            if ch not in sev and 1 <= ch <= st.n_channels and int(ix.end[i]) > tev_size:
                past[st.name] = max(past.get(st.name, 0), int(ix.end[i]))
        per = {}  # channel: (entries, then its first entry's time, rate and format)
        for ch, groups in seen.items():
            j = min(groups, key=lambda g: int(ix.first[g]))
            per[ch] = (sum(int(ix.count[g]) for g in groups), float(ix.ts[j]),
                       float(ix.freq[j]), int(ix.fmt[j]))
        stream = _stream(st, stream_id, per, global_t0)
        if stream is None:
            return None
        streams.append(stream)
    warnings = []
    if past:
        warnings.append(f"truncated: {tsq.name} lists samples up to byte "
                        f"{max(past.values()):,} but {tev.name} holds {tev_size:,} bytes "
                        f"(stores {', '.join(past)}): nSamples counts the index's entries, "
                        "as neo does, not the samples on disk")
    if incomplete:
        warnings.append(f"{tbk.name}: {incomplete} store header(s) without all of their "
                        "fields: skipped")
    if not ix.starts_marked:
        warnings.append(f"{tsq.name}: its second entry is not the block's start mark")
    if not ix.stops_marked:
        warnings.append(f"{tsq.name}: its last entry is not the block's stop mark (a block "
                        "cut short, or still being written)")
    spikes = _spike_channels(stores, ix.snips)
    return {"rawio": "TdtRawIO", "reader": READER, "warnings": warnings, "variants": [{
        "label": None, "streams": streams, "n_spike_channels": spikes,
        "n_event_channels": sum(1 for s in stores if s.ev_type == _STRON),
        "rec_datetime": None, "extra": {}}]}


def _stream(st: TbkStore, stream_id: int, per: dict[int, tuple[int, float, float, int]],
            global_t0: float) -> dict[str, Any] | None:
    """One store as neo lists it, or None where neo would refuse it (its words stand)."""
    size = t0 = dtype = None
    rates, dtypes = set(), set()
    for ch in range(1, st.n_channels + 1):
        n, ts, freq, fmt = per.get(ch, (0, global_t0, 1.0, -1))
        if n and fmt not in _NEO_DTYPES:
            return None  # neo has no type for it (KeyError)
        kind = _NEO_DTYPES[fmt] if n else "int"
        if size is None:
            size, t0, dtype = st.n_points * n, ts, kind
        elif size != st.n_points * n or t0 != ts or dtype != kind:
            return None  # channels of different lengths, starts or types: neo refuses
        rates.add(float(freq) if n else 1.0)
        dtypes.add(kind)
    return {"name": st.name, "id": str(stream_id), "n_channels": st.n_channels,
            "rates": sorted(rates), "dtypes": sorted(dtypes), "units": ["uV"], "gains": [1.0],
            "offsets": [0.0], "names": [f"{st.name} {c}" for c in range(1, st.n_channels + 1)],
            "segments": [(int(size or 0), float((t0 or 0.0) - global_t0))],
            "source": "its .tsq entries x the .Tbk's NumPoints per entry"}


def _sev_channels(folder: Path) -> set[int]:
    """Channels some ``*_Ch<n>.sev`` file of the folder is named for (their samples are
    not in the ``.tev``: not checked against its size)."""
    out = set()
    for name in os.listdir(folder):
        m = _SEV.search(name)
        if m:
            out.add(int(m.group(1)))
    return out


def _spike_channels(stores: list[TbkStore], snips: Any) -> int:
    """neo's spike channels: one per (snippet store, channel, sort code) in the index."""
    from ..tdt_photometry import code_value

    total = 0
    for st in stores:
        if st.ev_type != _SNIP:
            continue
        code = snips >> 32
        ch = (snips >> 16) & 0xFFFF
        total += int(((code == code_value(st.name)) & (ch >= 1) & (ch <= st.n_channels)).sum())
    return total


def tank_stores(path: str | Path, *, timeout: float = 300.0) -> list[TdtStore]:
    """The continuous stores of the TDT block whose ``.tev`` or ``.tsq`` is ``path``.

    Raises :class:`~bsingest.errors.ExtractionError` naming the file when the block cannot
    be read (by our reader, or by neo where ours stands aside; or the worker crashes or
    times out on it).
    """
    from . import _worker
    from .formats import _beside

    p = Path(path)
    tsq = [p] if p.suffix.lower() == ".tsq" else _beside(p, ".tsq")
    summary = block_summary(tsq[0], p) if tsq else None
    if summary is None:
        summary = isolated(p, _worker.summarize, "tdt", str(p), timeout=timeout)
    out = []
    for variant in summary["variants"]:
        for s in variant["streams"]:
            out.append(TdtStore(
                name=s["name"], n_channels=s["n_channels"],
                sr=s["rates"][0] if len(s["rates"]) == 1 else None,
                dtype=",".join(s["dtypes"]), n_samples=sum(n for n, _ in s["segments"]),
                units=",".join(s["units"]),
                gain=s["gains"][0] if len(s["gains"]) == 1 else None))
    return out
