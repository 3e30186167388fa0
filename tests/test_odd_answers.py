"""Odd answers from a server (an older BrainSTEM, a proxy in front of one), as classes.

The local server acts on every request; :class:`tests.httpfront.Front` then changes what
the client is told (``rewrite``). Whatever the answer, bsingest must never show a
traceback, must say in one line which file and why, must exit with the documented code,
must keep in the journal a record whose create it cannot prove, and a run against the sane
server afterwards must leave each record on the server exactly once.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bsingest.cli.main import cli
from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.generations import wire_for
from bsingest.journal import Journal
from bsingest.reconcile import Listing, differs, settle
from bsingest.server import LocalServer
from tests.httpfront import Answer, Rewrite
from tests.test_ingest import ACTION, DATASET

RECORDS = "/rest/private/modules/experimentdata/"
NO_WAIT = RetryPolicy(wait=False)
PROXY_HTML = b"<!doctype html><html><head><title>Welcome</title></head><body>ok</body></html>"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8)


# -- helpers ------------------------------------------------------------------------------

def client(url: str, token: str) -> BrainstemClient:
    return BrainstemClient(api="2023", server=url, token=token, retry=NO_WAIT)


def names_on_server(srv: LocalServer) -> collections.Counter[str]:
    with client(srv.url, srv.token) as c:
        return collections.Counter(r["type_json"].get("fileName")
                                   for r in c.experiment_data(DATASET))


def ours(session: Path) -> collections.Counter[str]:
    return collections.Counter(p.name for p in session.glob("*.dat"))


def journal_rows(path: Path) -> dict[str, tuple[str, str | None]]:
    with Journal(path) as jr:
        return {e.path: (e.state, e.server_id) for e in jr.entries()}


def is_post(a: Answer) -> bool:
    return a.method == "POST" and a.path.startswith(RECORDS)


def is_listing(a: Answer) -> bool:
    return a.method == "GET" and a.path.startswith(RECORDS + "?")


def answer(body: bytes, status: int = 201, kind: str = "application/json"
           ) -> Callable[[Answer], Answer]:
    return lambda a: Answer(a.method, a.path, status, body, kind)


def rewrite_when(test: Callable[[Answer], bool], change: Callable[[Answer], Answer]) -> Rewrite:
    return lambda a: change(a) if test(a) else None


def in_envelope(record: Any) -> bytes:
    return json.dumps({"experiment_data": record}).encode()


def echo_with(**fields: Any) -> Callable[[Answer], Answer]:
    """The record the server made, echoed with some fields changed."""
    def change(a: Answer) -> Answer:
        record = {**json.loads(a.body)["experiment_data"], **fields}
        return Answer(a.method, a.path, a.status, in_envelope(record), a.kind)
    return change


def one_line(text: str) -> bool:
    return "\n" not in text.strip() and "Traceback" not in text


@pytest.fixture
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's back-offs cost no time (its RetryPolicy waits as for a real server)."""
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt, retry_after=None: 0.0)


def cli_env(srv: LocalServer, url: str, tmp: Path) -> dict[str, str]:
    return {"BRAINSTEM_SERVER": url, "BRAINSTEM_TOKEN": srv.token,
            "BSINGEST_JOURNAL": str(tmp / "j.sqlite"), "XDG_CONFIG_HOME": str(tmp / "cfg"),
            "XDG_DATA_HOME": str(tmp / "data")}


def cli_ingest(session: Path, env: dict[str, str], *more: str) -> Any:
    return CliRunner(env=env).invoke(cli, ["ingest", "--api", "2023", str(session),
                                           "--dataset", DATASET, "--action", ACTION, *more])


# -- the pure parts, for any JSON -----------------------------------------------------------

RECORD_FIELDS = ["id", "type", "actions", "hardware_device", "description", "type_json",
                 "procedures", "equipment", "notes", "details", "type_schema_version"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(api=st.sampled_from(["2023", "2026"]),
       theirs=st.dictionaries(st.sampled_from(RECORD_FIELDS), json_values),
       details=st.dictionaries(st.sampled_from(["fileName", "sr", "nChannels", "stream",
                                                "samplingRate", "x"]), json_values))
def test_a_record_with_fields_of_any_type_is_compared_not_crashed_on(
        api: str, theirs: dict[str, Any], details: dict[str, Any]) -> None:
    # Before: {"actions": 3} or ["a", 1] on the server raised TypeError in canonical(),
    # which failed each record as "a bug in bsingest".
    wire = wire_for(api)
    mine = {"type": "Extracellular", "dataset": DATASET, "actions": [ACTION],
            "type_json": {"fileName": "a.dat", "nChannels": 2, "sr": 1000.0}}
    if details:
        theirs = {**theirs, wire.details_field: details}
    wire.key(theirs)
    same = wire.same_content(mine, theirs)
    assert isinstance(differs(mine, theirs, wire), str)
    assert set(Listing([theirs, theirs], wire.key)) == {wire.key(theirs)}

    class Row:  # what settle() reads of a journal entry
        record = mine
        state = "pending"
        existing = None

    done = settle(Row(), [theirs], posted=False, wire=wire, existing=None)  # type: ignore[arg-type]
    assert done.action == ("ours" if same else "theirs")


