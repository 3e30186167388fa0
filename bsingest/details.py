"""The current generation's ``details``: schemas 1.1.0 and the mapping to and from ``type_json``.

A record says the same thing in both API generations (``brainstem-api-2026.md``); only the
wire form differs. This module is the one place that maps the type-specific part:

- type names: ``Extracellular`` <-> ``ExtracellularEphys``, ``Intracellular`` <->
  ``IntracellularEphys``, the others keep theirs; ``VideoTracking`` (current only) reads
  back as ``BehavioralTracking``;
- values: ``type_json`` holds bare numbers (``sr``/``frameRate`` in Hz, ``lsb`` in µV/bit);
  ``details`` in schema 1.1.0 holds ``{"value": x, "unit": "Hz"}`` and ``{"value": x,
  "unit": "µV"}`` (µ is U+00B5), and only the keys of its type's schema;
- Audio: ``type_json`` names the sample type (``int16``, ``float32``, ``mulaw``, ...); the
  1.1.0 schema has no such key but ``codec`` and ``bitDepth``, which carry it exactly
  (``int16`` <-> ``pcm_s16``/16, ``uint8`` <-> ``pcm_u8``/8, a FLAC file's samples
  <-> ``flac``/N).

Schemas ship in ``bsingest/schemas/1.1.0/<Type>.json`` and are checked by our own
:mod:`bsingest.schemacheck` through :func:`bsingest.records.content_problems`, the
function that checks a 2023 ``type_json`` (the same rules, not a copy: finite numbers,
cross-field indices, a ``fileName`` below the session folder). Records written under schema
``0.0.0`` carry bare numbers where 1.1.0 carries units; :func:`check_details` checks
either version, :func:`from_details` reads either form whatever the version says (the
contract asks readers to accept both).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .errors import RecordInvalid
from .records import DESCRIPTION_LIMIT, type_json_keys
from .recordtypes import (
    FROM_LEGACY,
    RECORD_TYPES,
    content_problems,
    is_uuid,
    lookup,
    plain,
    shared_bare_schema,
    shared_schema,
)
from .recordtypes import UNITS as _TABLE_UNITS

__all__ = [
    "ACQUISITION_FIELDS",
    "LEGACY_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "SCHEMA_VERSIONS",
    "TYPES_2026",
    "TYPE_2023",
    "TYPE_2026",
    "UNITS",
    "check_acquisition",
    "check_details",
    "details_schema",
    "from_details",
    "to_details",
]

#: The ``details`` schema version bsingest writes.
SCHEMA_VERSION = "1.1.0"
#: The older version, whose records carry bare numbers (Hz, µV/bit) as in 2023.
LEGACY_SCHEMA_VERSION = "0.0.0"
SCHEMA_VERSIONS: tuple[str, ...] = (SCHEMA_VERSION, LEGACY_SCHEMA_VERSION)

#: 2023 type -> current type (from the record-type table).
TYPE_2026: dict[str, str] = dict(FROM_LEGACY)
#: Current type -> 2023 type, for every current type the 2023 API has a name for.
TYPE_2023: dict[str, str] = {t.name: t.legacy for t in RECORD_TYPES.values()
                             if t.legacy is not None}
#: Every current type (the table's 23).
TYPES_2026: tuple[str, ...] = tuple(sorted(RECORD_TYPES))

#: The fields of a Data Acquisition as the server answers them; ``id`` and ``image`` are
#: read-only (ignored in a body, as Django REST ignores read-only fields).
ACQUISITION_FIELDS: tuple[str, ...] = (
    "id", "type", "notes", "session", "procedures", "equipment", "type_schema_version",
    "details", "image", "order")

#: Field -> (its bare unit in ``type_json``, unit -> power of ten relative to that unit).
UNITS = _TABLE_UNITS
# Spellings of µ a reader meets besides U+00B5 (what the schema's enum holds).
_LENIENT_UNITS = {"uV": "µV", "\u03bcV": "µV"}

# Audio: 2023 sample type <-> (codec, bitDepth).
_AUDIO_CODECS = {"uint8": "pcm_u8", "alaw": "pcm_alaw", "mulaw": "pcm_mulaw"}
_AUDIO_SAMPLE_TYPES = {codec: stype for stype, codec in _AUDIO_CODECS.items()}


def to_details(record_type: str, type_json: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The current type name and the schema 1.1.0 ``details`` of a record.

    Parameters
    ----------
    record_type
        A type in either generation's name (``Extracellular``, ``ExtracellularEphys``,
        ``TwoPhotonMicroscopy``, ...).
    type_json
        Its ``type_json``: bare numbers in the units of
        :data:`bsingest.recordtypes.UNITS` (rates in Hz, ``lsb`` in µV/bit, ...).

    Returns
    -------
    (type, details)
        Rates become ``{"value": x, "unit": "Hz"}``, ``lsb`` ``{"value": x, "unit": "µV"}``;
        keys the type's 1.1.0 schema lacks are left out (an Audio ``lsb``), and an Audio
        sample type becomes ``codec`` and ``bitDepth``. Values are not checked here
        (:func:`check_details` does).

    Raises
    ------
    RecordInvalid
        ``record_type`` names no type.
    """
    found = lookup(record_type)
    if found is None:
        raise RecordInvalid([f"type: {record_type!r} is not one of {', '.join(TYPES_2026)}"])
    type_2026 = found.name
    keys = _schema(type_2026, SCHEMA_VERSION)["properties"]
    details: dict[str, Any] = {}
    for key, value in type_json.items():
        if key not in keys:
            continue
        if key in UNITS and _is_number(value):
            details[key] = {"value": value, "unit": UNITS[key][0]}
        else:
            details[key] = plain(value)
    if type_2026 == "Audio":
        codec = _audio_codec(type_json.get("type"), type_json.get("format"))
        if codec is not None:
            details["codec"], details["bitDepth"] = codec
    return type_2026, details


