"""Open Ephys legacy format (GUI before 0.5): one ``.continuous`` file per channel.

Each file is a 1024-byte text header (``header.sampleRate = 30000;``, ``header.bitVolts``,
...) and then records of 2070 bytes: int64 timestamp, uint16 sample count (1024), uint16
recording number, 1024 big-endian int16 samples and a 10-byte marker.

**nSamples comes from the records on disk**: (size - 1024) / 2070 records x 1024, refused
when not whole (the message gives size, record size and remainder). neo's
``OpenEphysRawIO`` reports the *timestamp span* and fills gaps with zeros (341728 instead of
the 248832 samples in ``OpenEphys_SampleData_2``'s first segment); the file holds the
latter. Only the first record's sample-count field is read (to check it says 1024), never
the samples.

**One record per channel group and recording**, as for Intan's one-file-per-channel
layout: the files ``<processor>_CH<n>[_<rec>].continuous`` of one processor, kind
(``CH`` neural: Extracellular; ``AUX``, ``ADC``: GeneralTimeSeries) and recording
(``_2`` for the second start) form one record of nChannels files. Its data file is the
lowest-numbered channel's (``101_CH0.continuous``), which carries ``fileName``; the other
channel files are its members and show as its sidecars, with ``settings[_N].xml`` and
``Continuous_Data[_N].openephys``. Every member's header is read (1 KB each) and must
agree on rate and length. One record per file would turn a 64-channel session into 64
Extracellular records; neo, too, sees one 2-channel stream per recording. Files whose
names do not follow the pattern are a record each.

lsb: ``bitVolts`` is µV per bit for CH channels and V per bit for AUX/ADC (x 1e6).

Choice of reader: our own. neo's ``OpenEphysRawIO.parse_header`` reads every record's
header of every file to find gaps: 9 ms / 24 ms for two channels of 0.5 MB / 0.5 GB, and
it refuses a sparse 100 GB copy (all-zero records); its nSamples is the timestamp span.
Ours reads 1 KB per channel file plus the first record's 12-byte prefix and ``stat``-s it:
0.14 ms for a two-channel group, the same at 100 GB (``benchmarks/bench_intan_openephys.py``).
"""

from __future__ import annotations

import functools
import os
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import Claim, Extraction, Extractor, Fields

__all__ = ["OpenEphysLegacyExtractor", "read_continuous_header"]

HEADER_BYTES = 1024
SAMPLES_PER_RECORD = 1024
RECORD_BYTES = 8 + 2 + 2 + 2 * SAMPLES_PER_RECORD + 10  # 2070
_MAGIC = b"header.format = 'Open Ephys Data Format'"
_NAME = re.compile(r"^(?P<proc>.+?)_(?P<kind>CH|AUX|ADC)(?P<num>\d+)(?P<rec>_\d+)?\.continuous$",
                   re.IGNORECASE)
_FIELD = re.compile(r"header\.(\w+)\s*=\s*(.*?)\s*;")


@dataclass(frozen=True, slots=True)
class ContinuousHeader:
    """What bsingest uses from a ``.continuous`` header."""

    sample_rate: float
    bit_volts: float | None
    channel: str
    version: str


def read_continuous_header(path: Path, report_as: Path | None = None) -> ContinuousHeader:
    """Parse the 1024-byte text header; errors name ``report_as`` (the record's file) first."""
    who = report_as or path
    prefix = f"{path.name}: " if report_as is not None and report_as != path else ""
    with open(path, "rb") as fh:
        raw = fh.read(HEADER_BYTES)
    if not raw.startswith(_MAGIC):
        raise ExtractionError(who, f"{prefix}not an Open Ephys .continuous file (no "
                              "'Open Ephys Data Format' header)")
    if len(raw) < HEADER_BYTES:
        raise ExtractionError(who, f"{prefix}{len(raw)} bytes: shorter than the "
                              f"{HEADER_BYTES}-byte header")
    fields = {k: v.strip().strip("'\"") for k, v in _FIELD.findall(raw.decode("latin-1"))}
    header_bytes = fields.get("header_bytes", str(HEADER_BYTES))
    if header_bytes != str(HEADER_BYTES):
        raise ExtractionError(who, f"{prefix}header_bytes is {header_bytes}; only "
                              f"{HEADER_BYTES}-byte headers are known")
    try:
        sample_rate = float(fields["sampleRate"])
    except (KeyError, ValueError):
        raise ExtractionError(who, f"{prefix}header has no numeric sampleRate "
                              f"({fields.get('sampleRate')!r})") from None
    if not sample_rate > 0:
        raise ExtractionError(who, f"{prefix}sampleRate {sample_rate:g} is not positive")
    try:
        bit_volts: float | None = float(fields["bitVolts"])
    except (KeyError, ValueError):
        bit_volts = None
    return ContinuousHeader(sample_rate, bit_volts, fields.get("channel", ""),
                            fields.get("version", ""))


def _magic_ok(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(_MAGIC)) == _MAGIC
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class _Group:
    kind: str  # CH, AUX, ADC, or "" for a file outside the naming pattern
    rec: str  # "" or "_2", ...
    files: tuple[Path, ...]  # lowest channel number first


def _groups(folder: Path) -> dict[Path, _Group]:
    """Every .continuous file of ``folder`` -> its group (lead first)."""
    try:
        mtime = folder.stat().st_mtime_ns
    except OSError:
        return {}
    return _groups_cached(str(folder), mtime)


