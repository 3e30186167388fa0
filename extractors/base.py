"""The extractor family: the base class every file family derives from.

An extractor reads a data file's header and sidecars (never the sample data) and
describes it as one or more :class:`Extraction` objects: the record ``type``, its
``type_json``, and where every value came from. The public :meth:`Extractor.extract`
calls the family's :meth:`Extractor._extract` and then checks what came back, so every
family is validated the same way (neo's ``parse_header``/``_parse_header`` split).

Adding a family: copy ``extractors/_template.py`` and follow ``docs/adding-a-format.md``.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Any, ClassVar

from bsingest.errors import BsingestError, ExtractionError, NothingToDescribe
from bsingest.quantities import STATED, QuantityError, canonical_text
from bsingest.quantities import parse as parse_quantity
from bsingest.records import ExperimentData, check_type_json, type_json_keys, type_json_passes
from bsingest.recordtypes import (
    FIELD_BOUNDS,
    RECORD_TYPES,
    SCANNER_TYPES,
    UNITS,
    RecordType,
    legacy_name,
    lookup,
)

from .run import current as current_run

__all__ = [
    "COUNT_LIMIT",
    "FRAME_RATE_BOUNDS",
    "LSB_BOUNDS",
    "OPTICS_KEYS",
    "RATE_BOUNDS",
    "STATED_KEYS",
    "Claim",
    "Extraction",
    "Extractor",
    "Fields",
    "PartFailure",
    "Provenance",
    "Source",
    "plausibility_problems",
    "special_file",
    "whole_frames",
]

#: Optical quantities a user may state with their unit (``laser_power = "30 mW"``), applied
#: to every record whose type has the field (:mod:`bsingest.quantities`).
OPTICS_KEYS = frozenset(STATED)
#: Parameters a user may state for files that do not describe themselves.
STATED_KEYS = frozenset({"n_channels", "sr", "dtype", "lsb"}) | OPTICS_KEYS

# --- plausibility: what every record must satisfy, whatever family or user said it -------
#
# A header value that is not finite, or that no instrument produces, is damage (or a
# typo), and a record carrying it poisons everything downstream (JSON has no Infinity; a
# duration of 1e300 s breaks a timeline). The bounds are wide: they refuse only values
# no recording has, never a rare but real one.

#: Sampling rate ``sr`` in Hz, per record type (2023 names too), from the record-type
#: table (:mod:`bsingest.recordtypes`, where the reasons for every bound are given).
RATE_BOUNDS: dict[str, tuple[float, float]] = {
    name: t.sr_bounds for t in RECORD_TYPES.values() if t.sr_bounds is not None
    for name in {t.name, t.legacy or t.name}}
#: Video ``frameRate`` in frames per second (the table's bound of every imaging type).
FRAME_RATE_BOUNDS: tuple[float, float] = RECORD_TYPES["BehavioralTracking"].bounds["frameRate"]
#: ``lsb`` in µV per integer step (the table's bound of every time-series type).
LSB_BOUNDS: tuple[float, float] = RECORD_TYPES["ExtracellularEphys"].bounds["lsb"]
#: Counts (``nChannels``, ``nSamples``, ``nFrames``, resolutions) are whole, not negative
#: and at most 2**53, the largest integer every JSON reader holds exactly.
COUNT_LIMIT = 2**53
# How messages name each bounded field's unit (frame rates in fps, as users say them).
_UNIT_TEXT = {**{k: unit for k, (unit, _) in UNITS.items()}, "frameRate": "fps"}
_COUNT_KEYS = ("nChannels", "nSamples", "nFrames", "horizontalResolution",
               "verticalResolution", "bitDepth", "averages")


class Source(str, enum.Enum):
    """Where an extracted value came from."""

    HEADER = "header"  # read from the file's header or a sidecar
    COMPUTED = "computed"  # derived from header values and the file size
    STATED = "stated"  # given by the user
    DEFAULT = "default"  # assumed, because nothing else said


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where one value came from, and a line saying exactly where or how."""

    source: Source
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source.value, "detail": self.detail}


class Claim(enum.IntEnum):
    """How sure an extractor is that a path is its to read."""

    NO = 0
    SUFFIX = 1  # the suffix fits; a generic reader (raw binary with stated parameters)
    SPECIFIC = 2  # magic bytes or a sidecar say this family wrote the file
    #: A file that belongs to another file's record (a Miniscope device's AVIs and
    #: ``timeStamps.csv`` beside its ``metaData.json``): its family takes it from every
    #: generic reader (video); in a folder it is that record's sidecar, given alone it
    #: describes the record.
    COMPANION = 3


