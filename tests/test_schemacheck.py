"""Our small schema checker gives jsonschema's verdict on every shipped schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bsingest import schemacheck
from bsingest.records import RECORD_TYPES, schema_for

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5),
                    st.floats(-2, 2, allow_nan=False), st.sampled_from(["", "a", "int16"]))
channels = st.lists(st.one_of(st.integers(-1, 9), scalars), max_size=3)
group = st.dictionaries(st.sampled_from(["channels", "label", "tag", "groups", "x"]),
                        st.one_of(channels, scalars), max_size=3)
KEYS = ["fileName", "format", "type", "nChannels", "sr", "nSamples", "lsb", "stream",
        "electrodeGroups", "channelTags", "compression", "frameRate", "nFrames",
        "verticalResolution", "horizontalResolution", "bogus"]
documents = st.dictionaries(st.sampled_from(KEYS),
                            st.one_of(scalars, st.lists(group, max_size=2)), max_size=6)


def _paths(errors: Any) -> set[str]:
    return {".".join(map(str, e.absolute_path)) or "(object)" for e in errors}


@pytest.mark.parametrize("rtype", RECORD_TYPES)
@settings(max_examples=300, deadline=None)
@given(doc=documents)
def test_same_verdict_and_same_places_as_jsonschema(rtype: str, doc: dict[str, Any]) -> None:
    schema = schema_for(rtype)
    reference = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    ours = schemacheck.check(schema, doc)
    assert bool(ours) == bool(reference)
    assert {p.split(":")[0] for p in ours} == _paths(reference)


def test_unknown_keywords_are_detected() -> None:
    assert schemacheck.unsupported_keywords({"type": "object", "properties": {
        "a": {"type": "string", "pattern": "x"}}}) == {"pattern"}


GROUPS: list[Any] = [
    [{"channels": list(range(384)), "label": "shank 0"}],  # a probe: the quick way
    [{"channels": [0, 1]}, {"channels": [2, -1]}], [{"channels": [-1]}],
    [{"channels": [0, True]}], [{"channels": [1.0, 2]}], [{"channels": [2.5]}],
    [{"channels": [float("nan")]}], [{"channels": []}], [{"channels": ["a"]}],
    [{"channels": [None]}], [{"channels": [0], "label": 3}], [{"channels": [0], "x": 1}],
    [{"label": "no channels"}], [[0, 1]], [], [{"channels": [0], "tag": "bad"}],
]
TAGS: list[Any] = [
    [{"tag": "bad", "channels": [3], "groups": [0]}], [{"tag": "", "channels": [3]}],
    [{"tag": "bad", "groups": [-2]}], [{"tag": "bad", "groups": [0.5]}], [{"channels": [1]}],
]


@pytest.mark.parametrize("rtype", [t for t in RECORD_TYPES
                                   if "electrodeGroups" in schema_for(t)["properties"]])
def test_electrode_groups_and_channel_tags_as_jsonschema_judges_them(rtype: str) -> None:
    # The quick tests of lists (schemacheck._array_passes) must say no wherever
    # jsonschema finds a problem, so that check() walks there and names it.
    schema = schema_for(rtype)
    validator = jsonschema.Draft202012Validator(schema)
    docs = [{"electrodeGroups": g} for g in GROUPS]
    if "channelTags" in schema["properties"]:
        docs += [{"channelTags": t} for t in TAGS]
    for doc in docs:
        reference = list(validator.iter_errors(doc))
        ours = schemacheck.check(schema, doc)
        assert {p.split(":")[0] for p in ours} == _paths(reference), doc
        assert bool(ours) == bool(reference), doc
