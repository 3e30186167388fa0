"""The record-type table is complete and everything that lists types derives from it.

Like neo's compliance tests: the rules live here once and walk every row of
:data:`bsingest.recordtypes.RECORD_TYPES`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import extractors
from bsingest import recordtypes as rt
from bsingest.details import check_details, from_details, to_details
from bsingest.errors import RecordInvalid
from bsingest.extraction import extract
from bsingest.generations import wire_for
from bsingest.records import Links, check_type_json
from bsingest.report.html import _TYPE_CSS
from bsingest.sessionconfig import record_type, type_names
from extractors.base import Extraction, Extractor, Fields, plausibility_problems

# The 23 types of the current generation, as brainstem-api-2026.md lists them.
CONTRACT_TYPES = {
    "Audio", "BehavioralTracking", "VideoTracking", "ExtracellularEphys", "IntracellularEphys",
    "GeneralTimeSeries", "Electroneurogram", "Electroencephalography", "FiberPhotometry",
    "Miniscope", "SinglePhotonMicroscopy", "TwoPhotonMicroscopy", "ThreePhotonMicroscopy",
    "ConfocalMicroscopy", "LightFieldMicroscopy", "OpticalCoherenceTomography",
    "FunctionalUltrasoundImaging", "ComputedTomography", "MagneticResonanceImaging",
    "FunctionalMagneticResonanceImaging", "Magnetoencephalography",
    "PositronEmissionTomography", "SinglePhotonEmissionComputedTomography"}
# The 2023 API's six, and what the contract says they are called now.
CONTRACT_2023 = {"Extracellular": "ExtracellularEphys", "Intracellular": "IntracellularEphys",
                 "Audio": "Audio", "BehavioralTracking": "BehavioralTracking",
                 "GeneralTimeSeries": "GeneralTimeSeries",
                 "Electroneurogram": "Electroneurogram"}
TYPES = sorted(rt.RECORD_TYPES)
SCHEMAS = Path(rt.__file__).parent / "schemas" / rt.SCHEMA_VERSION
SESSION = "1f7f103b-e949-405a-9b01-ddda3b2f10cf"
SESSION_2023 = "4b060709-9585-484b-bde0-0a47a554aaab"  # the seed's dataset


def test_the_table_holds_exactly_the_contracts_types() -> None:
    assert set(rt.RECORD_TYPES) == CONTRACT_TYPES
    assert {name: rt.lookup(name).name for name in CONTRACT_2023} == CONTRACT_2023
    assert {t.legacy for t in rt.RECORD_TYPES.values()} - {None} == set(CONTRACT_2023)


def test_every_shipped_schema_belongs_to_a_row() -> None:
    assert {p.stem for p in SCHEMAS.glob("*.json")} == CONTRACT_TYPES


@pytest.mark.parametrize("name", TYPES)
def test_every_type_has_its_schema_fields_units_bounds_and_report_entry(name: str) -> None:
    t = rt.RECORD_TYPES[name]
    schema = rt.schema(name)
    assert schema["additionalProperties"] is False
    assert tuple(schema["properties"]) == t.fields
    for key, prop in schema["properties"].items():
        if key in rt.UNITS:  # a quantity: {"value", "unit"} in exactly the contract's units
            assert prop["required"] == ["value", "unit"]
            assert prop["properties"]["unit"]["enum"] == list(rt.UNITS[key][1])
            assert key in t.bounds
    count, rate = t.duration_keys
    assert count in t.fields and rate in t.fields
    assert rate in t.bounds, f"{name}: no plausibility bound for {rate}"
    assert t.colour.startswith("#") and t.label
    assert f".bar.t-{name.lower()}{{" in _TYPE_CSS


@pytest.mark.parametrize("name", TYPES)
def test_every_bound_refuses_what_lies_outside_it(name: str) -> None:
    for key, (low, high) in rt.RECORD_TYPES[name].bounds.items():
        assert plausibility_problems(name, {key: (low + high) / 2}) == []
        for bad in (high * 10 + 1, low - 1 if low > 0 else -1.0):
            found = plausibility_problems(name, {key: bad})
            assert [k for k, _ in found] == [key], (key, bad)


@pytest.mark.parametrize("name", TYPES)
def test_every_type_goes_to_the_current_wire_and_reads_back(name: str) -> None:
    t = rt.RECORD_TYPES[name]
    bare = {"fileName": "a/b.x#1", "format": "X"}
    for key in rt.UNITS:
        if key in t.fields:
            low, high = t.bounds[key]
            bare[key] = 2 if low <= 2 <= high else low
    assert check_type_json(name, bare) == []
    body = wire_for("2026").body(name, bare, Links(container=SESSION))
    assert body["type"] == name and check_details(name, body["details"]) == []
    for key in rt.UNITS:
        if key in bare:
            assert body["details"][key] == {"value": bare[key], "unit": rt.UNITS[key][0]}
    back_type, back = from_details(name, body["details"], "1.1.0")
    assert back_type == (t.legacy or name)
    assert {k: v for k, v in back.items() if k in bare} == {k: bare[k] for k in back}


@pytest.mark.parametrize("name", TYPES)
def test_a_2023_server_gets_the_2023_name_or_a_one_line_refusal(name: str) -> None:
    t = rt.RECORD_TYPES[name]
    wire = wire_for("2023")
    links = Links(container=SESSION)
    if t.legacy is None:
        with pytest.raises(RecordInvalid) as info:
            wire.body(name, {"fileName": "x.edf"}, links)
        message = str(info.value)
        assert message.startswith("x.edf: ") and "\n" not in message
        assert name in message and "2023" in message
    else:
        assert wire.body(name, {"fileName": "x"}, links)["type"] == t.legacy


def test_type_choices_and_maps_derive_from_the_table() -> None:
    assert set(type_names()) == CONTRACT_TYPES | set(CONTRACT_2023)
    for name in CONTRACT_TYPES | set(CONTRACT_2023):  # a user's either spelling ...
        assert record_type(name) == CONTRACT_2023.get(name, name)  # ... as extractors say
    assert record_type("Bogus") is None
    assert to_details("Extracellular", {})[0] == "ExtracellularEphys"


def test_every_extractor_declares_types_of_the_table() -> None:
    for cls in extractors.EXTRACTORS:
        assert cls.record_types and all(t in rt.RECORD_TYPES for t in cls.record_types), cls


@pytest.mark.parametrize("legacy", ["Extracellular", "Intracellular"])
def test_an_extractor_declaring_a_2023_spelling_fails_naming_the_current_one(
        legacy: str) -> None:
    current = CONTRACT_2023[legacy]
    words = f"Old declares record types by their 2023 names: {legacy} (now {current})"
    with pytest.raises(TypeError, match=re.escape(words)):
        type("Old", (Extractor,), {"name": "old", "record_types": (legacy, "Audio")})


def test_an_extractor_giving_a_type_it_does_not_declare_is_a_bug(tmp_path: Path) -> None:
    class Sloppy(Extractor):
        name, suffixes, record_types = "sloppy", (".slp",), ("ExtracellularEphys",)

        def _extract(self, path: Path, stated: object) -> list[Extraction]:
            return [self.result(path, "Extracellular", Fields())]

    path = tmp_path / "a.slp"
    path.write_bytes(b"x")
    with pytest.raises(TypeError, match="gives a Extracellular record but declares only "
                                        "ExtracellularEphys"):
        Sloppy().extract(path)


def test_a_restated_type_takes_its_current_name(tmp_path: Path) -> None:
    from tests.fixtures import write_dat

    path = write_dat(tmp_path / "a.dat", n_channels=2, n_samples=10)
    for given in ("Intracellular", "IntracellularEphys"):
        (x,) = extract(path, record_type=given, n_channels=2, sr=1000)
        assert x.type == "IntracellularEphys"


def test_an_extractor_declaring_a_type_outside_the_table_fails() -> None:
    with pytest.raises(TypeError, match="TwoPhotonMicroscopie"):
        type("Typo", (Extractor,), {"name": "typo", "record_types": ("TwoPhotonMicroscopie",)})


def test_a_2023_ingest_fails_only_the_record_whose_type_it_lacks(tmp_path: Path) -> None:
    import shutil

    from bsingest.client import BrainstemClient, RetryPolicy
    from bsingest.ingest import ingest
    from bsingest.server import LocalServer

    session = tmp_path / "session"
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "session", session)
    (session / "bsingest.toml").unlink(missing_ok=True)
    dataset, action = SESSION_2023, "087b71c4-6785-437c-b8ef-e35a82a8463e"
    with LocalServer(db_path=tmp_path / "server.sqlite3") as srv, \
            BrainstemClient(server=srv.url, token=srv.token, api="2023",
                            retry=RetryPolicy(wait=False)) as c:
        report = ingest(session, dataset=dataset, actions=[action], client=c,
                        journal=tmp_path / "j.sqlite", type_map=["*.mp4=Miniscope"])
    outcomes = {r.path: (r.outcome, r.error) for r in report.results}
    assert outcomes["behavior.mp4"][0] == "failed"
    assert outcomes["behavior.mp4"][1] == (
        "behavior.mp4: type: Miniscope has no 2023 equivalent and the server speaks the 2023 "
        "API (Experiment Data); map it to a 2023 type with --type-map, or use a current server")
    assert {p for p, (o, _) in outcomes.items() if o == "created"} == {"mic.wav", "rec.dat"}
