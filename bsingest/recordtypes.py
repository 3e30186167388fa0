"""The record types: one table, in the current API generation's terms.

Every other list of types in bsingest derives from :data:`RECORD_TYPES`: the schema
look-up, the type maps between the two API generations, ``--type`` choices, plausibility
bounds, the report's colours and checks. Adding a type is one :class:`RecordType` row here
and one schema file, ``bsingest/schemas/1.1.0/<Name>.json``; ``tests/test_recordtypes.py``
walks the table and fails when a row lacks its schema, its bounds or its report entry, or
when an extractor declares a type that is not here.

Values inside bsingest (an extraction's ``type_json``) are bare numbers in one unit per
field, :data:`UNITS` (``sr`` in Hz, ``lsb`` in µV per step, voxel sizes in µm, wavelengths
in nm, ``laserPower`` in mW, ``magneticFieldStrength`` in T); the current API's wire form
(``{"value": x, "unit": "Hz"}``, schema 1.1.0) is made from them by :mod:`bsingest.details`.
The 2023 API (Experiment Data) knows six of the 23 types, under the names in
:attr:`RecordType.legacy`; a record of any other type cannot be sent to a 2023 server.

This module is a leaf: it imports nothing of bsingest but :mod:`bsingest.schemacheck` and
:mod:`bsingest.errors`, so records, details, settings and the extractors can all use it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from . import schemacheck

__all__ = [
    "FAMILIES",
    "FIELD_BOUNDS",
    "FROM_LEGACY",
    "RECORD_TYPES",
    "SCANNER_TYPES",
    "SCHEMA_VERSION",
    "UNITS",
    "RecordType",
    "bare_schema",
    "content_problems",
    "finite",
    "is_uuid",
    "legacy_name",
    "lookup",
    "plain",
    "schema",
    "type_names",
]

#: The ``details`` schema version bsingest writes, the one every table row ships.
SCHEMA_VERSION = "1.1.0"

# --- units ---------------------------------------------------------------------------
# Each quantity's units as powers of ten of its SI unit; a field's bare unit is one of them.
_FREQUENCY = {"GHz": 9, "MHz": 6, "kHz": 3, "Hz": 0}
_VOLTAGE = {"V": 0, "mV": -3, "µV": -6, "nV": -9}
_LENGTH = {"m": 0, "cm": -2, "mm": -3, "µm": -6, "nm": -9}
_POWER = {"kW": 3, "W": 0, "mW": -3, "µW": -6}
_FIELD = {"T": 0, "mT": -3, "µT": -6}
_AREA = {"m²": 0, "cm²": -4, "mm²": -6, "µm²": -12, "nm²": -18}


def _relative(units: Mapping[str, int], base: str) -> tuple[str, dict[str, int]]:
    return base, {u: p - units[base] for u, p in units.items()}


#: Field -> (its bare unit inside bsingest, each schema unit -> power of ten relative to
#: that unit). Fields not listed are counts or text.
UNITS: dict[str, tuple[str, dict[str, int]]] = {
    "sr": _relative(_FREQUENCY, "Hz"),
    "frameRate": _relative(_FREQUENCY, "Hz"),
    "lsb": _relative(_VOLTAGE, "µV"),
    "imagingDepth": _relative(_LENGTH, "µm"),
    "xVoxelSize": _relative(_LENGTH, "µm"),
    "yVoxelSize": _relative(_LENGTH, "µm"),
    "zVoxelSize": _relative(_LENGTH, "µm"),
    "axialResolution": _relative(_LENGTH, "µm"),
    "lateralResolution": _relative(_LENGTH, "µm"),
    "excitationWavelength": _relative(_LENGTH, "nm"),
    "bandwidth": _relative(_LENGTH, "nm"),
    "centerWavelength": _relative(_LENGTH, "nm"),
    "laserPower": _relative(_POWER, "mW"),
    "magneticFieldStrength": _relative(_FIELD, "T"),
    "scanArea": _relative(_AREA, "µm²"),
}

# --- fields --------------------------------------------------------------------------
_TIME_SERIES = ("fileName", "format", "type", "nChannels", "nSamples", "sr", "lsb",
                "electrodeGroups", "channelTags")
_VIDEO = ("fileName", "format", "compression", "frameRate", "horizontalResolution",
          "verticalResolution", "nFrames")
_SCOPE = (*_VIDEO, "imagingDepth", "laserPower")
_MICROSCOPE = (*_SCOPE, "excitationWavelength", "xVoxelSize", "yVoxelSize", "zVoxelSize")

# --- plausibility bounds: values no real recording has are refused ------------------
# Wide on purpose: they refuse damage and typos, never a rare but real value. The
# reasons for the rate bounds are in docs/adding-a-format.md.
#: ``sr`` of a time series: a sensor read every ~17 minutes to 10 MHz (above the fastest
#: electrophysiology digitisers).
_SERIES_RATE = (1e-3, 1e7)
#: ``frameRate``: time-lapse (a frame every ~17 minutes) to the fastest cameras.
_FRAME_RATE = (1e-3, 1e6)
#: Field -> (low, high) plausible values in its bare unit, whatever the type (``sr`` is per
#: type: :attr:`RecordType.sr_bounds`).
FIELD_BOUNDS: dict[str, tuple[float, float]] = {
    "lsb": (1e-6, 1e6),  # 1 pV to a 1 V step, in µV
    "frameRate": _FRAME_RATE,
    "imagingDepth": (0.0, 1e6),  # at the surface to 1 m, in µm
    # 0.1 nm (electron-microscope territory) to 1 m, in µm: voxels and resolutions.
    "xVoxelSize": (1e-4, 1e6), "yVoxelSize": (1e-4, 1e6), "zVoxelSize": (1e-4, 1e6),
    "axialResolution": (1e-4, 1e6), "lateralResolution": (1e-4, 1e6),
    # 100 nm (deep UV) to 5 µm (beyond three-photon excitation at 1.7 µm), in nm.
    "excitationWavelength": (100.0, 5000.0), "centerWavelength": (100.0, 5000.0),
    "bandwidth": (1e-3, 5000.0),
    "laserPower": (1e-6, 1e7),  # 1 nW to 10 kW, in mW
    "magneticFieldStrength": (1e-6, 30.0),  # earth-field NMR to beyond 21.1 T magnets, in T
    "scanArea": (1e-6, 1e12),  # in µm²: 1 nm² ... 1 m²
}

#: The record families: records of one family share their keys' meaning, so a user may
#: restate one type as another of its family (fields the new type lacks are dropped with
#: a warning). Their duration in the report: samples over ``sr``, or frames over
#: ``frameRate``.
FAMILIES: dict[str, tuple[str, str]] = {
    "timeseries": ("nSamples", "sr"),
    "audio": ("nSamples", "sr"),
    "imaging": ("nFrames", "frameRate"),
}


@dataclass(frozen=True, slots=True)
class RecordType:
    """One record type of the current API generation.

    Attributes
    ----------
    name
        The current generation's name (``ExtracellularEphys``).
    legacy
        Its 2023 (Experiment Data) name, or None where 2023 has no such type.
    family
        A key of :data:`FAMILIES`: which types it may be restated as, how its duration
        is counted.
    fields
        The keys of its ``details`` (schema 1.1.0 allows no others).
    colour
        Its colour in the report's timeline and tables (CSS).
    label
        What the report calls its records.
    sr_bounds
        Plausible ``sr`` in Hz, for types with a sampling rate.
    """

    name: str
    legacy: str | None
    family: str
    fields: tuple[str, ...]
    colour: str
    label: str
    sr_bounds: tuple[float, float] | None = None

    @property
    def bounds(self) -> dict[str, tuple[float, float]]:
        """Field -> (low, high) plausible values, inclusive, in the field's bare unit."""
        out = {k: v for k, v in FIELD_BOUNDS.items() if k in self.fields}
        if self.sr_bounds is not None:
            out["sr"] = self.sr_bounds
        return out

    @property
    def duration_keys(self) -> tuple[str, str]:
        """(count, rate): the record lasts count / rate seconds."""
        return FAMILIES[self.family]


