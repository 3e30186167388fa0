"""Open Ephys legacy format (GUI before 0.5): one ``.continuous`` file per channel.

Each file is a 1024-byte text header (``header.sampleRate = 30000;``, ``header.bitVolts``,
...) and then records of 2070 bytes: int64 timestamp, uint16 sample count (1024), uint16
recording number, 1024 big-endian int16 samples and a 10-byte marker.

**nSamples comes from the records on disk**: (size - 1024) / 2070 whole records x 1024.
A file that ends in a partial record (a recording cut off, a copy interrupted) is
described from its whole records, with a warning giving the bytes left over, as a
truncated SpikeGLX ``.bin`` is. neo's ``OpenEphysRawIO`` reports the *timestamp span* and
fills gaps with zeros (341728 instead of the 248832 samples in ``OpenEphys_SampleData_2``'s
first segment); the file holds the latter. Only the first record's sample-count field is
read (to check it says 1024), never the samples.

**One record per file**, nChannels 1: a ``.continuous`` file holds one channel, and a
record's nChannels is what the named file interleaves (issue 11). An earlier version gave
one record per channel group (``101_CH0.continuous`` saying 2 channels); records it made
carry the lowest channel's file name, which is now that channel's own record. Files named
``<processor>_<kind><n>[_<rec>].continuous`` are ExtracellularEphys for ``CH`` and
GeneralTimeSeries for ``AUX``/``ADC``; other names are taken for neural channels.
``settings[_N].xml`` and ``Continuous_Data[_N].openephys`` (N the recording's ``_N``) are
sidecars.

lsb: ``bitVolts`` is µV per bit for CH channels and V per bit for AUX/ADC (x 1e6).
sr: ``sampleRate``, finite and within ``RATE_BOUNDS`` (see ``openephys.py``). Start time:
the header's ``date_created`` ('3-Oct-2018 131650', the acquisition computer's local time).

Choice of reader: our own. neo's ``OpenEphysRawIO.parse_header`` reads every record's
header of every file to find gaps: 9 ms / 24 ms for two channels of 0.5 MB / 0.5 GB, and
it refuses a sparse 100 GB copy (all-zero records); its nSamples is the timestamp span.
Ours reads 1 KB plus the first record's 12-byte prefix and ``stat``-s the file: about
0.05 ms per file, the same at 100 GB (``benchmarks/bench_intan_openephys.py``).
"""

from __future__ import annotations

import datetime
import math
import os
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import Claim, Extraction, Extractor, Fields, Source
from .openephys import RATE_BOUNDS

__all__ = ["OpenEphysLegacyExtractor", "read_continuous_header"]

HEADER_BYTES = 1024
SAMPLES_PER_RECORD = 1024
RECORD_BYTES = 8 + 2 + 2 + 2 * SAMPLES_PER_RECORD + 10  # 2070
_MAGIC = b"header.format = 'Open Ephys Data Format'"
_NAME = re.compile(r"^(?P<proc>.+?)_(?P<kind>CH|AUX|ADC)(?P<num>\d+)(?P<rec>_\d+)?\.continuous$",
                   re.IGNORECASE)
_FIELD = re.compile(r"header\.(\w+)\s*=\s*(.*?)\s*;")
# date_created as the GUI writes it (MATLAB's datestr style): '3-Oct-2018 131650'.
_DATE = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2})(\d{2})(\d{2})$")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}


@dataclass(frozen=True, slots=True)
class ContinuousHeader:
    """What bsingest uses from a ``.continuous`` header."""

    sample_rate: float
    bit_volts: float | None
    channel: str
    version: str
    date_created: str = ""

    def started(self) -> datetime.datetime | None:
        m = _DATE.match(self.date_created)
        if m is None or m[2].lower() not in _MONTHS:
            return None
        try:
            return datetime.datetime(int(m[3]), _MONTHS[m[2].lower()], int(m[1]), int(m[4]),
                                     int(m[5]), int(m[6]))
        except ValueError:
            return None


