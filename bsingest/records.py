"""BrainSTEM records in both API generations, and their validation.

A record says one thing (a type, its ``type_json`` as extractors write it, and what it
links to) and has two wire forms, one per API generation:

- 2023, Experiment Data (``brainstem-api.md``): POSTed to
  ``{server}/rest/{portal}/modules/experimentdata/`` as :class:`ExperimentData`;
- the current generation, Data Acquisition (``brainstem-api-2026.md``): POSTed to
  ``{server}/api/{portal}/modules/dataacquisition/`` as :class:`DataAcquisition`, with the
  current type names and ``details`` by schema 1.1.0 (rates with units), mapped by
  :mod:`bsingest.details`.

This module is the one edge where a record takes either form: :func:`wire_for` gives the
per-generation :class:`Wire` (model path, the body to send, the key that tells records
apart, the content compared with what a server holds, the fields of a PATCH, the listing
of a container's records). Everything else in bsingest speaks of records through it.

The shape of ``type_json`` per type is a JSON Schema shipped in ``bsingest/schemas/``;
the rules a schema cannot say (channel indices below ``nChannels``, group indices inside
``electrodeGroups``) are checked here. The local server validates with the very same
functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from . import schemacheck
from .errors import RecordInvalid

# The content rule, the UUID rule and plain JSON live in the leaf below records and details.
from .recordtypes import RECORD_TYPES as TYPES
from .recordtypes import (
    content_problems,
    finite,
    lookup,
    quick_content,
    shared_bare_schema,
    type_names,
)
from .recordtypes import is_uuid as _is_uuid
from .recordtypes import plain as _plain

__all__ = [
    "APIS",
    "API_2023",
    "API_2026",
    "DESCRIPTION_LIMIT",
    "EXPERIMENT_DATA_FIELDS",
    "RECORD_TYPES",
    "TIME_SERIES_TYPES",
    "DataAcquisition",
    "ExperimentData",
    "Links",
    "check_record",
    "check_type_json",
    "content_problems",
    "finite",
    "legacy_key",
    "schema_for",
    "type_json_keys",
    "validate",
]

#: The API generations: 2023 (Experiment Data) and the current one (Data Acquisition); the
#: one list of them (``settings.API_GENERATIONS`` and the local server take it from here).
API_2023, API_2026 = "2023", "2026"
APIS: tuple[str, ...] = (API_2023, API_2026)
#: The fields of an Experiment Data record as the server answers them (``id`` read-only).
EXPERIMENT_DATA_FIELDS: tuple[str, ...] = (
    "id", "type", "dataset", "actions", "hardware_device", "description", "type_json")

#: The contract's type enum.
RECORD_TYPES: tuple[str, ...] = (
    "Audio",
    "BehavioralTracking",
    "Electroneurogram",
    "Extracellular",
    "GeneralTimeSeries",
    "Intracellular",
)
#: Types that share the time-series keys; a user may restate one as another.
TIME_SERIES_TYPES: frozenset[str] = frozenset(
    {"Electroneurogram", "Extracellular", "GeneralTimeSeries", "Intracellular"}
)
DESCRIPTION_LIMIT = 500



@dataclass(frozen=True, slots=True)
class ExperimentData:
    """One Experiment Data record, as the contract's POST body describes it."""

    type: str
    dataset: str
    actions: tuple[str, ...]
    type_json: Mapping[str, Any]
    hardware_device: str | None = None
    description: str | None = None
    id: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The POST body: exactly the contract's writable fields."""
        return {
            "type": self.type,
            "dataset": self.dataset,
            "actions": list(self.actions),
            "hardware_device": self.hardware_device,
            "description": self.description,
            "type_json": _plain(self.type_json),
        }