@dataclass(frozen=True, slots=True)
class Extraction:
    """What an extractor found out about one record's worth of a file."""

    path: str
    type: str
    type_json: Mapping[str, Any]
    provenance: Mapping[str, Provenance]
    warnings: tuple[str, ...] = ()
    extractor: str = ""
    #: Which of several records in one file this is (``acquisition/ElectricalSeries`` of an
    #: NWB file); ``fileName`` ends in ``#part``. None for a file that is one record.
    part: str | None = None
    #: The ``stream`` value bsingest 0.1 wrote into ``type_json`` for this record, so that
    #: records an earlier version created are recognised (see :attr:`legacy_key`).
    legacy_stream: str | None = None
    #: When the recording started, as the file states it (ISO 8601 with its offset where
    #: the file gives one); its provenance is ``provenance["startTime"]``.
    start_time: str | None = None
    #: Stated optical quantities not applied to this record (``laser_power = 30 mW``): its
    #: type is a scanner's or has no such field. Not a warning on every record: a run
    #: tells the user once, naming the files (:func:`bsingest.extraction.unapplied_notes`).
    unapplied: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        tj = self.type_json  # the path's base name only when needed (twice per record)
        return str(tj["fileName"]) if "fileName" in tj else os.path.basename(self.path)

    @property
    def key(self) -> tuple[str, str]:
        """Identity within a session: (type, fileName); fileName names the part too."""
        return (self.type, self.file_name)

    @property
    def legacy_key(self) -> tuple[str, str, str]:
        """The identity bsingest 0.1 gave this record: (type, bare file name, stream)."""
        return (self.type, self._bare_name(), self.legacy_stream or "")

    def _bare_name(self) -> str:
        """The file's name as the extractor gave it, without folders or ``#part`` (a lone
        SpikeGLX ``.meta`` names the ``.bin`` it describes, not itself)."""
        suffix = f"#{self.part}" if self.part else ""
        bare = self.file_name
        bare = bare[: -len(suffix)] if suffix and bare.endswith(suffix) else bare
        return bare.rsplit("/", 1)[-1]

    def relative_to(self, root: str | os.PathLike[str]) -> Extraction:
        """This extraction with ``fileName`` the path relative to ``root`` (the session).

        The contract names a file by its ``/``-separated path below the session folder,
        with ``#part`` after it for one of several records in one file. A path outside
        ``root`` keeps its bare name. The bare name is the one the extractor gave, which
        is not always the path's (a lone SpikeGLX ``.meta`` names the ``.bin`` it describes).
        """
        # file_name and _bare_name, inline: once per record of every run
        tj = self.type_json
        file_name = str(tj["fileName"]) if "fileName" in tj else os.path.basename(self.path)
        suffix = f"#{self.part}" if self.part else ""
        bare = file_name[: -len(suffix)] if suffix and file_name.endswith(suffix) else file_name
        bare = bare.rsplit("/", 1)[-1]
        r = current_run()
        if r is not None:  # within a run, each folder is resolved once (10,000 files in one)
            folder = r.relative(os.path.dirname(self.path) or ".", os.fspath(root))
            rel = bare if folder is None or folder == "." else f"{folder}/{bare}"
        else:
            try:
                rel = (Path(self.path).parent.resolve().relative_to(Path(root).resolve())
                       / bare).as_posix()
            except ValueError:
                rel = bare
        name = rel + suffix
        if name == file_name:
            return self
        return dataclasses.replace(self, type_json={**self.type_json, "fileName": name})

    def record(
        self,
        dataset: str,
        actions: Sequence[str],
        hardware_device: str | None = None,
        description: str | None = None,
    ) -> ExperimentData:
        """The Experiment Data (2023) record for this extraction, linked to the user's IDs.

        Its type is the 2023 name (``ExtracellularEphys`` is ``Extracellular``); a type
        the 2023 API lacks keeps its name, which :func:`bsingest.validate` refuses.
        """
        return ExperimentData(
            type=legacy_name(self.type) or self.type,
            dataset=dataset,
            actions=tuple(actions),
            hardware_device=hardware_device,
            description=description,
            type_json=dict(self.type_json),
        )

    def to_json(self) -> dict[str, Any]:
        out = {
            "path": self.path,
            "type": self.type,
            "type_json": dict(self.type_json),
            "provenance": {k: p.to_json() for k, p in self.provenance.items()},
            "warnings": list(self.warnings),
        }
        if self.part is not None:
            out["part"] = self.part
        if self.start_time is not None:
            out["start_time"] = self.start_time
        if self.unapplied:
            out["stated_not_applied"] = list(self.unapplied)
        return out


