"""neo's header, as the worker hands it back, mapped to record fields.

One record per signal stream with samples (``file#stream`` when neo lists several, or
always for folder formats); a stream that cannot be described is one warning line on the
file's other records, never the end of the file.
"""

from __future__ import annotations

import datetime
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..base import LSB_BOUNDS, Fields, Source
from .formats import NeoFormat, is_photometry_store, part_name

__all__ = ["UNIT_TO_UV", "StreamRecord", "map_summary"]

#: Units neo reports for a voltage, and their size in µV.
UNIT_TO_UV = {"pv": 1e-6, "nv": 1e-3, "uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1e3,
              "v": 1e6, "volt": 1e6, "volts": 1e6}


@dataclass
class StreamRecord:
    """The fields of one record and its part name (None: the file is one record)."""

    fields: Fields
    part: str | None


def map_summary(fmt: NeoFormat, path: Path, summary: dict[str, Any]) -> tuple[
        list[StreamRecord], list[str]]:
    """Records of ``path`` from the worker's ``summary``, and lines for the whole file."""
    reader = summary.get("reader") or f"neo {summary['rawio']}"
    # our own readers' lines are ours; neo's are marked as neo's
    said = "" if summary.get("reader") else "neo: "
    notes = [f"{said}{w}" for w in summary["warnings"]]
    records: list[StreamRecord] = []
    variants = summary["variants"]
    listed = sum(len(v["streams"]) for v in variants)
    for variant in variants:
        for stream in variant["streams"]:
            name = stream["name"] if variant["label"] is None else (
                f"{variant['label']}/{stream['name']}")
            several = fmt.parts == "always" or listed > 1
            part = part_name(name) if several else None
            if variant["label"] is not None:
                part = "/".join(part_name(x) for x in (variant["label"], stream["name"]))
            if fmt.key == "tdt" and is_photometry_store(stream["name"]):
                notes.append(f"store {name!r}: a fiber photometry store, not an "
                             "electrophysiology record (a block of photometry stores only "
                             "is described by the photometry family)")
                continue
            f, why = _stream(fmt, reader, name, stream)
            if f is None:
                notes.append(f"stream {name!r}: {why}")
                continue
            _start(fmt, reader, variant, f)
            records.append(StreamRecord(f, part))
    if not records and listed == 0:
        v = variants[0]
        f = Fields()
        f.header("format", fmt.label, f"{reader}: the file's format")
        f.header("nChannels", 0, f"{reader}: no continuous signal stream in the header")
        _start(fmt, reader, v, f)
        f.warn(f"no continuous signals: the file holds {v['n_spike_channels']} spike and "
               f"{v['n_event_channels']} event channels only; this record states no "
               "signal (nChannels 0), as spikes and events have no field in it")
        records.append(StreamRecord(f, None))
    return records, notes


def _stream(fmt: NeoFormat, reader: str, name: str, s: dict[str, Any]) -> tuple[
        Fields | None, str]:
    sizes = [n for n, _ in s["segments"]]
    total = sum(sizes)
    where = f"{reader} stream {name!r}"
    if s.get("unequal"):
        return None, (f"its {s['n_channels']} channels hold different sample counts "
                      f"{s['unequal']}: no one count, no record")
    if total == 0:
        rate = f", sr {s['rates'][0]:g} Hz" if len(s["rates"]) == 1 else ""
        return None, (f"listed with {s['n_channels']} channels{rate} and no samples: "
                      "nothing recorded, no record")
    if len(s["rates"]) != 1 or not (math.isfinite(s["rates"][0]) and s["rates"][0] > 0):
        return None, f"its channels state rates {s['rates']}: no one rate, no record"
    sr = s["rates"][0]
    f = Fields()
    f.header("format", fmt.label, f"{reader}: the file's format")
    f.header("nChannels", s["n_channels"], f"{where}: its signal channels")
    f.header("sr", sr, f"{where}: sampling_rate")
    if len(sizes) == 1:
        f.header("nSamples", total, f"{where}: samples stored"
                 + (f", from {s['source']}" if s.get("source") else ""))
    elif fmt.sweeps:
        # sweeps all start at the sweep's time zero: no gaps, no clock resets to name
        f.computed("nSamples", total, f"{where}: samples stored, summed over its "
                   f"{len(sizes)} sweeps (episodes) of {_shown(sizes)} samples")
    else:
        f.computed("nSamples", total, f"{where}: samples stored, summed over its "
                   f"{len(sizes)} segments {sizes}")
        _gaps(s["segments"], sr, f)
    _dtype(s, where, f)
    _lsb(s, where, f, fmt.no_scale)
    if "groups" in s:
        _groups(s, where, f)
    tagger = _TAGGERS.get(fmt.key)
    if tagger is not None:
        tagger(s, where, f)
    return f, ""