@dataclass(frozen=True, slots=True)
class DataAcquisition:
    """One Data Acquisition record (the current generation), as its POST body describes it."""

    type: str
    session: str
    procedures: tuple[str, ...]
    details: Mapping[str, Any]
    equipment: tuple[str, ...] = ()
    notes: str | None = None
    type_schema_version: str = "1.1.0"
    id: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The POST body: a bare record, exactly the writable fields we set."""
        return {
            "type": self.type,
            "session": self.session,
            "procedures": list(self.procedures),
            "equipment": list(self.equipment),
            "notes": self.notes,
            "type_schema_version": self.type_schema_version,
            "details": _plain(self.details),
        }


@dataclass(frozen=True, slots=True)
class Links:
    """What a session's records link to, whichever generation's names the user gave.

    ``container`` is the dataset (2023) or the session (current); ``procedures`` the
    actions or procedures; ``equipment`` the hardware device (2023: at most one) or the
    equipment; ``notes`` the description or notes.
    """

    container: str
    procedures: tuple[str, ...] = ()
    equipment: tuple[str, ...] = ()
    notes: str | None = None


def legacy_key(record_type: str, name: str, stream: str | None) -> str:
    """The key bsingest 0.1 gave a record: ``type|bare file name[|stream]``.

    Such records named their file by its bare name and told the records of one file
    apart by ``type_json.stream`` (see :attr:`extractors.base.Extraction.legacy_key`).
    """
    return f"{record_type}|{name}|{stream}" if stream else f"{record_type}|{name}"


def validate(record: ExperimentData | Mapping[str, Any]) -> None:
    """Raise :class:`RecordInvalid` listing every problem of ``record``; return if none."""
    body = record.to_json() if isinstance(record, ExperimentData) else record
    if not isinstance(body, Mapping):  # validate(5), validate([...]): not an AttributeError
        raise RecordInvalid([f"expected a record (a JSON object), not {type(body).__name__}"])
    problems = check_record(body)
    if problems:
        tj = body.get("type_json")  # type_json = 5 is a problem listed, not an AttributeError
        name = tj.get("fileName") if isinstance(tj, Mapping) else None
        raise RecordInvalid(problems, subject=str(name or "record"))


def check_record(body: Mapping[str, Any], *, partial: bool = False) -> list[str]:
    """Every problem of a POST (or, with ``partial``, a PATCH) body, as ``field: message``."""
    problems: list[str] = []
    required = () if partial else ("type", "dataset", "actions")
    for key in required:
        if body.get(key) in (None, ""):
            problems.append(f"{key}: this field is required")
    rtype = body.get("type")
    if "type" in body and rtype is not None and rtype not in RECORD_TYPES:
        problems.append(f"type: {rtype!r} is not one of {', '.join(RECORD_TYPES)}")
    if body.get("dataset") is not None and not _is_uuid(body["dataset"]):
        problems.append(f"dataset: {body['dataset']!r} is not a UUID")
    if "actions" in body and body["actions"] is not None:
        actions = body["actions"]
        if not isinstance(actions, list | tuple):
            problems.append("actions: expected a list of UUIDs")
        else:
            problems += [f"actions: {a!r} is not a UUID" for a in actions if not _is_uuid(a)]
    device = body.get("hardware_device")
    if device is not None and not _is_uuid(device):
        problems.append(f"hardware_device: {device!r} is not a UUID")
    description = body.get("description")
    if description is not None:
        if not isinstance(description, str):
            problems.append("description: expected a string")
        elif len(description) > DESCRIPTION_LIMIT:
            problems.append(
                f"description: {len(description)} characters, at most {DESCRIPTION_LIMIT}"
            )
    if "type_json" in body and rtype in RECORD_TYPES:
        problems += [f"type_json.{p}" for p in check_type_json(rtype, body["type_json"])]
    unknown = set(body) - set(EXPERIMENT_DATA_FIELDS)
    problems += [f"{k}: not a field of Experiment Data" for k in sorted(unknown)]
    return problems


def check_type_json(record_type: str, type_json: Any) -> list[str]:
    """Every problem of ``type_json`` for ``record_type``: schema first, then cross-field rules.

    A 2023 name is checked by its 2023 schema; a current type's name by its 1.1.0 schema
    with bare numbers in the table's units (:func:`bsingest.recordtypes.bare_schema`).
    """
    if not isinstance(type_json, Mapping):
        return ["expected a JSON object"]
    if record_type in RECORD_TYPES:
        return content_problems(_schema(record_type), type_json)
    if record_type in TYPES:
        return content_problems(shared_bare_schema(record_type), type_json)
    return [f"type: {record_type!r} is not a record type (one of {', '.join(type_names())})"]


@cache
def type_json_passes(record_type: str) -> Callable[[Any], bool] | None:
    """A test, made once per type, that is True only for a ``type_json`` in which
    :func:`check_type_json` finds no problem (False: ask it, it says what); None for a
    type without one. Most records of a run are flat dicts of strings and numbers: this
    asks of them what the type's schema asks, without the walk."""
    if record_type in RECORD_TYPES:
        return quick_content(_schema(record_type))
    if record_type in TYPES:
        return quick_content(shared_bare_schema(record_type))
    return None


def type_json_keys(record_type: str) -> tuple[str, ...]:
    """The keys :func:`check_type_json` allows in ``type_json`` of a type (either name)."""
    if record_type in RECORD_TYPES:
        return tuple(_schema(record_type)["properties"])
    found = lookup(record_type)
    return found.fields if found is not None else ()


def schema_for(record_type: str) -> dict[str, Any]:
    """The JSON Schema of ``type_json`` for one record type (a copy)."""
    return json.loads(json.dumps(_schema(record_type)))


@cache
def _schema(record_type: str) -> dict[str, Any]:
    if record_type not in RECORD_TYPES:
        raise KeyError(record_type)
    text = resources.files("bsingest.schemas").joinpath(f"{record_type}.json").read_text("utf-8")
    schema = json.loads(text)
    unknown = schemacheck.unsupported_keywords(schema)
    if unknown:  # a schema edit that our checker cannot honour must not pass silently
        raise RuntimeError(f"schema {record_type}.json uses unsupported keywords {sorted(unknown)}")
    return schema
