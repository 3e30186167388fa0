"""Records: the POST body, and validation that lists every problem."""

from __future__ import annotations

import json
import uuid

import pytest

from bsingest.errors import RecordInvalid
from bsingest.records import RECORD_TYPES, ExperimentData, check_record, schema_for, validate

DS, ACT, DEV = (str(uuid.uuid4()) for _ in range(3))


def record(**changes: object) -> ExperimentData:
    base = dict(type="Extracellular", dataset=DS, actions=(ACT,), hardware_device=DEV,
                description="probe 1", type_json={"fileName": "rec.dat", "nChannels": 4,
                                                   "sr": 20000, "nSamples": 10})
    base.update(changes)
    return ExperimentData(**base)  # type: ignore[arg-type]


def test_to_json_is_exactly_the_contract_post_body() -> None:
    body = record().to_json()
    assert body == {"type": "Extracellular", "dataset": DS, "actions": [ACT],
                    "hardware_device": DEV, "description": "probe 1",
                    "type_json": {"fileName": "rec.dat", "nChannels": 4, "sr": 20000,
                                  "nSamples": 10}}
    assert json.loads(json.dumps(body)) == body


def test_record_is_frozen() -> None:
    with pytest.raises(AttributeError):
        record().type = "Audio"  # type: ignore[misc]


def test_valid_record_passes() -> None:
    validate(record())


@pytest.mark.parametrize("rtype", RECORD_TYPES)
def test_every_type_has_a_shipped_schema(rtype: str) -> None:
    schema = schema_for(rtype)
    assert schema["type"] == "object" and "fileName" in schema["properties"]


def test_validation_lists_every_problem_at_once() -> None:
    bad = record(
        type="Extracellular", dataset="not-a-uuid", actions=("nope",), hardware_device="x",
        description="d" * 501,
        type_json={"fileName": "rec.dat", "nChannels": 4, "sr": 0, "nSamples": -1,
                   "electrodeGroups": [{"channels": [0, 4], "label": "shank1"}],
                   "channelTags": [{"tag": "bad", "channels": [7], "groups": [1]}]},
    )
    with pytest.raises(RecordInvalid) as info:
        validate(bad)
    text = "\n".join(info.value.problems)
    for expected in ("dataset: 'not-a-uuid' is not a UUID", "actions: 'nope' is not a UUID",
                     "hardware_device: 'x' is not a UUID", "description: 501 characters",
                     "type_json.sr", "type_json.nSamples",
                     "electrodeGroups.0.channels: [4] not below nChannels=4",
                     "channelTags.0.channels: [7] not below nChannels=4",
                     "channelTags.0.groups: [1] not within the 1 electrodeGroups"):
        assert expected in text
    assert len(info.value.problems) == 9


def test_type_enum_and_required_fields() -> None:
    problems = check_record({"type": "Video", "type_json": {}})
    assert "type: 'Video' is not one of " + ", ".join(RECORD_TYPES) in problems
    assert "dataset: this field is required" in problems
    assert "actions: this field is required" in problems


def test_counts_must_be_whole_numbers() -> None:
    problems = check_record(record(type_json={"fileName": "a.dat", "nChannels": 2.5}).to_json())
    assert any("nChannels" in p for p in problems)


def test_partial_body_for_patch_needs_no_required_fields() -> None:
    assert check_record({"description": "new"}, partial=True) == []