def read_continuous_header(path: Path) -> ContinuousHeader:
    """Parse the 1024-byte text header; errors name ``path``."""
    with open(path, "rb") as fh:
        raw = fh.read(HEADER_BYTES)
    if not raw.startswith(_MAGIC):
        raise ExtractionError(path, "not an Open Ephys .continuous file (no 'Open Ephys Data "
                              "Format' header)")
    if len(raw) < HEADER_BYTES:
        raise ExtractionError(path, f"{len(raw)} bytes: shorter than the {HEADER_BYTES}-byte "
                              "header")
    fields = {k: v.strip().strip("'\"") for k, v in _FIELD.findall(raw.decode("latin-1"))}
    header_bytes = fields.get("header_bytes", str(HEADER_BYTES))
    if header_bytes != str(HEADER_BYTES):
        raise ExtractionError(path, f"header_bytes is {header_bytes[:20]}; only "
                              f"{HEADER_BYTES}-byte headers are known")
    try:
        sample_rate = float(fields["sampleRate"])
    except (KeyError, ValueError):
        raise ExtractionError(path, f"header has no numeric sampleRate "
                              f"({fields.get('sampleRate', '')[:20]!r})") from None
    lo, hi = RATE_BOUNDS
    if not (math.isfinite(sample_rate) and lo <= sample_rate <= hi):
        raise ExtractionError(path, f"header.sampleRate {sample_rate:g} Hz is outside "
                              f"{lo:g} to {hi:g} Hz, what Open Ephys sources record at: a "
                              "damaged header")
    try:
        bit_volts: float | None = float(fields["bitVolts"])
    except (KeyError, ValueError):
        bit_volts = None
    if bit_volts is not None and not (math.isfinite(bit_volts) and bit_volts > 0):
        raise ExtractionError(path, f"header.bitVolts {bit_volts:g} is not a positive step")
    return ContinuousHeader(sample_rate, bit_volts, fields.get("channel", ""),
                            fields.get("version", ""), fields.get("date_created", ""))


def _magic_ok(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(_MAGIC)) == _MAGIC
    except OSError:
        return False


class OpenEphysLegacyExtractor(Extractor):
    """Open Ephys legacy ``.continuous``: one record per file (one channel each)."""

    name = "openephys_legacy"
    suffixes = (".continuous",)
    record_types = ("ExtracellularEphys", "GeneralTimeSeries")

    claim_endings = (".continuous",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if path.suffix.lower() != ".continuous" or not _magic_ok(path):
            return Claim.NO
        return Claim.SPECIFIC

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        m = _NAME.match(path.name)
        n = (m["rec"] or "").lstrip("_") if m else ""
        out = []
        for base, ext in (("settings", ".xml"), ("Continuous_Data", ".openephys")):
            p = path.parent / (f"{base}{ext}" if not n else f"{base}_{n}{ext}")
            if p.is_file():
                out.append(p)
        return out

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        h = read_continuous_header(path)
        m = _NAME.match(path.name)
        kind = m["kind"].upper() if m else ""
        neural = kind in ("CH", "")
        f = Fields()
        f.header("format", "OpenEphys", f"Open Ephys Data Format {h.version} (.continuous)")
        f.header("type", "int16", "the format stores big-endian int16 samples in 2070-byte records")
        f.computed("nChannels", 1, "one channel per .continuous file" +
                   (f" ({h.channel})" if h.channel else ""))
        f.header("sr", h.sample_rate, f"{path.name} header.sampleRate")
        size = os.stat(path).st_size
        n_records = self._n_records(path, size, f)
        f.computed("nSamples", n_records * SAMPLES_PER_RECORD,
                   f"({size} bytes - {HEADER_BYTES}-byte header) // {RECORD_BYTES}-byte records "
                   f"= {n_records} whole records x {SAMPLES_PER_RECORD} samples: the samples on "
                   "disk, not the timestamp span (which counts gaps)")
        if h.bit_volts is not None:
            if neural:
                f.header("lsb", h.bit_volts,
                         f"{path.name} header.bitVolts (µV/bit for CH channels)")
            else:
                f.header("lsb", h.bit_volts * 1e6,
                         f"{path.name} header.bitVolts {h.bit_volts:g} V/bit ({kind} channel) "
                         "x 1e6")
        started = h.started()
        if started is not None:
            f.started(started, Source.HEADER, f"{path.name} header.date_created "
                      f"'{h.date_created}' (the acquisition computer's local time)")
        if n_records == 0:
            f.warn("the file holds a header and no records")
        return [self.result(path, "ExtracellularEphys" if neural else "GeneralTimeSeries", f)]

    def _n_records(self, path: Path, size: int, f: Fields) -> int:
        data = size - HEADER_BYTES
        n, rest = divmod(data, RECORD_BYTES)
        if rest:
            f.warn(f"{size} bytes: {HEADER_BYTES}-byte header + {n} whole {RECORD_BYTES}-byte "
                   f"records and {rest} bytes of a partial record, left out of nSamples: a "
                   "truncated file")
        if n:
            with open(path, "rb") as fh:
                fh.seek(HEADER_BYTES)
                _ts, count, _rec = struct.unpack("<qHH", fh.read(12))
            if count != SAMPLES_PER_RECORD:
                raise ExtractionError(path, f"the first record says {count} samples; the "
                                      f"format's records hold {SAMPLES_PER_RECORD}")
        return n
