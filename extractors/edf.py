"""European Data Format: EDF, EDF+ (continuous ``EDF+C`` and discontinuous ``EDF+D``) and
BioSemi's 24-bit BDF (``.edf``, ``.bdf``).

The file starts with a header of 256 + 256 x ns bytes of fixed-width ASCII fields (ns: the
number of signals), then data records: each record holds, signal after signal, that
signal's samples per record, 2 bytes each (EDF) or 3 (BDF).

Choice of reader: our own. The header is a few hundred bytes of fixed ASCII fields, read
in one ``read`` and one ``stat``: the same cost for a 1 MB and a 100 GB file. pyedflib
(a C library) and MNE refuse or repair files in their own ways (pyedflib refuses a record
count that disagrees with the size; MNE reads annotation signals, i.e. data), and neither
is needed to read 20 fixed fields. The tests compare our values with pyedflib and MNE.

Values, per record:

- Signals of different rates become one record per rate: ``rec.edf#100Hz``,
  ``rec.edf#12.8Hz`` (the rate with up to ten significant digits). A file whose signals
  share one rate is one record, without a part.
- Annotation signals (``EDF Annotations``, ``BDF Annotations``) are not data channels:
  they count in the record size, never in ``nChannels``.
- ``sr`` = samples per data record / record duration; ``nSamples`` = data records x
  samples per record. The number of data records is what the file holds: (size - header)
  / record size. A header count of -1 (a recording not closed) or one that disagrees with
  the size is replaced by it, with a warning; a partial last record is left out, said so.
- ``type``: ``int16`` (EDF) or ``int24`` (BDF).
- ``lsb`` (µV per step) = (physical max - physical min) / (digital max - digital min) in
  the signal's physical dimension (nV, µV/uV, mV, V), only when every signal of the record
  is in volts and all share one step; else left out, with the reason in a warning.
- Start: the header's ``startdate`` and ``starttime`` (local time of the recording; the
  two-digit year is 1985-2084 as the spec says, or the four-digit year of an EDF+
  ``Startdate dd-MMM-yyyy`` recording field).
- Headers as writers leave them, read as MNE reads them: fields padded with NULs rather
  than spaces, a decimal comma (``-3276,8``), the micro sign of ``µV`` in latin-1, UTF-8,
  Greek or Shift-JIS (Nihon Kohden), a start time written ``09:01:17``, the spec's ``yy``
  startdate (after 2084) with the date in the EDF+ recording field. A signal of 0 samples
  per data record holds nothing and is not a channel (a warning names it); a digital range
  whose maximum equals its minimum leaves only ``lsb`` out (a warning says why).
- EDF+D: the data records are not contiguous in time (their onsets are in the annotation
  signal, which is data and not read): a warning says so; ``nSamples`` counts the samples
  stored.

Records are ``Electroencephalography``; a lab restates an intracranial file with
``--type ExtracellularEphys`` (one family of time-series types).

Bad input is one line naming the file: a header shorter than it declares, a version field
that is neither EDF's ``0`` nor BDF's ``0xFF BIOSEMI``, a field that is not an ASCII number,
no signals (or no data signal with samples), a record duration that is not positive and
finite, a data record (samples per record x 2 or 3 bytes) larger than the whole file.
Where one rate group of several is bad (a physical or digital min/max that is not a
number, an implausible rate or lsb), that group is left out with one line on the others'
records; a bad samples-per-record field lays out every record wrongly and refuses the file.

Nothing to describe: an EDF+/BDF+ file of annotation signals alone (a Sleep-EDF
``*Hypnogram.edf``) is :class:`~bsingest.errors.NothingToDescribe`, and a folder listing
skips it with the reason (:meth:`EdfExtractor.skip_reason`: the fixed header and the
labels, ``256 + 16 x ns`` bytes).
"""

from __future__ import annotations

import datetime
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError, NothingToDescribe

from .base import COUNT_LIMIT, Claim, Extraction, Extractor, Fields, PartFailure, Source

__all__ = ["EdfExtractor", "EdfHeader", "EdfSignal", "annotations_only", "read_edf_header"]

