"""DICOM (Part 10 files: a 128-byte preamble and ``DICM``): MRI, fMRI, CT, PET and SPECT.

The record type follows ``Modality``: MR is ``MagneticResonanceImaging``, or
``FunctionalMagneticResonanceImaging`` when the file or series holds several volumes in
time; CT ``ComputedTomography``; PT ``PositronEmissionTomography``; NM
``SinglePhotonEmissionComputedTomography``. Other modalities (ultrasound, X-ray, secondary
captures) are refused in one line.

**What is one record.** A multi-frame file (``NumberOfFrames``) is one record. The
single-slice files of one series (one ``SeriesInstanceUID``, distinct ``InstanceNumber``
values) in one folder are one record, named by that folder and the series
(``MR1#<SeriesInstanceUID>``), not hundreds: the file with the lowest instance number
claims the series and lists the others as its companions (shown as its sidecars in a
listing, never described on their own). A file given alone that belongs to such a series
describes the series. Files of one series with repeated instance numbers (copies, or one
image in two transfer syntaxes) are not a series: each is its own record.

From the header (``dcmread(stop_before_pixels=True)``): ``horizontalResolution`` =
Columns, ``verticalResolution`` = Rows, ``nFrames`` = NumberOfFrames (1 when absent) or,
for a series, its volumes: the files / the distinct slice positions
(``ImagePositionPatient``, else ``SliceLocation``); a Siemens mosaic series (one volume
per file, one position) counts each file. ``frameRate`` = 1000 / RepetitionTime (ms) for
functional records only (a structural scan's TR is not a frame interval).
``magneticFieldStrength`` = MagneticFieldStrength (T), stated by MR files only; it is not
derived from ``ImagingFrequency``. ``compression``: the transfer syntax (``raw`` for the
uncompressed ones, else its name: JPEG 2000, RLE ...). Voxel sizes (PixelSpacing,
SliceThickness, mm) go in where the type's schema has them (the current schema gives none
of these types voxel sizes). Start: AcquisitionDate/Time, else SeriesDate/Time (local
time; the placeholder dates anonymisers write, before 1970, are none).

Choice of reader: pydicom (the field's standard; imported inside the functions that need
it, ~0.2 to 0.4 s once). ``stop_before_pixels`` and ``defer_size`` keep it to the header:
a value longer than 4 KiB is skipped by a seek, never read, so the cost is the header's
whatever the image size. A claim reads 132 bytes (the ``DICM`` magic at offset 128): DICOM
files often have no suffix (``CT2/17106``). A series claim reads the header of every
DICOM file of its folder once (cached by the folder's modification time).
"""

from __future__ import annotations

import datetime
import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from ._mri import MODALITY_TYPES, drop_disallowed
from .base import Claim, Extraction, Extractor, Fields, Source

__all__ = ["DICOMDIR_CLASS", "DicomExtractor", "DicomHeader", "is_dicomdir",
           "media_storage_class", "read_dicom_header", "series_of"]

_MAGIC_AT = 128
_SUFFIXES = (".dcm", ".dicom", ".ima")
_DEFER = 4096  # bytes: longer values are skipped, not read
_MODALITIES = frozenset({"MR", *MODALITY_TYPES})
_SERIES_TAGS = ["SeriesInstanceUID", "InstanceNumber", "NumberOfFrames", "Modality",
                "ImagePositionPatient", "SliceLocation"]


def has_magic(path: Path) -> bool:
    """Whether ``path`` has the ``DICM`` magic at offset 128 (reads 132 bytes of a regular
    file; a FIFO or a device is never opened: reading it may block for ever)."""
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(_MAGIC_AT + 4)
    except OSError:
        return False
    return head[_MAGIC_AT:] == b"DICM"


#: Media Storage Directory Storage: the SOP class of a DICOMDIR, the index of a medium.
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
_META_BYTES = 2048  # the file meta group holds a handful of short elements
# Explicit VR with a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2).
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR",
                       b"UT"})


