"""BrainSTEM Experiment Data records and their validation.

A record is what bsingest POSTs to ``{server}/rest/{portal}/modules/experimentdata/``
(see the contract, ``brainstem-api.md``). The shape of ``type_json`` per type is a JSON
Schema shipped in ``bsingest/schemas/``; the rules a schema cannot say (channel indices
below ``nChannels``, group indices inside ``electrodeGroups``) are checked here. The
local server validates with the very same functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from . import schemacheck
from .errors import RecordInvalid

__all__ = [
    "DESCRIPTION_LIMIT",
    "RECORD_TYPES",
    "TIME_SERIES_TYPES",
    "ExperimentData",
    "check_record",
    "check_type_json",
    "schema_for",
    "validate",
]

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

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


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



def validate(record: ExperimentData | Mapping[str, Any]) -> None:
    """Raise :class:`RecordInvalid` listing every problem of ``record``; return if none."""
    body = record.to_json() if isinstance(record, ExperimentData) else record
    problems = check_record(body)
    if problems:
        name = (body.get("type_json") or {}).get("fileName") if isinstance(body, Mapping) else None
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
    unknown = set(body) - {"id", "type", "dataset", "actions", "hardware_device",
                           "description", "type_json"}
    problems += [f"{k}: not a field of Experiment Data" for k in sorted(unknown)]
    return problems


def check_type_json(record_type: str, type_json: Any) -> list[str]:
    """Every problem of ``type_json`` for ``record_type``: schema first, then cross-field rules."""
    if not isinstance(type_json, Mapping):
        return ["expected a JSON object"]
    problems = schemacheck.check(_schema(record_type), type_json)
    problems += _cross_field_problems(type_json)
    return problems


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


def _cross_field_problems(tj: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    n_channels = tj.get("nChannels")
    groups = tj.get("electrodeGroups")
    n_groups = len(groups) if isinstance(groups, list) else None

    def channels_of(item: Any) -> Sequence[Any]:
        chans = item.get("channels") if isinstance(item, Mapping) else None
        return chans if isinstance(chans, list) else []

    if isinstance(n_channels, int) and not isinstance(n_channels, bool):
        for key in ("electrodeGroups", "channelTags"):
            for i, item in enumerate(tj.get(key) or []):
                bad = [c for c in channels_of(item) if isinstance(c, int) and c >= n_channels]
                if bad:
                    problems.append(
                        f"{key}.{i}.channels: {bad} not below nChannels={n_channels}"
                    )
    for i, tag in enumerate(tj.get("channelTags") or []):
        if not isinstance(tag, Mapping):
            continue
        refs = tag.get("groups") or []
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


def _is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def _plain(value: Any) -> Any:
    """A deep copy in plain JSON types (tuples become lists, mappings dicts)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
