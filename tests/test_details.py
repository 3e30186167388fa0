"""The current generation's ``details`` (schema 1.1.0) and its mapping to 2023 ``type_json``.

Expected values are written out by hand from the contract (``brainstem-api-2026.md``);
jsonschema, a second reader, gives its verdict on the shipped schemas beside ours.
"""

from __future__ import annotations

import contextlib
import json
import math
from importlib import resources
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bsingest import details as d
from bsingest import schemacheck
from bsingest.errors import RecordInvalid
from bsingest.records import check_type_json

EPHYS_2023 = {"fileName": "probe_1/npx.imec.ap.bin", "format": "SpikeGLX", "type": "int16",
              "nChannels": 4, "sr": 30000, "nSamples": 3000, "lsb": 2.34375,
              "electrodeGroups": [{"channels": [0, 1, 2, 3], "label": "shank1"}],
              "channelTags": [{"tag": "bad", "channels": [2], "groups": [0]}]}
EPHYS_2026 = {"fileName": "probe_1/npx.imec.ap.bin", "format": "SpikeGLX", "type": "int16",
              "nChannels": 4, "sr": {"value": 30000, "unit": "Hz"}, "nSamples": 3000,
              "lsb": {"value": 2.34375, "unit": "µV"},
              "electrodeGroups": [{"channels": [0, 1, 2, 3], "label": "shank1"}],
              "channelTags": [{"tag": "bad", "channels": [2], "groups": [0]}]}
VIDEO_2023 = {"fileName": "tracking.mp4", "format": "MP4", "compression": "H.264",
              "frameRate": 59.94, "nFrames": 600, "verticalResolution": 1080,
              "horizontalResolution": 1920}
AUDIO_2023 = {"fileName": "usv.wav", "format": "WAV", "type": "int16", "nChannels": 1,
              "sr": 250000, "nSamples": 2500000}


def test_type_names_both_ways() -> None:
    assert d.TYPE_2026["Extracellular"] == "ExtracellularEphys"
    assert d.TYPE_2026["Intracellular"] == "IntracellularEphys"
    for same in ("Audio", "BehavioralTracking", "GeneralTimeSeries", "Electroneurogram"):
        assert d.TYPE_2026[same] == same
    assert d.TYPE_2023["VideoTracking"] == "BehavioralTracking"
    assert all(d.TYPE_2023[new] == old for old, new in d.TYPE_2026.items())
    assert d.SCHEMA_VERSION == "1.1.0"


def test_to_details_carries_units_and_only_the_schema_keys() -> None:
    assert d.to_details("Extracellular", EPHYS_2023) == ("ExtracellularEphys", EPHYS_2026)
    rtype, video = d.to_details("BehavioralTracking", VIDEO_2023)
    assert rtype == "BehavioralTracking"
    assert video == {**VIDEO_2023, "frameRate": {"value": 59.94, "unit": "Hz"}}
    # An Audio record's sample type is its codec and bit depth; lsb is no Audio key.
    rtype, audio = d.to_details("Audio", {**AUDIO_2023, "lsb": 1.0})
    assert rtype == "Audio"
    assert audio == {"fileName": "usv.wav", "format": "WAV", "codec": "pcm_s16", "bitDepth": 16,
                     "nChannels": 1, "sr": {"value": 250000, "unit": "Hz"},
                     "nSamples": 2500000}
    assert d.check_details(rtype, audio) == []


def test_the_micro_sign_is_u00b5() -> None:
    _, details = d.to_details("Intracellular", {"lsb": 0.195})
    assert details["lsb"]["unit"] == "\u00b5V"
    raw = resources.files("bsingest.schemas").joinpath("1.1.0").joinpath("IntracellularEphys.json")
    assert "\u00b5V" in json.loads(raw.read_text("utf-8"))["properties"]["lsb"]["properties"][
        "unit"]["enum"]


@pytest.mark.parametrize(("rtype", "type_json"), [
    ("Extracellular", EPHYS_2023),
    ("Intracellular", {k: v for k, v in EPHYS_2023.items() if k not in (
        "electrodeGroups", "channelTags")}),
    ("GeneralTimeSeries", {"fileName": "rec.nwb#acquisition/Accel", "format": "NWB",
                           "type": "float32", "nChannels": 3, "sr": 1250.5, "nSamples": 7}),
    ("Electroneurogram", {"fileName": "n.dat", "format": "DAT", "type": "int16",
                          "nChannels": 2, "sr": 20000, "nSamples": 10, "lsb": 0.195}),
    ("BehavioralTracking", VIDEO_2023),
    ("Audio", AUDIO_2023),
    ("Audio", {**AUDIO_2023, "type": "uint8"}),
    ("Audio", {**AUDIO_2023, "type": "float32"}),
    ("Audio", {**AUDIO_2023, "type": "mulaw"}),
    ("Audio", {**AUDIO_2023, "format": "FLAC", "type": "int24"}),
])
def test_round_trip(rtype: str, type_json: dict[str, Any]) -> None:
    assert check_type_json(rtype, type_json) == []
    type_2026, details = d.to_details(rtype, type_json)
    assert d.check_details(type_2026, details) == []
    assert d.from_details(type_2026, json.loads(json.dumps(details)), "1.1.0") == (
        rtype, type_json)