def media_storage_class(path: Path) -> str:
    """The Media Storage SOP Class UID (0002,0002) of a Part 10 file, else "".

    Read from the file meta group by hand (always explicit VR little endian, right after
    ``DICM``): 2 KiB, no pydicom, so that a claim stays cheap. A DICOMDIR is known by this
    class, whatever its name (``DICOMDIR`` on a medium; renamed or suffixed in a copy).
    """
    if not path.is_file():
        return ""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_MAGIC_AT + 4 + _META_BYTES)
    except OSError:
        return ""
    if head[_MAGIC_AT:_MAGIC_AT + 4] != b"DICM":
        return ""
    at = _MAGIC_AT + 4
    while at + 8 <= len(head):
        group = int.from_bytes(head[at:at + 2], "little")
        element = int.from_bytes(head[at + 2:at + 4], "little")
        if group != 0x0002:
            return ""
        vr = head[at + 4:at + 6]
        if vr in _LONG_VRS:
            length = int.from_bytes(head[at + 8:at + 12], "little")
            at += 12
        else:
            length = int.from_bytes(head[at + 6:at + 8], "little")
            at += 8
        if element == 0x0002:
            return head[at:at + length].split(b"\0", 1)[0].decode("ascii", "replace").strip()
        at += length
    return ""


def is_dicomdir(path: Path) -> bool:
    """Whether ``path`` is a DICOMDIR: its Media Storage SOP Class, or its name."""
    return path.name.upper() == "DICOMDIR" or media_storage_class(path) == DICOMDIR_CLASS


@dataclass(frozen=True, slots=True)
class DicomHeader:
    """What bsingest uses from one DICOM file's header (plain values, no pydicom objects)."""

    modality: str = ""
    rows: int | None = None
    columns: int | None = None
    frames: int | None = None
    repetition_ms: float | None = None
    field_t: float | None = None
    spacing: tuple[float, float] | None = None  # (row, column) spacing in mm
    thickness: float | None = None
    transfer_syntax: str = ""
    transfer_name: str = ""
    compressed: bool = False
    series_uid: str = ""
    series_number: str = ""
    instance: int | None = None
    position: tuple[float, ...] | None = None
    slice_location: float | None = None
    temporal_positions: int | None = None
    started: datetime.datetime | None = None
    started_from: str = ""
    problems: tuple[str, ...] = field(default=())


def _dcmread(path: Path, **kw: Any) -> Any:
    import logging
    import warnings

    import pydicom
    from pydicom.errors import InvalidDicomError

    # pydicom warns (and logs) about values it repairs on the fly (a VR it guessed, an IS
    # of '1A'): not ours to print in the middle of a listing.
    logging.getLogger("pydicom").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(path, stop_before_pixels=True, defer_size=_DEFER, **kw)
    except InvalidDicomError as exc:
        raise ExtractionError(path, f"not a DICOM file: {exc}") from None
    except OSError:
        raise
    except Exception as exc:  # pydicom's errors on damaged input are of many kinds
        raise ExtractionError(path, f"a damaged DICOM header ({type(exc).__name__}: "
                              f"{str(exc)[:160]})") from None


