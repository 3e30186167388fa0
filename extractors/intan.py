"""Intan RHD2000 / RHS2000 recordings: traditional ``.rhd``/``.rhs`` files and the RHX
"one file per signal type" and "one file per channel" folders described by ``info.rhd``.

Layouts and the records they give:

- **Traditional** ``.rhd``/``.rhs``: the header, then data blocks (60 or 128 samples of
  every enabled signal). One file, several records, one per signal, named
  ``rec.rhd#amplifier`` (ExtracellularEphys), ``#auxiliary``, ``#supply``, ``#analogin``,
  ``#digitalin``, ``#digitalout`` (RHS adds ``#dcamplifier``, ``#stim``, ``#analogout``).
  nSamples is the number of whole data blocks (file size minus header, divided by the block
  size) times the samples per block, divided by the signal's rate divisor (aux 4, supply one
  per block).
- **One file per signal type** (``info.rhd`` + ``amplifier.dat``, ``auxiliary.dat``,
  ``analogin.dat``, ``digitalin.dat``, ...): one record per ``.dat``, channels
  interleaved, nSamples = size / (2 x channels).
- **One file per channel** (``info.rhd`` + ``amp-A-000.dat``, ``aux-A-AUX1.dat``,
  ``board-ANALOG-IN-1.dat``, ...): one record per file, nChannels 1, nSamples = its size
  / 2, its electrode group the port of its channel. A record names one file and
  nChannels is what that file interleaves (issue 11): an earlier version gave one record
  per signal type, named after the first channel's file and saying 64 channels, which
  misleads any reader that computes sizes from it. Each file is described the same way
  given alone or in its folder.

Start time: the header holds no date. RHX names its folder (and a traditional file)
``<prefix>_YYMMDD_HHMMSS`` when it starts saving; that stamp, in the computer's local
time, is the start (``Source.COMPUTED``, and the provenance says it comes from the name).

Header values are checked before use: the sample rate must be finite and within the
rates Intan controllers offer (see ``_RATE_BOUNDS``), and every string length must fit in
the file.

``info.rhd``/``info.rhs``, ``time.dat`` and ``settings.xml`` are sidecars. ``time.dat`` is
only ``stat``-ed: its size / 4 is the number of amplifier-rate ticks, which gives each
headerless file's rate in the file (see *auxiliary rate* below) and a cross-check.

Digital inputs and outputs: ``digitalin.dat`` and the traditional blocks hold one uint16
word per sample whose bits are the enabled lines: nChannels is 1 (the word), the lines are
named in provenance. In the per-channel layout each ``board-DIGITAL-IN-nn.dat`` is its own
channel.

**Auxiliary rate** (truth.json ambiguity): the RHD chip samples aux inputs at a quarter
of the amplifier rate (neo reports 7500 Hz for a 30 kHz recording), and traditional files
store them so (``auxiliary`` stream at sample_rate / 4). RHX's ``auxiliary.dat`` and
``aux-*.dat`` however hold one value per ``time.dat`` tick: 24320 values in a 0.81 s
recording. We report the rate *in the file*: sample_rate x (values per channel) /
(time.dat ticks), i.e. 30000 Hz, so that nSamples / sr is the recording's duration (neo's
7500 would make it 4x too long). The provenance says so.

Choice of reader: our own ``struct`` header parser, after Intan's "RHD2000/RHS2000 data
file formats" application notes. neo's ``IntanRawIO.parse_header`` reads every timestamp
to check continuity (even with ``ignore_integrity_checks``): measured on sparse files of a
64-channel session (``benchmarks/bench_intan_openephys.py``), 42 ms / 0.62 s / 37 s for a
traditional ``.rhd`` of 1 MB / 1 GB / 100 GB and 18 ms / 57 ms / 3.3 s for an RHX folder,
and it reports aux at 7500 Hz (see above). Ours reads the header (8 KB for 64 channels)
and ``stat``-s the files: 0.5 ms per ``.rhd``, 0.9 ms per RHX file (header parsed once
per folder), the same at 100 GB.
"""