@dataclass(frozen=True, slots=True)
class PartFailure:
    """One part of a file that holds several records, which could not be described.

    A family returns it in place of that part's :class:`Extraction`; the base drops the
    part and tells the file's other records in one warning line naming it. A file whose
    every part failed is refused, naming each part and reason.
    """

    #: The part's name: the ``#part`` of its record (``acquisition/pos``, ``100Hz``), or,
    #: for a part that is a file of its own (an Open Ephys stream), its path.
    part: str
    reason: str

    def warning(self) -> str:
        """The line the file's other records carry."""
        return f"{self.part} not described: {self.reason}"


@dataclass
class Fields:
    """Collects ``type_json`` values with their provenance while an extractor works."""

    values: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    start_time: str | None = None

    def started(self, when: datetime.datetime, source: Source, detail: str) -> None:
        """The recording's start, as the file states it (naive means local time there)."""
        self.start_time = when.isoformat()
        self.provenance["startTime"] = Provenance(source, detail)

    def header(self, key: str, value: Any, detail: str) -> None:
        self.values[key] = value
        self.provenance[key] = _provenance(Source.HEADER, detail)

    def computed(self, key: str, value: Any, detail: str) -> None:
        self.values[key] = value
        self.provenance[key] = _provenance(Source.COMPUTED, detail)

    def stated(self, key: str, value: Any, detail: str = "stated by the user") -> None:
        self.values[key] = value
        self.provenance[key] = _provenance(Source.STATED, detail)

    def default(self, key: str, value: Any, detail: str) -> None:
        self.values[key] = value
        self.provenance[key] = _provenance(Source.DEFAULT, detail)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


# Provenances are immutable and most repeat from file to file ("fmt chunk nChannels"): a
# run over 10,000 files shares one object per distinct (source, detail), not 60,000 of
# them (a look-up costs a fraction of making one). One table per source, keyed by the
# detail's text; bounded: a table is emptied when it grows large.
_SHARED: dict[Source, dict[str, Provenance]] = {source: {} for source in Source}
_PROVENANCES_KEPT = 4096


def _provenance(source: Source, detail: str) -> Provenance:
    if type(detail) is not str:  # a detail that is no text (a family's slip) is not shared
        return Provenance(source, detail)
    shared = _SHARED[source]
    found = shared.get(detail)
    if found is None:
        if len(shared) >= _PROVENANCES_KEPT:
            shared.clear()
        found = shared[detail] = Provenance(source, detail)
    return found


# fileName's provenance, the same in every record.
_NAMED = Provenance(Source.HEADER, "the file's name")
_NAMED_PART = Provenance(Source.HEADER, "the file's name and the part of the file")