def _value(ds: Any, keyword: str, problems: list[str]) -> Any:
    """A converted element value, or None (a value that does not convert is a problem)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = ds.get(keyword)
    except Exception as exc:  # pydicom converts lazily: a damaged value fails here
        problems.append(f"{keyword} unreadable ({type(exc).__name__})")
        return None
    return None if v is None or v == "" else v


def _number(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return x if math.isfinite(x) else None


def _count(v: Any) -> int | None:
    x = _number(v)
    return int(x) if x is not None and x.is_integer() else None


def _when(date: Any, time: Any) -> datetime.datetime | None:
    d = str(date or "").strip()
    t = str(time or "").strip()
    if len(d) != 8 or not d.isdigit():
        return None
    try:
        day = datetime.datetime.strptime(d, "%Y%m%d")
        if t:
            whole, _, frac = t.partition(".")
            whole = whole.ljust(6, "0")[:6]
            tod = datetime.datetime.strptime(whole, "%H%M%S")
            micro = int((frac + "000000")[:6]) if frac.isdigit() else 0
            day = day.replace(hour=tod.hour, minute=tod.minute, second=tod.second,
                              microsecond=micro)
    except ValueError:
        return None
    return day if day.year >= 1970 else None


def read_dicom_header(path: Path, *, tags: list[str] | None = None) -> DicomHeader:
    """The header of one DICOM Part 10 file; errors name ``path``."""
    with open(path, "rb") as fh:
        head = fh.read(_MAGIC_AT + 4)
    if head[_MAGIC_AT:] != b"DICM":
        raise ExtractionError(path, "no 'DICM' at byte 128: not a DICOM Part 10 file (a "
                              "dataset without the preamble and file meta header is not read)")
    ds = _dcmread(path, specific_tags=tags) if tags else _dcmread(path)
    problems: list[str] = []

    def get(k: str) -> Any:
        return _value(ds, k, problems)

    meta = getattr(ds, "file_meta", None)
    ts = ""
    name = ""
    compressed = False
    try:
        uid = meta.get("TransferSyntaxUID") if meta is not None else None
        if uid is not None:
            ts = str(uid)
            name = str(getattr(uid, "name", ts))
            compressed = bool(getattr(uid, "is_compressed", False))
    except Exception as exc:
        problems.append(f"TransferSyntaxUID unreadable ({type(exc).__name__})")
    spacing = get("PixelSpacing")
    sp: tuple[float, float] | None = None
    if spacing is not None:
        try:
            a, b = (_number(x) for x in list(spacing)[:2])
            sp = (a, b) if a and b and a > 0 and b > 0 else None
        except (TypeError, ValueError):
            sp = None
    pos = get("ImagePositionPatient")
    position: tuple[float, ...] | None = None
    if pos is not None:
        try:
            nums = tuple(_number(x) for x in list(pos)[:3])
            position = tuple(round(x, 3) for x in nums if x is not None) or None
        except (TypeError, ValueError):
            position = None
    started = _when(get("AcquisitionDate"), get("AcquisitionTime"))
    started_from = "AcquisitionDate/AcquisitionTime"
    if started is None:
        started = _when(get("SeriesDate"), get("SeriesTime"))
        started_from = "SeriesDate/SeriesTime"
    return DicomHeader(
        modality=str(get("Modality") or "").strip().upper(),
        rows=_count(get("Rows")), columns=_count(get("Columns")),
        frames=_count(get("NumberOfFrames")),
        repetition_ms=_number(get("RepetitionTime")),
        field_t=_number(get("MagneticFieldStrength")),
        spacing=sp, thickness=_number(get("SliceThickness")),
        transfer_syntax=ts, transfer_name=name, compressed=compressed,
        series_uid=str(get("SeriesInstanceUID") or "").strip(),
        series_number=str(get("SeriesNumber") or "").strip(),
        instance=_count(get("InstanceNumber")),
        position=position, slice_location=_number(get("SliceLocation")),
        temporal_positions=_count(get("NumberOfTemporalPositions")),
        started=started, started_from=started_from if started else "",
        problems=tuple(problems),
    )


# --- series: the single-slice files of one series in one folder -------------------------

@dataclass(frozen=True, slots=True)
class Series:
    """The files of one series in one folder, in instance order (the first names it)."""

    uid: str
    files: tuple[Path, ...]
    #: Each file's slice position (ImagePositionPatient, else SliceLocation; None if neither).
    positions: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class _Folder:
    """The DICOM files of one folder: each one's modality, and the series among them."""

    modality: dict[Path, str]
    series: tuple[Series, ...]


def _folder(path: Path) -> _Folder:
    folder = path.parent
    try:
        st = os.stat(folder)
    except OSError:
        return _Folder({}, ())
    return _folder_index(str(folder), st.st_mtime_ns, st.st_size)


