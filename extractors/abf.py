"""Axon Binary Format (``.abf``), versions 1 (``ABF ``) and 2 (``ABF2``): IntracellularEphys.

One record per file: ``nChannels`` ADC channels, ``nSamples`` per channel over all sweeps
(the data section's sample count / channels, so sweeps of different lengths, as in
event-driven variable-length mode, count as they are), the exact rate from the stored
sample interval (2480 µs is 403.2258 Hz, not 403), the sample type from ``nDataFormat``.

Choice of reader: a small header parser of our own (struct, the layouts pyabf and neo use).
pyabf rounds the rate to a whole number (``int(1e6 / interval)``: 403 for 403.2258 Hz),
refuses ABF1 float data, and its ``sweepPointCount`` for variable-length files is an
average; neo's ``AxonRawIO`` gets the values right but memory-maps the data and reads the
whole synch array and tag section. Ours reads the first 6 kB (ABF1) or the section map,
protocol, ADC and strings sections (ABF2): 0.1 ms, the same for a 1 MB and a 100 GB file
(``benchmarks/bench_spikeglx_nwb_abf.py``; neo's ``parse_header``: 0.26 ms, also flat).
pyabf and neo are the second readers in ``tests/test_abf.py``.

``lsb`` (µV/bit) is given when every channel records a voltage (V, mV, µV) with the same
step: fADCRange / lADCResolution / (fInstrumentScaleFactor x fSignalGain x
fADCProgrammableGain x the telegraph gain when enabled). Current channels (pA) have no µV
step, so a file holding them has no ``lsb``; a warning lists each channel's step in its unit.
float32 files store scaled values: no ``lsb``.
"""

from __future__ import annotations

import datetime
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import LSB_BOUNDS, Claim, Extraction, Extractor, Fields, Source

__all__ = ["AbfExtractor", "AbfHeader", "read_abf_header"]

_BLOCK = 512
_MODES = {1: "event-driven variable-length", 2: "event-driven fixed-length", 3: "gap-free",
          4: "high-speed oscilloscope", 5: "episodic stimulation"}
_DTYPES = {0: ("int16", 2), 1: ("float32", 4)}
_TO_MICROVOLT = {"v": 1e6, "mv": 1e3, "uv": 1.0, "µv": 1.0, "μv": 1.0}
_ABF1_HEADER = 6144  # the extended ABF1 header; older files have 2048 bytes


@dataclass(frozen=True, slots=True)
class AbfChannel:
    """One ADC channel: its name, unit and the value of one integer step in that unit."""

    name: str
    unit: str
    step: float


@dataclass(frozen=True, slots=True)
class AbfHeader:
    """What bsingest reads from an ABF header."""

    version: str  # "ABF1" or "ABF2"
    version_number: str
    mode: int
    n_sweeps: int
    interval_us: float  # per sample of one channel
    interval_key: str
    data_start: int
    n_points: int  # all channels, all sweeps
    dtype: str
    itemsize: int
    channels: list[AbfChannel]
    start: datetime.datetime | None = None  # the file start date and time (local, no zone)
    start_detail: str = ""