class Extractor:
    """Base of every file family.

    Subclasses set the class attributes and implement :meth:`claim` (when the suffix
    alone is not enough) and :meth:`_extract`. They import heavy libraries inside
    ``_extract``, never at module level: ``bsingest --help`` must stay light.
    """

    #: Short name shown in output and provenance, e.g. "neuroscope".
    name: ClassVar[str] = ""
    #: Lower-case suffixes this family reads, with the dot: (".dat", ".lfp").
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: The record types this family can produce.
    record_types: ClassVar[tuple[str, ...]] = ()
    #: True for a family that knows its files by their content, whatever their name: its
    #: claim is asked only when no other family claims the file by name or sidecar.
    sniffs: ClassVar[bool] = False
    #: Lower-case endings of every name :meth:`claim` can say yes to (``(".rhd", ".dat")``,
    #: ``("structure.oebin",)``): a file whose name ends otherwise is not asked, so that
    #: deciding whose a file is costs one ``str.endswith`` per family. None: always asked
    #: (the default of a family that overrides :meth:`claim`; a family that does not is
    #: asked about its ``suffixes`` only).
    claim_endings: ClassVar[tuple[str, ...] | None] = None
    #: Modules a family reads with in the reader process (:mod:`extractors._isolate`):
    #: a run over a folder that holds its files has that process import them early
    #: (:meth:`warms` says which of its files do).
    warm: ClassVar[tuple[str, ...]] = ()
    #: True for a family whose :meth:`_extract` (and :meth:`skip_reason`) take the path as
    #: the text ``str(Path(path))`` gives as well as a ``Path`` (they open it, name it in
    #: errors, and hand it to :meth:`result`): given such text, no ``Path`` is made for
    #: the file (parsing one, and its ``name`` and ``suffix``, costs a tenth of describing
    #: a small WAV).
    text_paths: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A family may only produce types of the record-type table, by their current
        # names: a typo or an invented type fails when the family is defined, not at
        # upload, and a 2023 spelling too (the 2023 name is made at the wire, and only
        # there: bsingest.records).
        super().__init_subclass__(**kwargs)
        legacy = {t: found.name for t in cls.record_types
                  if t not in RECORD_TYPES and (found := lookup(t)) is not None}
        if legacy:
            raise TypeError(f"{cls.__name__} declares record types by their 2023 names: "
                            + ", ".join(f"{t} (now {now})" for t, now in legacy.items()))
        unknown = [t for t in cls.record_types if lookup(t) is None]
        if unknown:
            raise TypeError(f"{cls.__name__} declares record types outside the table "
                            f"(bsingest.recordtypes): {', '.join(unknown)}")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        """How sure this family is that ``path`` is its own; by suffix unless overridden."""
        return Claim.SPECIFIC if path.suffix.lower() in cls.suffixes else Claim.NO

    @classmethod
    def claim_content(cls, path: Path) -> Claim:
        """A second look for files :meth:`claim` refused by name, asked only when no family
        claims the file by name or sidecar (a DeepLabCut ``.h5`` renamed, whose columns are
        only found by opening it). NO unless overridden."""
        return Claim.NO

    @classmethod
    def warms(cls, path: str) -> tuple[str, ...]:
        """The modules the reader process reads ``path`` (a file of this family, as text)
        with: :attr:`warm`, unless only some of the family's files are read there."""
        return cls.warm

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        """Files besides ``path`` that describing it reads (shown as such, not as skipped)."""
        return []

    @classmethod
    def skip_reason(cls, path: Path) -> str | None:
        """Why ``path``, a file this family claims, holds nothing to describe, else None.

        For files that are the family's own but are no recording: an EDF+ file of
        annotations alone (a Sleep-EDF hypnogram), a DICOMDIR (the index of a medium).
        A folder listing skips such a file with this reason instead of failing on it;
        given by name, :meth:`extract` raises :class:`~bsingest.errors.NothingToDescribe`.
        Cheap (a header at most) and never raises: a file it cannot read is left to
        :meth:`_extract`, which names the problem.
        """
        return None

    #: Set by :meth:`extract` for families whose default count trusts an index:
    #: ``True`` asks them to check it by reading the data (video: a full decode).
    verify: bool = False

    def extract(
        self, path: str | os.PathLike[str], *, record_type: str | None = None,
        verify: bool = False, **stated: Any
    ) -> list[Extraction]:
        """Describe ``path``: one :class:`Extraction` per record the file holds.

        ``stated`` holds parameters the user gave (``n_channels``, ``sr``, ``dtype``,
        ``lsb``; and ``excitation_wavelength``, ``laser_power``, ``imaging_depth`` as text
        with a unit, which go into every optical record whose type has the field; a
        scanner's record or a type without it lists them in ``unapplied``);
        ``record_type`` restates the record type of time-series files;
        ``verify`` checks what an index promises against the data (video: decodes every
        frame and reports both counts when they differ; slow, as slow as playing it).
        Raises :class:`~bsingest.errors.ExtractionError` naming the file. A file of
        several records gives every part it can describe: a part the family refuses
        (:class:`PartFailure`) or whose values are implausible is left out, with one line
        ``<part> not described: <reason>`` on each record kept; a file with no part left
        is refused, naming each part and reason.
        """
        p: Path | str
        if type(path) is str and self.text_paths and _plain(path):
            p = path  # already as Path(path) would write it: no Path needed
        else:
            p = path if isinstance(path, Path) else Path(path)  # no second parse of a Path
        optics: dict[str, Any] = {}
        if stated:  # most runs state nothing: no sets and dicts made per file for it
            unknown = set(stated) - STATED_KEYS
            if unknown:
                raise ExtractionError(
                    p, f"unknown stated parameters: {', '.join(sorted(unknown))}")
            stated = _stated_values(p, {k: v for k, v in stated.items() if v is not None})
            optics = {k: stated.pop(k) for k in list(stated) if k in OPTICS_KEYS}
        try:
            st = os.stat(p)  # one stat says all four (a run over 10,000 files pays per call)
        except (OSError, ValueError):
            raise ExtractionError(p, "no such file") from None
        if S_ISDIR(st.st_mode):
            raise ExtractionError(p, "a folder, not a recording file")
        if not S_ISREG(st.st_mode):
            raise ExtractionError(p, f"{special_file(p) or 'not a regular file'}, not a "
                                  "recording file: not read")
        if st.st_size == 0:
            raise ExtractionError(p, "empty file (0 bytes)")
        self.verify = verify
        # A text path reaches only the families that take one (text_paths).
        nothing = self.skip_reason(p)  # type: ignore[arg-type]
        if nothing is not None:
            raise NothingToDescribe(p, nothing)
        try:
            results = self._extract(p, stated)  # type: ignore[arg-type]
        except BsingestError:
            raise
        except OSError as exc:
            raise ExtractionError(p, exc.strerror or str(exc) or type(exc).__name__) from exc
        if (len(results) == 1 and record_type is None and not optics
                and type(first := results[0]) is Extraction and _passes(first)):
            return [first]  # the usual file: one record, plausible and valid (as below)
        failed = [r for r in results if isinstance(r, PartFailure)]
        good = [r for r in results if isinstance(r, Extraction)]
        if not good and not failed:
            raise ExtractionError(p, f"{self.name}: the file holds no records")
        if record_type is not None:
            good = [self._restate(r, record_type) for r in good]
        if optics:
            good = [_with_optics(r, optics) for r in good]
        kept = []
        for r in good:
            if _passes(r):  # the usual record: plausible and valid, known without the walks
                kept.append(r)
                continue
            # One part's implausible value (an NWB series with epoch and relative
            # timestamps mixed) drops that part, never the file's other records.
            problem = self._implausible(r)
            if problem is None:
                self._check(p, r, plausible=True)
                kept.append(r)
            elif r.part is None and len(good) + len(failed) == 1:
                raise ExtractionError(p, problem)  # a file that is one record: refused as is
            else:
                failed.append(PartFailure(_part_name(Path(p), r), problem))
        if not kept:
            if len(failed) == 1:
                x = failed[0]
                name = os.path.basename(p)
                raise ExtractionError(p, x.reason if x.part == name else f"{x.part}: {x.reason}")
            raise ExtractionError(p, f"none of its {len(failed)} parts can be described: "
                                  + "; ".join(f"{x.part}: {x.reason}" for x in failed))
        if failed:
            lines = tuple(x.warning() for x in failed)
            kept = [dataclasses.replace(r, warnings=(*r.warnings, *lines)) for r in kept]
        return kept

    def _extract(self, path: Path, stated: Mapping[str, Any]
                 ) -> Sequence[Extraction | PartFailure]:
        """Read headers and sidecars of ``path``; return its extractions. Family-specific.

        A file of several records returns a :class:`PartFailure` for a part it cannot
        describe (see :meth:`part`), so that the other parts still give their records.
        """
        raise NotImplementedError

    def result(
        self, path: Path | str, record_type: str, fields: Fields, *, part: str | None = None,
        legacy_stream: str | None = None,
    ) -> Extraction:
        """Package collected ``fields`` as an :class:`Extraction` (fileName filled in).

        ``part`` names one of several records in one file (``fileName`` becomes
        ``name#part``); ``legacy_stream`` is the ``stream`` bsingest 0.1 gave it, if any
        (default: ``part``).
        """
        if record_type not in self.record_types:  # a family's bug, not the file's fault
            raise TypeError(f"{type(self).__name__} gives a {record_type} record but declares "
                            f"only {', '.join(self.record_types)}")
        # 10000.0 Hz is shown and stored as 10000, as the contract's examples do.
        # A text path is as str(Path) writes it (see text_paths): its base name is the name.
        name = path.rpartition(os.sep)[2] if isinstance(path, str) else path.name
        if part:
            name += f"#{part}"
        values = {"fileName": name}
        values.update(fields.values)  # fileName first, as the family's own would stand
        for k, v in fields.values.items():
            if isinstance(v, float):
                values[k] = _tidy(v)
        provenance = {"fileName": _NAMED_PART if part else _NAMED}
        provenance.update(fields.provenance)
        # By position (path, type, type_json, provenance, warnings, extractor, part,
        # legacy_stream, start_time): a tenth cheaper than by keyword, once per record.
        return Extraction(str(path), record_type, values, provenance, tuple(fields.warnings),
                          self.name, part, legacy_stream if legacy_stream is not None else part,
                          fields.start_time)

    def _restate(self, r: Extraction, record_type: str) -> Extraction:
        if record_type == r.type:
            return r
        new, old = lookup(record_type), lookup(r.type)
        if new is None:
            raise ExtractionError(
                r.path, f"{record_type!r} is not a record type ({', '.join(RECORD_TYPES)})")
        if old is None or old.family != new.family or old.family == "audio":
            raise ExtractionError(r.path, f"a {r.type} file cannot be restated as {record_type}")
        if new.name == old.name:
            return r
        tj = dict(r.type_json)
        prov = dict(r.provenance)
        warnings = list(r.warnings)
        allowed = type_json_keys(record_type)
        dropped = [k for k in tj if k not in allowed]
        for k in dropped:
            tj.pop(k)
            prov.pop(k, None)
        if dropped:
            warnings.append(f"{' and '.join(dropped)} dropped: {record_type} has no such keys")
        # Restated in the current name, whichever generation's name the user gave.
        return dataclasses.replace(r, type=new.name, type_json=tj, provenance=prov,
                                   warnings=tuple(warnings))

    @staticmethod
    def part(name: str, build: Callable[[], Extraction]) -> Extraction | PartFailure:
        """``build()``, or a :class:`PartFailure` naming ``name`` if it refuses the part.

        For families whose files hold several records: a part-level
        :class:`~bsingest.errors.ExtractionError` drops that part only.
        """
        try:
            return build()
        except ExtractionError as exc:
            return PartFailure(name, exc.reason)

    @staticmethod
    def _implausible(r: Extraction) -> str | None:
        """The first implausible value of ``r``, with where it came from; None if none.

        Implausible values are the file's (or the user's) fault, and the message says where
        each came from; schema problems (:meth:`_check`) are our bugs.
        """
        implausible = plausibility_problems(r.type, r.type_json)
        if not implausible:
            return None
        key, reason = implausible[0]
        prov = r.provenance.get(key.split(".")[0])
        where = f" ({_where(prov)})" if prov is not None else ""
        return f"{key} {reason}{where}"

    def _check(self, path: Path | str, r: Extraction, *, plausible: bool = False) -> None:
        # ``plausible``: the caller has just checked plausibility (no second pass)
        problem = None if plausible else self._implausible(r)
        if problem is not None:
            raise ExtractionError(path, problem)
        problems = check_type_json(r.type, r.type_json)
        missing = [k for k in r.type_json if k not in r.provenance]
        problems += [f"{k}: no provenance" for k in missing]
        if problems:
            raise ExtractionError(
                path, f"{self.name} produced an invalid record: {'; '.join(problems)}")


