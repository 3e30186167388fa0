"""The uploader's decisions on their own (issue 21's uploader seam): no server, no threads.

Records are shaped as the 2023 server answers them; which one survives, which are deleted
and what a plan says are worked out by hand from the rules in docs/guarantees.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from bsingest.generations import wire_for
from bsingest.journal import Entry
from bsingest.reconcile import Listing, judge_narrow, plan, settle
from bsingest.sessionconfig import Existing

WIRE = wire_for("2023")
DATASET = "4b060709-9585-484b-bde0-0a47a554aaab"


def body(name: str, n_samples: int = 5) -> dict[str, Any]:
    return {"type": "Extracellular", "dataset": DATASET, "actions": [], "hardware_device": None,
            "description": None,
            "type_json": {"fileName": name, "format": "DAT", "type": "int16", "nChannels": 2,
                          "sr": 20000, "nSamples": n_samples}}


def on_server(id: str, name: str, n_samples: int = 5) -> dict[str, Any]:
    return {"id": id, **body(name, n_samples)}


def entry(name: str, state: str = "pending", existing: str | None = None) -> Entry:
    record = body(name)
    return Entry("http://127.0.0.1", DATASET, WIRE.key(record), name, record, "fp", state,
                 None, 0, None, 0.0, existing)


def test_a_key_held_twice_lists_the_smallest_id_and_names_both() -> None:
    listing = Listing([on_server("b", "x.dat"), on_server("a", "x.dat"),
                       on_server("c", "y.dat")], WIRE.key)
    key = WIRE.key(body("x.dat"))
    assert listing[key]["id"] == "a"
    assert sorted(r["id"] for r in listing.twins[key]) == ["a", "b"]
    assert list(listing.twins) == [key]


def test_the_plan_follows_what_the_container_holds_and_the_policy() -> None:
    same, other = on_server("1", "same.dat"), on_server("2", "other.dat", n_samples=9)
    held = {WIRE.key(same): same, WIRE.key(other): other}
    entries = [entry("new.dat"), entry("same.dat"), entry("same.dat", state="uploaded"),
               entry("other.dat"), entry("other.dat", existing="update"),
               entry("other.dat", existing="error")]
    steps = [step for _, step in plan(entries, held, WIRE, None)]
    assert steps == ["create", "adopt", "unchanged", "skip", "update", "conflict"]
    # A policy given to the uploader wins over what each entry's run asked for.
    assert [s for _, s in plan(entries[3:], held, WIRE, Existing.SKIP)] == ["skip"] * 3


@pytest.mark.parametrize(("posted", "action"), [(True, "gone"), (False, "post")])
def test_nothing_read_back_is_posted_again_only_if_we_did_not_write_it(
        posted: bool, action: str) -> None:
    assert settle(entry("x.dat"), [], posted=posted, wire=WIRE, existing=None).action == action


def test_twins_of_our_content_keep_the_smallest_id_and_delete_the_rest() -> None:
    records = [on_server("c", "x.dat"), on_server("a", "x.dat"), on_server("b", "x.dat")]
    done = settle(entry("x.dat"), records, posted=True, wire=WIRE, existing=None)
    assert done.action == "ours"
    assert done.survivor is not None and done.survivor["id"] == "a"
    assert sorted(done.delete) == ["b", "c"]
    assert done.kept == ()


def test_a_record_with_other_content_is_never_deleted() -> None:
    # Another machine described the file otherwise, and its record has the smaller id: it
    # stays, ours goes, a third with yet other values stays too, and the plan is as if
    # the smallest had been there before us.
    records = [on_server("b", "x.dat"), on_server("a", "x.dat", n_samples=9),
               on_server("c", "x.dat", n_samples=7)]
    done = settle(entry("x.dat"), records, posted=True, wire=WIRE, existing=None)
    assert done.action == "theirs"
    assert done.survivor is not None and done.survivor["id"] == "a"
    assert done.delete == ("b",)
    assert done.kept == ("c",)
    assert done.step == "skip"


def test_a_narrow_answer_is_trusted_only_when_it_answers_what_was_asked() -> None:
    wanted = {"x.dat", "y.dat"}
    part = sorted(wanted)
    got = [on_server("1", "x.dat")]
    assert judge_narrow(part, got, wanted, {}, WIRE) == "ok"
    assert judge_narrow(part, got, wanted, {"y.dat": "2"}, WIRE) == "missing"
    assert judge_narrow(part, [*got, on_server("3", "z.dat")], wanted, {}, WIRE) == "stray"