def _shown(sizes: list[int]) -> str:
    if len(set(sizes)) == 1:
        return str(sizes[0])
    return str(sizes) if len(sizes) <= 10 else f"{min(sizes)} to {max(sizes)}"


def _groups(s: dict[str, Any], where: str, f: Fields) -> None:
    spec = s["groups"]
    order: dict[str, list[int]] = {}
    for i, value in enumerate(spec["values"]):
        order.setdefault(value, []).append(i)
    f.header("electrodeGroups",
             [{"channels": chans, "label": f"{spec['label']}{value}"}
              for value, chans in order.items()],
             f"{where}: the channels' {spec['by']}")


def _blackrock_tags(s: dict[str, Any], where: str, f: Fields) -> None:
    # Central labels the analog inputs of an NSx stream "ainp1".. (front-panel BNCs,
    # electrode ids 129-144) beside the electrodes: the same file, another kind.
    analog = [i for i, name in enumerate(s["names"]) if name.lower().startswith("ainp")]
    if analog:
        f.header("channelTags", [{"tag": "adc", "channels": analog}],
                 f"{where}: channels labelled 'ainp...' (analog inputs)")


_TRODE = re.compile(r"^trode(\d+)chan\d+$")


def _spikegadgets_groups(s: dict[str, Any], where: str, f: Fields) -> None:
    # neo names each neural channel after its nTrode (``trode3chan10``): the header's
    # SpikeConfiguration groups the channels into nTrodes (tetrodes, shanks).
    order: dict[str, list[int]] = {}
    for i, name in enumerate(s["names"]):
        m = _TRODE.match(name)
        if m is None:
            return
        order.setdefault(m.group(1), []).append(i)
    if order:
        f.header("electrodeGroups", [{"channels": c, "label": f"nTrode{t}"}
                                     for t, c in order.items()],
                 f"{where}: SpikeConfiguration nTrodes (neo's channel names)")


def _elan_kinds(s: dict[str, Any], where: str, f: Fields) -> None:
    # The .eeg.ent states each channel's kind (EEG, EOG, EMG, ECG, ...): tags when the
    # stream mixes kinds (a file of EEG channels only says nothing a tag would add).
    kinds: dict[str, list[int]] = {}
    for i, kind in enumerate(s.get("kinds") or []):
        label = " ".join(kind.split())[:40]
        if label:
            kinds.setdefault(label, []).append(i)
    if len(kinds) > 1:
        f.header("channelTags", [{"tag": k, "channels": c} for k, c in kinds.items()],
                 f"{where}: each channel's kind in the .eeg.ent header")


#: Per format: the groups or channel kinds its header states.
_TAGGERS = {"blackrock": _blackrock_tags, "spikegadgets": _spikegadgets_groups,
            "elan": _elan_kinds}


