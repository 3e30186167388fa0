"""Open Ephys binary format (GUI 0.4 to 0.6 and later): ``structure.oebin`` +
``continuous/<stream>/continuous.dat``.

A recording folder (``[Record Node N/]experimentE/recordingR/``) holds one
``structure.oebin`` listing its continuous streams; each stream's samples are in
``continuous/<folder_name>/continuous.dat`` (int16, channel-interleaved). The data file is
what gets claimed and described: one record per ``continuous.dat``, that is per
continuous stream and recording, named by its path in the session
(``Record Node 101/experiment1/recording1/continuous/<folder_name>/continuous.dat``).
``structure.oebin`` given as the path describes its streams (the same records); in a
folder listing it is their sidecar. A stream the oebin lists whose ``continuous.dat`` is
missing is a warning on the recording's other records (an error when none is there); so is
a listed stream that cannot be described (a damaged rate, a file cut mid-frame).

Start time: GUI 0.6's ``sync_messages.txt`` gives the software time at the start in ms
since 1970 UTC (kept with its UTC offset). Older GUIs give no absolute time there, so the
start is ``settings.xml``'s ``<DATE>`` (local time, when recording of the experiment
started); a later recording of the experiment starts that much later as the sample
clock says (its ``start time`` in ``sync_messages.txt`` against the first recording's).

Header values are checked: ``sample_rate`` finite and within ``RATE_BOUNDS``,
``num_channels`` a positive whole number, ``channels`` a list of channel objects,
``bit_volts`` finite; a structure file that is not JSON, too large or too deeply nested
is one line naming it.

Values: nChannels = the oebin's ``num_channels``; sr = ``sample_rate``; nSamples = the
``.dat`` size / (2 x nChannels), refused when not whole (a wrong channel count or a cut
file: the message gives size, frame size and remainder). The channel list's length and
the ``sample_numbers.npy``/``timestamps.npy`` lengths (their ~128-byte ``.npy`` headers,
not their data) are cross-checks that warn.

Record type and lsb: headstage and probe channels are ExtracellularEphys with lsb =
``bit_volts`` (the GUI stores µV per bit for them). ADC, AUX and analog-input channels
(names ADC1, AUX1, AI0; NI-DAQ "Analog Input" channels) are GeneralTimeSeries; their
``bit_volts`` is in volts per bit (0.000152587890625 = 10 V / 2^16; GUI 0.4 labels it
"uV" in error), so lsb = bit_volts x 1e6 µV.

**A stream that mixes both** (GUI 0.4's Rhythm FPGA writes ``CH1..CH4, ADC1, ADC2`` into
one ``continuous.dat``) gives ONE ExtracellularEphys record with nChannels = every channel in
the file (6), an electrode group listing the neural channels and a channel tag ``adc``
listing the others; lsb is the neural channels' and the provenance gives the ADC scale.
neo splits such a stream into two (4 + 2 channels); two records would each carry the file
name with a channel count that does not describe the file's frames, and a reader trusting
nChannels = 4 would decode garbage. The file's layout wins.

Choice of reader: our own, with ``json``. neo's ``OpenEphysBinaryRawIO.parse_header`` is
about constant in the data size too (13-30 ms from 1 MB to 100 GB of sparse data,
``benchmarks/bench_intan_openephys.py``), but its values are not the ones a record needs:
it reports ADC and NI-DAQ channels in "uV" with gain = bit_volts (0.000305 "µV" for a
305 µV step), it splits mixed streams so its channel count does not describe the file,
and it parses every recording of the session (and imports neo, ~0.4 s) to describe one
file. Ours parses one oebin and ``stat``-s one file: 1.5 ms for a 384-channel stream
(most of it the JSON), the same at 100 GB.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import os
import re
import struct
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError, SidecarError

from .base import Claim, Extraction, Extractor, Fields, PartFailure, Source, whole_frames
from .run import cached

__all__ = ["RATE_BOUNDS", "OpenEphysBinaryExtractor", "find_oebin"]

#: Sample rates an Open Ephys source records at span down-sampled streams (hundreds of Hz),
#: acquisition boards and Neuropixels (1 to 30 kHz), file readers (40 kHz in the corpus) and
#: NI-DAQ cards (up to hundreds of kHz). Outside 1 Hz to 1 MHz a header is damaged, not odd.
RATE_BOUNDS = (1.0, 1e6)
OEBIN = "structure.oebin"
DATA_NAME = "continuous.dat"
_OEBIN_LIMIT = 64 * 2**20
_NPY_NAMES = ("sample_numbers.npy", "timestamps.npy")
_NODE = re.compile(r"^record ?node", re.IGNORECASE)
_EXPERIMENT = re.compile(r"^experiment(\d+)$")
_NON_NEURAL_NAME = re.compile(r"^(ADC|AUX|AI|NI|DI)\d", re.IGNORECASE)
_NON_NEURAL_DESC = re.compile(r"\bADC\b|analog input|auxiliar", re.IGNORECASE)
_UNIT_SCALE = {"uv": 1.0, "µv": 1.0, "mv": 1e3, "v": 1e6}
_SYNC = "sync_messages.txt"
_TEXT_LIMIT = 1 << 16  # sync_messages.txt is a few lines; <DATE> is near settings.xml's top
_SOFTWARE_MS = re.compile(rb"Software Time \(milliseconds since midnight Jan 1st 1970 UTC\):"
                          rb"\s*(\d{1,15})")
_START_SAMPLE = re.compile(rb"^(.*?)start time:\s*(\d{1,18})@(\d{1,9})Hz", re.IGNORECASE)
_SETTINGS_DATE = re.compile(rb"<DATE>\s*(\d{1,2}) ([A-Za-z]{3}) (\d{4}) "
                            rb"(\d{2}):(\d{2}):(\d{2})\s*</DATE>")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}


@dataclass(frozen=True, slots=True)
class _Channel:
    name: str
    bit_volts: float | None
    units: str
    neural: bool

    def lsb(self) -> float | None:
        """µV per bit: neural channels store µV/bit, ADC and analog inputs V/bit."""
        if self.bit_volts is None or not self.bit_volts > 0:
            return None
        if self.neural:
            return self.bit_volts * _UNIT_SCALE.get(self.units.lower(), 1.0)
        return self.bit_volts * 1e6


def find_oebin(path: Path) -> Path | None:
    """The ``structure.oebin`` of ``.../recordingR/continuous/<stream>/continuous.dat``."""
    for parent in list(path.parents)[:3]:
        candidate = parent / OEBIN
        if candidate.is_file():
            return candidate
    return None


class OpenEphysBinaryExtractor(Extractor):
    """Open Ephys binary: one record per ``continuous.dat`` (stream x recording)."""

    name = "openephys"
    suffixes = (".dat",)
    record_types = ("ExtracellularEphys", "GeneralTimeSeries")

    claim_endings = (OEBIN, DATA_NAME)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if path.name.lower() == OEBIN:
            # Given alone it describes its streams; in a listing it is their sidecar
            # (a stronger claim would describe each stream twice).
            return Claim.SUFFIX
        if path.name.lower() != DATA_NAME:
            return Claim.NO
        return Claim.SPECIFIC if find_oebin(path) else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        oebin = find_oebin(path) if path.name.lower() == DATA_NAME else None
        if oebin is None:
            return []
        out = [oebin]
        out += [path.parent / n for n in (*_NPY_NAMES, "synchronized_timestamps.npy")
                if (path.parent / n).is_file()]
        if (oebin.parent / "sync_messages.txt").is_file():
            out.append(oebin.parent / "sync_messages.txt")
        settings = _settings_xml(oebin)
        if settings is not None:
            out.append(settings)
        return out

    def _extract(self, path: Path, stated: Mapping[str, Any]
                 ) -> list[Extraction | PartFailure]:
        if path.name.lower() == OEBIN:
            return self._streams_of(path)
        oebin = find_oebin(path)
        if oebin is None:
            raise ExtractionError(path, f"no {OEBIN} in the folders above it: not an Open "
                                  "Ephys binary recording")
        # One structure.oebin describes each of its streams: read once per run.
        doc = cached("oebin", oebin, lambda: _read_oebin(path, oebin))
        entry = _entry_for(path, oebin, doc)
        return [self._stream(path, oebin, doc, entry)]

    def _streams_of(self, oebin: Path) -> list[Extraction | PartFailure]:
        """``structure.oebin`` given as the path: the records of its streams' files."""
        doc = _read_oebin(oebin, oebin)
        entries = _entries(oebin, doc)
        present = [(dat, e) for e in entries if (dat := _dat_of(oebin, e)).is_file()]
        if not present:
            raise ExtractionError(oebin, f"lists {len(entries)} continuous stream(s) and none "
                                  f"has its {DATA_NAME} beside it: no data to describe")
        # One stream that cannot be described (a damaged rate, a cut file) is a line on the
        # others' records, not the end of them all.
        return [self.part(dat.relative_to(oebin.parent).as_posix(),
                          functools.partial(self._stream, dat, oebin, doc, e))
                for dat, e in present]

    def _stream(self, path: Path, oebin: Path, doc: Mapping[str, Any],
                entry: Mapping[str, Any]) -> Extraction:
        f = Fields()
        gui = doc.get("GUI version")
        f.header("format", "OpenEphys", f"{OEBIN}" + (f", GUI version {gui}" if gui else ""))
        f.default("type", "int16", "Open Ephys binary continuous.dat is always int16")
        folder = path.parent.name
        n = _positive_int(path, entry.get("num_channels"), f"{OEBIN} {folder} num_channels")
        f.header("nChannels", n, f"{OEBIN} continuous[{folder}].num_channels")
        sr = entry.get("sample_rate")
        lo, hi = RATE_BOUNDS
        if isinstance(sr, bool) or not isinstance(sr, int | float) or not (
                math.isfinite(sr) and lo <= sr <= hi):
            raise SidecarError(path, f"{OEBIN}: {folder} sample_rate {str(sr)[:40]} is not a "
                               f"rate between {lo:g} and {hi:g} Hz (what Open Ephys sources "
                               "record at)")
        f.header("sr", float(sr), f"{OEBIN} continuous[{folder}].sample_rate")
        size = os.stat(path).st_size
        n_samples = whole_frames(path, size, n, "int16", 2, why=f"{OEBIN}'s num_channels "
                                 "does not fit the file, or the file was cut")
        f.computed("nSamples", n_samples, f"{size} bytes / ({n} channels x 2 bytes)")
        channels = _channels(path, entry)
        if len(channels) != n:
            f.warn(f"{OEBIN} lists {len(channels)} channels for {folder} but num_channels is {n}")
        self._npy_check(path, n_samples, f)
        for e in _entries(path, doc):
            if not _dat_of(oebin, e).is_file():
                f.warn(f"{OEBIN} lists stream {_folder(e)} but its {DATA_NAME} is missing")
        _start(oebin, f)
        record_type = self._describe_channels(folder, channels, f)
        # Every stream's file is continuous.dat: the session-relative fileName (set by
        # Extraction.relative_to) tells them apart, not a part of the file.
        return self.result(path, record_type, f, legacy_stream=_stream_key(path, oebin))

    def _describe_channels(self, folder: str, channels: list[_Channel], f: Fields) -> str:
        neural = [i for i, c in enumerate(channels) if c.neural]
        other = [i for i, c in enumerate(channels) if not c.neural]
        if not neural:
            self._lsb(folder, [channels[i] for i in other], f, "analog-input channels: bit_volts "
                      "is V/bit (x 1e6 for µV)")
            return "GeneralTimeSeries"
        self._lsb(folder, [channels[i] for i in neural], f, "neural channels: bit_volts is µV/bit")
        if other:
            names = ", ".join(channels[i].name for i in other)
            f.header("electrodeGroups", [{"channels": neural, "label": folder}],
                     f"{OEBIN} {folder}: the {len(neural)} neural channels; {names} are not "
                     "electrodes. One record for the whole file: nChannels must describe its "
                     "frames (neo splits such a stream in two)")
            scales = sorted({s for i in other if (s := channels[i].lsb()) is not None})
            f.header("channelTags", [{"tag": "adc", "channels": other}],
                     f"{OEBIN} {folder}: ADC/AUX channels by name and description"
                     + (f"; their lsb is {', '.join(f'{s:g}' for s in scales)} µV/bit"
                        if scales else ""))
        return "ExtracellularEphys"

    def _lsb(self, folder: str, channels: list[_Channel], f: Fields, why: str) -> None:
        values = Counter(c.lsb() for c in channels if c.lsb() is not None)
        if not values:
            return
        if len(values) > 1:
            # A record's lsb is the step of every channel it describes; the most common
            # step would be a wrong value for the others (SpikeGLX, NWB and EDF leave it
            # out alike).
            counts = ", ".join(f"{n} at {v:g} µV" for v, n in sorted(values.items()))
            f.warn(f"{OEBIN} {folder}: the {why.split(':')[0]} differ in bit_volts "
                   f"({counts}); one lsb cannot describe them, so none is given")
            return
        [lsb] = values
        f.header("lsb", lsb, f"{OEBIN} {folder} bit_volts of the {why}")

    def _npy_check(self, path: Path, n_samples: int, f: Fields) -> None:
        for name in _NPY_NAMES:
            npy = path.parent / name
            if not npy.is_file():
                continue
            length = _npy_length(npy)
            if length is None:
                f.warn(f"{name}: not a readable .npy header")
            elif length != n_samples:
                f.warn(f"{name} holds {length} entries but {DATA_NAME} {n_samples} samples: "
                       "a truncated or edited recording")
            return


