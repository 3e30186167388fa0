"""Axona's LFP files (``.eeg``, ``.eeg2`` ... and ``.egf``, ``.egf2`` ...): our own reader.

neo's ``AxonaRawIO`` reads the raw ``.bin`` only. An LFP file is a short text header
(``key value`` lines: ``sample_rate 250.0 hz``, ``bytes_per_sample 1``,
``num_EEG_samples 150250``) ending in ``data_start``, then the samples of ONE channel,
then ``\\r\\ndata_end``. One record per file (one channel per file, as Neuralynx); the
``.set`` of the session beside it is a companion. Cost: the first 4 KiB and a ``stat``.

``lsb`` is not given: the step depends on the mapped channel's ``gain_ch_N`` and
``ADC_fullscale_mv`` in the ``.set`` and on how dacqUSB scaled the 8-bit ``.eeg``
samples down from 16 bits, which no header states.
"""

from __future__ import annotations

import datetime
import math
import os
import re
from pathlib import Path

from bsingest.errors import ExtractionError

from ..base import Fields, Source

__all__ = ["LFP_SUFFIXES", "is_axona_lfp", "read_lfp"]

#: ``.eeg``/``.egf`` and their numbered siblings (one file per saved channel).
LFP_SUFFIXES = tuple(f".{kind}{n}" for kind in ("eeg", "egf")
                     for n in ("", *map(str, range(2, 65))))
_HEAD = 4096
_START = b"data_start"
_END = b"\r\ndata_end"
_NAME = re.compile(r"\.(eeg|egf)(\d*)$", re.IGNORECASE)


def is_axona_lfp(head: bytes) -> bool:
    """An Axona LFP file: a text header that starts with ``trial_date`` and has ``data_start``."""
    return head.startswith(b"trial_date") and _START in head


def read_lfp(path: Path, fields: Fields) -> None:
    """Fill ``fields`` for one Axona LFP file (one channel)."""
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    at = head.find(_START)
    if not head.startswith(b"trial_date") or at < 0:
        raise ExtractionError(path, "not an Axona LFP file: no 'trial_date' ... 'data_start' "
                              f"header in its first {_HEAD} bytes")
    values = _values(head[:at])
    kind = _NAME.search(path.name)
    egf = bool(kind and kind.group(1).lower() == "egf")
    count_key = "num_EGF_samples" if egf else "num_EEG_samples"
    where = f"{path.name} header"
    fields.header("format", "Axona", "the file's 'trial_date ... data_start' text header")
    fields.header("nChannels", 1, "an Axona LFP file holds one channel")
    rate_text = values.get("sample_rate", "").split()
    sr = _number(path, "sample_rate", rate_text[0] if rate_text else "")
    if not (math.isfinite(sr) and sr > 0):
        raise ExtractionError(path, f"sample_rate {sr:g} is not a rate")
    fields.header("sr", sr, f"{where}: sample_rate")
    width = int(_number(path, "bytes_per_sample", values.get("bytes_per_sample", "")))
    if width not in (1, 2):
        raise ExtractionError(path, f"bytes_per_sample {width} is not 1 or 2")
    fields.header("type", "int8" if width == 1 else "int16", f"{where}: bytes_per_sample {width}")
    size = os.stat(path).st_size
    room = size - (at + len(_START))
    stored = room // width
    if count_key in values:
        n = int(_number(path, count_key, values[count_key]))
        if n * width > room:
            raise ExtractionError(path, f"{count_key} {n} x {width} bytes is more than the "
                                  f"{room} bytes after data_start: a truncated file")
        fields.header("nSamples", n, f"{where}: {count_key}")
        with open(path, "rb") as fh:
            fh.seek(at + len(_START) + n * width)
            tail = fh.read(len(_END))
        if tail != _END:
            fields.warn(f"no 'data_end' after the {count_key} samples: the count may be wrong")
    else:
        fields.computed("nSamples", stored, f"{room} bytes after data_start / {width} bytes")
        fields.warn(f"no {count_key} in the header: nSamples counted from the file size")
    _start(values, fields, where)


def _values(text: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.decode("latin-1").splitlines():
        key, _, value = line.strip().partition(" ")
        if key and key not in out:
            out[key] = value.strip()
    return out


def _number(path: Path, key: str, text: str) -> float:
    try:
        value = float(text) if len(text) < 40 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ExtractionError(path, f"{key} {text[:40]!r} in its header is not a number")
    return value


def _start(values: dict[str, str], fields: Fields, where: str) -> None:
    date, time = values.get("trial_date", ""), values.get("trial_time", "")
    if not date or not time:
        return
    day = date.split(",", 1)[-1].strip()  # "Sunday, 4 Oct 2020"
    try:
        when = datetime.datetime.strptime(f"{day} {time}", "%d %b %Y %H:%M:%S")
    except ValueError:
        fields.warn(f"trial_date/trial_time {date!r} {time!r}: not a date; no start time")
        return
    fields.started(when, Source.HEADER, f"{where}: trial_date and trial_time (local time)")