@pytest.mark.parametrize(("unit", "value", "hz"), [
    ("kHz", 30, 30000), ("kHz", 30.0, 30000), ("kHz", 0.03, 30), ("MHz", 0.25, 250000),
    ("GHz", 1e-6, 1000), ("Hz", 1250.5, 1250.5), ("kHz", 1.2505, 1250.5),
    ("kHz", 29.9999, 29999.9),
])
def test_rates_convert_exactly(unit: str, value: float, hz: float) -> None:
    _, tj = d.from_details("ExtracellularEphys", {"sr": {"value": value, "unit": unit}}, "1.1.0")
    assert tj["sr"] == hz
    assert repr(tj["sr"]) == repr(hz) or (isinstance(hz, int) and tj["sr"] == hz)
    _, video = d.from_details("VideoTracking", {"frameRate": {"value": value, "unit": unit}},
                              "1.1.0")
    assert video["frameRate"] == hz


@pytest.mark.parametrize(("unit", "value", "uv"), [
    ("mV", 0.000195, 0.195), ("µV", 0.195, 0.195), ("V", 1.95e-7, 0.195),
    ("nV", 195, 0.195), ("uV", 0.195, 0.195), ("\u03bcV", 2.5, 2.5), ("mV", 1, 1000),
])
def test_lsb_converts_to_microvolts(unit: str, value: float, uv: float) -> None:
    _, tj = d.from_details("IntracellularEphys", {"lsb": {"value": value, "unit": unit}},
                           "1.1.0")
    assert tj["lsb"] == uv


@pytest.mark.parametrize("version", ["0.0.0", None])
def test_bare_numbers_of_schema_0_0_0_read_as_hz_and_microvolts(version: str | None) -> None:
    legacy = {"fileName": "rec.dat", "format": "DAT", "type": "int16", "nChannels": 32,
              "sr": 20000, "nSamples": 3000, "lsb": 0.195}
    assert d.check_details("ExtracellularEphys", legacy, version="0.0.0") == []
    assert d.from_details("ExtracellularEphys", legacy, version) == ("Extracellular", legacy)
    # The other form in the other version: a reader takes both.
    assert d.from_details("ExtracellularEphys", {"sr": {"value": 20, "unit": "kHz"}},
                          version)[1] == {"sr": 20000}


def test_strict_check_in_each_version() -> None:
    bare = {"sr": 20000}
    units = {"sr": {"value": 20000, "unit": "Hz"}}
    assert d.check_details("ExtracellularEphys", units, version="0.0.0") != []
    assert d.check_details("ExtracellularEphys", bare) != []
    assert d.check_details("ExtracellularEphys", bare, version="0.0.0") == []
    assert d.check_details("ExtracellularEphys", units, version="9.9.9") == [
        "type_schema_version: '9.9.9' is not one of 1.1.0, 0.0.0"]


def test_unknown_keys_are_refused() -> None:
    assert d.check_details("ExtracellularEphys", {**EPHYS_2026, "stream": "A"}) == [
        "(object): unexpected property 'stream'"]
    assert d.check_details("ExtracellularEphys", {"sr": {"value": 1, "unit": "Hz",
                                                         "note": "x"}}) == [
        "sr: unexpected property 'note'"]
    # Audio has no sample "type" in 1.1.0, video no nChannels.
    assert d.check_details("Audio", {"type": "int16"}) == ["(object): unexpected property 'type'"]
    assert d.check_details("VideoTracking", {"nChannels": 1}) != []