def _series(name: str, legacy: str | None, colour: str, label: str,
            fields: tuple[str, ...] = _TIME_SERIES) -> RecordType:
    return RecordType(name, legacy, "timeseries", fields, colour, label, _SERIES_RATE)


def _imaging(name: str, fields: tuple[str, ...], colour: str, label: str,
             legacy: str | None = None) -> RecordType:
    return RecordType(name, legacy, "imaging", fields, colour, label)


#: Every type of the current generation (``brainstem-api-2026.md``), by current name.
RECORD_TYPES: dict[str, RecordType] = {t.name: t for t in (
    _series("ExtracellularEphys", "Extracellular", "#2563eb", "extracellular"),
    _series("IntracellularEphys", "Intracellular", "#7c3aed", "intracellular",
            fields=_TIME_SERIES[:7]),
    _series("GeneralTimeSeries", "GeneralTimeSeries", "#0891b2", "time series"),
    _series("Electroneurogram", "Electroneurogram", "#0d9488", "nerve"),
    _series("Electroencephalography", None, "#4f46e5", "EEG"),
    # Audio: WAV stores a whole number of samples per second, so 1 Hz is its smallest
    # rate; ultrasonic recorders for bats and rodents run at up to about 1 MHz.
    RecordType("Audio", "Audio", "audio",
               ("fileName", "format", "compression", "codec", "bitDepth", "nChannels",
                "nSamples", "sr"), "#d97706", "audio", (1.0, 1e7)),
    _imaging("BehavioralTracking", _VIDEO, "#16a34a", "behaviour video",
             legacy="BehavioralTracking"),
    _imaging("VideoTracking", _VIDEO, "#15803d", "tracking video",
             legacy="BehavioralTracking"),
    _imaging("FiberPhotometry", ("fileName", "format", "compression", "frameRate", "nFrames",
                                 "excitationWavelength", "laserPower"), "#db2777",
             "photometry"),
    _imaging("Miniscope", _SCOPE, "#c026d3", "miniscope"),
    _imaging("SinglePhotonMicroscopy", _MICROSCOPE, "#a21caf", "one-photon"),
    _imaging("TwoPhotonMicroscopy", _MICROSCOPE, "#9333ea", "two-photon"),
    _imaging("ThreePhotonMicroscopy", _MICROSCOPE, "#6d28d9", "three-photon"),
    _imaging("ConfocalMicroscopy", _MICROSCOPE, "#7e22ce", "confocal"),
    _imaging("LightFieldMicroscopy", _MICROSCOPE, "#86198f", "light-field"),
    _imaging("OpticalCoherenceTomography",
             (*_VIDEO, "imagingDepth", "averages", "axialResolution", "lateralResolution",
              "bandwidth", "centerWavelength", "scanArea", "scanPattern"), "#be185d", "OCT"),
    _imaging("FunctionalUltrasoundImaging", _SCOPE, "#b45309", "functional ultrasound"),
    _imaging("ComputedTomography", _SCOPE, "#78716c", "CT"),
    _imaging("MagneticResonanceImaging", (*_VIDEO, "imagingDepth", "magneticFieldStrength"),
             "#64748b", "MRI"),
    _imaging("FunctionalMagneticResonanceImaging", _SCOPE, "#475569", "fMRI"),
    _imaging("Magnetoencephalography", _SCOPE, "#4338ca", "MEG"),
    _imaging("PositronEmissionTomography", _SCOPE, "#9a3412", "PET"),
    _imaging("SinglePhotonEmissionComputedTomography", _SCOPE, "#92400e", "SPECT"),
)}