def series_of(path: Path) -> Series | None:
    """The series ``path`` is one slice of, or None when it is a record on its own."""
    for s in _folder(path).series:
        if path in s.files:
            return s
    return None


@functools.lru_cache(maxsize=32)
def _folder_index(folder: str, _mtime: int, _size: int) -> _Folder:
    slices: dict[str, list[tuple[int, Path, Any]]] = {}
    modality: dict[Path, str] = {}
    root = Path(folder)
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return _Folder({}, ())
    for name in names:
        p = root / name
        if name.startswith(".") or not p.is_file() or not has_magic(p) or is_dicomdir(p):
            continue  # a DICOMDIR is an index: never read in full (it may list 10,000s)
        try:
            h = read_dicom_header(p, tags=_SERIES_TAGS)
        except (ExtractionError, OSError):
            continue
        modality[p] = h.modality
        if not h.series_uid or h.instance is None or (h.frames or 1) > 1:
            continue
        where = h.position if h.position is not None else h.slice_location
        slices.setdefault(h.series_uid, []).append((h.instance, p, where))
    out = []
    for uid, members in slices.items():
        numbers = [n for n, _, _ in members]
        if len(members) < 2 or len(set(numbers)) != len(numbers):
            continue  # one file, or copies of one image: each file is its own record
        members.sort(key=lambda m: m[0])
        out.append(Series(uid, tuple(p for _, p, _ in members), tuple(w for _, _, w in members)))
    return _Folder(modality, tuple(out))