def _gaps(segments: list[tuple[int, float]], sr: float, f: Fields) -> None:
    gaps, resets = 0.0, 0
    for (n, t0), (_, t1) in itertools.pairwise(segments):
        delta = t1 - (t0 + n / sr)
        if delta > 1.5 / sr:
            gaps += delta
        elif delta < -1.5 / sr:
            resets += 1
    line = f"{len(segments)} segments: nSamples counts the samples stored"
    if gaps:
        line += f"; the segments leave gaps of {gaps:.6g} s in all (not counted)"
    if resets:
        line += f"; {resets} segment(s) start before the previous one ends (a clock reset)"
    f.warn(line)


def _dtype(s: dict[str, Any], where: str, f: Fields) -> None:
    if len(s["dtypes"]) != 1:
        f.warn(f"no type: the channels are stored as {', '.join(s['dtypes'])}")
        return
    try:
        name = np.dtype(s["dtypes"][0]).name
    except TypeError:
        f.warn(f"no type: neo states {s['dtypes'][0]!r}, not a sample type")
        return
    f.header("type", name, f"{where}: the stored dtype")


def _lsb(s: dict[str, Any], where: str, f: Fields, no_scale: str = "") -> None:
    kind = f.values.get("type", "")
    if not kind.startswith(("int", "uint")):
        f.warn(f"no lsb: samples are stored as {kind or 'an unknown type'}, not integer "
               "steps")
        return
    if no_scale:  # neo's gain is a placeholder, not the file's
        f.warn(f"no lsb: {no_scale}")
        return
    gains = sorted({abs(g) for g in s["gains"]})
    if len(gains) != 1:
        f.warn(f"no lsb: the channels have {len(gains)} different gains")
        return
    units = s["units"]
    if len(units) != 1 or units[0].strip().lower() not in UNIT_TO_UV:
        shown = ", ".join(repr(u) for u in units)
        f.warn(f"no lsb: neo states the unit {shown}, not a voltage")
        return
    scale = UNIT_TO_UV[units[0].strip().lower()]
    lsb = gains[0] * scale
    if not (math.isfinite(lsb) and LSB_BOUNDS[0] <= lsb <= LSB_BOUNDS[1]):
        f.warn(f"no lsb: gain {gains[0]:g} {units[0]} per step is outside the plausible "
               f"{LSB_BOUNDS[0]:g} to {LSB_BOUNDS[1]:g} µV")
        return
    detail = f"{where}: gain {gains[0]:g} {units[0]} per step, in µV"
    if s.get("gain_source"):
        detail += f" ({s['gain_source']})"
    if any(g < 0 for g in s["gains"]):
        detail += " (neo's gain is negative: the input is inverted; lsb is its magnitude)"
    f.computed("lsb", lsb, detail)


#: BCI2000's ``StorageTime`` as its versions write it (neo tries the same two).
_BCI2000_TIMES = ("%a %b %d %H:%M:%S %Y", "%Y-%m-%dT%H:%M:%S")


def _bci2000_start(reader: str, text: str, f: Fields) -> None:
    for pattern in _BCI2000_TIMES:
        try:
            when = datetime.datetime.strptime(" ".join(text.split()), pattern)
        except ValueError:
            continue
        if when.year > 1970:
            f.started(when, Source.HEADER, f"{reader}: the StorageTime parameter (local "
                      "time, as the file stores it)")
        return
    f.warn(f"StorageTime {text!r} is not a date: no start time")


def _start(fmt: NeoFormat, reader: str, variant: dict[str, Any], f: Fields) -> None:
    if "storage_time" in variant["extra"]:
        _bci2000_start(reader, variant["extra"]["storage_time"], f)
        return
    text = variant["extra"].get("recording_opened") or variant["rec_datetime"]
    if not text:
        return
    when = datetime.datetime.fromisoformat(text)
    if when.year <= 1970:
        return  # a zero or epoch value means none
    what = "the header's 'Time Opened'" if "recording_opened" in variant["extra"] else (
        "rec_datetime")
    f.started(when, Source.HEADER, f"{reader}: {what} (local time, as the file stores it)")