#: Types recorded by a scanner or an array, not through an objective: their schemas share
#: the imaging field list (``imagingDepth``, ``laserPower``), but no laser excites them and
#: no focal plane has a depth, so a stated optical quantity is never theirs.
SCANNER_TYPES: frozenset[str] = frozenset({
    "MagneticResonanceImaging", "FunctionalMagneticResonanceImaging", "ComputedTomography",
    "PositronEmissionTomography", "SinglePhotonEmissionComputedTomography",
    "Magnetoencephalography", "FunctionalUltrasoundImaging"})

#: 2023 name -> current name. Two current types are BehavioralTracking in 2023; the name
#: reads back as the one that keeps it.
FROM_LEGACY: dict[str, str] = {}
for _t in RECORD_TYPES.values():
    if _t.legacy is not None:
        FROM_LEGACY.setdefault(_t.legacy, _t.name)


def lookup(name: str) -> RecordType | None:
    """The type ``name`` means, in either generation's spelling (``Extracellular`` is
    ``ExtracellularEphys``); None when it names no type."""
    if not isinstance(name, str):
        return None
    found = RECORD_TYPES.get(name)
    if found is None and name in FROM_LEGACY:
        found = RECORD_TYPES[FROM_LEGACY[name]]
    return found


def legacy_name(name: str) -> str | None:
    """The 2023 name of a type given in either spelling, or None where 2023 has none."""
    found = lookup(name)
    return found.legacy if found is not None else None