def _read_oebin(path: Path, oebin: Path) -> dict[str, Any]:
    try:
        if os.stat(oebin).st_size > _OEBIN_LIMIT:
            raise SidecarError(path, f"{OEBIN} is larger than {_OEBIN_LIMIT // 2**20} MiB")
        with open(oebin, "rb") as fh:
            doc = json.loads(fh.read().decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise SidecarError(path, f"{OEBIN}: malformed JSON ({exc.msg} at line "
                           f"{exc.lineno})") from exc
    except RecursionError:
        raise SidecarError(path, f"{OEBIN}: JSON nested too deeply to be a structure "
                           "file") from None
    except OSError as exc:
        raise SidecarError(path, f"{OEBIN}: cannot read: {exc.strerror or exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("continuous", []), list):
        raise SidecarError(path, f"{OEBIN}: not an Open Ephys structure file (no continuous list)")
    return doc


def _entries(path: Path, doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The continuous stream entries, each with a folder name."""
    entries: list[Mapping[str, Any]] = [e for e in doc.get("continuous") or []
                                        if isinstance(e, dict)]
    for e in entries:
        if not isinstance(e.get("folder_name"), str) or not _folder(e):
            raise SidecarError(path, f"{OEBIN}: a continuous entry's folder_name is "
                               f"{str(e.get('folder_name'))[:40]!r}, not a folder name")
    return entries


def _folder(entry: Mapping[str, Any]) -> str:
    return str(entry.get("folder_name", "")).strip("/").split("/")[-1]


def _dat_of(oebin: Path, entry: Mapping[str, Any]) -> Path:
    return oebin.parent / "continuous" / _folder(entry) / DATA_NAME


def _entry_for(path: Path, oebin: Path, doc: Mapping[str, Any]) -> Mapping[str, Any]:
    folder = path.parent.name
    entries = _entries(path, doc)
    for e in entries:
        if _folder(e) == folder:
            return e
    known = ", ".join(_folder(e) for e in entries) or "none"
    raise SidecarError(path, f"{OEBIN} has no continuous stream for folder {folder!r} "
                       f"(it lists: {known})")


def _channels(path: Path, entry: Mapping[str, Any]) -> list[_Channel]:
    out: list[_Channel] = []
    listed = entry.get("channels")
    if listed is None:
        return out
    if not isinstance(listed, list):
        raise SidecarError(path, f"{OEBIN}: {_folder(entry)} channels is "
                           f"{str(listed)[:40]}, not a list of channels")
    for ch in listed:
        if not isinstance(ch, dict):
            continue
        name = str(ch.get("channel_name", ""))
        desc = str(ch.get("description", ""))
        bv = ch.get("bit_volts")
        bit_volts = float(bv) if isinstance(bv, int | float) and not isinstance(bv, bool) else None
        if bit_volts is not None and not math.isfinite(bit_volts):
            raise SidecarError(path, f"{OEBIN}: {_folder(entry)} channel {name[:40]} bit_volts "
                               f"{bit_volts} is not a finite number")
        neural = not (_NON_NEURAL_NAME.match(name) or _NON_NEURAL_DESC.search(desc))
        out.append(_Channel(name, bit_volts, str(ch.get("units", "")), neural))
    return out


def _stream_key(path: Path, oebin: Path) -> str:
    recording = oebin.parent
    parts = [recording.name, path.parent.name]
    experiment = recording.parent
    if _EXPERIMENT.match(experiment.name):
        parts.insert(0, experiment.name)
        if _NODE.match(experiment.parent.name):
            parts.insert(0, experiment.parent.name)
    return "/".join(parts)


def _start(oebin: Path, f: Fields) -> None:
    """The recording's start: sync_messages.txt's software time, else settings.xml's date."""
    recording = oebin.parent
    sync = _head(recording / _SYNC)
    m = _SOFTWARE_MS.search(sync)
    if m is not None:
        ms = int(m[1])
        when = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
        f.started(when, Source.HEADER, f"{_SYNC}: Software Time {ms} ms since 1970 UTC")
        return
    settings = _settings_xml(oebin)
    date = _SETTINGS_DATE.search(_head(settings)) if settings is not None else None
    if settings is None or date is None or date[2].decode().lower() not in _MONTHS:
        return
    try:
        began = datetime.datetime(int(date[3]), _MONTHS[date[2].decode().lower()], int(date[1]),
                                  int(date[4]), int(date[5]), int(date[6]))
    except ValueError:
        return
    detail = (f"{settings.name} <DATE> {date[0][6:-7].decode().strip()} (local time), when "
              "recording of the experiment started")
    first = sorted((p for p in recording.parent.glob("recording*") if p.is_dir()),
                   key=lambda p: _number(p.name))
    if not first or first[0] == recording:
        f.started(began, Source.HEADER, detail)
        return
    # A later recording: its sample-clock start against the first recording's.
    ours, theirs = _start_samples(sync), _start_samples(_head(first[0] / _SYNC))
    common = sorted(set(ours) & set(theirs))
    if not common:
        return  # no clock to place it by: no start rather than the experiment's
    (s1, rate), (s0, rate0) = ours[common[0]], theirs[common[0]]
    if rate != rate0 or rate <= 0 or s1 < s0:
        return
    offset = (s1 - s0) / rate
    f.started(began + datetime.timedelta(seconds=offset), Source.COMPUTED,
              f"{detail}, + ({s1} - {s0}) samples / {rate} Hz: this recording's start in "
              f"{_SYNC} against {first[0].name}'s")


def _start_samples(text: bytes) -> dict[bytes, tuple[int, int]]:
    out = {}
    for line in text.splitlines():
        m = _START_SAMPLE.match(line.strip())
        if m is not None:
            out[m[1].strip()] = (int(m[2]), int(m[3]))
    return out


def _number(name: str) -> int:
    digits = "".join(c for c in name if c.isdigit())
    return int(digits) if digits else 0


def _head(path: Path) -> bytes:
    """The first bytes of a small text sidecar; nothing if it is not a regular file."""
    try:
        if not path.is_file():
            return b""
        with open(path, "rb") as fh:
            return fh.read(_TEXT_LIMIT)
    except OSError:
        return b""


def _settings_xml(oebin: Path) -> Path | None:
    experiment = oebin.parent.parent
    m = _EXPERIMENT.match(experiment.name)
    if not m:
        return None
    n = int(m.group(1))
    settings = experiment.parent / ("settings.xml" if n == 1 else f"settings_{n}.xml")
    return settings if settings.is_file() else None


def _positive_int(path: Path, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SidecarError(path, f"{what} is {value!r}, not a positive whole number")
    return value


def _npy_length(npy: Path) -> int | None:
    """The first dimension from a .npy header (magic, version, header length, dict)."""
    import ast

    try:
        with open(npy, "rb") as fh:
            head = fh.read(10)
            if len(head) < 10 or head[:6] != b"\x93NUMPY":
                return None
            if head[6] == 1:
                (hlen,) = struct.unpack("<H", head[8:10])
            else:
                (hlen,) = struct.unpack("<I", head[8:10] + fh.read(2))
            if hlen > 65536:
                return None
            meta = ast.literal_eval(fh.read(hlen).decode("latin-1"))
    except (OSError, ValueError, SyntaxError):
        return None
    shape = meta.get("shape") if isinstance(meta, dict) else None
    if not isinstance(shape, tuple) or not shape or not isinstance(shape[0], int):
        return None
    return shape[0]