def test_a_micro_sign_that_only_looks_right_is_named() -> None:
    for unit in ("\u03bcV", "uV"):
        problems = d.check_details("IntracellularEphys", {"lsb": {"value": 1, "unit": unit}})
        assert len(problems) == 1 and "U+00B5" in problems[0], problems


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(bad: float) -> None:
    problems = d.check_details("ExtracellularEphys", {"sr": {"value": bad, "unit": "Hz"}})
    assert problems == [f"sr.value: {bad!r} is not a finite number"]
    assert d.check_details("ExtracellularEphys", {"nSamples": bad}) == [
        f"nSamples: {bad!r} is not a finite number"]
    assert d.check_details("ExtracellularEphys", {"sr": bad}, version="0.0.0") != []
    with pytest.raises(RecordInvalid, match="not a positive finite number"):
        d.from_details("ExtracellularEphys", {"sr": {"value": bad, "unit": "Hz"}}, "1.1.0")


@pytest.mark.parametrize(("details", "where"), [
    ({"sr": {"value": 0, "unit": "Hz"}}, "sr.value"),
    ({"sr": {"value": 1, "unit": "rpm"}}, "sr.unit"),
    ({"sr": {"value": 1}}, "sr"),
    ({"lsb": {"value": 1, "unit": "Hz"}}, "lsb.unit"),
    ({"nChannels": -1}, "nChannels"),
    ({"nChannels": 2.5}, "nChannels"),
    ({"nChannels": True}, "nChannels"),
    ({"nChannels": 2, "electrodeGroups": [{"channels": [0, 5]}]}, "electrodeGroups.0.channels"),
    ({"channelTags": [{"tag": "bad", "groups": [1]}], "electrodeGroups": [{"channels": [0]}]},
     "channelTags.0.groups"),
])
def test_each_bad_value_is_named(details: dict[str, Any], where: str) -> None:
    problems = d.check_details("ExtracellularEphys", details)
    assert len(problems) == 1 and problems[0].startswith(f"{where}: "), problems


#: fileNames and whether they name a file below the session folder (test_records too).
FILE_NAMES = [
    ("rec.dat", True), ("probe_1/npx.imec.ap.bin", True), ("rec.nwb#acquisition/Series", True),
    ("odd\\name.dat", True), (".hidden/rec.dat", True),
    ("/home/lab/rec.dat", False), ("../rec.dat", False), ("a//b.dat", False),
    ("./rec.dat", False), ("dir/", False),
]


@pytest.mark.parametrize(("name", "ok"), FILE_NAMES)
def test_file_name_is_a_path_below_the_session(name: str, ok: bool) -> None:
    problems = d.check_details("ExtracellularEphys", {"fileName": name})
    assert (problems == []) == ok, problems
    assert all(p.startswith("fileName: ") for p in problems)


def test_audio_needs_a_channel() -> None:
    assert d.check_details("Audio", {"nChannels": 0}) != []
    assert d.check_details("ExtracellularEphys", {"nChannels": 0}) == []


def test_unknown_types_and_units_are_refused_when_read() -> None:
    assert d.check_details("Extracellular", {}) != []  # a 2023 name is not a current one
    # A type the 2023 API lacks reads back under its current name, in the table's units.
    assert d.from_details("TwoPhotonMicroscopy", {"xVoxelSize": {"value": 0.5, "unit": "mm"}},
                          "1.1.0") == ("TwoPhotonMicroscopy", {"xVoxelSize": 500})
    with pytest.raises(RecordInvalid, match="Bogus"):
        d.from_details("Bogus", {}, "1.1.0")
    with pytest.raises(RecordInvalid, match="rpm"):
        d.from_details("ExtracellularEphys", {"sr": {"value": 1, "unit": "rpm"}}, "1.1.0")
    with pytest.raises(RecordInvalid, match="Bogus"):
        d.to_details("Bogus", {})


@pytest.mark.parametrize("rtype", d.TYPES_2026)
def test_shipped_schemas_agree_with_jsonschema(rtype: str) -> None:
    schema = d.details_schema(rtype)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    good = d.to_details(rtype, {"sr": 1.0, "frameRate": 2.0, "nChannels": 1})[1]
    bad = {"sr": {"value": -1, "unit": "Hz"}, "frameRate": {"value": 1, "unit": "µV"},
           "nChannels": -1, "extra": 1}
    for doc in (good, bad):
        reference = sorted(e.message for e in jsonschema.Draft202012Validator(
            schema).iter_errors(doc))
        assert bool(reference) == bool(d.check_details(rtype, doc)), (doc, reference)


def test_details_of_the_contract_example_pass() -> None:
    example = {"fileName": "rec.dat", "format": "DAT", "type": "int16", "nChannels": 32,
               "sr": {"value": 20000, "unit": "Hz"}, "nSamples": 3000,
               "lsb": {"value": 0.195, "unit": "µV"},
               "electrodeGroups": [{"channels": [0, 1, 2, 3], "label": "shank1"}]}
    assert d.check_details("ExtracellularEphys", example) == []


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 5),
                     st.floats(-2, 2, allow_nan=False), st.sampled_from(["", "Hz", "µV", "uV"]))
