"""SpikeGLX recordings: ``<name>.ap.bin`` / ``.lf.bin`` / ``.nidq.bin`` (and OneBox ``.obx.bin``)
with the ``.meta`` (key=value text) SpikeGLX writes beside each.

Records: imec ``ap`` and ``lf`` files are ExtracellularEphys (``nChannels`` = ``nSavedChans``; the
sync channels, the last ``snsApLfSy[2]`` of the file, tagged ``sync``; electrode groups by
shank from ``~snsShankMap`` or ``~snsGeomMap``), ``nidq`` and ``obx`` files GeneralTimeSeries.

Choice of reader: our own ``.meta`` parser, no neo. neo's ``SpikeGLXRawIO.parse_header`` scans
the whole folder (every ``.meta`` beside the file), needs a probe-feature table for the gains,
treats the last channel as sync even when ``snsApLfSy`` says none is saved (it reports two
gains for the exported NP2 file without sync), and refuses a ``.meta`` without its ``.bin``.
Ours reads one ``.meta`` and ``stat``s one ``.bin``: 1.0 ms for a 385-channel meta, the same
for a 1 MB, 1 GB and 100 GB ``.bin`` (``benchmarks/bench_spikeglx_nwb_abf.py``); neo's
``parse_header`` on the same files took 3.5 ms, also flat.

Decisions:

- ``nSamples`` is what is on disk: ``.bin`` size / (2 x ``nSavedChans``). When the meta's
  ``fileSizeBytes`` differs (truncated copies are common), both numbers are in a warning; a
  partial last frame is left out and said so.
- ``lsb`` (µV/bit) = ``imAiRangeMax`` / ``imMaxInt`` / gain x 1e6 for imec files. The gain is
  ``imChan0apGain``/``imChan0lfGain`` when the meta has them; else the per-channel AP (4th)
  or LF (5th) field of ``~imroTbl`` for NP1.0-style tables (3A, 3B, NP1.0, NHP, UHD); else the
  fixed gain of the NP2.0 type (80 for 21 and 24, 100 for 2003-2021). ``imMaxInt`` is 512 when
  absent from NP1.0-style metas, 8192 or 2048 for NP2.0 types. When the neural channels of
  one file do not share one gain (NP1.0 allows a gain per channel), one ``lsb`` cannot
  describe them: it is left out, and a warning lists the gains.
  The sync channel's scale does not count. nidq: ``niAiRangeMax`` / ``niMaxInt`` (32768 when
  absent) / gain, with ``niMNGain`` for MN, ``niMAGain`` for MA and 1 for XA channels; files
  holding only digital words get no ``lsb``.
- A ``.meta`` whose ``.bin`` is absent (IBL ships metas alone, or beside a compressed
  ``.cbin``) is described from the meta alone, ``nSamples`` from its ``fileSizeBytes``, with a
  warning; ``fileName`` is the ``.bin`` it describes, so the record matches the one a later
  extraction of the ``.bin`` gives. Beside its ``.bin`` a ``.meta`` is a sidecar in a folder
  listing; given as the path it describes the pair (the ``.bin``'s record).
- Start time: the meta's ``fileCreateTime`` (local time of the acquisition computer).
- Every number read from the meta must be finite; rates must lie in ``_RATE_BOUNDS``, and
  ``imMaxInt``/``niMaxInt``/``obMaxInt`` must be positive (they divide).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError, SidecarError

from .base import Claim, Extraction, Extractor, Fields, Source, special_file
from .run import cached

__all__ = ["SpikeGlxExtractor", "SpikeGlxMeta", "read_meta"]

_META_LIMIT = 16 * 2**20  # a 1536-channel meta is about 200 kB
_ITEMSIZE = 2  # SpikeGLX always writes int16
# NP2.0 probe types (imDatPrb_type) -> (fixed gain, imMaxInt): for metas without
# imChan0apGain or imMaxInt; from probeinterface's Neuropixels feature table.
_NP2 = {"21": (80.0, 8192), "24": (80.0, 8192), "2003": (100.0, 2048), "2004": (100.0, 2048),
        "2013": (100.0, 2048), "2014": (100.0, 2048), "2020": (100.0, 2048),
        "2021": (100.0, 2048)}
_NI_MAX_INT = 32768
# SpikeGLX streams: imec LF 2.5 kHz and AP 30 kHz, OneBox 30 kHz, NI-DAQ as configured (a few
# kHz to a few hundred kHz). A rate outside 100 Hz to 1 MHz is a damaged meta.
_RATE_BOUNDS = (100.0, 1e6)
_ENTRY = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True, slots=True)
class SpikeGlxMeta:
    """A parsed ``.meta``: its path and its key=value pairs (``~`` dropped from keys)."""

    path: Path
    values: dict[str, str]

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def number(self, key: str, data: Path, kind: type = float) -> Any:
        raw = self.values.get(key)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise _meta_error(data, self.path, f"{key}={raw[:40]!r} is not a number") from None
        if not math.isfinite(value):
            raise _meta_error(data, self.path, f"{key}={raw[:40]!r} is not a finite number")
        if kind is int:
            if not value.is_integer():
                raise _meta_error(data, self.path, f"{key}={raw!r} is not a whole number")
            return int(value)
        return value

    def counts(self, key: str, data: Path, n: int) -> list[int] | None:
        raw = self.values.get(key)
        if raw is None:
            return None
        parts = raw.split(",")
        try:
            out = [int(p) for p in parts]
        except ValueError:
            out = []
        if len(out) != n or any(c < 0 for c in out):
            raise _meta_error(data, self.path, f"{key}={raw!r} is not {n} counts")
        return out


class SpikeGlxExtractor(Extractor):
    """SpikeGLX ``.bin`` files beside their ``.meta``; a lone ``.meta`` whose ``.bin`` is gone."""

    name = "spikeglx"
    suffixes = (".bin", ".meta")
    record_types = ("ExtracellularEphys", "GeneralTimeSeries")

    claim_endings = (".bin", ".meta")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        suffix = path.suffix.lower()
        if suffix == ".bin":
            return Claim.SPECIFIC if _meta_of(path).is_file() else Claim.NO
        if suffix == ".meta" and _looks_spikeglx(path):
            # Beside its .bin, a sidecar in a listing; given alone, it describes the pair.
            return Claim.SUFFIX if _bin_of(path).exists() else Claim.SPECIFIC
        return Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        meta = _meta_of(path)
        return [meta] if path.suffix.lower() == ".bin" and meta.is_file() else []

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        if path.suffix.lower() == ".meta":
            bin_path = _bin_of(path)
            if not bin_path.exists():
                return [self._lone_meta(path)]
            if not bin_path.is_file():
                what = special_file(bin_path) or "not a regular file"
                raise ExtractionError(path, f"{bin_path.name} beside it is {what}: not read")
            path = bin_path  # the pair: the .bin's record
        meta_path = _meta_of(path)
        if not meta_path.is_file():
            raise SidecarError(path, f"no {meta_path.name} beside it")
        meta = cached("spikeglx-meta", meta_path, lambda: read_meta(meta_path, data=path))
        f = Fields()
        n_channels = _describe(path, meta, f)
        size = os.stat(path).st_size
        _n_samples_on_disk(path, meta, size, n_channels, f)
        _started(meta, f)
        return [self.result(path, _record_type(path, meta), f)]

    def _lone_meta(self, meta_path: Path) -> Extraction:
        bin_path = _bin_of(meta_path)
        meta = cached("spikeglx-meta", meta_path,
                      lambda: read_meta(meta_path, data=meta_path))
        f = Fields()
        n_channels = _describe(meta_path, meta, f)
        size = meta.number("fileSizeBytes", meta_path, int)
        if size is None:
            raise SidecarError(meta_path, f"no {bin_path.name} beside it and no fileSizeBytes "
                               "in the meta: nothing says how many samples were recorded")
        n, rest = divmod(size, n_channels * _ITEMSIZE)
        f.header("nSamples", n, f"{meta_path.name} fileSizeBytes {size} / ({n_channels} channels "
                 f"x {_ITEMSIZE} bytes): the .bin is absent")
        where = "no .bin beside it"
        cbin = bin_path.with_suffix(".cbin")
        if cbin.exists():
            where += f" (a compressed {cbin.name} is: decompress it to describe the data on disk)"
        f.warn(f"{where}: described from {meta_path.name} alone; fileName is the .bin it describes")
        _started(meta, f)
        if rest:
            f.warn(f"{meta_path.name}: fileSizeBytes {size} is not a whole number of "
                   f"{n_channels}-channel int16 frames ({rest} bytes left over)")
        ex = self.result(bin_path, _record_type(meta_path, meta), f)
        prov = dict(ex.provenance)
        prov["fileName"] = dataclasses.replace(
            prov["fileName"], detail=f"the .bin {meta_path.name} describes (absent)")
        return dataclasses.replace(ex, path=str(meta_path), provenance=prov)


def _meta_error(data: Path, meta: Path, reason: str) -> SidecarError:
    """An error in ``meta`` about ``data``, naming the meta unless it is ``data`` itself."""
    return SidecarError(data, reason if meta == data else f"{meta.name}: {reason}")


def read_meta(path: Path, *, data: Path) -> SpikeGlxMeta:
    """Parse a SpikeGLX ``.meta``; errors name ``data`` (the file being described) first."""
    try:
        size = os.stat(path).st_size
        if size > _META_LIMIT:
            raise _meta_error(data, path, f"{size} bytes is too large for a SpikeGLX .meta")
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise _meta_error(data, path, f"cannot read: {exc.strerror or exc}") from exc
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lstrip("~")] = value.strip()
    if "nSavedChans" not in values:
        raise _meta_error(data, path, "not a SpikeGLX .meta (no nSavedChans)")
    return SpikeGlxMeta(path, values)


def _describe(path: Path, meta: SpikeGlxMeta, f: Fields) -> int:
    """Every value but nSamples, from the meta. Returns nChannels."""
    m = meta.path.name
    f.header("format", "SpikeGLX", f"{m} beside it")
    f.header("type", "int16", "SpikeGLX writes int16 samples")
    n = meta.number("nSavedChans", path, int)
    if n <= 0:
        raise _meta_error(path, meta.path, f"nSavedChans={n}; a recording has at least one channel")
    f.header("nChannels", n, f"{m} nSavedChans")
    kind = _kind(path, meta)
    rate_key = {"imec": "imSampRate", "nidq": "niSampRate", "obx": "obSampRate"}[kind]
    rate = meta.number(rate_key, path)
    lo, hi = _RATE_BOUNDS
    if rate is None or not lo <= rate <= hi:
        raise _meta_error(path, meta.path,
                          f"{rate_key} is {str(meta.get(rate_key))[:40]!r}, not a rate between "
                          f"{lo:g} and {hi:g} Hz (SpikeGLX records 2.5 kHz to a few hundred kHz)")
    f.header("sr", rate, f"{m} {rate_key}")
    if kind == "imec":
        _imec(path, meta, n, f)
    elif kind == "nidq":
        _nidq(path, meta, f)
    else:
        _obx(path, meta, f)
    return n


def _kind(path: Path, meta: SpikeGlxMeta) -> str:
    kind = (meta.get("typeThis") or "").lower()
    if kind in ("imec", "nidq", "obx"):
        return kind
    # Phase 3A metas predate typeThis: the name says it.
    name = path.name.lower()
    for k in ("nidq", "obx"):
        if f".{k}." in name:
            return k
    if meta.get("imSampRate") is not None:
        return "imec"
    raise _meta_error(path, meta.path, f"typeThis={meta.get('typeThis')!r} is not imec, "
                      "nidq or obx")


def _record_type(path: Path, meta: SpikeGlxMeta) -> str:
    return "ExtracellularEphys" if _kind(path, meta) == "imec" else "GeneralTimeSeries"


def _stream_kind(path: Path, meta: SpikeGlxMeta) -> str:
    """'ap' or 'lf' for an imec file: by name, else by which channels it saved."""
    parts = [p.lower() for p in path.name.split(".")]
    if "lf" in parts[-3:]:
        return "lf"
    if "ap" in parts[-3:]:
        return "ap"
    counts = meta.counts("snsApLfSy", path, 3) or [1, 0, 0]
    return "lf" if counts[0] == 0 and counts[1] > 0 else "ap"


def _imec(path: Path, meta: SpikeGlxMeta, n: int, f: Fields) -> None:
    m = meta.path.name
    counts = meta.counts("snsApLfSy", path, 3)
    if counts is None:
        f.warn(f"{m} has no snsApLfSy: no channel is tagged sync")
        neural, n_sync = n, 0
    else:
        neural, n_sync = counts[0] + counts[1], counts[2]
        if neural + n_sync != n:
            f.warn(f"{m}: snsApLfSy {meta.get('snsApLfSy')} adds up to {neural + n_sync}, "
                   f"nSavedChans is {n}: no sync tag or groups")
            neural, n_sync = n, 0
    kind = _stream_kind(path, meta)
    _imec_lsb(path, meta, kind, neural, f)
    groups = _shank_groups(path, meta, neural, f)
    tags = []
    if n_sync:
        tags.append({"tag": "sync", "channels": list(range(neural, n))})
    if groups is not None:
        f.header("electrodeGroups", groups[0],
                 f"{m} {groups[2]}: saved neural channels by shank")
        if groups[1]:
            tags.append({"tag": "unused", "channels": groups[1]})
    if tags:
        detail = f"{m} snsApLfSy {meta.get('snsApLfSy')}: the last {n_sync} channel(s) are sync"
        if groups is not None and groups[1]:
            detail += f"; {groups[2]} entries with used=0 are tagged unused"
        f.header("channelTags", tags, detail)


def _saved_channels(path: Path, meta: SpikeGlxMeta) -> list[int] | None:
    """Acquired-channel indices of the saved channels, from snsSaveChanSubset."""
    raw = meta.get("snsSaveChanSubset")
    if raw is None or raw.strip().lower() == "all":
        return None
    out: list[int] = []
    for part in raw.split(","):
        lo, _, hi = part.strip().partition(":")
        try:
            out += list(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            raise _meta_error(path, meta.path, f"snsSaveChanSubset={raw!r} is not a "
                              "channel list") from None
    return out


def _imec_lsb(path: Path, meta: SpikeGlxMeta, kind: str, neural: int, f: Fields) -> None:
    m = meta.path.name
    rng = meta.number("imAiRangeMax", path)
    if rng is None or not rng > 0:
        f.warn(f"{m} has no positive imAiRangeMax: no lsb")
        return
    table = _ENTRY.findall(meta.get("imroTbl") or "")
    # The header is comma-separated: (type,nChans), 3A's (serial,option,nChans); entries not.
    head = table[0].split(",") if table else []
    entries = [e.split() for e in table[1:]]
    probe = meta.get("imDatPrb_type") or (head[0] if len(head) == 2 else "")
    gain_key = "imChan0apGain" if kind == "ap" else "imChan0lfGain"
    np1_style = len(head) == 3 or (entries and len(entries[0]) == 6)
    max_int = meta.number("imMaxInt", path, int)
    if max_int is None:
        max_int = 512 if np1_style else _NP2.get(probe, (0.0, 8192))[1]
        int_detail = f"imMaxInt {max_int} (absent from the meta; "
        int_detail += "NP1.0 default)" if np1_style else f"the default of probe type {probe})"
    else:
        int_detail = f"imMaxInt {max_int}"
    if max_int <= 0:
        raise _meta_error(path, meta.path, f"imMaxInt={max_int} is not a positive count")
    gains: list[float]
    if meta.get(gain_key) is not None:
        gains = [meta.number(gain_key, path)] * neural
        gain_detail = f"{gain_key} {gains[0]:g}" if gains else gain_key
    elif np1_style:
        col = 3 if kind == "ap" else 4
        acq = meta.counts("acqApLfSy", path, 3)
        saved = _saved_channels(path, meta)
        per_entry = len(entries)
        try:
            by_channel = {int(e[0]): float(e[col]) for e in entries}
        except (ValueError, IndexError):
            raise _meta_error(path, meta.path, "imroTbl entries are not 'channel bank ref apgain "
                              "lfgain ...'") from None
        # A saved channel's acquired index: AP channels first, then LF, then sync.
        n_ap = acq[0] if acq else per_entry
        ids = saved[:neural] if saved is not None else list(range(neural))
        if kind == "lf" and saved is None:
            ids = [n_ap + i for i in ids] if acq and acq[0] else ids
        gains = []
        for k in ids:
            ch = k - n_ap if k >= n_ap else k
            if ch not in by_channel:
                f.warn(f"{m}: imroTbl has no entry for saved channel {k}: no lsb")
                return
            gains.append(by_channel[ch])
        gain_detail = f"imroTbl {'AP' if kind == 'ap' else 'LF'} gain per channel"
    elif probe in _NP2:
        gains = [_NP2[probe][0]] * neural
        gain_detail = f"the fixed gain of NP2.0 probe type {probe}"
    else:
        f.warn(f"{m}: no {gain_key} and probe type {probe or '?'} has no known gain: no lsb")
        return
    distinct = sorted(set(gains))
    if not distinct or any(g <= 0 for g in distinct):
        f.warn(f"{m}: channel gains {distinct} are not positive: no lsb")
        return
    if len(distinct) > 1:
        counts = ", ".join(f"{gains.count(g)} channels at gain {g:g} "
                           f"({rng / max_int / g * 1e6:.6g} µV/bit)" for g in distinct)
        f.warn(f"{m}: the neural channels do not share one gain ({counts}); one lsb cannot "
               "describe them, so none is given")
        return
    gain = distinct[0]
    lsb = rng / max_int / gain * 1e6
    f.computed("lsb", lsb, f"{m}: imAiRangeMax {rng:g} V / {int_detail} / gain {gain:g} "
               f"({gain_detail}) = {lsb:.6g} µV")


def _nidq(path: Path, meta: SpikeGlxMeta, f: Fields) -> None:
    m = meta.path.name
    counts = meta.counts("snsMnMaXaDw", path, 4)
    rng = meta.number("niAiRangeMax", path)
    if counts is None or rng is None or not rng > 0:
        f.warn(f"{m}: no snsMnMaXaDw or niAiRangeMax: no lsb")
        return
    mn, ma, xa, _dw = counts
    gains = {}
    if mn:
        gains["MN"] = meta.number("niMNGain", path)
    if ma:
        gains["MA"] = meta.number("niMAGain", path)
    if xa:
        gains["XA"] = 1.0
    if not gains:
        f.warn(f"{m}: snsMnMaXaDw {meta.get('snsMnMaXaDw')}: digital words only, no lsb")
        return
    if any(g is None or not g > 0 for g in gains.values()):
        f.warn(f"{m}: analog gains {gains} are missing or not positive: no lsb")
        return
    if len(set(gains.values())) > 1:
        f.warn(f"{m}: analog channel types have different gains ({gains}); one lsb cannot "
               "describe them, so none is given")
        return
    max_int = meta.number("niMaxInt", path, int) or _NI_MAX_INT
    if max_int <= 0:
        raise _meta_error(path, meta.path, f"niMaxInt={max_int} is not a positive count")
    gain = next(iter(gains.values()))
    f.computed("lsb", rng / max_int / gain * 1e6,
               f"{m}: niAiRangeMax {rng:g} V / niMaxInt {max_int} / gain {gain:g} "
               f"({'+'.join(gains)} channels), in µV; digital words have no lsb")


def _obx(path: Path, meta: SpikeGlxMeta, f: Fields) -> None:
    m = meta.path.name
    rng = meta.number("obAiRangeMax", path)
    max_int = meta.number("obMaxInt", path, int)
    if rng is None or max_int is None or not rng > 0 or not max_int > 0:
        f.warn(f"{m}: no obAiRangeMax or obMaxInt: no lsb")
        return
    f.computed("lsb", rng / max_int * 1e6,
               f"{m}: obAiRangeMax {rng:g} V / obMaxInt {max_int}, in µV")


def _shank_groups(path: Path, meta: SpikeGlxMeta, neural: int,
                  f: Fields) -> tuple[list[dict[str, Any]], list[int], str] | None:
    """(electrode groups by shank, channels marked unused, the key read), or None."""
    for key in ("snsGeomMap", "snsShankMap"):
        raw = meta.get(key)
        if raw is None:
            continue
        entries = _ENTRY.findall(raw)[1:]
        if not entries:  # nidq metas carry an empty shank map
            return None
        if len(entries) != neural:
            f.warn(f"{meta.path.name}: {key} has {len(entries)} entries for {neural} neural "
                   "channels: no electrode groups")
            return None
        shanks: dict[int, list[int]] = {}
        unused = []
        for ch, entry in enumerate(entries):
            fields = entry.split(":")
            try:
                shank, used = int(fields[0]), int(fields[-1])
            except (ValueError, IndexError):
                raise _meta_error(path, meta.path, f"{key} entry ({entry}) is not "
                                  "shank:x:y:used") from None
            shanks.setdefault(shank, []).append(ch)
            if len(fields) == 4 and not used:
                unused.append(ch)
        groups = [{"channels": chans, "label": f"shank{s}"} for s, chans in sorted(shanks.items())]
        return groups, unused, key
    return None


def _n_samples_on_disk(path: Path, meta: SpikeGlxMeta, size: int, n_channels: int,
                       f: Fields) -> None:
    m = meta.path.name
    frame = n_channels * _ITEMSIZE
    if size == 0:
        raise ExtractionError(path, "empty file (0 bytes)")
    n, rest = divmod(size, frame)
    detail = f"{size} bytes on disk / ({n_channels} channels x {_ITEMSIZE} bytes)"
    declared = meta.number("fileSizeBytes", path, int)
    if declared is not None and declared != size:
        detail += (f"; {m} fileSizeBytes says {declared} ({declared // frame} samples): "
                   "the .bin on disk wins")
        f.warn(f"{path.name} holds {size} bytes ({n} samples) but {m} fileSizeBytes says "
               f"{declared} ({declared // frame} samples): a truncated or modified copy; "
               "nSamples counts what is on disk")
    if rest:
        detail += f"; a partial last frame of {rest} bytes left out"
        f.warn(f"{path.name}: {size} bytes end in a partial frame ({rest} of {frame} bytes): "
               "left out of nSamples")
    if n == 0:
        raise ExtractionError(path, f"{size} bytes is less than one {n_channels}-channel "
                              "int16 frame")
    f.computed("nSamples", n, detail)


def _started(meta: SpikeGlxMeta, f: Fields) -> None:
    raw = meta.get("fileCreateTime")
    if not raw:
        return
    try:
        when = datetime.datetime.fromisoformat(raw)
    except ValueError:
        f.warn(f"{meta.path.name}: fileCreateTime={raw[:40]!r} is not a date and time: no start")
        return
    f.started(when, Source.HEADER, f"{meta.path.name} fileCreateTime (the acquisition "
              "computer's local time)")


def _meta_of(path: Path) -> Path:
    return path.with_suffix(".meta")


def _bin_of(path: Path) -> Path:
    return path.with_suffix(".bin")


def _looks_spikeglx(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return b"nSavedChans=" in head