from __future__ import annotations

import datetime
import functools
import math
import os
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from bsingest.errors import ExtractionError, SidecarError

from .base import Claim, Extraction, Extractor, Fields, Source, whole_frames
from .run import cached

__all__ = ["IntanChannel", "IntanExtractor", "IntanHeader", "read_intan_header"]

RHD_MAGIC = 0xC6912702
RHS_MAGIC = 0xD69127AC
_MAGIC = {RHD_MAGIC: "rhd", RHS_MAGIC: "rhs"}
_INFO_NAMES = ("info.rhd", "info.rhs")
# Real headers are a few hundred KB at most (1024 channels); refuse to parse more.
_HEADER_LIMIT = 16 * 2**20
_TIME_DAT = "time.dat"
_SETTINGS = "settings.xml"
# Intan's controllers and the RHX software offer 1 kHz to 30 kHz per channel (RHD and RHS);
# a header rate outside this range (with a margin for float32 rounding) is damage.
_RATE_BOUNDS = (900.0, 33000.0)
# RHX appends _YYMMDD_HHMMSS to the base name the user typed, when saving starts.
_STAMP = re.compile(r"_(\d{6})_(\d{6})(?:\.rh[ds])?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Signal:
    """One kind of signal an Intan system saves, and how each layout stores it."""

    key: str  # stream name in traditional files
    signal_type: int  # the header's signal_type; -1: derived from amplifier channels
    record_type: str
    file_name: str  # one-file-per-signal-type name
    prefix: str  # one-file-per-channel: f"{prefix}-{native_name}.dat"
    file_dtype: str  # dtype in the headerless layouts
    block_dtype: str  # dtype in traditional files
    lsb: float | None  # µV per bit; None: not a voltage
    lsb_note: str = ""
    packed: bool = False  # digital: one uint16 word per sample carries every line


_AMP_LSB_NOTE = "Intan RHD/RHS amplifiers: 0.195 µV/bit"
RHD_SIGNALS = (
    _Signal("amplifier", 0, "ExtracellularEphys", "amplifier.dat", "amp", "int16", "uint16", 0.195,
            _AMP_LSB_NOTE),
    _Signal("auxiliary", 1, "GeneralTimeSeries", "auxiliary.dat", "aux", "uint16", "uint16", 37.4,
            "Intan RHD auxiliary inputs: 37.4 µV/bit"),
    _Signal("supply", 2, "GeneralTimeSeries", "supply.dat", "vdd", "uint16", "uint16", 74.8,
            "Intan RHD supply voltage: 74.8 µV/bit"),
    _Signal("analogin", 3, "GeneralTimeSeries", "analogin.dat", "board", "uint16", "uint16", None),
    _Signal("digitalin", 4, "GeneralTimeSeries", "digitalin.dat", "board", "uint16", "uint16", None,
            packed=True),
    _Signal("digitalout", 5, "GeneralTimeSeries", "digitalout.dat", "board", "uint16", "uint16",
            None, packed=True),
)
RHS_SIGNALS = (
    _Signal("amplifier", 0, "ExtracellularEphys", "amplifier.dat", "amp", "int16", "uint16", 0.195,
            _AMP_LSB_NOTE),
    _Signal("dcamplifier", -1, "GeneralTimeSeries", "dcamplifier.dat", "dc", "uint16", "uint16",
            19230.0, "Intan RHS DC amplifiers: 19.23 mV/bit"),
    _Signal("stim", -1, "GeneralTimeSeries", "stim.dat", "stim", "uint16", "uint16", None),
    _Signal("analogin", 3, "GeneralTimeSeries", "analogin.dat", "board", "uint16", "uint16", 312.5,
            "Intan RHS analog inputs: 312.5 µV/bit"),
    _Signal("analogout", 4, "GeneralTimeSeries", "analogout.dat", "board", "uint16", "uint16",
            312.5, "Intan RHS analog outputs: 312.5 µV/bit"),
    _Signal("digitalin", 5, "GeneralTimeSeries", "digitalin.dat", "board", "uint16", "uint16", None,
            packed=True),
    _Signal("digitalout", 6, "GeneralTimeSeries", "digitalout.dat", "board", "uint16", "uint16",
            None, packed=True),
)
# RHD board ADC scale by eval_board_mode (Intan's read_Intan_RHD2000_file.m).
_RHD_ADC_LSB = {0: 50.354, 1: 152.59, 13: 312.5}


@dataclass(frozen=True, slots=True)
class IntanChannel:
    """One enabled channel of the header."""

    native_name: str  # "A-000", "A-AUX1", "ANALOG-IN-1", "DIGITAL-IN-01"
    custom_name: str
    signal_type: int
    group: int  # index into IntanHeader.groups


@dataclass(frozen=True, slots=True)
class IntanHeader:
    """What bsingest uses from an Intan RHD/RHS header."""

    path: Path
    kind: str  # "rhd" or "rhs"
    version: tuple[int, int]
    sample_rate: float
    eval_board_mode: int
    num_temp_sensors: int
    dc_amp_saved: bool
    groups: tuple[tuple[str, str], ...]  # (name, prefix) of every signal group
    channels: tuple[IntanChannel, ...]  # enabled channels, header order
    header_size: int

    @property
    def samples_per_block(self) -> int:
        if self.kind == "rhs" or self.version >= (2, 0):
            return 128
        return 60

    @property
    def signals(self) -> tuple[_Signal, ...]:
        return RHS_SIGNALS if self.kind == "rhs" else RHD_SIGNALS

    def channels_of(self, signal: _Signal) -> list[IntanChannel]:
        st = 0 if signal.signal_type == -1 else signal.signal_type
        if signal.key == "dcamplifier" and not self.dc_amp_saved:
            return []
        return [c for c in self.channels if c.signal_type == st]

    def block_bytes(self) -> int:
        """Bytes of one traditional data block (Intan's get_bytes_per_data_block)."""
        n = self.samples_per_block
        size = 4 * n  # timestamps
        for s in self.signals:
            chans = self.channels_of(s)
            if not chans:
                continue
            per_channel = n // _block_divisor(s, n)
            size += 2 * per_channel * (1 if s.packed else len(chans))
        if self.kind == "rhd":
            size += 2 * self.num_temp_sensors  # one temperature value per block and sensor
        return size

    def lsb(self, signal: _Signal) -> tuple[float | None, str]:
        if signal.key == "analogin" and self.kind == "rhd":
            lsb = _RHD_ADC_LSB.get(self.eval_board_mode)
            if lsb is None:
                return None, ""
            return lsb, f"Intan RHD board ADC, eval_board_mode {self.eval_board_mode}: {lsb} µV/bit"
        return signal.lsb, signal.lsb_note


def _block_divisor(signal: _Signal, samples_per_block: int) -> int:
    """How many amplifier samples per value of this signal in traditional files."""
    if signal.key == "auxiliary":
        return 4
    if signal.key == "supply":
        return samples_per_block
    return 1


class _Truncated(Exception):
    """The header ended early (internal; becomes an ExtractionError naming the file)."""


class _Reader:
    def __init__(self, fh: BinaryIO, size: int) -> None:
        self.fh = fh
        self.pos = 0
        self.size = size  # a length read from the header never reaches past it

    def take(self, fmt: str) -> tuple[Any, ...]:
        n = struct.calcsize(fmt)
        data = self.fh.read(n)
        if len(data) < n:
            raise _Truncated(self.pos)
        self.pos += n
        if self.pos > _HEADER_LIMIT:
            raise _Truncated(self.pos)
        return struct.unpack(fmt, data)

    def one(self, fmt: str) -> Any:
        return self.take("<" + fmt)[0]

    def qstring(self) -> str:
        length = self.one("I")
        if length == 0xFFFFFFFF:
            return ""
        if length > _HEADER_LIMIT or self.pos + length > self.size:
            raise _Truncated(self.pos)
        data = self.fh.read(length)
        if len(data) < length:
            raise _Truncated(self.pos)
        self.pos += length
        return data.decode("utf-16-le", errors="replace")


def read_intan_header(path: Path) -> IntanHeader:
    """Parse an RHD or RHS header (a traditional file's start, or ``info.rhd``)."""
    try:
        with open(path, "rb") as fh:
            return _parse_header(path, _Reader(fh, os.fstat(fh.fileno()).st_size))
    except _Truncated as exc:
        raise ExtractionError(path, f"Intan header ends early (at byte {exc.args[0]}): "
                              "a truncated or damaged file") from None


def _parse_header(path: Path, r: _Reader) -> IntanHeader:
    magic = r.one("I")
    kind = _MAGIC.get(magic)
    if kind is None:
        raise ExtractionError(path, f"not an Intan header (magic 0x{magic:08X}, expected "
                              f"0x{RHD_MAGIC:08X} for RHD or 0x{RHS_MAGIC:08X} for RHS)")
    version = (r.one("h"), r.one("h"))
    sample_rate = r.one("f")
    if kind == "rhd":
        r.take("<h6f")  # dsp enabled, actual/desired dsp cutoff and bandwidths
    else:
        r.take("<h8f")  # RHS adds the lower settle bandwidths
    r.take("<h2f")  # notch mode, desired and actual impedance test frequency
    if kind == "rhs":
        r.take("<2h3f")  # amp settle mode, charge recovery mode, stim step, recovery limits
    for _ in range(3):
        r.qstring()  # notes
    num_temp, board_mode, dc_saved = 0, 0, False
    if kind == "rhd":
        if version >= (1, 1):
            num_temp = r.one("h")
        if version >= (1, 3):
            board_mode = r.one("h")
        if version >= (2, 0):
            r.qstring()  # reference channel
    else:
        dc_saved = bool(r.one("h"))
        board_mode = r.one("h")
        r.qstring()  # reference channel
    n_groups = r.one("h")
    if n_groups < 0:
        raise ExtractionError(path, f"Intan header: {n_groups} signal groups")
    groups, channels = [], []
    for g in range(n_groups):
        name, prefix = r.qstring(), r.qstring()
        enabled, n_channels, _n_amp = r.take("<3h")
        groups.append((name, prefix))
        if not (enabled and n_channels > 0):
            continue
        for _ in range(n_channels):
            native, custom = r.qstring(), r.qstring()
            if kind == "rhd":
                _, _, signal_type, ch_enabled, *_ = r.take("<10h2f")
            else:
                _, _, signal_type, ch_enabled, *_ = r.take("<11h2f")
            if ch_enabled:
                channels.append(IntanChannel(native, custom, signal_type, g))
    lo, hi = _RATE_BOUNDS
    if not (math.isfinite(sample_rate) and lo <= sample_rate <= hi):
        raise ExtractionError(path, f"Intan header: sample rate {sample_rate:g} Hz is not a rate "
                              f"an Intan system records at ({lo:g} to {hi:g} Hz): a damaged "
                              "header")
    return IntanHeader(path=path, kind=kind, version=version, sample_rate=float(sample_rate),
                       eval_board_mode=board_mode, num_temp_sensors=max(num_temp, 0),
                       dc_amp_saved=dc_saved, groups=tuple(groups), channels=tuple(channels),
                       header_size=r.pos)


def _magic(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return None
    if len(head) < 4:
        return None
    return _MAGIC.get(struct.unpack("<I", head)[0])


def _find_info(folder: Path) -> Path | None:
    for name in _INFO_NAMES:
        p = folder / name
        if p.is_file():
            return p
    return None


@dataclass(frozen=True, slots=True)
class _Part:
    """A headerless data file and the signal it holds (one channel of it, per channel)."""

    signal: _Signal
    channels: tuple[IntanChannel, ...]
    per_channel: bool


@dataclass(frozen=True, slots=True)
class _Layout:
    """An RHX folder: its header and what each data file is."""

    header: IntanHeader
    parts: dict[Path, _Part]  # data file -> part


def _layout(folder: Path) -> _Layout | None:
    info = _find_info(folder)
    if info is None:
        return None
    try:
        st, dst = info.stat(), folder.stat()
    except OSError:
        return None
    # A folder listing asks for every file's claim: parse info.rhd once per folder state.
    return _layout_cached(str(folder), str(info), st.st_mtime_ns, st.st_size, dst.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _layout_cached(folder: str, info: str, _mtime: int, _size: int, _dmtime: int) -> _Layout | None:
    try:
        header = cached("intan-info", info, lambda: read_intan_header(Path(info)))
    except (ExtractionError, OSError):
        return None
    root = Path(folder)
    try:
        present = {n for n in os.listdir(root)}
    except OSError:
        return None
    parts: dict[Path, _Part] = {}
    for s in header.signals:
        chans = header.channels_of(s)
        if s.file_name in present:
            parts[root / s.file_name] = _Part(s, tuple(chans), False)
        for c in chans:
            name = f"{s.prefix}-{c.native_name}.dat"
            if name in present:
                parts[root / name] = _Part(s, (c,), True)
    return _Layout(header, parts)


class IntanExtractor(Extractor):
    """Intan RHD/RHS: traditional files and RHX folders with ``info.rhd``."""

    name = "intan"
    suffixes = (".rhd", ".rhs", ".dat")
    record_types = ("ExtracellularEphys", "GeneralTimeSeries")

    claim_endings = (".rhd", ".rhs", ".dat")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        suffix = path.suffix.lower()
        if suffix in (".rhd", ".rhs"):
            if path.name.lower() in _INFO_NAMES and _has_rhx_data(path.parent):
                return Claim.NO  # the header of an RHX folder: a sidecar of its .dat files
            return Claim.SPECIFIC if _magic(path) else Claim.NO
        if suffix != ".dat":
            return Claim.NO
        layout = _layout(path.parent)
        if layout is None:
            return Claim.NO
        return Claim.SPECIFIC if path in layout.parts else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        if path.suffix.lower() != ".dat":
            return []
        layout = _layout(path.parent)
        if layout is None or path not in layout.parts:
            return []
        out = [layout.header.path]
        out += [path.parent / n for n in (_TIME_DAT, _SETTINGS) if (path.parent / n).is_file()]
        return out

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        if path.suffix.lower() in (".rhd", ".rhs"):
            if path.name.lower() in _INFO_NAMES and _has_rhx_data(path.parent):
                raise ExtractionError(path, "the header of an RHX folder: describe its .dat "
                                      "files (or the folder) instead")
            return self._traditional(path, read_intan_header(path))
        info = _find_info(path.parent)
        if info is None:
            raise ExtractionError(path, "no info.rhd or info.rhs beside it: not an Intan RHX file")
        header = _sidecar_header(path, info)
        layout = _layout(path.parent)
        if layout is None or path not in layout.parts:
            raise ExtractionError(path, f"not a data file named by {info.name} "
                                  "(amplifier.dat, amp-A-000.dat, ...)")
        return [self._headerless(path, header, layout.parts[path])]

    # Traditional files: header + data blocks.

    def _traditional(self, path: Path, h: IntanHeader) -> list[Extraction]:
        size = os.stat(path).st_size
        block = h.block_bytes()
        data = size - h.header_size
        n_blocks, rest = divmod(data, block)
        if rest:
            raise ExtractionError(
                path, f"{size} bytes: {h.header_size}-byte header + {data} bytes of data is not a "
                f"whole number of {block}-byte data blocks ({n_blocks} blocks and {rest} bytes "
                "left over): a truncated file")
        if n_blocks == 0 and path.name.lower() in _INFO_NAMES:
            raise ExtractionError(path, "an RHX header with no data files beside it "
                                  "(amplifier.dat, amp-A-000.dat, ...)")
        spb = h.samples_per_block
        out = []
        for s in h.signals:
            chans = h.channels_of(s)
            if not chans:
                continue
            f = Fields()
            f.header("format", "Intan",
                     f"{h.kind.upper()} file version {h.version[0]}.{h.version[1]}")
            f.header("type", s.block_dtype, f"Intan traditional {h.kind.upper()} file: "
                     f"{s.key} stored as {s.block_dtype}")
            self._n_channels(f, h, s, chans, path.name)
            div = _block_divisor(s, spb)
            f.header("sr", h.sample_rate / div,
                     f"{path.name} header sample rate {h.sample_rate:g} Hz"
                     + (f" / {div} ({s.key} is sampled once per {div} amplifier samples)"
                        if div > 1 else ""))
            f.computed("nSamples", n_blocks * spb // div,
                       f"({size} bytes - {h.header_size}-byte header) / {block}-byte blocks = "
                       f"{n_blocks} blocks x {spb // div} samples")
            self._lsb_and_groups(f, h, s, chans)
            _started(path.name, f, "the file's name")
            if n_blocks == 0:
                f.warn("the file holds a header and no data blocks")
            out.append(self.result(path, s.record_type, f, part=s.key))
        if not out:
            raise ExtractionError(path, "the Intan header lists no enabled channels")
        return out

    # RHX folders: info.rhd + headerless files.

    def _headerless(self, path: Path, h: IntanHeader, part: _Part) -> Extraction:
        s = part.signal
        f = Fields()
        layout_name = "one file per channel" if part.per_channel else "one file per signal type"
        f.header("format", "Intan", f"{h.path.name} (RHX {layout_name}), version "
                 f"{h.version[0]}.{h.version[1]}")
        f.header("type", s.file_dtype, f"Intan RHX {layout_name}: {s.key} files are {s.file_dtype}")
        chans = list(part.channels)
        if not chans:
            raise SidecarError(path, f"{h.path.name} lists no enabled {s.key} channels")
        if part.per_channel:
            [c] = chans
            named = f" ({c.custom_name})" if c.custom_name and c.custom_name != c.native_name \
                else ""
            f.header("nChannels", 1, f"Intan RHX one file per channel: {path.name} holds "
                     f"{s.key} channel {c.native_name}{named} of {h.path.name}")
            size = os.stat(path).st_size
            n_samples = whole_frames(path, size, 1, s.file_dtype, 2)
            f.computed("nSamples", n_samples, f"{size} bytes / 2 bytes ({s.file_dtype})")
        else:
            n_cols = 1 if s.packed else len(chans)
            self._n_channels(f, h, s, chans, h.path.name)
            size = os.stat(path).st_size
            n_samples = whole_frames(path, size, n_cols, s.file_dtype, 2)
            f.computed("nSamples", n_samples,
                       f"{size} bytes / ({n_cols} channels x 2 bytes)")
        self._file_rate(path, h, s, n_samples, f)
        self._lsb_and_groups(f, h, s, chans)
        _started(path.parent.name, f, "the folder's name")
        return self.result(path, s.record_type, f)

    def _n_channels(self, f: Fields, h: IntanHeader, s: _Signal, chans: list[IntanChannel],
                    where: str) -> None:
        if s.packed:
            names = ", ".join(c.native_name for c in chans)
            f.header("nChannels", 1, f"{where}: one uint16 word per sample whose bits are the "
                     f"{len(chans)} enabled lines ({names})")
        else:
            f.header("nChannels", len(chans), f"{where}: {len(chans)} enabled {s.key} channels")

    def _file_rate(self, path: Path, h: IntanHeader, s: _Signal, n: int, f: Fields) -> None:
        """The rate of the values in a headerless file: measured against time.dat's ticks."""
        time_dat = path.parent / _TIME_DAT
        ticks = None
        if time_dat.is_file():
            size = os.stat(time_dat).st_size
            if size % 4 == 0:
                ticks = size // 4
            else:
                f.warn(f"{_TIME_DAT}: {size} bytes is not a whole number of int32 timestamps")
        rate = h.sample_rate
        if ticks is None:
            f.header("sr", rate, f"{h.path.name} sample rate (no usable {_TIME_DAT} to "
                     "compare the file's length with)")
            if s.key in ("auxiliary", "supply"):
                f.warn(f"no {_TIME_DAT}: the {s.key} rate in the file is assumed to be the "
                       "amplifier rate")
            return
        if n == ticks:
            detail = (f"{h.path.name} sample rate: {n} values per channel = {ticks} ticks "
                      f"in {_TIME_DAT}")
            if s.key == "auxiliary":
                detail += (f"; chosen over the chip's aux rate {rate / 4:g} Hz (sample rate / 4, "
                           "neo's value) because the file holds one value per amplifier tick, so "
                           f"{rate / 4:g} Hz would make it 4x longer than the recording")
            f.header("sr", rate, detail)
            return
        for div in (4, h.samples_per_block):
            if n * div == ticks:
                f.computed("sr", rate / div, f"{h.path.name} sample rate {rate:g} Hz / {div}: "
                           f"{n} values per channel against {ticks} ticks in {_TIME_DAT}")
                return
        f.header("sr", rate, f"{h.path.name} sample rate")
        f.warn(f"{n} samples per channel but {ticks} timestamps in {_TIME_DAT}: "
               "a file was truncated or written apart")

    def _lsb_and_groups(self, f: Fields, h: IntanHeader, s: _Signal,
                        chans: list[IntanChannel]) -> None:
        lsb, note = h.lsb(s)
        if lsb is not None:
            f.header("lsb", lsb, note)
        if s.record_type != "ExtracellularEphys":
            return
        by_group: dict[int, list[int]] = {}
        for i, c in enumerate(chans):
            by_group.setdefault(c.group, []).append(i)
        groups = [{"channels": idx, "label": h.groups[g][0] or h.groups[g][1] or f"group{g}"}
                  for g, idx in by_group.items()]
        f.header("electrodeGroups", groups,
                 f"{h.path.name}: one group per port (signal group), channels in file order")


def _sidecar_header(path: Path, info: Path) -> IntanHeader:
    try:
        # An RHX folder's info.rhd describes each of its per-channel files: once per run.
        return cached("intan-info", info, lambda: read_intan_header(info))
    except SidecarError:
        raise
    except ExtractionError as exc:  # name the data file first, then its sidecar
        raise SidecarError(path, f"{info.name}: {exc.reason}") from exc


def _started(name: str, f: Fields, where: str) -> None:
    """The start from RHX's ``_YYMMDD_HHMMSS`` name stamp, if the name has one."""
    m = _STAMP.search(name)
    if m is None:
        return
    try:
        when = datetime.datetime.strptime(m[1] + m[2], "%y%m%d%H%M%S")
    except ValueError:
        return  # six digits that are not a date: a user's own naming
    f.started(when, Source.COMPUTED, f"{where} {name!r} ends in _{m[1]}_{m[2]}, the local "
              "time Intan RHX appends when saving starts (the header holds no date)")


def _has_rhx_data(folder: Path) -> bool:
    layout = _layout(folder)
    return layout is not None and bool(layout.parts)