class AbfExtractor(Extractor):
    """Axon ABF 1 and 2 files, read from their headers."""

    name = "abf"
    suffixes = (".abf",)
    record_types = ("IntracellularEphys",)

    claim_endings = (".abf",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        return Claim.SPECIFIC if path.suffix.lower() == ".abf" else Claim.NO

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        h = read_abf_header(path)
        size = os.stat(path).st_size
        f = Fields()
        f.header("format", "ABF", f"signature {h.version!r}, version {h.version_number}")
        n = len(h.channels)
        f.header("nChannels", n,
                 "ADC section entries" if h.version == "ABF2" else "nADCNumChannels")
        f.header("type", h.dtype, f"nDataFormat: {h.itemsize}-byte {h.dtype} samples")
        f.computed("sr", 1e6 / h.interval_us,
                   f"1e6 / {h.interval_key} {h.interval_us:g} µs")
        self._n_samples(path, h, size, f)
        self._lsb(h, f)
        if h.start is not None:
            f.started(h.start, Source.HEADER, h.start_detail)
        elif h.start_detail:
            f.warn(h.start_detail)
        return [self.result(path, "IntracellularEphys", f)]

    def _n_samples(self, path: Path, h: AbfHeader, size: int, f: Fields) -> None:
        n = len(h.channels)
        mode = _MODES.get(h.mode, f"mode {h.mode}")
        sweeps = f"{h.n_sweeps} sweep(s), {mode}"
        if h.n_points < 0 or not 0 < h.data_start <= size:
            where = "data section" if h.version == "ABF2" else "lDataSectionPtr"
            raise ExtractionError(path, f"the header's {where} places {h.n_points} samples at "
                                  f"byte {h.data_start}, outside the file ({size} bytes)")
        on_disk = max(size - h.data_start, 0) // h.itemsize
        points = h.n_points
        key = "data section entries" if h.version == "ABF2" else "lActualAcqLength"
        detail = f"{key} {points} / {n} channels, over all {sweeps}"
        if on_disk < points:
            f.warn(f"{path.name}: the header counts {points} samples but {size} bytes hold "
                   f"{on_disk} after the data start at byte {h.data_start}: a truncated copy; "
                   "nSamples counts what is on disk")
            detail = (f"{on_disk} samples on disk ({size} bytes from byte {h.data_start}) / "
                      f"{n} channels; the header's {key} says {points}; over all {sweeps}")
            points = on_disk
        whole, rest = divmod(points, n)
        if rest:
            f.warn(f"{path.name}: {points} samples are not a whole number of {n}-channel "
                   f"frames: {rest} left out")
        f.computed("nSamples", whole, detail)

    def _lsb(self, h: AbfHeader, f: Fields) -> None:
        if h.dtype != "int16":
            return  # float32 samples are stored already scaled: no integer step
        steps = []
        for c in h.channels:
            factor = _TO_MICROVOLT.get(c.unit.strip().lower())
            steps.append(None if factor is None else c.step * factor)
        if steps and all(s is not None and LSB_BOUNDS[0] <= s <= LSB_BOUNDS[1] for s in steps) \
                and len(set(steps)) == 1:
            f.computed("lsb", steps[0], f"fADCRange / lADCResolution / gains of channel "
                       f"{h.channels[0].name!r}, {h.channels[0].step:g} {h.channels[0].unit}, "
                       "in µV")
            return
        each = ", ".join(f"{c.name or i} {c.step:.6g} {c.unit or '(no unit)'}"
                         for i, c in enumerate(h.channels))
        f.warn(f"no single lsb in µV: one step of each channel is {each}")


def read_abf_header(path: Path) -> AbfHeader:
    """Parse the header of an ABF 1 or 2 file; refuse anything else naming ``path``."""
    with open(path, "rb") as fh:
        head = fh.read(_ABF1_HEADER)
        if len(head) < 4:
            raise ExtractionError(path, f"{len(head)} bytes is too short for an ABF header")
        sig = head[:4]
        if sig == b"ABF2":
            return _abf2(path, fh, head)
        if sig == b"ABF ":
            return _abf1(path, head)
    raise ExtractionError(path, f"signature {sig!r} is not 'ABF ' or 'ABF2': not an Axon ABF file")


def _unpack(path: Path, fmt: str, buf: bytes, offset: int) -> tuple[Any, ...]:
    try:
        return struct.unpack_from("<" + fmt, buf, offset)
    except struct.error:
        raise ExtractionError(path, f"header ends at byte {len(buf)}, before byte "
                              f"{offset + struct.calcsize('<' + fmt)}: a truncated ABF file"
                              ) from None


def _text(raw: bytes) -> str:
    return raw.split(b"\x00")[0].replace(b"\xb5", b"u").decode("latin-1").strip()


def _abf1(path: Path, head: bytes) -> AbfHeader:
    u = lambda fmt, off: _unpack(path, fmt, head, off)  # noqa: E731
    (version,) = u("f", 4)
    (mode,) = u("h", 8)
    (acq_length,) = u("i", 10)
    (ignored,) = u("h", 14)
    (episodes,) = u("i", 16)
    (data_ptr,) = u("i", 40)
    (fmt,) = u("h", 100)
    (n_channels,) = u("h", 120)
    (interval,) = u("f", 122)
    (adc_range,) = u("f", 244)
    (resolution,) = u("i", 252)
    seq = u("16h", 410)
    names = [_text(head[442 + 10 * i: 452 + 10 * i]) for i in range(16)]
    units = [_text(head[602 + 8 * i: 610 + 8 * i]) for i in range(16)]
    prog_gain = u("16f", 730)
    scale = u("16f", 922)
    signal_gain = u("16f", 1050)
    # The telegraph block exists only in the extended (6 kB) header of ABF 1.8+.
    telegraph = u("16h", 4512) if len(head) >= 4576 + 64 and version >= 1.65 else (0,) * 16
    addit = u("16f", 4576) if len(head) >= 4576 + 64 and version >= 1.65 else (1.0,) * 16
    if fmt not in _DTYPES:
        raise ExtractionError(path, f"nDataFormat {fmt} is not 0 (int16) or 1 (float32)")
    if not 1 <= n_channels <= 16:
        raise ExtractionError(path, f"nADCNumChannels {n_channels} is not 1 to 16")
    if not interval > 0:
        raise ExtractionError(path, f"fADCSampleInterval {interval} µs is not positive")
    dtype, itemsize = _DTYPES[fmt]
    channels = []
    for i in range(n_channels):
        p = seq[i]
        if not 0 <= p < 16:
            raise ExtractionError(path, f"nADCSamplingSeq[{i}] = {p} is not an ADC 0 to 15")
        tele = addit[p] if telegraph[p] == 1 else 1.0
        channels.append(AbfChannel(names[p], units[p],
                                   _step(adc_range, resolution, scale[p], signal_gain[p],
                                         prog_gain[p], tele)))
    (date,) = u("i", 20)
    (seconds,) = u("i", 24)
    (millis,) = u("h", 366)
    if 0 < date < 1_000_000:  # old files pack the year in two digits: YYMMDD
        year = 2000 + date // 10_000
        year -= 100 if year > datetime.date.today().year else 0
        date = year * 10_000 + date % 10_000
    start, start_detail = _start(date, seconds * 1000 + millis,
                                 "lFileStartDate, lFileStartTime + nFileStartMillisecs")
    return AbfHeader(
        version="ABF1", version_number=f"{version:.2f}", start=start, start_detail=start_detail,
        mode=mode, n_sweeps=episodes,
        # ABF1 stores the interval between samples of consecutive channels.
        interval_us=interval * n_channels, interval_key=f"(fADCSampleInterval x {n_channels} "
        "channels)", data_start=data_ptr * _BLOCK + ignored * itemsize, n_points=acq_length,
        dtype=dtype, itemsize=itemsize, channels=channels,
    )


def _section(path: Path, head: bytes, offset: int) -> tuple[int, int, int]:
    block, size, count = _unpack(path, "IIq", head, offset)
    return block, size, count


def _abf2(path: Path, fh: Any, head: bytes) -> AbfHeader:
    u = lambda fmt, off, buf=head: _unpack(path, fmt, buf, off)  # noqa: E731
    version = ".".join(str(b) for b in reversed(u("4b", 4)))
    (episodes,) = u("I", 12)
    (fmt,) = u("H", 30)
    proto_block, _, _ = _section(path, head, 76)
    adc_block, adc_size, n_adc = _section(path, head, 92)
    str_block, str_size, _ = _section(path, head, 220)
    data_block, data_size, n_points = _section(path, head, 236)
    proto = _read(path, fh, proto_block * _BLOCK, 130, "protocol section")
    (mode,) = u("h", 0, proto)
    (interval,) = u("f", 2, proto)
    (adc_range,) = u("f", 110, proto)
    (resolution,) = u("i", 118, proto)
    if fmt not in _DTYPES:
        raise ExtractionError(path, f"nDataFormat {fmt} is not 0 (int16) or 1 (float32)")
    dtype, itemsize = _DTYPES[fmt]
    if data_size not in (0, itemsize):
        raise ExtractionError(path, f"data section entries of {data_size} bytes do not fit "
                              f"nDataFormat {fmt} ({dtype})")
    if not 1 <= n_adc <= 16 or adc_size < 82:
        raise ExtractionError(path, f"the ADC section lists {n_adc} channels of {adc_size} bytes: "
                              "not 1 to 16 channels")
    if not interval > 0:
        raise ExtractionError(path, f"fADCSequenceInterval {interval} µs is not positive")
    adc = _read(path, fh, adc_block * _BLOCK, adc_size * n_adc, "ADC section")
    strings = _strings(path, fh, str_block, min(str_size, 1 << 20))
    channels = []
    for i in range(n_adc):
        o = i * adc_size
        (tele_on,) = u("h", o + 2, adc)
        (addit,) = u("f", o + 6, adc)
        prog_gain, _, _, scale, _, signal_gain = u("6f", o + 28, adc)
        name_idx, unit_idx = u("2i", o + 74, adc)
        channels.append(AbfChannel(
            _index(strings, name_idx), _index(strings, unit_idx),
            _step(adc_range, resolution, scale, signal_gain, prog_gain,
                  addit if tele_on == 1 else 1.0)))
    date, millis = u("II", 16)
    start, start_detail = _start(date, millis, "uFileStartDate, uFileStartTimeMS")
    return AbfHeader(
        version="ABF2", version_number=version, start=start, start_detail=start_detail,
        mode=mode, n_sweeps=episodes,
        interval_us=interval, interval_key="fADCSequenceInterval", data_start=data_block * _BLOCK,
        n_points=n_points, dtype=dtype, itemsize=itemsize, channels=channels,
    )


def _start(date: int, millis: int, keys: str) -> tuple[datetime.datetime | None, str]:
    """The file's start from its YYYYMMDD date and milliseconds since midnight (local time,
    as the acquisition computer's clock said; ABF stores no zone). 0 or -1: not recorded;
    a date that does not exist: not recorded, with a warning."""
    if date in (0, -1, 0xFFFFFFFF):
        return None, ""
    try:
        day = datetime.datetime(date // 10_000, date // 100 % 100, date % 100)
        if not 0 <= millis < 86_400_000:
            raise ValueError(millis)
    except ValueError:
        return None, f"{keys} {date}, {millis} ms is not a date and time: no start time"
    return day + datetime.timedelta(milliseconds=millis), f"{keys} (local time, no zone)"


def _read(path: Path, fh: Any, offset: int, size: int, what: str) -> bytes:
    # The section map declares offsets and sizes: check them against the file before
    # reading, so a damaged header cannot make us allocate what it declares.
    end = os.fstat(fh.fileno()).st_size
    if offset + size > end:
        raise ExtractionError(path, f"the {what} at byte {offset} declares {size} bytes, past "
                              f"the end of the file ({end} bytes): a truncated or damaged "
                              "ABF file")
    fh.seek(offset)
    buf = fh.read(size)
    if len(buf) < size:
        raise ExtractionError(path, f"the {what} at byte {offset} is cut short: "
                              "a truncated ABF file")
    return buf


def _strings(path: Path, fh: Any, block: int, size: int) -> list[str]:
    """The indexed strings (names, units) of an ABF2 strings section; index 0 is ''."""
    if block == 0 or size == 0:
        return []
    fh.seek(block * _BLOCK)
    raw = fh.read(size)
    # The indexed strings follow the section's binary preamble, after its last double NUL
    # (as pyabf reads them).
    raw = raw[raw.rfind(b"\x00\x00"):] if b"\x00\x00" in raw else raw
    return [_text(s) for s in raw.split(b"\x00")[1:]]


def _index(strings: list[str], i: int) -> str:
    return strings[i] if 0 <= i < len(strings) else ""


def _step(adc_range: float, resolution: int, scale: float, signal_gain: float,
          prog_gain: float, telegraph: float) -> float:
    denominator = resolution * scale * signal_gain * prog_gain * telegraph
    return adc_range / denominator if denominator else 0.0