_FIXED = 256  # the header's fixed part; each signal adds 256 bytes
# (name, width) of each per-signal field, stored field by field for all signals.
_SIGNAL_FIELDS = (("label", 16), ("transducer", 80), ("dimension", 8), ("physmin", 8),
                  ("physmax", 8), ("digmin", 8), ("digmax", 8), ("prefilter", 80),
                  ("samples", 8), ("reserved", 32))
#: Physical dimension (lower case) -> µV per unit.
_TO_MICROVOLT = {"nv": 1e-3, "uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1e3, "v": 1.0e6}
_ANNOTATIONS = ("edf annotations", "bdf annotations")
# A header of more signals than this is damage: EDF's ns field holds 4 digits.
_MAX_SIGNALS = 9999
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))}
_DATE = re.compile(r"(\d{2})[.:](\d{2})[.:](\d{2})")  # dd.mm.yy, hh.mm.ss (or with colons)
_STARTDATE = re.compile(r"^Startdate (\d{2})-([A-Z]{3})-(\d{4})\b")


@dataclass(frozen=True, slots=True)
class EdfSignal:
    """One signal of the header."""

    index: int
    label: str
    dimension: str
    physmin: float
    physmax: float
    digmin: float
    digmax: float
    samples: int  # per data record
    #: Why a scaling field (physical or digital min/max) cannot be read, else "": the
    #: signal's rate group is not described, the file's other groups are.
    problem: str = ""

    @property
    def annotation(self) -> bool:
        return self.label.strip().lower() in _ANNOTATIONS


@dataclass(frozen=True, slots=True)
class EdfHeader:
    """What bsingest uses of an EDF/BDF header."""

    bdf: bool
    variant: str  # "EDF", "EDF+C", "EDF+D", "BDF", "BDF+C", "BDF+D"
    header_bytes: int
    n_records: int  # as the header states it (-1: unknown)
    duration: float  # seconds per data record
    signals: tuple[EdfSignal, ...]
    start: datetime.datetime | None
    start_detail: str
    start_problem: str  # why no start time, when there is none

    @property
    def itemsize(self) -> int:
        return 3 if self.bdf else 2

    @property
    def record_bytes(self) -> int:
        return sum(s.samples for s in self.signals) * self.itemsize