@functools.lru_cache(maxsize=64)
def _groups_cached(folder: str, _mtime: int) -> dict[Path, _Group]:
    root = Path(folder)
    try:
        names = sorted(n for n in os.listdir(root) if n.lower().endswith(".continuous"))
    except OSError:
        return {}
    keyed: dict[tuple[str, str, str], list[tuple[int, Path]]] = {}
    out: dict[Path, _Group] = {}
    for n in names:
        m = _NAME.match(n)
        if m is None:
            out[root / n] = _Group("", "", (root / n,))
            continue
        key = (m["proc"], m["kind"].upper(), m["rec"] or "")
        keyed.setdefault(key, []).append((int(m["num"]), root / n))
    for (_, kind, rec), members in keyed.items():
        group = _Group(kind, rec, tuple(p for _, p in sorted(members)))
        out.update({p: group for p in group.files})
    return out


class OpenEphysLegacyExtractor(Extractor):
    """Open Ephys legacy ``.continuous``: one record per channel group and recording."""

    name = "openephys_legacy"
    suffixes = (".continuous",)
    record_types = ("Extracellular", "GeneralTimeSeries")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if path.suffix.lower() != ".continuous" or not _magic_ok(path):
            return Claim.NO
        group = _groups(path.parent).get(path)
        if group is not None and group.files[0] != path:
            # A member: a sidecar of its group's lead in a folder listing; given alone,
            # still ours (nobody else reads .continuous), and refused pointing to the lead.
            return Claim.SUFFIX
        return Claim.SPECIFIC

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        group = _groups(path.parent).get(path)
        if group is None or group.files[0] != path:
            return []
        out = list(group.files[1:])
        n = group.rec.lstrip("_")
        for base, ext in (("settings", ".xml"), ("Continuous_Data", ".openephys")):
            p = path.parent / (f"{base}{ext}" if not n else f"{base}_{n}{ext}")
            if p.is_file():
                out.append(p)
        return out

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        group = _groups(path.parent).get(path) or _Group("", "", (path,))
        if group.files[0] != path:
            raise ExtractionError(path, f"one channel of the group described with "
                                  f"{group.files[0].name} (extract that file or the folder)")
        headers = [read_continuous_header(p, report_as=path) for p in group.files]
        counts = [self._n_records(path, p) for p in group.files]
        self._agree(path, group, headers, counts)
        h, n_records = headers[0], counts[0]
        f = Fields()
        f.header("format", "OpenEphys", f"Open Ephys Data Format {h.version} (.continuous)")
        f.header("type", "int16", "the format stores big-endian int16 samples in 2070-byte records")
        neural = group.kind in ("CH", "")
        if len(group.files) > 1:
            f.computed("nChannels", len(group.files),
                       f"{len(group.files)} files {group.files[0].name} ... {group.files[-1].name},"
                       f" one per channel ({group.kind} channels of this recording)")
        else:
            f.computed("nChannels", 1, "one channel per .continuous file")
        f.header("sr", h.sample_rate, f"{path.name} header.sampleRate")
        f.computed("nSamples", n_records * SAMPLES_PER_RECORD,
                   f"({os.stat(path).st_size} bytes - {HEADER_BYTES}-byte header) / "
                   f"{RECORD_BYTES}-byte records = {n_records} records x {SAMPLES_PER_RECORD} "
                   "samples: the samples on disk, not the timestamp span (which counts gaps)")
        if h.bit_volts is not None and h.bit_volts > 0:
            if neural:
                f.header("lsb", h.bit_volts,
                         f"{path.name} header.bitVolts (µV/bit for CH channels)")
            else:
                f.header("lsb", h.bit_volts * 1e6,
                         f"{path.name} header.bitVolts {h.bit_volts:g} V/bit "
                         f"({group.kind} channel) x 1e6")
        if len({x.bit_volts for x in headers}) > 1:
            f.warn(f"the channel files differ in bitVolts; lsb is {path.name}'s")
        if n_records == 0:
            f.warn("the file holds a header and no records")
        return [self.result(path, "Extracellular" if neural else "GeneralTimeSeries", f)]

    def _n_records(self, lead: Path, path: Path) -> int:
        size = os.stat(path).st_size
        data = size - HEADER_BYTES
        n, rest = divmod(data, RECORD_BYTES)
        where = f"{path.name}: " if path != lead else ""
        if rest:
            raise ExtractionError(
                lead, f"{where}{size} bytes: {HEADER_BYTES}-byte header + {data} bytes is not a "
                f"whole number of {RECORD_BYTES}-byte records ({n} records and {rest} bytes left "
                "over): a truncated file")
        if n:
            with open(path, "rb") as fh:
                fh.seek(HEADER_BYTES)
                _ts, count, _rec = struct.unpack("<qHH", fh.read(12))
            if count != SAMPLES_PER_RECORD:
                raise ExtractionError(lead, f"{where}the first record says {count} samples; the "
                                      f"format's records hold {SAMPLES_PER_RECORD}")
        return n

    def _agree(self, path: Path, group: _Group, headers: list[ContinuousHeader],
               counts: list[int]) -> None:
        first = (headers[0].sample_rate, counts[0])
        for p, h, n in zip(group.files[1:], headers[1:], counts[1:], strict=True):
            if (h.sample_rate, n) != first:
                raise ExtractionError(
                    path, f"{p.name} differs from {path.name}: {n} records at {h.sample_rate:g} Hz "
                    f"against {counts[0]} at {first[0]:g} Hz")