def type_names(*, legacy: bool = True) -> list[str]:
    """Every name a user may give for a type: the current ones, and the 2023 ones too."""
    names = set(RECORD_TYPES)
    if legacy:
        names |= set(FROM_LEGACY)
    return sorted(names)


# --- schemas -------------------------------------------------------------------------

def schema(name: str) -> dict[str, Any]:
    """The 1.1.0 JSON Schema of a type's ``details`` (rates and sizes with units); a copy."""
    return json.loads(json.dumps(shared_schema(name)))


def bare_schema(name: str) -> dict[str, Any]:
    """The schema of a type's ``details`` with bare numbers in :data:`UNITS`' units.

    This is what an extraction's ``type_json`` holds, and what schema 0.0.0 records carry.
    """
    return json.loads(json.dumps(shared_bare_schema(name)))


@cache
def shared_schema(name: str) -> dict[str, Any]:
    """:func:`schema` itself, shared by every caller: read it, never change it. For the
    checks each record goes through, where a copy cost two JSON round trips (issue 25)."""
    if name not in RECORD_TYPES:
        raise KeyError(name)
    text = (resources.files("bsingest.schemas").joinpath(SCHEMA_VERSION)
            .joinpath(f"{name}.json").read_text("utf-8"))
    loaded = json.loads(text)
    unknown = schemacheck.unsupported_keywords(loaded)
    if unknown:  # a schema edit our checker cannot honour must not pass silently
        raise RuntimeError(f"schema {SCHEMA_VERSION}/{name}.json uses unsupported keywords "
                           f"{sorted(unknown)}")
    return loaded


@cache
def shared_bare_schema(name: str) -> dict[str, Any]:
    """:func:`bare_schema` itself, shared: read it, never change it."""
    out = schema(name)
    for key, (unit, _) in UNITS.items():
        if key in out["properties"]:
            low = 0 if key == "imagingDepth" else None
            prop: dict[str, Any] = {"type": "number", "description": f"in {unit}, a bare number"}
            if low is None:
                prop["exclusiveMinimum"] = 0
            else:
                prop["minimum"] = low
            out["properties"][key] = prop
    return out


# --- the content rule of both generations ---------------------------------------------

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(value: Any) -> bool:
    """Whether ``value`` is a UUID in its canonical text form (the one rule for IDs)."""
    return isinstance(value, str) and bool(_UUID.fullmatch(value))


def content_problems(schema: Mapping[str, Any], content: Mapping[str, Any]) -> list[str]:
    """Every problem of a record's type-specific part (``type_json`` or ``details``).

    The one rule of both API generations: numbers that are not finite (JSON has no NaN
    or Infinity; a schema's bounds let NaN through), then ``schema``, then what a schema
    cannot say: channel indices below ``nChannels``, group indices inside
    ``electrodeGroups``, and a ``fileName`` below the session folder.
    """
    infinite = _non_finite(content, "")
    if infinite:
        problems = [f"{where}: {value!r} is not a finite number" for where, value in infinite]
        bad = {where for where, _ in infinite}
        problems += [p for p in schemacheck.check(schema, content)
                     if p.partition(": ")[0] not in bad]
    else:  # the usual case: no filtering of the schema's verdicts, no lists made for it
        problems = schemacheck.check(schema, content)
    problems += _cross_field_problems(content)
    problems += _file_name_problems(content.get("fileName"))
    return problems