class EdfExtractor(Extractor):
    """EDF, EDF+ and BDF files: one record per sampling rate of their data signals."""

    name = "edf"
    suffixes = (".edf", ".bdf")
    claim_endings = suffixes  # see Extractor.claim_endings
    record_types = ("Electroencephalography",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        # The suffix is the family's own: a file that is not EDF inside is refused in one
        # line saying so, not left as "no extractor reads this".
        return Claim.SPECIFIC if path.suffix.lower() in cls.suffixes else Claim.NO

    @classmethod
    def skip_reason(cls, path: Path) -> str | None:
        return annotations_only(path)

    def _extract(self, path: Path, stated: Mapping[str, Any]
                 ) -> list[Extraction | PartFailure]:
        h = read_edf_header(path)
        size = os.stat(path).st_size
        data = [s for s in h.signals if not s.annotation and s.samples > 0]
        # A signal of 0 samples per data record holds nothing (a disabled input some writers
        # keep in the header): not a channel. MNE lists it; pyedflib refuses the file.
        empty = [s for s in h.signals if not s.annotation and s.samples == 0]
        if not data:
            raise ExtractionError(path, f"{h.variant}: none of its {len(h.signals)} signal(s) "
                                  "is a data signal with samples (annotations, or 0 samples per "
                                  "data record): no data channels")
        n_records, notes = _records_on_disk(h, size)
        if empty:
            notes.append(f"{len(empty)} signal(s) hold 0 samples per data record "
                         f"({', '.join(s.label for s in empty[:8])}): not counted as channels")
        groups: dict[int, list[EdfSignal]] = {}
        for s in data:
            groups.setdefault(s.samples, []).append(s)
        annotations = [s for s in h.signals if s.annotation]
        if h.variant.endswith("+D"):
            notes.append(f"{h.variant}: a discontinuous recording: its data records are not "
                         "contiguous in time (their onsets are in the annotation signal, not "
                         "read); nSamples counts the samples stored, not the time spanned")
        out: list[Extraction | PartFailure] = []
        for spr, signals in groups.items():
            part = f"{spr / h.duration:.10g}Hz" if len(groups) > 1 else None
            bad = [s.problem for s in signals if s.problem]
            if bad:
                # A scaling field that is not a number spoils its signal's record, not the
                # layout: the other rate groups are read from the same header.
                reason = "; ".join(bad[:3]) + (f"; {len(bad) - 3} more" if len(bad) > 3 else "")
                if part is None:
                    raise ExtractionError(path, reason)
                out.append(PartFailure(part, reason))
                continue

            def build(spr: int = spr, signals: list[EdfSignal] = signals,
                      part: str | None = part) -> Extraction:
                f = self._fields(path, h, spr, signals, annotations, n_records, notes)
                return self.result(path, "Electroencephalography", f, part=part)

            out.append(build() if part is None else self.part(part, build))
        return out

    def _fields(self, path: Path, h: EdfHeader, spr: int, signals: list[EdfSignal],
                annotations: list[EdfSignal], n_records: int, notes: list[str]) -> Fields:
        f = Fields()
        kind = "BDF" if h.bdf else "EDF"
        f.header("format", kind, f"version field {'0xFF BIOSEMI' if h.bdf else '0'}"
                 + (f", reserved field {h.variant}" if h.variant != kind else ""))
        f.header("type", "int24" if h.bdf else "int16",
                 f"{kind} stores {8 * h.itemsize}-bit samples")
        labels = ", ".join(s.label.strip() for s in signals[:8]) + (
            ", ..." if len(signals) > 8 else "")
        skipped = f"; {len(annotations)} annotation signal(s) not counted" if annotations else ""
        f.header("nChannels", len(signals), f"header: {len(signals)} of its {len(h.signals)} "
                 f"signals at {spr} samples per record ({labels}){skipped}")
        f.header("sr", spr / h.duration, f"header: {spr} samples per data record / record "
                 f"duration {h.duration:g} s")
        f.computed("nSamples", n_records * spr, f"{n_records} data records x {spr} samples")
        _lsb(path, signals, f)
        for note in notes:
            f.warn(note)
        if h.start is not None:
            f.started(h.start, Source.HEADER, h.start_detail)
        elif h.start_problem:
            f.warn(h.start_problem)
        return f


def read_edf_header(path: Path) -> EdfHeader:
    """Parse the header of an EDF/BDF file; every problem is one line naming ``path``."""
    size = os.stat(path).st_size
    with open(path, "rb") as fh:
        fixed = fh.read(_FIXED)
        if len(fixed) < _FIXED:
            raise ExtractionError(path, f"{len(fixed)} bytes is shorter than the 256-byte "
                                  "EDF/BDF header")
        if fixed[:8] == b"\xffBIOSEMI":
            bdf = True
        elif fixed[:8].split(b"\0", 1)[0].strip() == b"0":
            # "0" then spaces; some writers pad with NULs (MNE reads those, pyedflib not)
            bdf = False
        else:
            raise ExtractionError(path, f"version field {fixed[:8]!r} is neither EDF's '0' nor "
                                  "BDF's 0xFF 'BIOSEMI': not an EDF or BDF file")
        kind = "BDF" if bdf else "EDF"
        ns = _int(path, fixed, 252, 4, "number of signals")
        if not 1 <= ns <= _MAX_SIGNALS:
            raise ExtractionError(path, f"header: number of signals {ns}: a recording has 1 to "
                                  f"{_MAX_SIGNALS}")
        expected = _FIXED * (ns + 1)
        header_bytes = _int(path, fixed, 184, 8, "number of header bytes")
        if header_bytes != expected:
            raise ExtractionError(path, f"header: {header_bytes} header bytes, but {ns} signals "
                                  f"make a {expected}-byte header (256 + 256 x {ns})")
        if expected > size:
            raise ExtractionError(path, f"{size} bytes is shorter than its {expected}-byte header "
                                  f"({ns} signals): a truncated file")
        rest = fh.read(expected - _FIXED)
    if len(rest) != expected - _FIXED:
        raise ExtractionError(path, f"the file ends inside its {expected}-byte header")
    n_records = _int(path, fixed, 236, 8, "number of data records")
    if n_records < -1:
        raise ExtractionError(path, f"header: number of data records {n_records} is negative")
    duration = _float(path, fixed, 244, 8, "duration of a data record")
    reserved = fixed[192:236].decode("latin-1").strip()
    variant = kind
    for tag in ("+C", "+D"):
        if reserved.startswith(f"EDF{tag}") or reserved.startswith(f"BDF{tag}"):
            variant = kind + tag
    signals = _signals(path, rest, ns)
    if all(s.annotation for s in signals):
        raise NothingToDescribe(path, _annotations_reason(variant, [s.label for s in signals]))
    if not duration > 0:
        raise ExtractionError(path, f"header: duration of a data record {duration:g} s is not "
                              "positive")
    record = sum(s.samples for s in signals) * (3 if bdf else 2)
    if record > size and n_records != 0:
        # Samples per record no recording has (damage, or a field shifted): the layout of
        # every data record is wrong, so no signal's count can be trusted.
        per = " + ".join(str(s.samples) for s in signals[:4]) + (" + ..." if ns > 4 else "")
        raise ExtractionError(path, f"header: a data record of {record} bytes (({per}) samples "
                              f"x {3 if bdf else 2} bytes) is larger than the {size}-byte file")
    start, detail, problem = _start(fixed)
    return EdfHeader(bdf, variant, header_bytes, n_records, duration, signals, start, detail,
                     problem)


def _signals(path: Path, block: bytes, ns: int) -> tuple[EdfSignal, ...]:
    columns: dict[str, list[bytes]] = {}
    offset = 0
    for name, width in _SIGNAL_FIELDS:
        columns[name] = [block[offset + i * width: offset + (i + 1) * width] for i in range(ns)]
        offset += ns * width
    out = []
    base = _FIXED
    where = {}
    for name, width in _SIGNAL_FIELDS:
        where[name] = (base, width)
        base += ns * width
    for i in range(ns):
        label = _text(columns["label"][i])

        def num(key: str, i: int = i, label: str = label) -> float:
            start, width = where[key]
            return _number(path, columns[key][i], start + i * width,
                           f"signal {i + 1} ({label}) {key}")

        # The samples per record lay out every data record: a bad one spoils the file.
        samples = num("samples")
        if not samples.is_integer() or not 0 <= samples <= COUNT_LIMIT:
            raise ExtractionError(path, f"header: signal {i + 1} ({label}) has {samples:g} "
                                  "samples per data record, not a whole number of 0 or more: the "
                                  "layout of every data record depends on it")
        scale: list[float] = []
        problem = ""
        for key in ("physmin", "physmax", "digmin", "digmax"):
            try:
                scale.append(num(key))
            except ExtractionError as exc:
                problem = problem or exc.reason
                scale.append(math.nan)
        physmin, physmax, digmin, digmax = scale
        out.append(EdfSignal(i, label, _dimension(columns["dimension"][i]), physmin, physmax,
                             digmin, digmax, int(samples), problem))
    return tuple(out)


def annotations_only(path: Path) -> str | None:
    """The reason an EDF+/BDF+ file holds nothing to describe (its signals are all
    annotations: a Sleep-EDF ``*Hypnogram.edf``, an events file), else None.

    Reads the fixed header and the signal labels only; any other trouble is None, left
    to :func:`read_edf_header` to name.
    """
    try:
        with open(path, "rb") as fh:
            fixed = fh.read(_FIXED)
            if len(fixed) < _FIXED or not (fixed[:8] == b"\xffBIOSEMI" or
                                          fixed[:8].split(b"\0", 1)[0].strip() == b"0"):
                return None
            ns = int(fixed[252:256].split(b"\0", 1)[0].decode("ascii").strip())
            if not 1 <= ns <= _MAX_SIGNALS:
                return None
            labels = fh.read(16 * ns)
    except (OSError, ValueError):
        return None
    if len(labels) < 16 * ns:
        return None
    names = [_text(labels[16 * i:16 * (i + 1)]) for i in range(ns)]
    if not all(n.lower() in _ANNOTATIONS for n in names):
        return None
    kind = "BDF" if fixed[:1] == b"\xff" else "EDF"
    reserved = fixed[192:236].decode("latin-1").strip()
    variant = next((kind + t for t in ("+C", "+D") if reserved[3:5] == t and
                    reserved[:3] in ("EDF", "BDF")), kind)
    return _annotations_reason(variant, names)


def _annotations_reason(variant: str, labels: list[str]) -> str:
    # A Sleep-EDF hypnogram: EDF+ annotations alone, in one record of duration 0.
    return (f"annotations only, no signal ({variant}, {len(labels)} signal(s) "
            f"{labels[0].strip()!r}: events or a hypnogram, not a recording)")


def _records_on_disk(h: EdfHeader, size: int) -> tuple[int, list[str]]:
    """Data records the file holds, and warnings where the header says otherwise."""
    notes: list[str] = []
    block = h.record_bytes
    available = size - h.header_bytes
    n, rest = divmod(available, block)
    how = f"{available} bytes after the header / {block}-byte data records"
    if h.n_records == -1:
        notes.append(f"header: number of data records -1 (unknown: a recording not closed): "
                     f"{n} records on disk ({how})")
    elif h.n_records != n:
        notes.append(f"header promises {h.n_records} data records but the file holds {n} "
                     f"({how})" + (": truncated" if h.n_records > n else "")
                     + "; nSamples counts the records on disk")
    if rest:
        notes.append(f"{rest} bytes left over after the last whole data record (a partial "
                     "record, not counted)")
    if n == 0:
        notes.append("the file holds a header and no data records")
    return n, notes


def _lsb(path: Path, signals: list[EdfSignal], f: Fields) -> None:
    """lsb in µV when every signal is in volts and all share one step; else a warning."""
    steps: dict[int, float] = {}
    not_volts = []
    for s in signals:
        if s.digmax == s.digmin:
            # The samples cannot be scaled, but the layout stands (MNE and pyedflib read it).
            f.warn(f"header: signal {s.index + 1} ({s.label}) digital maximum {s.digmax:g} "
                   f"equals its minimum: its step is undefined, so no lsb is given")
            return
        factor = _TO_MICROVOLT.get(s.dimension.lower())
        if factor is None:
            not_volts.append(s)
            continue
        # abs: a digital range stated high to low (an inverted signal) has the same step.
        steps[s.index] = abs(s.physmax - s.physmin) / abs(s.digmax - s.digmin) * factor
    if not_volts:
        units = sorted({repr(s.dimension) for s in not_volts})
        f.warn(f"{len(not_volts)} signal(s) not in volts (physical dimension "
               f"{', '.join(units)}): one lsb in µV cannot describe the record, so none is given")
        return
    values = sorted(set(steps.values()))
    if values[0] <= 0:
        f.warn("a signal's physical minimum equals its maximum: no lsb")
        return
    if values[-1] - values[0] > 1e-9 * values[-1]:
        f.warn(f"signals differ in scale ({values[0]:.10g} to {values[-1]:.10g} µV per step, "
               f"{len(values)} values): one lsb cannot describe them, so none is given")
        return
    s = signals[0]
    # 12 significant digits: 0.2, not the 0.19999999999999998 of the float division.
    f.header("lsb", float(f"{values[0]:.12g}"),
             f"header: (physical max {s.physmax:g} - min {s.physmin:g}) / (digital max "
             f"{s.digmax:g} - min {s.digmin:g}) {s.dimension}, in µV; the same for all "
             f"{len(signals)} signals")


def _start(fixed: bytes) -> tuple[datetime.datetime | None, str, str]:
    """(start, detail, problem): startdate dd.mm.yy and starttime hh.mm.ss, local time.

    Colons are read like the spec's dots (``09:01:17``: PhysioNet's ucddb files; pyedflib
    refuses them, MNE reads such a time as midnight). A startdate the header does not give
    in digits (the spec's ``dd.mm.yy`` literal after 2084, or damage) is taken from an
    EDF+ recording field ``Startdate dd-MMM-yyyy`` when there is one, as MNE does.
    """
    date = fixed[168:176].decode("latin-1")
    time = fixed[176:184].decode("latin-1")
    m_date = _DATE.fullmatch(date)
    m_time = _DATE.fullmatch(time)
    recording = fixed[88:168].decode("latin-1")
    m = _STARTDATE.match(recording)
    plus = (int(m.group(1)), _MONTHS[m.group(2)], int(m.group(3))) if m and m.group(2) in \
        _MONTHS else None
    plus_text = m.group(0) if m else ""
    if not m_time:
        return None, "", f"header: starttime {time!r} is not hh.mm.ss: no start time"
    detail = f"header startdate {date} starttime {time} (local time of the recording"
    if m_date:
        day, month, yy = (int(x) for x in m_date.groups())
        year = 1900 + yy if yy >= 85 else 2000 + yy  # the EDF spec's 1985-2084 window
        if plus is not None and plus[:2] == (day, month):
            year = plus[2]
            detail += f"; year from the EDF+ recording field {plus_text!r}"
    elif plus is not None:
        day, month, year = plus
        detail += f"; date from the EDF+ recording field {plus_text!r}"
    else:
        return None, "", f"header: startdate {date!r} is not dd.mm.yy (and no EDF+ " \
            "'Startdate dd-MMM-yyyy'): no start time"
    try:
        hour, minute, second = (int(x) for x in m_time.groups())
        when = datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None, "", f"header: startdate {date!r} starttime {time!r} is not a date: " \
            "no start time"
    return when, detail + ")", ""


def _text(raw: bytes) -> str:
    """A text field: latin-1, cut at a NUL (some writers pad with NULs, not spaces)."""
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


def _dimension(raw: bytes) -> str:
    """A physical dimension, with the micro sign written outside ASCII made 'µ'.

    The spec asks for ASCII ('uV'), but writers store 'µV' as latin-1 (0xB5), UTF-8
    (0xC2 0xB5, or the Greek mu 0xCE 0xBC) or Shift-JIS (0x83 0xCA: Nihon Kohden).
    """
    raw = raw.split(b"\0", 1)[0].strip()
    for micro in (b"\xc2\xb5", b"\xce\xbc", b"\x83\xca"):
        raw = raw.replace(micro, b"\xb5")
    return raw.decode("latin-1")


def _field(path: Path, raw: bytes, offset: int, what: str) -> str:
    try:
        return raw.split(b"\0", 1)[0].decode("ascii").strip()
    except UnicodeDecodeError:
        raise ExtractionError(path, f"header: {what} at byte {offset} is {raw!r}, not ASCII "
                              "text") from None


def _number(path: Path, raw: bytes, offset: int, what: str) -> float:
    text = _field(path, raw, offset, what)
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")  # a decimal comma (a European locale's writer; MNE reads it)
    try:
        value = float(text)
    except ValueError:
        raise ExtractionError(path, f"header: {what} at byte {offset} is {text[:20]!r}, not a "
                              "number") from None
    if not math.isfinite(value):
        raise ExtractionError(path, f"header: {what} at byte {offset} is {text!r}, not a finite "
                              "number")
    return value


def _int(path: Path, fixed: bytes, offset: int, width: int, what: str) -> int:
    value = _number(path, fixed[offset:offset + width], offset, what)
    if not value.is_integer():
        raise ExtractionError(path, f"header: {what} {value:g} is not a whole number")
    return int(value)


def _float(path: Path, fixed: bytes, offset: int, width: int, what: str) -> float:
    return _number(path, fixed[offset:offset + width], offset, what)