def from_details(type_2026: str, details: Mapping[str, Any],
                 version: str | None) -> tuple[str, dict[str, Any]]:
    """The 2023 type and ``type_json`` (bare numbers in Hz and µV/bit) of a current record.

    Reads ``{"value", "unit"}`` in any of the schema's units (and ``uV`` or U+03BC µ for
    U+00B5) and bare numbers (schema 0.0.0, or no version), whatever ``version`` says.
    Conversions are exact in decimal: 30 kHz is 30000, 0.000195 mV is 0.195 µV. Keys the
    2023 schema of the type lacks are left out (``compression`` of an Audio record, the
    electrode groups of a GeneralTimeSeries).

    Raises
    ------
    RecordInvalid
        An unknown type, or a rate or lsb that is not a positive finite number with a
        known unit.
    """
    if type_2026 not in RECORD_TYPES:
        raise RecordInvalid([f"type: {type_2026!r} is not one of {', '.join(TYPES_2026)}"])
    if not isinstance(details, Mapping):
        raise RecordInvalid(["details: expected a JSON object"])
    # A type the 2023 API has reads back as its 2023 self; any other keeps its current
    # name and the keys of its own schema.
    type_2023 = TYPE_2023.get(type_2026, type_2026)
    keys = (type_json_keys(type_2023) if type_2026 in TYPE_2023
            else _schema(type_2026, SCHEMA_VERSION)["properties"])
    type_json: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in details.items():
        if key not in keys:
            continue
        if key in UNITS:
            try:
                type_json[key] = _bare(key, value)
            except ValueError as exc:
                problems.append(f"details.{key}: {exc}")
        else:
            type_json[key] = plain(value)
    if type_2026 == "Audio":
        stype = _audio_sample_type(details.get("codec"), details.get("bitDepth"))
        if stype is not None:
            type_json["type"] = stype
    if problems:
        raise RecordInvalid(problems, subject=str(details.get("fileName") or "record"))
    return type_2023, type_json


def check_details(type_2026: str, details: Any, *, version: str = SCHEMA_VERSION) -> list[str]:
    """Every problem of ``details`` for ``type_2026`` in schema ``version``, as ``path: message``.

    The rules of a 2023 ``type_json`` (:func:`bsingest.records.content_problems`) with the
    type's schema in that version (``additionalProperties`` false: any other key is a
    problem): numbers that are not finite, the schema, channel and group indices, a
    ``fileName`` below the session folder. ``version`` is ``1.1.0`` (units) or ``0.0.0``
    (bare numbers).
    """
    if type_2026 not in RECORD_TYPES:
        return [f"type: {type_2026!r} is not one of {', '.join(TYPES_2026)}"]
    if version not in SCHEMA_VERSIONS:
        return [f"type_schema_version: {version!r} is not one of {', '.join(SCHEMA_VERSIONS)}"]
    if not isinstance(details, Mapping):
        return ["expected a JSON object"]
    return [_hint(p, details) for p in content_problems(_schema(type_2026, version), details)]



def _hint(problem: str, details: Mapping[str, Any]) -> str:
    """A unit refused for its spelling of µ says so: 'μV' and 'µV' look alike."""
    where = problem.partition(": ")[0]
    key, _, rest = where.partition(".")
    value = details.get(key)
    if rest == "unit" and isinstance(value, Mapping) and value.get("unit") in _LENIENT_UNITS:
        return f"{problem} (write µ as U+00B5 MICRO SIGN: {_LENIENT_UNITS[value['unit']]!r})"
    return problem


