"""Options carry neutral links plus a generation (issue 21): the names a user gives
(``--dataset``/``--session``, ``bsingest.toml`` keys, the Python keywords) are translated
where they are read, by the :class:`~bsingest.generations.Generation` objects."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bsingest.errors import UsageError
from bsingest.generations import GENERATIONS, NEUTRAL
from bsingest.ingest import ingest, options_for
from bsingest.records import Links
from bsingest.server import LocalServer
from bsingest.sessionconfig import FileRule, FileSettings, IngestOptions, load_options
from tests.fixtures import write_dat, write_neuroscope_xml

A = "1f7f103b-e949-405a-9b01-ddda3b2f10cf"
B = "087b71c4-6785-437c-b8ef-e35a82a8463e"
C = "4b060709-9585-484b-bde0-0a47a554aaab"
D = "5d2c1a8e-3b4f-4c6d-8e9f-0a1b2c3d4e5f"
#: The link names one generation alone uses (procedures, equipment and notes are the
#: current generation's names and the neutral ones too).
ONE_GENERATIONS = {n for g in GENERATIONS.values() for n in g.links.all
                   if n not in g.links.creates} - set(NEUTRAL)


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.mark.parametrize("cls", [IngestOptions, FileRule, FileSettings])
def test_no_option_type_has_a_field_named_after_one_generation(cls: type) -> None:
    fields = {f.name for f in dataclasses.fields(cls)}
    assert ONE_GENERATIONS == {"dataset", "actions", "hardware_device", "description", "session"}
    assert not fields & ONE_GENERATIONS, fields


@pytest.mark.parametrize(("api", "given"), [
    ("2023", {"dataset": A, "actions": [B], "hardware_device": C, "description": "d"}),
    ("2026", {"session": A, "procedures": [B], "equipment": [C], "notes": "d"}),
])
def test_either_generations_names_give_the_same_neutral_links(
        tmp_path: Path, api: str, given: dict[str, object]) -> None:
    options = options_for(tmp_path, **given).for_api(api)  # type: ignore[arg-type]
    assert options.api == api and options.generation.name == api
    assert options.named == {api: Links(A, (B,), (C,), "d")}
    assert (options.container, options.procedures, options.equipment, options.notes) == (
        A, (B,), (C,), "d")
    assert options.links("x.dat") == Links(A, (B,), (C,), "d")
    assert options.given == frozenset(given)


def test_a_settings_file_may_hold_both_sets_and_the_chosen_one_is_kept(tmp_path: Path) -> None:
    (tmp_path / "bsingest.toml").write_text(
        f'dataset = "{A}"\nactions = ["{B}"]\ndescription = "old"\n'
        f'session = "{C}"\nprocedures = ["{D}"]\nnotes = "new"\n'
        '[[files]]\nmatch = "*.lfp"\nhardware_device = ""\nequipment = ["' + B + '"]\n'
        'description = "lfp (2023)"\nnotes = "lfp"\n')
    options = load_options(tmp_path)
    old, new = options.for_api("2023"), options.for_api("2026")
    assert (old.container, old.procedures, old.notes) == (A, (B,), "old")
    assert (new.container, new.procedures, new.notes) == (C, (D,), "new")
    assert old.named.keys() == {"2023"} and new.named.keys() == {"2026"}
    assert old.for_file("a.lfp") == FileSettings(None, {}, (), "lfp (2023)")
    assert new.for_file("a.lfp") == FileSettings(None, {}, (B,), "lfp")
    assert new.equipment_ids() == (B,) and old.equipment_ids() == ()
    # what the session file says is also where messages say it came from
    assert old.origins["dataset"] == str(tmp_path / "bsingest.toml")


def test_the_call_wins_over_the_file_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "bsingest.toml").write_text(f'session = "{C}"\nprocedures = ["{D}"]\n')
    options = options_for(tmp_path, procedures=[B]).for_api("2026")
    assert (options.container, options.procedures) == (C, (B,))


def test_a_session_made_on_the_way_is_the_container(tmp_path: Path) -> None:
    options = options_for(tmp_path, create_session=True, project=A,
                          procedures=[B]).for_api("2026")
    assert options.container is None
    made = options.with_container(C)
    assert (made.container, made.procedures, made.api) == (C, (B,), "2026")


def test_the_other_generations_names_are_refused_at_resolution(tmp_path: Path) -> None:
    options = options_for(tmp_path, dataset=A, actions=[B])
    with pytest.raises(UsageError, match=r"--dataset: .*speaks the current BrainSTEM API.*"
                                         r"use --session UUID"):
        options.for_api("2026")


@pytest.mark.parametrize("generation", ["2023", "2026"])
def test_the_python_keywords_of_either_generation_link_the_records(
        tmp_path: Path, generation: str) -> None:
    folder = tmp_path / "day1"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        seed = srv.seed
        if generation == "2023":
            links = {"dataset": next(iter(seed.datasets.values())),
                     "actions": [next(iter(seed.actions.values()))],
                     "hardware_device": seed.hardware_device, "description": "probe 1"}
            token = srv.token
        else:
            links = {"session": seed.session,
                     "procedures": [next(iter(seed.procedures.values()))],
                     "equipment": [next(iter(seed.equipments.values()))], "notes": "probe 1"}
            token = srv.pat
        report = ingest(folder, server=srv.url, token=token, journal=tmp_path / "j.sqlite",
                        **links)  # type: ignore[arg-type]
        assert report.exit_code == 0, report.to_json()
        assert report.api == generation
        (result,) = report.results
        from bsingest.client import BrainstemClient

        with BrainstemClient(server=srv.url, token=token, api=generation) as client:
            record = client.get(client.generation.record_model, str(result.server_id))
    wire = GENERATIONS[generation].wire
    said = wire.canonical(record)
    name = GENERATIONS[generation].links
    expected_equipment = ([links["hardware_device"]] if generation == "2023"
                          else links["equipment"])
    assert said["procedures"] == links[name.procedures]
    assert said["equipment"] == expected_equipment
    assert said["notes"] == "probe 1"
    assert record[name.container] == links[name.container]