def _part_name(path: Path, r: Extraction) -> str:
    """How a dropped part is named: its ``#part``, else the file it describes (a stream of
    an Open Ephys ``structure.oebin``), relative to ``path``'s folder."""
    if r.part is not None:
        return r.part
    try:
        return Path(r.path).relative_to(path.parent).as_posix()
    except ValueError:
        return r.file_name


def plausibility_problems(record_type: str, type_json: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, reason) for every value of ``type_json`` that no real recording has.

    Every number, nested ones too, is finite; counts are whole, not negative and at most
    :data:`COUNT_LIMIT`; ``sr``, ``frameRate`` and ``lsb`` lie within
    :data:`RATE_BOUNDS`, :data:`FRAME_RATE_BOUNDS` and :data:`LSB_BOUNDS`. A bool is
    not a number. Tests re-check records with this, independently of the extractors.
    """
    problems = [(key, f"is {value}, not a finite number")
                for key, value in _non_finite(type_json, "")]
    if problems:
        return problems
    for key in _COUNT_KEYS:
        if key not in type_json:
            continue
        v = type_json[key]
        if isinstance(v, bool) or not isinstance(v, int | float):
            problems.append((key, f"is {v!r}, not a number"))
        elif not float(v).is_integer():
            problems.append((key, f"is {v!r}, not a whole number"))
        elif not 0 <= v <= COUNT_LIMIT:
            problems.append((key, f"is {v:g}, outside 0 to 2**53"))
    for key, limits in _limits_of(record_type).items():
        if key not in type_json:
            continue
        unit = _UNIT_TEXT.get(key, "")
        v = type_json[key]
        if isinstance(v, bool) or not isinstance(v, int | float):
            problems.append((key, f"is {v!r}, not a number"))
        elif not limits[0] <= v <= limits[1]:
            problems.append((key, f"{v:g} {unit} is outside the plausible {limits[0]:g} to "
                             f"{limits[1]:g} {unit}" + (f" of {record_type}" if key == "sr"
                                                        else "")))
    return problems


@functools.cache
def _limits_of(record_type: str) -> dict[str, tuple[float, float]]:
    """Every bound a record of ``record_type`` must keep (the table's; once per type)."""
    found: RecordType | None = lookup(record_type)
    return {**FIELD_BOUNDS, **(found.bounds if found is not None else {})}


def _quick_check(record_type: str) -> Callable[[Extraction], bool]:
    """A test, made once per record type, that is True only for a record in which neither
    :func:`plausibility_problems` nor :meth:`Extractor._check` finds a problem; False
    means "ask them", and they say what is wrong. Most records are flat: counts that are
    ints, bounded values that are numbers within their bounds, and values the type's
    schema test passes (:func:`bsingest.records.type_json_passes`)."""
    content = type_json_passes(record_type)
    if content is None:
        return lambda r: False
    bounded: dict[str, tuple[float, float] | None] = {
        **dict.fromkeys(_COUNT_KEYS), **_limits_of(record_type)}
    # A key of both (none today) is asked of both: the test gives way to the full checks.
    both = set(_COUNT_KEYS) & set(_limits_of(record_type))

    def passes(r: Extraction) -> bool:
        tj, prov = r.type_json, r.provenance
        if not content(tj):
            return False
        for key, value in tj.items():
            if key not in prov:
                return False
            if key in bounded:
                limits = bounded[key]
                kind = type(value)
                if key in both:
                    return False
                if limits is None:  # a count: a whole, non-negative number up to 2**53
                    if kind is not int or not 0 <= value <= COUNT_LIMIT:
                        return False
                elif (kind is not int and kind is not float) or not limits[0] <= value <= limits[1]:
                    return False
        return True

    return passes


_QUICK: dict[str, Callable[[Extraction], bool]] = {}


def _passes(r: Extraction) -> bool:
    test = _QUICK.get(r.type)
    if test is None:
        test = _QUICK[r.type] = _quick_check(r.type)
    return test(r)


# Types that hold no number inside and are not one: skipped without an ABC check.
_LEAVES = frozenset({str, int, bool, type(None)})


def _non_finite(value: Any, path: str) -> list[tuple[str, float]]:
    """(dotted path, value) of every NaN or infinity in a JSON-like value (the paths
    a walk of every number would give); strings and whole numbers are passed over without an ABC
    check, which is most of a record."""
    kind = type(value)
    if kind is float:
        return [] if math.isfinite(value) else [(path, value)]
    if kind in _LEAVES:
        return []
    out: list[tuple[str, float]] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            if type(v) not in _LEAVES:
                out += _non_finite(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            if type(v) not in _LEAVES:
                out += _non_finite(v, f"{path}.{i}")
    elif isinstance(value, float) and not math.isfinite(value):
        out.append((path, value))
    return out


def _where(prov: Provenance) -> str:
    if prov.source is Source.STATED:
        return "stated by the user"
    return f"{prov.source.value}: {prov.detail}"


def _stated_values(path: Path | str, stated: Mapping[str, Any]) -> dict[str, Any]:
    """Stated parameters as numbers, or a one-line error naming the file and parameter.

    They come from the command line, ``bsingest.toml`` or a manifest, so a string that
    reads as a number is taken; a bool (``n_channels = true``) is not a number, and a
    rate or step that is not finite and positive is refused here, before any file is read.
    """
    out: dict[str, Any] = {}
    for key, value in stated.items():
        if key in OPTICS_KEYS:
            try:
                out[key] = parse_quantity(key, value)
            except QuantityError as exc:
                raise ExtractionError(path, f"stated {exc}") from None
            continue
        if key == "dtype":
            if not isinstance(value, str):
                raise ExtractionError(path, f"stated dtype {value!r} is not a sample type name")
            out[key] = value
            continue
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an int of 400 digits (Python: sr=10**400) is no rate
                number = math.inf
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if isinstance(value, bool):
            raise ExtractionError(path, f"stated {key} {value!r} is a boolean, not a number")
        if number is None or not math.isfinite(number):
            raise ExtractionError(path, f"stated {key} {value!r} is not a finite number")
        if key == "n_channels":
            if not number.is_integer() or not 1 <= number <= COUNT_LIMIT:
                raise ExtractionError(path, f"stated n_channels {value!r} is not a whole "
                                      "number of channels (1 or more)")
            out[key] = int(number)
        else:
            if not number > 0:
                raise ExtractionError(path, f"stated {key} {value!r} is not positive")
            out[key] = value if isinstance(value, int) else number  # 30000 stays 30000
    return out


def _with_optics(r: Extraction, optics: Mapping[str, float]) -> Extraction:
    """``r`` with the stated optical quantities its type has a field for (provenance
    "stated"). A scanner's record (MRI, CT, PET...: :data:`SCANNER_TYPES`) or a type
    without the field does not take it: the quantity is listed in ``unapplied``, which a
    run reports once for all its files. A stated value replaces what the file said, with
    a warning when they differ."""
    fields = _fields_of(r.type)
    scanner = r.type in SCANNER_TYPES  # records carry current names (see __init_subclass__)
    tj, prov, warnings = dict(r.type_json), dict(r.provenance), list(r.warnings)
    unapplied = list(r.unapplied)
    for key, value in optics.items():
        q = STATED[key]
        text = canonical_text(key, value)
        if scanner or q.field not in fields:
            unapplied.append(f"{key} = {text}")
            continue
        old, was = tj.get(q.field), prov.get(q.field)
        if old is not None and old != value and was is not None and was.source is not Source.STATED:
            warnings.append(f"stated {key} {text} replaces {old:g} {q.unit} "
                            f"({was.source.value}: {was.detail})")
        tj[q.field] = value
        prov[q.field] = Provenance(Source.STATED, f"stated by the user: {key} = {text}")
    return dataclasses.replace(r, type_json=tj, provenance=prov, warnings=tuple(warnings),
                               unapplied=tuple(unapplied))


def _fields_of(record_type: str) -> tuple[str, ...]:
    """The ``details`` keys of ``record_type`` (either generation's name)."""
    found = lookup(record_type)
    return found.fields if found is not None else ()


def _plain(text: str) -> bool:
    """Whether ``text`` is already what ``str(Path(text))`` gives (POSIX): not empty, no
    empty or ``.`` step, no trailing ``/``. Other text (``./a.wav``, ``a//b.wav``) is made
    a ``Path``, so a record's path is the same whichever way it was given."""
    return (os.altsep is None and bool(text) and "//" not in text and "/./" not in text
            and text[-1] != "/" and not text.startswith("./") and not text.endswith("/.")
            and text != ".")


def special_file(path: str | os.PathLike[str]) -> str:
    """What ``path`` is when it exists and is neither a regular file nor a folder ("a FIFO
    (named pipe)", "a character device", ...), else "". Decided by ``stat``, never by
    opening: reading a FIFO blocks for ever, reading a device may never end."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return ""
    for test, what in ((stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return ""


def whole_frames(path: Path, size: int, n_channels: int, dtype: str, itemsize: int, *,
                 why: str = "wrong channel count or a truncated file",
                 member: Path | None = None) -> int:
    """Frames of interleaved samples in ``size`` bytes; never rounds.

    A size that is not a whole number of frames is an error stating the size, the frame
    size and the remainder. ``member`` names the file measured when it is not ``path``
    itself (a per-channel file of ``path``'s record).
    """
    frame = n_channels * itemsize
    n, rest = divmod(size, frame)
    if rest:
        where = f"{member.name}: " if member is not None else ""
        raise ExtractionError(
            path, f"{where}{size} bytes is not a whole number of {n_channels}-channel {dtype} "
            f"frames ({frame} bytes each; {rest} bytes left over after {n} frames): {why}")
    return n


def _tidy(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