def check_acquisition(body: Mapping[str, Any], *, partial: bool = False) -> list[str]:
    """Every problem of a Data Acquisition POST (``partial``: PATCH) body, as ``field: message``.

    The rules of ``brainstem-api-2026.md``: ``type`` and ``session`` required; ``session``,
    ``procedures`` and ``equipment`` UUIDs; ``notes`` at most 500 characters or null;
    ``type_schema_version`` one this module knows (missing: 1.1.0); ``details`` by its
    type's schema in that version (``details.<key>: message``); ``order`` a whole number
    >= 0 or null; no other field. Whether the referenced objects exist and may be changed
    is for the server to say.
    """
    problems: list[str] = []
    if not partial:
        problems += [f"{key}: this field is required" for key in ("type", "session")
                     if body.get(key) in (None, "")]
    rtype = body.get("type")
    if rtype is not None and rtype not in RECORD_TYPES:
        problems.append(f"type: {rtype!r} is not one of {', '.join(TYPES_2026)}")
    if body.get("session") is not None and not is_uuid(body["session"]):
        problems.append(f"session: {body['session']!r} is not a UUID")
    for key in ("procedures", "equipment"):
        refs = body.get(key)
        if key in body and not isinstance(refs, list | tuple):
            problems.append(f"{key}: expected a list of UUIDs")
        elif isinstance(refs, list | tuple):
            problems += [f"{key}: {r!r} is not a UUID" for r in refs if not is_uuid(r)]
    notes = body.get("notes")
    if notes is not None:
        if not isinstance(notes, str):
            problems.append("notes: expected a string")
        elif len(notes) > DESCRIPTION_LIMIT:
            problems.append(f"notes: {len(notes)} characters, at most {DESCRIPTION_LIMIT}")
    version = body.get("type_schema_version", SCHEMA_VERSION)
    if version not in SCHEMA_VERSIONS:
        problems.append(f"type_schema_version: {version!r} is not one of "
                        f"{', '.join(SCHEMA_VERSIONS)}")
    order = body.get("order")
    if order is not None and not (isinstance(order, int) and not isinstance(order, bool)
                                  and order >= 0):
        problems.append(f"order: {order!r} is not a whole number >= 0")
    if "details" in body and rtype in RECORD_TYPES and version in SCHEMA_VERSIONS:
        problems += [f"details.{p}" for p in check_details(rtype, body["details"],
                                                           version=version)]
    unknown = set(body) - set(ACQUISITION_FIELDS)
    problems += [f"{k}: not a field of Data Acquisition" for k in sorted(unknown)]
    return problems


def details_schema(type_2026: str, version: str = SCHEMA_VERSION) -> dict[str, Any]:
    """The JSON Schema of ``details`` for a current type in one version (a copy)."""
    return json.loads(json.dumps(_schema(type_2026, version)))


def _schema(type_2026: str, version: str) -> dict[str, Any]:
    """The cached schema (not a copy: read it, never change it)."""
    if type_2026 not in RECORD_TYPES or version not in SCHEMA_VERSIONS:
        raise KeyError((type_2026, version))
    # 0.0.0 is 1.1.0 with bare numbers in the unit fields, in the table's units.
    return (shared_bare_schema(type_2026) if version == LEGACY_SCHEMA_VERSION
            else shared_schema(type_2026))


def _bare(key: str, value: Any) -> int | float:
    """A rate or lsb, in either form, as a bare number in its 2023 unit."""
    base, powers = UNITS[key]
    number: Any
    if isinstance(value, Mapping):
        unit = value.get("unit")
        unit = _LENIENT_UNITS.get(unit, unit) if isinstance(unit, str) else unit
        if unit not in powers:
            raise ValueError(f"unit {value.get('unit')!r} is not one of {', '.join(powers)}")
        number = value.get("value")
    else:
        unit, number = base, value
    if not _is_number(number) or not math.isfinite(number) or number <= 0:
        raise ValueError(f"{number!r} is not a positive finite number")
    if powers[unit] == 0:
        return number
    # Scaled in decimal, so 30 kHz is 30000 and 0.000195 mV is 0.195, not 0.19499999...
    scaled = Decimal(repr(number)).scaleb(powers[unit])
    return int(scaled) if scaled == scaled.to_integral_value() else float(scaled)


def _audio_codec(stype: Any, fmt: Any) -> tuple[str, int] | None:
    """(codec, bitDepth) of an Audio sample type; None when it names no known encoding."""
    if not isinstance(stype, str):
        return None
    if stype in _AUDIO_CODECS:
        return _AUDIO_CODECS[stype], 8
    kind, bits = stype.rstrip("0123456789"), stype[len(stype.rstrip("0123456789")):]
    if kind not in ("int", "float") or not bits:
        return None
    if isinstance(fmt, str) and fmt.upper() == "FLAC" and kind == "int":
        return "flac", int(bits)
    return ("pcm_f" if kind == "float" else "pcm_s") + bits, int(bits)


def _audio_sample_type(codec: Any, bit_depth: Any) -> str | None:
    """The 2023 sample type an Audio ``codec``/``bitDepth`` pair states, or None."""
    if not isinstance(codec, str):
        return None
    if codec in _AUDIO_SAMPLE_TYPES:
        return _AUDIO_SAMPLE_TYPES[codec]
    if codec == "flac" and isinstance(bit_depth, int) and not isinstance(bit_depth, bool):
        return f"int{bit_depth}"
    for prefix, kind in (("pcm_s", "int"), ("pcm_f", "float")):
        if codec.startswith(prefix) and codec[len(prefix):].isdigit():
            return f"{kind}{codec[len(prefix):]}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
