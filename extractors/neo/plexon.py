"""Plexon ``.plx`` read from its headers, so that a 10 GB file costs what a 10 MB one does.

neo's ``PlexonRawIO.parse_header`` walks every data block header of the file in a Python
loop (82 s for a 268 MB file, ``benchmarks/bench_neo.py``). Everything a record states is
in the headers (Plexon's ``Plexon.h``, file versions 100-107):

- the global header (7,504 bytes): version, date, ``BitsPerSlowSample``,
  ``SlowMaxMagnitudeMV``, the channel counts, and the per-channel tallies ``TSCounts``
  (timestamps per [spike channel][unit]) and ``EVCounts``, whose entries from index 300 on
  are "the number of samples for the continuous channels" (``EVCounts[300 + channel]``;
  channels above 211 have none);
- one 1,020-byte header per spike (DSP) channel, one 296-byte header per event channel,
  one 296-byte header per continuous ("slow") channel: name, channel number, rate, gains.

The tallies are the writer's: a file whose counts cannot be trusted is handed back to neo's
walk (``None`` from :func:`summarize`): a continuous channel numbered above 211, sample
counts that need more bytes than the file holds, or a data block among the first
:data:`PROBE_BLOCKS` of a continuous channel the header counts as empty. Those first blocks
are always read: a file that ends within them is counted exactly from its blocks (and a
header that disagrees is said in a warning).

Streams are made as neo makes them (channels grouped by the letters their name starts
with, ``WB``, ``FP``, ``SPKC``, ``AI``...), so that records keep neo's part names.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from bsingest.errors import ExtractionError

__all__ = ["PROBE_BLOCKS", "summarize"]

#: Data blocks read from the start of the data to check the header's counts (16 bytes each).
PROBE_BLOCKS = 4096
#: ``EVCounts`` holds continuous-channel sample counts from this index on.
_SLOW_COUNTS_AT = 300
_MAGIC = 0x58454C50  # "PLEX"

# Layouts of Plexon.h (little-endian, packed).
GLOBAL = np.dtype([
    ("MagicNumber", "<u4"), ("Version", "<i4"), ("Comment", "S128"), ("ADFrequency", "<i4"),
    ("NumDSPChannels", "<i4"), ("NumEventChannels", "<i4"), ("NumSlowChannels", "<i4"),
    ("NumPointsWave", "<i4"), ("NumPointsPreThr", "<i4"), ("Year", "<i4"), ("Month", "<i4"),
    ("Day", "<i4"), ("Hour", "<i4"), ("Minute", "<i4"), ("Second", "<i4"),
    ("FastRead", "<i4"), ("WaveformFreq", "<i4"), ("LastTimestamp", "<f8"),
    ("Trodalness", "u1"), ("DataTrodalness", "u1"), ("BitsPerSpikeSample", "u1"),
    ("BitsPerSlowSample", "u1"), ("SpikeMaxMagnitudeMV", "<u2"),
    ("SlowMaxMagnitudeMV", "<u2"), ("SpikePreAmpGain", "<u2"),
    ("AcquiringSoftware", "S18"), ("ProcessingSoftware", "S18"), ("Padding", "S10"),
    ("TSCounts", "<i4", (130, 5)), ("WFCounts", "<i4", (130, 5)), ("EVCounts", "<i4", (512,)),
])
DSP_BYTES, EVENT_BYTES = 1020, 296
SLOW = np.dtype([
    ("Name", "S32"), ("Channel", "<i4"), ("ADFreq", "<i4"), ("Gain", "<i4"),
    ("Enabled", "<i4"), ("PreampGain", "<i4"), ("SpikeChannel", "<i4"), ("Comment", "S128"),
    ("SrcId", "u1"), ("reserved", "u1"), ("ChanId", "<u2"), ("Padding", "<i4", (27,)),
])
BLOCK = np.dtype([("Type", "<u2"), ("UpperByteOf5ByteTimestamp", "<u2"), ("TimeStamp", "<u4"),
                  ("Channel", "<u2"), ("Unit", "<u2"), ("NumberOfWaveforms", "<u2"),
                  ("NumberOfWordsInWaveform", "<u2")])
_SPIKE, _EVENT, _SLOW_BLOCK = 1, 4, 5
#: neo's stream names for Plexon's channel prefixes (a Plexon engineer's list, neo #1495).
STREAM_NAMES = {"WB": "WB-Wideband", "FP": "FPl-Low Pass Filtered",
                "SP": "SPKC-High Pass Filtered", "AI": "AI-Auxiliary Input",
                "AIF": "AIF-Auxiliary Input Filtered"}
_PREFIX = re.compile(r"^\D+")
_MAX_CHANNELS = 65536


def summarize(p: Path) -> dict[str, Any] | None:
    """The worker's summary of ``p`` from its headers, or None when the header's counts
    cannot be trusted (neo's walk of every block decides then)."""
    size = os.stat(p).st_size
    with open(p, "rb") as fh:
        raw = fh.read(GLOBAL.itemsize)
        if len(raw) < GLOBAL.itemsize:
            raise ExtractionError(p, f"Plexon: truncated: {len(raw)} bytes, cut inside the "
                                  f"{GLOBAL.itemsize}-byte global header")
        g = np.frombuffer(raw, GLOBAL)[0]
        if int(g["MagicNumber"]) != _MAGIC:
            raise ExtractionError(p, "Plexon: no PLEX magic number: not a .plx file")
        n_dsp, n_event, n_slow = (int(g[k]) for k in (
            "NumDSPChannels", "NumEventChannels", "NumSlowChannels"))
        if not all(0 <= n <= _MAX_CHANNELS for n in (n_dsp, n_event, n_slow)):
            raise ExtractionError(p, f"Plexon: the header lists {n_dsp} spike, {n_event} event "
                                  f"and {n_slow} continuous channels: a damaged header")
        slow_at = GLOBAL.itemsize + n_dsp * DSP_BYTES + n_event * EVENT_BYTES
        data_at = slow_at + n_slow * SLOW.itemsize
        if data_at > size:
            raise ExtractionError(p, f"Plexon: truncated: {size} bytes, cut inside the channel "
                                  f"headers ({data_at} bytes)")
        fh.seek(slow_at)
        slow = np.frombuffer(fh.read(n_slow * SLOW.itemsize), SLOW)
        walked, ended = _probe(p, fh, data_at, size)
    counted = {int(c): int(g["EVCounts"][_SLOW_COUNTS_AT + c])
               for c in slow["Channel"] if 0 <= c < 512 - _SLOW_COUNTS_AT}
    warnings: list[str] = []
    if ended:
        counts, source = walked, "its data blocks (all read: the file is small)"
        differ = {c: (counted.get(c), n) for c, n in walked.items() if counted.get(c, 0) != n}
        if differ:
            warnings.append(f"the header's sample counts differ from the data blocks' "
                            f"(channel: header, blocks) {differ}; the blocks' are used")
    else:
        if any(c not in counted for c in slow["Channel"]):
            return None  # a channel above 211: its count is in no header
        if any(n and not counted.get(c) for c, n in walked.items()):
            return None  # blocks of a channel the header says is empty: counts not kept
        if 2 * sum(counted.values()) > size - data_at:
            return None  # more samples than bytes: a truncated file or wrong counts
        counts, source = counted, "the global header's EVCounts[300 + channel]"
    return {"rawio": "PlexonRawIO", "reader": "bsingest's .plx header reader",
            "variants": [{"label": None, "streams": _streams(g, slow, counts, source),
                          "n_spike_channels": int((g["TSCounts"] > 0).sum()),
                          "n_event_channels": n_event,
                          "rec_datetime": _when(g, warnings), "extra": {}}],
            "warnings": warnings}


def _probe(p: Path, fh: Any, pos: int, size: int) -> tuple[dict[int, int], bool]:
    """Samples per continuous channel in the first :data:`PROBE_BLOCKS` data blocks, and
    whether the file ended within them."""
    counts: dict[int, int] = {}
    for _ in range(PROBE_BLOCKS):
        if pos >= size:
            return counts, True
        fh.seek(pos)
        raw = fh.read(BLOCK.itemsize)
        if len(raw) < BLOCK.itemsize:
            return counts, True  # a cut header at the end: neo stops there too
        b = np.frombuffer(raw, BLOCK)[0]
        kind = int(b["Type"])
        if kind not in (_SPIKE, _EVENT, _SLOW_BLOCK):
            raise ExtractionError(p, f"Plexon: a data block of type {kind} at byte "
                                  f"{pos} (1, 4 or 5 expected): a damaged file")
        words = int(b["NumberOfWaveforms"]) * int(b["NumberOfWordsInWaveform"])
        if kind == _SLOW_BLOCK:
            counts[int(b["Channel"])] = counts.get(int(b["Channel"]), 0) + words
        pos += BLOCK.itemsize + 2 * words
    return counts, False


def _gain_mv(g: Any, ch: Any) -> float:
    """mV per step of a continuous channel (Plexon.h; neo's formulas before version 103)."""
    version, gain, preamp = int(g["Version"]), int(ch["Gain"]), int(ch["PreampGain"])
    if version <= 101:
        return 5000.0 / (2048 * gain * 1000.0) if gain else float("nan")
    if version == 102:
        return 5000.0 / (2048 * gain * preamp) if gain and preamp else float("nan")
    # Plexon.h: SlowMaxMagnitudeMV is the zero-to-peak voltage of BitsPerSlowSample steps.
    # (neo 0.14 uses BitsPerSpikeSample here; they agree in every file we have seen.)
    denominator = 0.5 * 2 ** int(g["BitsPerSlowSample"]) * gain * preamp
    return int(g["SlowMaxMagnitudeMV"]) / denominator if denominator else float("nan")


def _streams(g: Any, slow: Any, counts: dict[int, int], source: str) -> list[dict[str, Any]]:
    by_prefix: dict[str, list[tuple[str, int, float, float]]] = {}
    for ch in slow:
        n = counts.get(int(ch["Channel"]), 0)
        if n == 0:
            continue  # a channel without samples is no channel of a stream (as in neo)
        name = ch["Name"].split(b"\0", 1)[0].decode("utf-8", "replace")
        m = _PREFIX.match(name)
        prefix = m.group(0) if m else name
        by_prefix.setdefault(prefix, []).append((name, n, float(ch["ADFreq"]), _gain_mv(g, ch)))
    streams = []
    for prefix in sorted(by_prefix):
        chans = by_prefix[prefix]
        sizes = sorted({n for _, n, _, _ in chans})
        streams.append({
            "name": STREAM_NAMES.get(prefix, prefix), "id": prefix, "n_channels": len(chans),
            "rates": sorted({r for _, _, r, _ in chans}), "dtypes": ["int16"],
            "units": ["mV"], "gains": sorted({x for _, _, _, x in chans}), "offsets": [0.0],
            "names": [c[0] for c in chans],
            # channels of one stream holding different counts: neo refuses the file;
            # the mapping says so for this stream alone (segments of unequal channels)
            "segments": [(sizes[0], 0.0)] if len(sizes) == 1 else [],
            "unequal": sizes if len(sizes) > 1 else None, "source": source})
    return streams


def _when(g: Any, warnings: list[str]) -> str | None:
    parts = [int(g[k]) for k in ("Year", "Month", "Day", "Hour", "Minute", "Second")]
    if not any(parts):
        return None
    try:
        year, month, day, hour, minute, second = parts
        return datetime.datetime(year, month, day, hour, minute, second).isoformat()
    except ValueError:
        warnings.append(f"the header's date {parts} is not a date: no start time")
        return None