def quick_content(schema: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """A test, made once per schema, that is True only for content in which
    :func:`content_problems` finds nothing: a dict of strings, whole numbers, bools,
    None, finite floats and lists that passes the schema's plain tests (a list: its
    property's test of every item), whose lists keep the cross-field rules, with a good
    ``fileName``. False means "ask :func:`content_problems`", which says what is wrong;
    None for a schema without such a test (:func:`bsingest.schemacheck.quick_object`)."""
    fits = schemacheck.quick_object(schema)
    if fits is None:
        return None
    # Keys whose list passed its schema's own test in fits() (electrode groups, channel
    # tags): numbers inside are finite there, and the cross-field rules are asked below.
    arrays = frozenset(k for k, sub in (schema.get("properties") or {}).items()
                       if isinstance(sub, Mapping) and sub.get("type") == "array")

    def passes(content: Any) -> bool:
        if not fits(content):
            return False
        kinds = set(map(type, content.values()))  # in C: most records are str and int
        if not kinds <= _FLAT:
            if not kinds <= _FLAT_OR_FLOAT_OR_LIST:
                return False  # a mapping: the walks decide
            for key, value in content.items():
                kind = type(value)
                if kind is float and not math.isfinite(value):
                    return False
                if kind is list and key not in arrays:
                    return False  # no test of its items: the walks decide
            if list in kinds and _cross_field_problems(content):
                return False
        return not _file_name_problems(content.get("fileName"))

    return passes


# Types of a flat record's values that need no further look (a bool is its own type).
_FLAT = frozenset({str, int, bool, type(None)})
_FLAT_OR_FLOAT = _FLAT | {float}
_FLAT_OR_FLOAT_OR_LIST = _FLAT_OR_FLOAT | {list}


def _cross_field_problems(tj: Mapping[str, Any]) -> list[str]:
    if "electrodeGroups" not in tj and "channelTags" not in tj:
        return []  # the rules below are about these two (most records have neither)
    problems: list[str] = []
    n_channels = tj.get("nChannels")
    groups = tj.get("electrodeGroups")
    n_groups = len(groups) if isinstance(groups, list) else None

    def channels_of(item: Any) -> Sequence[Any]:
        chans = item.get("channels") if isinstance(item, Mapping) else None
        return _listed(chans)

    if isinstance(n_channels, int) and not isinstance(n_channels, bool):
        for key in ("electrodeGroups", "channelTags"):
            for i, item in enumerate(_listed(tj.get(key))):
                bad = [c for c in channels_of(item) if isinstance(c, int) and c >= n_channels]
                if bad:
                    problems.append(
                        f"{key}.{i}.channels: {bad} not below nChannels={n_channels}"
                    )
    for i, tag in enumerate(_listed(tj.get("channelTags"))):
        if not isinstance(tag, Mapping):
            continue
        refs = _listed(tag.get("groups"))
        if refs and n_groups is None:
            problems.append(
                f"channelTags.{i}.groups: refers to groups but electrodeGroups is absent")
        elif n_groups is not None:
            bad = [g for g in refs if isinstance(g, int) and g >= n_groups]
            if bad:
                problems.append(
                    f"channelTags.{i}.groups: {bad} not within the {n_groups} electrodeGroups"
                )
    return problems


def _listed(value: Any) -> list[Any]:
    """``value`` if it is a list, else no items: the schema check says what is wrong with
    any other JSON value (``"channelTags": true``); the cross-field rules look at lists."""
    return value if isinstance(value, list) else []


def _file_name_problems(name: Any) -> list[str]:
    """A ``fileName`` must be a path below the session folder (what the schema cannot say).

    Its path (before ``#part``) is relative and ``/``-separated with no empty, ``.`` or
    ``..`` step: an absolute path or one that climbs out names no file of the session.
    A backslash or a control character is allowed: both are legal in a POSIX file name.
    """
    if not isinstance(name, str) or not name:
        return []
    path = name.split("#", 1)[0]
    if "/" not in path and path not in ("", ".", ".."):
        return []  # a name in the session folder itself (most files): one good step
    steps = path.split("/")
    if path.startswith("/"):
        return [f"fileName: {name!r} is an absolute path; name the file by its path "
                "relative to the session folder"]
    if any(step in ("", ".", "..") for step in steps):
        return [f"fileName: {name!r} has an empty, '.' or '..' step; name the file by its "
                "/-separated path below the session folder"]
    return []


def _non_finite(value: Any, path: str) -> list[tuple[str, float]]:
    """(path, number) of every NaN or infinity inside ``value``, paths as schemacheck's."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return []  # most of a record: no ABC check for them
    if isinstance(value, float) and not math.isfinite(value):
        return [(path or "(object)", value)]
    found: list[tuple[str, float]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            t = type(item)
            if t is str or t is int or t is bool or item is None:
                continue  # a leaf without a number: no call, no path built (most of a record)
            found += _non_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found += _non_finite(item, f"{path}.{i}" if path else str(i))
    return found


def finite(data: Any) -> Any:
    """``data`` with NaN and infinities as None, for strict JSON (``--json``, reports)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite(v) for v in data]
    return data


def plain(value: Any) -> Any:
    """A deep copy in plain JSON types (tuples become lists, mappings dicts)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