class DicomExtractor(Extractor):
    """DICOM Part 10 files (and single-slice series): MRI, fMRI, CT, PET, SPECT."""

    name = "dicom"
    sniffs = True  # by content: DICOM files often have no suffix
    suffixes = _SUFFIXES
    record_types = ("MagneticResonanceImaging", "FunctionalMagneticResonanceImaging",
                    "ComputedTomography", "PositronEmissionTomography",
                    "SinglePhotonEmissionComputedTomography")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if not has_magic(path):
            # A .dcm without the preamble: ours to refuse in one line, unless another
            # family knows it better.
            return Claim.SUFFIX if path.suffix.lower() in _SUFFIXES else Claim.NO
        if is_dicomdir(path):
            # The index of a DICOM medium: ours (its SOP class says so), skipped with the
            # reason (skip_reason) rather than left as "no extractor reads this".
            return Claim.SPECIFIC
        modality = _folder(path).modality.get(path)
        if modality and modality not in _MODALITIES:
            # Structured reports, presentation states, ultrasound...: no record type
            # describes them; a listing skips them rather than failing on them.
            return Claim.NO
        s = series_of(path)
        if s is not None and s.files[0] != path:
            return Claim.SUFFIX  # a companion of the series' first file
        return Claim.SPECIFIC

    @classmethod
    def skip_reason(cls, path: Path) -> str | None:
        if not has_magic(path) or not is_dicomdir(path):
            return None
        what = (f"a DICOMDIR (Media Storage SOP Class {DICOMDIR_CLASS})"
                if media_storage_class(path) == DICOMDIR_CLASS else "named DICOMDIR")
        return (f"{what}: the index of a DICOM medium, not an image; the image files it "
                "lists are described on their own")

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        if not has_magic(path) or is_dicomdir(path):
            return []
        s = series_of(path)
        return list(s.files[1:]) if s is not None and s.files[0] == path else []

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        s = series_of(path) if has_magic(path) else None
        if s is not None:
            return [self._series(path, s)]
        h = read_dicom_header(path)
        record_type = self._type(path, h)
        f = Fields()
        where = f"{path.name} DICOM header"
        self._common(f, h, where)
        frames = h.frames if h.frames is not None else 1
        f.header("nFrames", frames, f"{where} NumberOfFrames" if h.frames is not None
                 else f"{where}: no NumberOfFrames, one frame")
        functional = record_type == "MagneticResonanceImaging" and (h.temporal_positions or 1) > 1
        if functional:
            record_type = "FunctionalMagneticResonanceImaging"
            self._rate(f, h, where)
        self._start(f, h, where)
        drop_disallowed(record_type, f)
        return [self.result(path, record_type, f)]

    def _series(self, path: Path, s: Series) -> Extraction:
        first = s.files[0]
        try:
            h = read_dicom_header(first)
        except ExtractionError as exc:
            if first == path:
                raise
            raise ExtractionError(path, f"the series' first file {first.name}: {exc.reason}"
                                  ) from None
        record_type = self._type(path, h)
        f = Fields()
        where = f"{first.name} DICOM header (the series' first instance)"
        self._common(f, h, where)
        positions = set(s.positions)
        n = len(s.files)
        known = None not in positions
        if known and n % len(positions) == 0:
            volumes = n // len(positions)
            f.computed("nFrames", volumes, f"{n} files of series {s.uid} / {len(positions)} "
                       "distinct slice positions (ImagePositionPatient or SliceLocation): "
                       "volumes")
        else:
            volumes = 1
            why = ("some files state no slice position" if not known else
                   f"{n} files do not divide into {len(positions)} slice positions")
            f.warn(f"series {s.uid}: {why}; nFrames left out")
        if volumes > 1 and record_type == "MagneticResonanceImaging":
            record_type = "FunctionalMagneticResonanceImaging"
            self._rate(f, h, where)
        self._start(f, h, where)
        drop_disallowed(record_type, f)
        # Named by the folder and the series (``MR1#<uid>``): the extraction's path is the
        # folder, so that its session-relative name is the folder's.
        return self.result(path.parent, record_type, f, part=s.uid)

    @staticmethod
    def _type(path: Path, h: DicomHeader) -> str:
        if h.modality == "MR":
            return "MagneticResonanceImaging"
        if h.modality in MODALITY_TYPES:
            return MODALITY_TYPES[h.modality]
        raise ExtractionError(path, f"Modality {h.modality or 'not stated'!r}: not MR, CT, PT "
                              "or NM; no record type describes it")

    @staticmethod
    def _common(f: Fields, h: DicomHeader, where: str) -> None:
        for p in h.problems:
            f.warn(f"{where}: {p}")
        f.header("format", "DICOM", f"'DICM' at byte 128; Modality {h.modality}")
        if h.transfer_syntax:
            f.header("compression", h.transfer_name if h.compressed else "raw",
                     f"{where} TransferSyntaxUID {h.transfer_syntax} ({h.transfer_name})")
        if h.columns is not None:
            f.header("horizontalResolution", h.columns, f"{where} Columns")
        if h.rows is not None:
            f.header("verticalResolution", h.rows, f"{where} Rows")
        if h.spacing is not None:
            f.header("xVoxelSize", h.spacing[1] * 1e3, f"{where} PixelSpacing[1] (columns), mm"
                     " in µm")
            f.header("yVoxelSize", h.spacing[0] * 1e3, f"{where} PixelSpacing[0] (rows), mm in µm")
        if h.thickness is not None and h.thickness > 0:
            f.header("zVoxelSize", h.thickness * 1e3, f"{where} SliceThickness, mm in µm")
        if h.field_t is not None:
            if 0 < h.field_t <= 30:
                f.header("magneticFieldStrength", h.field_t, f"{where} MagneticFieldStrength (T)")
            else:
                f.warn(f"{where}: MagneticFieldStrength {h.field_t:g} is not a field in T (0 to "
                       "30): left out")

    @staticmethod
    def _rate(f: Fields, h: DicomHeader, where: str) -> None:
        from ._mri import repetition_rate

        if h.repetition_ms is None:
            f.warn(f"{where}: no RepetitionTime; no frameRate")
            return
        repetition_rate(f, h.repetition_ms / 1e3, f"{where} RepetitionTime {h.repetition_ms:g} ms")

    @staticmethod
    def _start(f: Fields, h: DicomHeader, where: str) -> None:
        if h.started is not None:
            f.started(h.started, Source.HEADER, f"{where} {h.started_from} (the scanner's "
                      "local time)")
