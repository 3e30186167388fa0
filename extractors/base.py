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
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from bsingest.errors import BsingestError, ExtractionError
from bsingest.records import (
    RECORD_TYPES,
    TIME_SERIES_TYPES,
    ExperimentData,
    check_type_json,
)

__all__ = [
    "STATED_KEYS",
    "Claim",
    "Extraction",
    "Extractor",
    "Fields",
    "Provenance",
    "Source",
    "whole_frames",
]

#: Parameters a user may state for files that do not describe themselves.
STATED_KEYS = frozenset({"n_channels", "sr", "dtype", "lsb"})


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

    @property
    def file_name(self) -> str:
        return str(self.type_json.get("fileName", os.path.basename(self.path)))

    @property
    def key(self) -> tuple[str, str]:
        """Identity within a session: (type, fileName); fileName names the part too."""
        return (self.type, self.file_name)

    @property
    def legacy_key(self) -> tuple[str, str, str]:
        """The identity bsingest 0.1 gave this record: (type, bare file name, stream)."""
        return (self.type, os.path.basename(self.path), self.legacy_stream or "")

    def relative_to(self, root: str | os.PathLike[str]) -> Extraction:
        """This extraction with ``fileName`` the path relative to ``root`` (the session).

        The contract names a file by its ``/``-separated path below the session folder,
        with ``#part`` after it for one of several records in one file. A path outside
        ``root`` keeps its bare name. The bare name is the one the extractor gave, which
        is not always the path's (a lone SpikeGLX ``.meta`` names the ``.bin`` it describes).
        """
        suffix = f"#{self.part}" if self.part else ""
        bare = self.file_name
        bare = bare[: -len(suffix)] if suffix and bare.endswith(suffix) else bare
        bare = bare.rsplit("/", 1)[-1]
        try:
            folder = Path(self.path).parent.resolve().relative_to(Path(root).resolve())
            rel = (folder / bare).as_posix()
        except ValueError:
            rel = bare
        name = rel + suffix
        if name == self.file_name:
            return self
        return dataclasses.replace(self, type_json={**self.type_json, "fileName": name})

    def record(
        self,
        dataset: str,
        actions: Sequence[str],
        hardware_device: str | None = None,
        description: str | None = None,
    ) -> ExperimentData:
        """The Experiment Data record for this extraction, linked to the user's IDs."""
        return ExperimentData(
            type=self.type,
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
        return out


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
        self._set(key, value, Source.HEADER, detail)

    def computed(self, key: str, value: Any, detail: str) -> None:
        self._set(key, value, Source.COMPUTED, detail)

    def stated(self, key: str, value: Any, detail: str = "stated by the user") -> None:
        self._set(key, value, Source.STATED, detail)

    def default(self, key: str, value: Any, detail: str) -> None:
        self._set(key, value, Source.DEFAULT, detail)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def _set(self, key: str, value: Any, source: Source, detail: str) -> None:
        self.values[key] = value
        self.provenance[key] = Provenance(source, detail)


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

    @classmethod
    def claim(cls, path: Path) -> Claim:
        """How sure this family is that ``path`` is its own; by suffix unless overridden."""
        return Claim.SPECIFIC if path.suffix.lower() in cls.suffixes else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        """Files besides ``path`` that describing it reads (shown as such, not as skipped)."""
        return []

    def extract(
        self, path: str | os.PathLike[str], *, record_type: str | None = None, **stated: Any
    ) -> list[Extraction]:
        """Describe ``path``: one :class:`Extraction` per record the file holds.

        ``stated`` holds parameters the user gave (``n_channels``, ``sr``, ``dtype``,
        ``lsb``); ``record_type`` restates the record type of time-series files.
        Raises :class:`~bsingest.errors.ExtractionError` naming the file.
        """
        p = Path(path)
        unknown = set(stated) - STATED_KEYS
        if unknown:
            raise ExtractionError(p, f"unknown stated parameters: {', '.join(sorted(unknown))}")
        stated = {k: v for k, v in stated.items() if v is not None}
        if not p.exists():
            raise ExtractionError(p, "no such file")
        if p.is_dir():
            raise ExtractionError(p, "a folder, not a recording file")
        if not p.is_file():
            raise ExtractionError(p, "not a regular file")
        if p.stat().st_size == 0:
            raise ExtractionError(p, "empty file (0 bytes)")
        try:
            results = self._extract(p, stated)
        except BsingestError:
            raise
        except OSError as exc:
            raise ExtractionError(p, exc.strerror or str(exc) or type(exc).__name__) from exc
        if not results:
            raise ExtractionError(p, f"{self.name}: the file holds no records")
        if record_type is not None:
            results = [self._restate(r, record_type) for r in results]
        for r in results:
            self._check(p, r)
        return results

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        """Read headers and sidecars of ``path``; return its extractions. Family-specific."""
        raise NotImplementedError

    def result(
        self, path: Path, record_type: str, fields: Fields, *, part: str | None = None,
        legacy_stream: str | None = None,
    ) -> Extraction:
        """Package collected ``fields`` as an :class:`Extraction` (fileName filled in).

        ``part`` names one of several records in one file (``fileName`` becomes
        ``name#part``); ``legacy_stream`` is the ``stream`` bsingest 0.1 gave it, if any
        (default: ``part``).
        """
        # 10000.0 Hz is shown and stored as 10000, as the contract's examples do.
        name = path.name + (f"#{part}" if part else "")
        values = {"fileName": name, **{k: _tidy(v) for k, v in fields.values.items()}}
        detail = "the file's name" + (" and the part of the file" if part else "")
        provenance = {"fileName": Provenance(Source.HEADER, detail), **fields.provenance}
        return Extraction(
            path=str(path),
            type=record_type,
            type_json=values,
            provenance=provenance,
            warnings=tuple(fields.warnings),
            extractor=self.name,
            part=part,
            legacy_stream=legacy_stream if legacy_stream is not None else part,
            start_time=fields.start_time,
        )

    def _restate(self, r: Extraction, record_type: str) -> Extraction:
        if record_type == r.type:
            return r
        if record_type not in RECORD_TYPES:
            raise ExtractionError(
                r.path, f"{record_type!r} is not a record type ({', '.join(RECORD_TYPES)})"
            )
        if r.type not in TIME_SERIES_TYPES or record_type not in TIME_SERIES_TYPES:
            raise ExtractionError(
                r.path, f"a {r.type} file cannot be restated as {record_type}"
            )
        tj = dict(r.type_json)
        prov = dict(r.provenance)
        warnings = list(r.warnings)
        if record_type != "Extracellular":
            dropped = [k for k in ("electrodeGroups", "channelTags") if k in tj]
            for k in dropped:
                tj.pop(k)
                prov.pop(k, None)
            if dropped:
                warnings.append(f"{' and '.join(dropped)} dropped: {record_type} has no such keys")
        return dataclasses.replace(r, type=record_type, type_json=tj, provenance=prov,
                                   warnings=tuple(warnings))

    def _check(self, path: Path, r: Extraction) -> None:
        problems = check_type_json(r.type, r.type_json)
        missing = [k for k in r.type_json if k not in r.provenance]
        problems += [f"{k}: no provenance" for k in missing]
        if problems:
            raise ExtractionError(
                path, f"{self.name} produced an invalid record: {'; '.join(problems)}")


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