_quantities = st.dictionaries(st.sampled_from(["value", "unit", "x"]),
                              st.one_of(_scalars, st.sampled_from(["kHz", "mV", "GHz", "µm",
                                                                   "mW", "T", "%"])),
                              max_size=3)
_items = st.dictionaries(st.sampled_from(["channels", "label", "tag", "groups", "x"]),
                         st.one_of(st.lists(st.integers(-1, 4), max_size=2), _scalars),
                         max_size=3)
_documents = st.dictionaries(
    st.sampled_from(["fileName", "format", "type", "nChannels", "nSamples", "sr", "lsb",
                     "frameRate", "bitDepth", "codec", "compression", "nFrames",
                     "electrodeGroups", "channelTags", "horizontalResolution", "bogus",
                     "xVoxelSize", "laserPower", "imagingDepth", "magneticFieldStrength"]),
    st.one_of(_scalars, _quantities, st.lists(_items, max_size=2)), max_size=6)


@pytest.mark.parametrize("rtype", d.TYPES_2026)
@pytest.mark.parametrize("version", d.SCHEMA_VERSIONS)
@settings(max_examples=150, deadline=None)
@given(doc=_documents)
def test_our_checker_gives_jsonschemas_verdict(rtype: str, version: str,
                                               doc: dict[str, Any]) -> None:
    """The 1.1.0 schemas (units as nested objects, enums) and 0.0.0 are within our checker."""
    schema = d.details_schema(rtype, version)
    reference = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    ours = schemacheck.check(schema, doc)
    assert bool(ours) == bool(reference)
    places = {".".join(map(str, e.absolute_path)) or "(object)" for e in reference}
    assert {p.split(":")[0] for p in ours} == places


@pytest.mark.parametrize("odd", [
    {"channelTags": True}, {"electrodeGroups": 5}, {"channelTags": [{"groups": True}]},
    {"electrodeGroups": [{"channels": True}], "channelTags": [{"groups": 1}]},
    {"channelTags": {"channels": [1]}},
])
def test_a_wrong_kind_of_value_in_the_channel_lists_is_named_not_a_crash(
        odd: dict[str, Any]) -> None:
    """The cross-field rules (channels below nChannels, tags naming groups) read lists;
    any other JSON value there is the schema's problem, said in a line (it raised a
    TypeError: a record stated in a bsingest.toml, or a body sent to the local server)."""
    doc = {"fileName": "rec.dat", "nChannels": 4, **odd}
    for problems in (d.check_details("ExtracellularEphys", doc),
                     check_type_json("Extracellular", doc)):
        assert problems and all(isinstance(p, str) for p in problems)
        assert {p.split(".")[0].split(":")[0] for p in problems} <= set(odd)


@pytest.mark.parametrize("rtype", d.TYPES_2026)
@settings(max_examples=25, deadline=None)
@given(doc=_documents)
def test_checks_and_conversions_leave_the_shared_schemas_as_shipped(
        rtype: str, doc: dict[str, Any]) -> None:
    """The checks read the cached schemas themselves, not copies (a copy per record cost
    two JSON round trips, issue 25); they are read-only by convention only, and a change
    made through one would change every later check of the process. Whatever a document
    holds, every path that reads them leaves them as the files ship them."""
    from bsingest import records, recordtypes

    names = [rtype] + ([d.TYPE_2023[rtype]] if rtype in d.TYPE_2023 else [])
    for version in d.SCHEMA_VERSIONS:
        d.check_details(rtype, doc, version=version)
    for convert in (lambda: d.from_details(rtype, doc, d.SCHEMA_VERSION),
                    lambda: d.to_details(rtype, doc)):
        with contextlib.suppress(RecordInvalid):
            convert()
    for name in names:
        check_type_json(name, doc)
        passes = records.type_json_passes(name)
        if passes is not None:
            passes(doc)
    shipped = resources.files("bsingest.schemas")
    assert recordtypes.shared_schema(rtype) == json.loads(
        shipped.joinpath(d.SCHEMA_VERSION).joinpath(f"{rtype}.json").read_text("utf-8"))
    # The bare form, made again from the shipped schema (the first assert vouches for it).
    assert recordtypes.shared_bare_schema(rtype) == \
        recordtypes.shared_bare_schema.__wrapped__(rtype)
    for name in names[1:]:  # the 2023 schema of the type's 2023 twin
        assert records.schema_for(name) == json.loads(
            shipped.joinpath(f"{name}.json").read_text("utf-8"))
