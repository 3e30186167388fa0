"""BrainVision (Brain Products) recordings: a ``.vhdr`` header, a ``.vmrk`` marker file and
the binary data file the header names (usually ``.eeg``).

The header is INI-style text: ``[Common Infos]`` names the data and marker files
(``DataFile=``, ``MarkerFile=``) and gives ``NumberOfChannels``, ``SamplingInterval`` (µs),
``DataFormat`` and ``DataOrientation``; ``[Binary Infos]`` the ``BinaryFormat``;
``[Channel Infos]`` one ``ChN=name,reference,resolution,unit`` line per channel.

The record describes the data file (``fileName`` is the ``.eeg``); the ``.vhdr`` and
``.vmrk`` are its sidecars. A ``.vhdr`` given as the path describes the data file it
names (the same record). Where two headers name one data file (a copy with renamed
channels), the one of the data file's own name describes it in a folder listing, and
the other is listed as a sidecar too, so the data file gets one record.

Choice of reader: our own. A header is a few kB of INI text; MNE and neo parse the same
lines (neo fails on a latin-1 header: ``UnicodeDecodeError``), and both import far more
than a ``configparser``-sized reader needs. One read of the header (at most 16 MiB), the
first 64 kB of the marker file and one ``stat`` of the data file: the same cost for a
1 MB and a 100 GB recording. The tests compare our values with MNE and neo.

Values:

- The first line as Recorder, Analyzer and pybv write it (``Brain Vision Data Exchange
  Header File``), or V-Amp Recorder (``Brain Vision V-Amp Data Header File``), or the Core
  Data Format's (``BrainVision Core Data Header File``): the grammar MNE accepts.
- Section names and keys in any case (``[Common infos]``, ``datafile=``); the
  ``[Comment]`` section is free text and never parsed. Headers are UTF-8 when they say
  ``Codepage=UTF-8`` or decode as UTF-8, else latin-1 (BrainVision Recorder 1.x); a unit
  written in UTF-8 inside a latin-1 header (``Âµv``) is read as the ``µV`` it is.
- ``nChannels``: ``NumberOfChannels`` (a ``[Channel Infos]`` count that differs warns).
- ``sr`` = 1e6 / ``SamplingInterval`` (µs).
- ``type``: ``INT_16`` int16, ``UINT_16`` uint16, ``INT_32`` int32, ``IEEE_FLOAT_32``
  float32. Multiplexed and vectorized files hold the same number of samples.
- ``nSamples`` = data file size / (nChannels x bytes per sample), refused when not whole;
  a ``DataPoints`` that differs warns.
- ``lsb`` (µV per step), integer formats only: each channel's resolution (1 when empty)
  in its unit (nV, µV/uV, mV, V; µV when empty), when all channels share one; else left
  out, with the reason in a warning. Float data are stored in units, not steps: no lsb.
- Start: the date of the marker file's first ``New Segment`` marker
  (``YYYYMMDDhhmmssuuuuuu``, local time of the recording computer); all zeros means none.
  A ``MarkerFile`` that is absent (a recording renamed after it was written, as a BIDS
  conversion does) falls back to the ``.vmrk`` of the header's own name, with a warning,
  as MNE does; an absent ``DataFile`` likewise to the data file of the header's own name
  (with the named suffix), as neo does.
  A segmented export (``SegmentationType`` other than ``NOTSEGMENTED``) warns that its
  segments are not contiguous in time.

Records are ``Electroencephalography``; ``--type`` restates them within the time-series
types. ASCII data files (``DataFormat=ASCII``) and frequency-domain exports are refused
in one line: counting an ASCII file's samples means reading all of it.
"""

from __future__ import annotations

import datetime
import functools
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError, SidecarError

from .base import Claim, Extraction, Extractor, Fields, Source, special_file, whole_frames

__all__ = ["BrainVisionExtractor", "VhdrHeader", "read_vhdr"]

