"""Records: the POST body, and validation that lists every problem."""

from __future__ import annotations

import json
import math
import uuid

import pytest

from bsingest.details import check_details
from bsingest.errors import RecordInvalid
from bsingest.records import RECORD_TYPES, ExperimentData, check_record, schema_for, validate
from tests.test_details import FILE_NAMES

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


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(bad: float) -> None:
    # JSON has no NaN: a record carrying one cannot be sent, and the schema's bounds let it by.
    body = record(type_json={"fileName": "rec.dat", "sr": bad, "nChannels": 2,
                             "electrodeGroups": [{"channels": [0], "label": bad}]}).to_json()
    assert check_record(body) == [f"type_json.sr: {bad!r} is not a finite number",
                                  f"type_json.electrodeGroups.0.label: {bad!r} is not a "
                                  "finite number"]
    with pytest.raises(RecordInvalid, match=r"^rec\.dat: type_json\.sr: .* not a finite number"):
        validate(record(type_json={"fileName": "rec.dat", "sr": bad}))


@pytest.mark.parametrize(("name", "ok"), FILE_NAMES)
def test_file_name_is_a_path_below_the_session(name: str, ok: bool) -> None:
    problems = check_record(record(type_json={"fileName": name}).to_json())
    assert (problems == []) == ok, problems
    assert all(p.startswith("type_json.fileName: ") for p in problems)
    # The current generation's details say the same, in the same words.
    assert [f"type_json.{p}" for p in check_details("ExtracellularEphys",
                                                    {"fileName": name})] == problems