_HEADER_LIMIT = 16 * 2**20  # a 256-channel header with comments is ~30 kB
# What the claims read of a header to find the files it names: its first section.
_NAMES_HEAD = 64 * 1024
_MARKER_HEAD = 1 << 16  # the first New Segment marker is near the top of the .vmrk
# "Brain Vision Data Exchange Header File Version 1.0" (Recorder, Analyzer, pybv), and the
# first lines of V-Amp Recorder ("Brain Vision V-Amp Data Header File") and of the Core
# Data Format ("BrainVision Core Data Header File"): the grammar MNE accepts.
_MAGIC = re.compile(r"^\ufeff?\s*brain ?vision( core| v-amp)? data( exchange)? header file",
                    re.IGNORECASE)
_FORMATS = {"INT_16": ("int16", 2), "UINT_16": ("uint16", 2), "INT_32": ("int32", 4),
            "IEEE_FLOAT_32": ("float32", 4)}
_TO_MICROVOLT = {"nv": 1e-3, "uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1e3, "v": 1e6}
_SEGMENT = re.compile(r"^\s*mk\d+\s*=\s*new segment\s*,[^,\r\n]*,[^,\r\n]*,[^,\r\n]*,[^,\r\n]*,"
                      r"\s*(\d{14,20})", re.IGNORECASE | re.MULTILINE)
_MAX_VHDRS = 200  # headers looked at in one folder when searching the one naming a file


@dataclass(frozen=True, slots=True)
class VhdrHeader:
    """A parsed ``.vhdr``: its sections (lower-case names) of lower-case keys."""

    path: Path
    sections: dict[str, dict[str, str]]
    encoding: str

    def get(self, section: str, key: str) -> str | None:
        return self.sections.get(section, {}).get(key)

    @property
    def data_file(self) -> Path | None:
        name = self.get("common infos", "datafile")
        return self.path.parent / name if name else None

    @property
    def marker_file(self) -> Path | None:
        name = self.get("common infos", "markerfile")
        return self.path.parent / name if name else None


class BrainVisionExtractor(Extractor):
    """BrainVision ``.vhdr`` + ``.vmrk`` + data file: one record, for the data file."""

    name = "brainvision"
    suffixes = (".vhdr", ".eeg")
    record_types = ("Electroencephalography",)

    claim_endings = (".vhdr", ".eeg")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        suffix = path.suffix.lower()
        if suffix == ".vhdr":
            if not _is_vhdr(path):
                return Claim.SPECIFIC  # mislabelled: refused saying so, not "unknown kind"
            # Beside its data file, a sidecar in a listing; given alone, it describes it.
            data = _data_of(path)
            return Claim.SUFFIX if data is not None and data.exists() else Claim.SPECIFIC
        if suffix == ".eeg":
            return Claim.SPECIFIC if _headers_naming(path) else Claim.NO
        return Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        if path.suffix.lower() != ".eeg":
            return []
        headers = _headers_naming(path)
        out = list(headers)
        for h in headers:
            marker = _marker_of(h)
            if marker is not None and marker.is_file() and marker not in out:
                out.append(marker)
        return out

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        f = Fields()
        if path.suffix.lower() == ".vhdr":
            h = read_vhdr(path, data=path)  # errors name the header given
            data = h.data_file
            if data is None:
                raise SidecarError(path, "no DataFile in [Common Infos]: it names no data file")
            data = _renamed(path, data)
        else:
            headers = _headers_naming(path)
            if not headers:
                raise SidecarError(path, "no .vhdr beside it names it as its DataFile")
            if len(headers) > 1:
                f.warn(f"{len(headers)} headers name this data file; described by "
                       f"{headers[0].name} (also: {', '.join(h.name for h in headers[1:])})")
            h, data = read_vhdr(headers[0], data=path), path
        self._describe(path, h, data, f)
        return [self.result(data, "Electroencephalography", f)]

    def _describe(self, where: Path, h: VhdrHeader, data: Path, f: Fields) -> None:
        name = h.path.name
        stated = h.data_file
        if stated is not None and stated.name != data.name:
            f.warn(f"{name} names data file {stated.name[:80]}, which is absent; described "
                   f"{data.name}, of the header's own name (a renamed recording)")
        version = h.get("", "version") or ""
        fmt = (h.get("common infos", "dataformat") or "BINARY").upper()
        if fmt != "BINARY":
            raise SidecarError(where, f"{name}: DataFormat {fmt}: only binary data files are "
                               "read (counting the samples of an ASCII file means reading it)")
        kind = (h.get("common infos", "datatype") or "TIMEDOMAIN").upper()
        if kind != "TIMEDOMAIN":
            raise SidecarError(where, f"{name}: DataType {kind}: not a recording in time")
        f.header("format", "BrainVision", f"{name}: BrainVision Data Exchange header{version}")
        binary = (h.get("binary infos", "binaryformat") or "").upper()
        if binary not in _FORMATS:
            raise SidecarError(where, f"{name}: BinaryFormat {binary[:30]!r} is not one of "
                               f"{', '.join(_FORMATS)}")
        dtype, itemsize = _FORMATS[binary]
        big = (h.get("binary infos", "usebigendianorder") or "NO").upper() == "YES"
        f.header("type", dtype, f"{name} [Binary Infos] BinaryFormat={binary}"
                 + (", UseBigEndianOrder=YES (big-endian)" if big else ""))
        n = _number(where, h, "common infos", "numberofchannels")
        if n is None or not n.is_integer() or not 1 <= n <= 1e6:
            raise SidecarError(where, f"{name}: NumberOfChannels "
                               f"{h.get('common infos', 'numberofchannels')!r} is not a whole "
                               "number of channels (1 or more)")
        n_channels = int(n)
        f.header("nChannels", n_channels, f"{name} [Common Infos] NumberOfChannels")
        channels = _channels(h)
        if len(channels) != n_channels:
            f.warn(f"{name} lists {len(channels)} channels in [Channel Infos] but "
                   f"NumberOfChannels is {n_channels}")
        interval = _number(where, h, "common infos", "samplinginterval")
        if interval is None or not interval > 0:
            raise SidecarError(where, f"{name}: SamplingInterval "
                               f"{h.get('common infos', 'samplinginterval')!r} is not a positive "
                               "number of µs")
        f.header("sr", 1e6 / interval, f"{name} [Common Infos] SamplingInterval {interval:g} µs: "
                 "1e6 / interval")
        if not data.exists():
            raise ExtractionError(where, f"its data file {data.name} (DataFile in {name}) is "
                                  "absent")
        if not data.is_file():
            raise ExtractionError(where, f"its data file {data.name} is "
                                  f"{special_file(data) or 'not a regular file'}: not read")
        size = os.stat(data).st_size
        orientation = (h.get("common infos", "dataorientation") or "MULTIPLEXED").upper()
        n_samples = whole_frames(where, size, n_channels, dtype, itemsize,
                                 why=f"NumberOfChannels or BinaryFormat in {name} does not fit "
                                 "the data file, or the file was cut", member=data
                                 if data != where else None)
        f.computed("nSamples", n_samples, f"{data.name}: {size} bytes / ({n_channels} channels "
                   f"x {itemsize} bytes), {orientation.lower()}")
        points = _number(where, h, "common infos", "datapoints")
        if points is not None and points != n_samples:
            f.warn(f"{name} promises DataPoints={points:g} but the data file holds {n_samples} "
                   f"samples ({size} bytes): nSamples is what is on disk")
        if dtype != "float32":
            _lsb(name, channels, f)
        _start(h, data, f)
        segmentation = (h.get("common infos", "segmentationtype") or "NOTSEGMENTED").upper()
        if segmentation != "NOTSEGMENTED":
            f.warn(f"{name}: SegmentationType {segmentation}: an export of segments, not "
                   "contiguous in time; nSamples counts the samples stored")


def read_vhdr(path: Path, *, data: Path, head: int | None = None) -> VhdrHeader:
    """Parse a ``.vhdr``; every problem is one line naming ``data`` (the file described).

    ``head``: parse only the whole lines of its first ``head`` bytes (what deciding whose
    a file is reads: ``[Common Infos]``, which names the data file, comes first).
    """
    try:
        size = os.stat(path).st_size
        if size > _HEADER_LIMIT:
            raise _error(data, path, f"{size} bytes is too large for a BrainVision header")
        if head is None:
            raw = path.read_bytes()
        else:
            with open(path, "rb") as fh:
                raw = fh.read(head)
            if len(raw) == head:
                raw = raw[:raw.rfind(b"\n") + 1] or raw  # a cut last line is not read
    except OSError as exc:
        raise _error(data, path, f"cannot read: {exc.strerror or exc}") from exc
    text, encoding = _decode(raw)
    lines = text.splitlines()
    if not lines or not _MAGIC.match(lines[0]):
        raise _error(data, path, "not a BrainVision header (its first line is not 'Brain Vision "
                     "Data Exchange Header File ...')")
    m = re.search(r"version\s*([\d.]+)", lines[0], re.IGNORECASE)
    sections: dict[str, dict[str, str]] = {"": {"version": f" version {m.group(1)}" if m
                                                else ""}}
    current: dict[str, str] | None = None
    for line in lines[1:]:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            name = stripped[1:-1].strip().lower()
            # [Comment] is free text (amplifier tables with '=' in them): never parsed.
            current = None if name == "comment" else sections.setdefault(name, {})
            continue
        if current is None or not stripped or stripped.startswith(";"):
            continue
        key, sep, value = stripped.partition("=")
        if sep:
            current.setdefault(key.strip().lower(), value.strip())
    return VhdrHeader(path, sections, encoding)


def _decode(raw: bytes) -> tuple[str, str]:
    """The header's text: UTF-8 when it says so or decodes as such, else latin-1."""
    if re.search(rb"^\s*codepage\s*=\s*utf-?8", raw, re.IGNORECASE | re.MULTILINE):
        return raw.decode("utf-8", errors="replace"), "utf-8"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"  # Recorder 1.x: 'µ' is 0xB5


def _channels(h: VhdrHeader) -> list[tuple[str, str, str]]:
    """(name, resolution, unit) of each ``ChN=`` line, in channel-number order."""
    infos = h.sections.get("channel infos", {})
    found = []
    for key, value in infos.items():
        m = re.fullmatch(r"ch(\d+)", key)
        if not m:
            continue
        parts = [p.strip() for p in value.split(",")]
        parts += [""] * (4 - len(parts))
        found.append((int(m.group(1)), (parts[0], parts[2], parts[3])))
    return [c for _, c in sorted(found)]


def _lsb(name: str, channels: list[tuple[str, str, str]], f: Fields) -> None:
    steps: dict[float, list[str]] = {}
    other_units = set()
    for label, resolution, unit in channels:
        unit = _unit(unit)
        try:
            value = float(resolution) if resolution else 1.0
        except ValueError:
            value = math.nan
        factor = _TO_MICROVOLT.get((unit or "µV").lower())
        if factor is None:
            other_units.add(unit)
            continue
        if not math.isfinite(value) or value <= 0:
            f.warn(f"{name}: channel {label} resolution {resolution!r} is not a positive "
                   "number: no lsb")
            return
        steps.setdefault(float(f"{value * factor:.12g}"), []).append(label)
    if not channels:
        return
    if other_units:
        f.warn(f"{name}: channels in units other than volts ({', '.join(sorted(other_units))}): "
               "one lsb in µV cannot describe the record, so none is given")
        return
    if len(steps) > 1:
        values = sorted(steps)
        f.warn(f"{name}: channels differ in resolution ({values[0]:g} to {values[-1]:g} µV per "
               f"step, {len(values)} values): one lsb cannot describe them, so none is given")
        return
    [lsb] = steps
    units = sorted({_unit(u) or "µV (no unit given)" for _, _, u in channels})
    f.header("lsb", lsb, f"{name} [Channel Infos] resolution of all {len(channels)} channels "
             f"({', '.join(units)}), in µV")


def _unit(unit: str) -> str:
    """A channel's unit, with a UTF-8 'µV' read as latin-1 ('Âµv': a header mixing the two
    encodings, or one saying ``Codepage=ANSI``) made 'µV' again, as MNE does."""
    try:
        return unit.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return unit


def _start(h: VhdrHeader, data: Path, f: Fields) -> None:
    """The date of the marker file's first New Segment marker (local time)."""
    stated = h.marker_file
    marker = _marker_file(h.path, stated)
    if marker is None:
        if stated is not None:
            f.warn(f"{h.path.name} names marker file {stated.name}, which is absent: no start "
                   "time")
        return
    if stated is not None and marker != stated:
        f.warn(f"{h.path.name} names marker file {stated.name}, which is absent; read "
               f"{marker.name} beside it (a renamed recording)")
    try:
        with open(marker, "rb") as fh:
            head = fh.read(_MARKER_HEAD)
    except OSError:
        return
    text, _ = _decode(head)
    named = re.search(r"^\s*datafile\s*=\s*(.+?)\s*$", text, re.IGNORECASE | re.MULTILINE)
    if named and named.group(1) != data.name:
        f.warn(f"{marker.name} names {named.group(1)[:80]} as its data file, not {data.name} "
               "(a renamed copy?)")
    m = _SEGMENT.search(text)
    if not m or not m.group(1).strip("0"):
        return
    stamp = m.group(1).ljust(20, "0")
    try:
        when = datetime.datetime(int(stamp[0:4]), int(stamp[4:6]), int(stamp[6:8]),
                                 int(stamp[8:10]), int(stamp[10:12]), int(stamp[12:14]),
                                 int(stamp[14:20]))
    except ValueError:
        f.warn(f"{marker.name}: New Segment date {m.group(1)} is not a date: no start time")
        return
    f.started(when, Source.HEADER, f"{marker.name} first New Segment marker date "
              f"{m.group(1)} (local time of the recording computer)")


def _marker_file(vhdr: Path, named: Path | None) -> Path | None:
    """The marker file a header names or, where that is absent (a recording renamed after
    it was written: a BIDS conversion), the ``.vmrk`` of the header's own name, as MNE
    does; None when neither is there."""
    if named is not None and named.is_file():
        return named
    sibling = vhdr.with_suffix(".vmrk")
    return sibling if named is not None and sibling.is_file() else None


def _number(where: Path, h: VhdrHeader, section: str, key: str) -> float | None:
    raw = h.get(section, key)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SidecarError(where, f"{h.path.name}: {key} {raw[:30]!r} is not a number") from None
    if not math.isfinite(value):
        raise SidecarError(where, f"{h.path.name}: {key} {raw[:30]!r} is not a finite number")
    return value


def _error(data: Path, header: Path, reason: str) -> SidecarError:
    return SidecarError(data, reason if header == data else f"{header.name}: {reason}")


def _is_vhdr(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:
        return False
    return bool(_MAGIC.match(_decode(head)[0]))


@functools.lru_cache(maxsize=4096)
def _named(vhdr: str, mtime: int, size: int) -> tuple[str | None, str | None]:
    """(DataFile, MarkerFile) a header names; cached by path, mtime and size (a folder
    listing asks for every data file)."""
    path = Path(vhdr)
    if size > _HEADER_LIMIT:
        return None, None
    try:
        h = read_vhdr(path, data=path, head=_NAMES_HEAD)
    except SidecarError:
        return None, None
    return h.get("common infos", "datafile"), h.get("common infos", "markerfile")


def _names_of(vhdr: Path) -> tuple[str | None, str | None]:
    try:
        st = os.stat(vhdr)
    except OSError:
        return None, None
    return _named(str(vhdr), st.st_mtime_ns, st.st_size)


def _data_of(vhdr: Path) -> Path | None:
    name = _names_of(vhdr)[0]
    return _renamed(vhdr, vhdr.parent / name) if name else None


def _renamed(vhdr: Path, named: Path) -> Path:
    """The data file a header names or, where that is absent and a file of the header's own
    name and the named suffix is beside it (a recording renamed without editing its
    header), that file, as neo reads it."""
    if named.exists():
        return named
    own = vhdr.with_suffix(named.suffix or ".eeg")
    return own if own != vhdr and own.is_file() else named


def _marker_of(vhdr: Path) -> Path | None:
    name = _names_of(vhdr)[1]
    return _marker_file(vhdr, vhdr.parent / name if name else None)


def _headers_naming(data: Path) -> list[Path]:
    """The ``.vhdr`` files beside ``data`` that name it as their DataFile; the one of its
    own name first."""
    folder = data.parent
    own = data.with_suffix(".vhdr")
    try:
        others = sorted(p for p in folder.iterdir()
                        if p.suffix.lower() == ".vhdr" and p != own and p.is_file())
    except OSError:
        others = []
    candidates = ([own] if own.is_file() else []) + others[:_MAX_VHDRS]
    out = []
    for vhdr in candidates:
        named = _data_of(vhdr)
        if named is not None and named.name == data.name and named.parent == folder:
            out.append(vhdr)
    return out
