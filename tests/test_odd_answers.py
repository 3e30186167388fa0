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
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bsingest import exitcodes
from bsingest.cli.main import cli
from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.client.answers import unwrap
from bsingest.errors import BadAnswer, TransportError
from bsingest.generations import wire_for
from bsingest.ingest import ingest
from bsingest.journal import Journal
from bsingest.reconcile import Listing, differs, settle
from bsingest.recordtypes import is_uuid
from bsingest.server import LocalServer
from tests.httpfront import Answer, Front, Rewrite
from tests.test_ingest import ACTION, DATASET, make_session

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

ids = st.uuids().map(str) | json_values
records = st.dictionaries(st.sampled_from(["id", "type", "name"]), ids, min_size=1) | json_values
envelopes = st.dictionaries(
    st.sampled_from(["experiment_data", "session", "sessions", "dataset", "datasets", "count",
                     "meta", "id"]),
    records | st.lists(records, max_size=3) | ids, max_size=3)


@settings(max_examples=300, deadline=None)
@given(body=json_values | envelopes | records, many=st.booleans(),
       path=st.sampled_from(["modules/experimentdata", "stem/session", "stem/dataset"]))
def test_any_json_body_unwraps_to_records_with_ids_or_a_one_line_bad_answer(
        body: Any, many: bool, path: str) -> None:
    try:
        found = unwrap(body, path, many=many, method="POST", url="http://h/x/", status=201)
    except BadAnswer as exc:
        assert str(exc).startswith("POST http://h/x/ answered 201: ") and one_line(str(exc))
        return
    for record in found if many else [found]:
        assert isinstance(record, dict) and is_uuid(record["id"])


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


# -- an odd answer to a create ---------------------------------------------------------------

POST_ANSWERS: dict[str, Callable[[Answer], Answer]] = {
    "html-201": answer(PROXY_HTML, 201, "text/html"),
    "html-200-labelled-json": answer(PROXY_HTML, 200, "application/json"),
    "empty-201": answer(b"", 201),
    "empty-204": answer(b"", 204),
    "text-200": answer(b"Created", 200, "text/plain"),
    "json-list": answer(b"[1, 2]"),
    "json-string": answer(b'"created"'),
    "json-null": answer(b"null"),
    "json-empty-object": answer(b"{}"),
    "envelope-null": answer(in_envelope(None)),
    "envelope-without-id": answer(in_envelope({"type": "x"})),
    "id-null": echo_with(id=None),
    "id-int": echo_with(id=7),
    "id-list": echo_with(id=["a"]),
    "id-not-uuid": echo_with(id="../../stem/dataset"),
    "fields-of-other-types": echo_with(actions=3, type_json="x", description={"a": [1]}),
    "huge-body": answer(b'{"detail": "' + b"x" * 3_000_000 + b'"}', 201),
    "json-as-text-html": lambda a: Answer(a.method, a.path, a.status, a.body, "text/html"),
    "json-nested-too-deep": answer(b"[" * 100_000 + b"]" * 100_000),
}


@pytest.mark.parametrize("kind", sorted(POST_ANSWERS))
def test_an_odd_answer_to_a_create_is_read_back_and_the_record_is_there_once(
        tmp_path: Path, brainstem_server: LocalServer, kind: str) -> None:
    session = make_session(tmp_path / "s", 3)
    journal = tmp_path / "j.sqlite"
    with Front(brainstem_server.url, rewrite=rewrite_when(is_post, POST_ANSWERS[kind])) as front, \
            client(front.url, brainstem_server.token) as c:
        report = ingest(session, dataset=DATASET, actions=[ACTION], client=c, journal=journal)
    on_server = {r["type_json"]["fileName"]: r["id"] for r in
                 client(brainstem_server.url, brainstem_server.token).experiment_data(DATASET)}
    assert names_on_server(brainstem_server) & ours(session) == ours(session)
    # The server made each record once; the run says so, with the server's own ids.
    assert report.exit_code == exitcodes.OK, report.to_json()
    assert {r.path: (r.outcome, r.server_id) for r in report.results} == {
        name: ("created", on_server[name]) for name in ours(session)}
    assert journal_rows(journal) == {n: ("uploaded", on_server[n]) for n in ours(session)}
    again = ingest(session, dataset=DATASET, actions=[ACTION],
                   client=client(brainstem_server.url, brainstem_server.token), journal=journal)
    assert again.counts() == {"unchanged": 3}
    assert names_on_server(brainstem_server) & ours(session) == ours(session)


class Broken:
    """A proxy that lets the first listing through, then answers every create with
    ``change`` and every listing with an HTML page: the creates are made by the server,
    and nothing can tell the client so."""

    def __init__(self, change: Callable[[Answer], Answer]) -> None:
        self.change = change
        self.listed = False

    def __call__(self, a: Answer) -> Answer | None:
        if is_post(a):
            return self.change(a)
        if is_listing(a):
            if self.listed:
                return answer(PROXY_HTML, 200, "text/html")(a)
            self.listed = True
        return None


@pytest.mark.parametrize("kind", ["html-201", "empty-201", "json-null", "id-null", "huge-body",
                                  "json-nested-too-deep"])
def test_cli_keeps_records_it_cannot_prove_queued_and_a_rerun_makes_each_once(
        tmp_path: Path, brainstem_server: LocalServer, no_waits: None, kind: str) -> None:
    # Every answer after the first listing is odd: the creates happen, but neither their
    # answers nor the reads back can prove it. The records stay in the journal (exit 3,
    # a line each naming the file); the next run, with the server sane, finds them there.
    session = make_session(tmp_path / "s", 4)
    with Front(brainstem_server.url, rewrite=Broken(POST_ANSWERS[kind])) as front:
        result = cli_ingest(session, cli_env(brainstem_server, front.url, tmp_path))
    assert result.exit_code == exitcodes.QUEUED, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    for name in ours(session):
        (line,) = [x for x in lines if x.startswith(f"{name} ")]
        assert line.split()[2] == "queued", line
    (why,) = [x for x in lines if x.startswith("queued: ")]  # the reason, said once
    assert "cannot read back the records" in why and "answered 200" in why
    assert max(map(len, lines)) < 1500
    rows = journal_rows(tmp_path / "j.sqlite")
    assert {state for state, _ in rows.values()} <= {"pending", "sending"}
    assert set(rows) == set(ours(session))
    again = cli_ingest(session, cli_env(brainstem_server, brainstem_server.url, tmp_path),
                       "--json")
    assert again.exit_code == exitcodes.OK, again.output
    assert json.loads(again.stdout)["counts"] == {"unchanged": 4}
    assert names_on_server(brainstem_server) & ours(session) == ours(session)
    assert [h for h in brainstem_server.hits if h.method == "DELETE"] == []


# -- an odd listing --------------------------------------------------------------------------

def records_as(fn: Callable[[list[Any]], Any]) -> Callable[[Answer], Answer]:
    def change(a: Answer) -> Answer:
        body = json.loads(a.body)
        body["experiment_data"] = fn(body["experiment_data"])
        return Answer(a.method, a.path, a.status, json.dumps(body).encode(), a.kind)
    return change


LISTING_ANSWERS: dict[str, Callable[[Answer], Answer]] = {
    "html-200": answer(PROXY_HTML, 200, "text/html"),
    "empty-200": answer(b"", 200),
    "json-list": lambda a: Answer(a.method, a.path, 200,
                                  json.dumps(json.loads(a.body)["experiment_data"]).encode(),
                                  a.kind),
    "records-null": records_as(lambda rs: None),
    "records-strings": records_as(lambda rs: [json.dumps(r) for r in rs] or ["x"]),
    "records-without-id": records_as(lambda rs: [{**r, "id": None} for r in rs] or [{}]),
    "id-int": records_as(lambda rs: [{**r, "id": i} for i, r in enumerate(rs)] or [{"id": 1}]),
    "json-nested-too-deep": answer(b"[" * 100_000 + b"]" * 100_000, 200),
}


@pytest.mark.parametrize("kind", sorted(LISTING_ANSWERS))
def test_cli_queues_the_records_when_the_listing_is_odd(
        tmp_path: Path, brainstem_server: LocalServer, no_waits: None, kind: str) -> None:
    # Before: a listing the client could not read failed every record (exit 1), or, with
    # records that were not objects, raised AttributeError ("a bug in bsingest").
    session = make_session(tmp_path / "s", 2)
    change = rewrite_when(is_listing, LISTING_ANSWERS[kind])
    with Front(brainstem_server.url, rewrite=change) as front:
        result = cli_ingest(session, cli_env(brainstem_server, front.url, tmp_path))
    assert result.exit_code == exitcodes.QUEUED, result.output
    assert "Traceback" not in result.output and "bug in bsingest" not in result.output
    lines = result.output.splitlines()
    for name in ours(session):
        (line,) = [x for x in lines if x.startswith(f"{name} ")]
        assert line.split()[2] == "queued", line
    (why,) = [x for x in lines if x.startswith("queued: ")]  # the reason, said once
    assert f"GET {front.url}{RECORDS}?" in why and "answered 200: " in why
    assert max(map(len, lines)) < 1500
    assert {s for s, _ in journal_rows(tmp_path / "j.sqlite").values()} == {"pending"}
    again = cli_ingest(session, cli_env(brainstem_server, brainstem_server.url, tmp_path),
                       "--json")
    assert json.loads(again.stdout)["counts"] == {"created": 2}, again.output
    assert names_on_server(brainstem_server) & ours(session) == ours(session)


# -- paging ------------------------------------------------------------------------------------

TRUTH = 230  # records in the paged dataset: three pages of a hundred


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, set[str]]]:
    """A server whose dataset holds ``TRUTH`` records (and the seed's); the ids of all."""
    with LocalServer(db_path=tmp_path_factory.mktemp("paged") / "db.sqlite3") as srv:
        with client(srv.url, srv.token) as c:
            for i in range(TRUTH):
                c.create("experimentdata", {
                    "type": "Extracellular", "dataset": DATASET, "actions": [ACTION],
                    "type_json": {"fileName": f"p{i:03d}.dat", "nChannels": 1, "sr": 1.0}})
            ids = {r["id"] for r in c.experiment_data(DATASET)}
        yield srv, ids


class Pages:
    """What a server's paging may be: a smaller page than asked for (``size``), a ``count``
    that is missing, wrong or of the wrong type, an ``offset`` that is ignored."""

    def __init__(self, size: int, count: str, shift: int, ignore_offset: bool) -> None:
        self.size, self.count, self.shift, self.ignore_offset = size, count, shift, ignore_offset
        self.first: bytes | None = None

    def __call__(self, a: Answer) -> Answer | None:
        if not is_listing(a):
            return None
        body = json.loads(a.body)
        offset = int(re.search(r"offset=(\d+)", a.path).group(1))  # type: ignore[union-attr]
        body["experiment_data"] = body["experiment_data"][:self.size]
        true = body["count"]
        if self.count == "missing":
            del body["count"]
        else:
            body["count"] = {"right": true, "low": max(1, true - self.shift),
                             "high": true + self.shift, "huge": 10**12, "string": str(true),
                             "bool": True, "negative": -self.shift, "null": None}[self.count]
        out = json.dumps(body).encode()
        if self.ignore_offset:
            if offset == 0:
                self.first = out
            out = self.first or out
        return Answer(a.method, a.path, 200, out, a.kind)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.sampled_from([100, 60, 7]),
       count=st.sampled_from(["right", "low", "high", "huge", "missing", "string", "bool",
                              "negative", "null"]),
       shift=st.integers(1, 150), ignore_offset=st.booleans())
def test_a_listing_of_any_paging_is_whole_or_an_error_and_never_endless(
        paged: tuple[LocalServer, set[str]], size: int, count: str, shift: int,
        ignore_offset: bool) -> None:
    # Before: a count of 10**12 queued ten billion page requests at once (a hang); a
    # missing count, or one too low, cut the listing at the first page (the uploader then
    # posts what is on the server already); a server with pages smaller than a hundred
    # lost records between them.
    srv, truth = paged
    pages = Pages(size, count, shift, ignore_offset)
    with Front(srv.url, rewrite=pages) as front, client(front.url, srv.token) as c:
        try:
            got = [r["id"] for r in c.experiment_data(DATASET)]
        except (BadAnswer, TransportError) as exc:
            got = None
            assert one_line(str(exc)) and len(str(exc)) < 1500
        asked = sum(p.startswith(RECORDS + "?") for p in front.paths)
    pages_of_truth = -(-len(truth) // size)
    # Bounded: three reads of every page, and the few asked for ahead (eight).
    assert asked <= 3 * (pages_of_truth + 1 + 8)
    low = max(1, len(truth) - shift)
    if ignore_offset or count in ("high", "huge"):
        assert got is None  # cannot be read whole: an error, never a part for the whole
    elif count == "low" and low % size == 0 and low >= size:
        # A count a whole number of pages too low looks like the truth: asking past it
        # would cost every listing of a whole number of pages a request (left alone).
        assert got is not None and len(got) == low and set(got) <= truth
    else:
        assert got is not None and sorted(got) == sorted(truth)


def test_huge_listing_bodies_are_read(tmp_path: Path, brainstem_server: LocalServer) -> None:
    pad = lambda a: Answer(a.method, a.path, a.status,  # noqa: E731
                           a.body[:-1] + b', "padding": "' + b" " * 20_000_000 + b'"}', a.kind)
    session = make_session(tmp_path / "s", 2)
    with Front(brainstem_server.url, rewrite=rewrite_when(is_listing, pad)) as front, \
            client(front.url, brainstem_server.token) as c:
        report = ingest(session, dataset=DATASET, actions=[ACTION], client=c,
                        journal=tmp_path / "j.sqlite")
    assert report.counts() == {"created": 2}
    assert names_on_server(brainstem_server) & ours(session) == ours(session)


@pytest.mark.parametrize("count", ["missing", "low"])
def test_records_past_the_first_page_are_found_when_the_count_is_missing_or_low(
        tmp_path: Path, brainstem_server: LocalServer, count: str) -> None:
    # Before: without a count (or with one too low) the listing stopped at the first page;
    # a session whose records were further on was posted again, and its twins deleted
    # after (or, with the read-back as cut, left twice).
    with client(brainstem_server.url, brainstem_server.token) as c:
        for i in range(150):
            c.create("experimentdata", {
                "type": "Extracellular", "dataset": DATASET, "actions": [ACTION],
                "type_json": {"fileName": f"other{i:03d}.dat", "nChannels": 1, "sr": 1.0}})
    session = make_session(tmp_path / "s", 2)
    with client(brainstem_server.url, brainstem_server.token) as c:  # another machine's run
        assert ingest(session, dataset=DATASET, actions=[ACTION], client=c,
                      journal=tmp_path / "a.sqlite").counts() == {"created": 2}
    writes = len([h for h in brainstem_server.hits if h.method != "GET"])
    with Front(brainstem_server.url, rewrite=Pages(100, count, 60, False)) as front, \
            client(front.url, brainstem_server.token) as c:
        report = ingest(session, dataset=DATASET, actions=[ACTION], client=c,
                        journal=tmp_path / "b.sqlite")
    assert report.counts() == {"unchanged": 2}, report.to_json()
    assert len([h for h in brainstem_server.hits if h.method != "GET"]) == writes
    assert names_on_server(brainstem_server) & ours(session) == ours(session)


@pytest.mark.parametrize("kind", ["without-id", "id-not-uuid", "html-201"])
def test_a_session_created_with_an_odd_answer_is_found_by_name_not_journaled_as_none(
        tmp_path: Path, brainstem_server: LocalServer, no_waits: None, kind: str) -> None:
    # Before: a session POST answered with a record without an id journaled the session
    # as uploaded with the id "None"; that run and every later one (the journal consulted
    # first) stopped with "id 'None' is not a UUID" (exit 2).
    from tests.test_ingest_current import PROCEDURE, PROJECT, env_for, raw

    def change(a: Answer) -> Answer:
        made = json.loads(a.body)["session"]
        body = {"without-id": {"session": {k: v for k, v in made.items() if k != "id"}},
                "id-not-uuid": {"session": {**made, "id": 12}}}.get(kind)
        return (Answer(a.method, a.path, 201, json.dumps(body).encode(), a.kind) if body
                else Answer(a.method, a.path, 201, PROXY_HTML, "text/html"))

    folder = tmp_path / "day9"
    make_session(folder, 2)
    sessions = rewrite_when(lambda a: a.method == "POST" and "/stem/session/" in a.path, change)
    args = ["ingest", str(folder), "--create-session", "--project", PROJECT,
            "--procedure", PROCEDURE, "--json"]
    with Front(brainstem_server.url, rewrite=sessions) as front:
        env = {**env_for(brainstem_server, tmp_path), "BRAINSTEM_SERVER": front.url}
        result = CliRunner(env=env).invoke(cli, args)
    assert result.exit_code == exitcodes.OK, result.output
    (made,) = raw(brainstem_server, "stem/session", **{"filter{name}": "day9"})["sessions"]
    assert json.loads(result.stdout)["created_session"]["id"] == made["id"]
    again = CliRunner(env=env_for(brainstem_server, tmp_path)).invoke(cli, args)
    assert again.exit_code == exitcodes.OK, again.output
    assert json.loads(again.stdout)["counts"] == {"unchanged": 2}
    assert len(raw(brainstem_server, "stem/session", **{"filter{name}": "day9"})["sessions"]) == 1


# -- a batch, as a rig runs it ------------------------------------------------------------------

def unproven(a: Answer) -> Answer | None:
    """Creates answered with an empty 201, reads back with a proxy's page; the listings
    of whole datasets (the plan) go through."""
    if is_post(a):
        return answer(b"", 201)(a)
    if is_listing(a) and "fileName.in" in a.path.replace("%7B", "{").replace("%7D", "}"):
        return answer(PROXY_HTML, 200, "text/html")(a)
    return None


@pytest.mark.parametrize("change", [unproven, rewrite_when(is_listing,
                                                            LISTING_ANSWERS["records-strings"])],
                         ids=["creates-unproven", "listing-of-strings"])
def test_cli_batch_queues_what_odd_answers_leave_unknown_and_a_rerun_makes_each_once(
        tmp_path: Path, brainstem_server: LocalServer, no_waits: None, change: Rewrite) -> None:
    from tests.test_batch import ACTION as BATCH_ACTION
    from tests.test_batch import DATASETS, write_session

    rows = ["session,dataset,actions,hardware_device,description"]
    expected: collections.Counter[str] = collections.Counter()
    for i in range(2):
        expected.update(write_session(tmp_path / f"s{i}", f"s{i}", 2))
        rows.append(f"s{i},{DATASETS[i]},{BATCH_ACTION},,")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    args = ["batch", "--api", "2023", str(tmp_path / "m.csv"), "--jobs", "2", "--json"]
    with Front(brainstem_server.url, rewrite=change) as front:
        result = CliRunner(env=cli_env(brainstem_server, front.url, tmp_path)).invoke(cli, args)
    assert result.exit_code == exitcodes.QUEUED, result.output
    assert "Traceback" not in result.output and "bug in bsingest" not in result.output
    report = json.loads(result.stdout)
    files = [f for s in report["sessions"] for f in s["files"]]
    assert collections.Counter(f["outcome"] for f in files) == {"queued": 4}
    assert all(one_line(f["error"]) for f in files)
    again = CliRunner(env=cli_env(brainstem_server, brainstem_server.url, tmp_path)).invoke(
        cli, args)
    assert again.exit_code == exitcodes.OK, again.output
    with client(brainstem_server.url, brainstem_server.token) as c:
        names = collections.Counter(r["type_json"]["fileName"] for d in DATASETS[:2]
                                    for r in c.experiment_data(d))
    assert {n: names[n] for n in expected} == {n: 1 for n in expected}


# -- an odd answer to an update, and to `bsingest records list` -------------------------------

@pytest.mark.parametrize("body", [PROXY_HTML, b""], ids=["html", "empty"])
def test_an_update_answered_oddly_stays_queued_and_a_rerun_finds_it_done(
        tmp_path: Path, brainstem_server: LocalServer, body: bytes) -> None:
    # Before: every such record "failed" (exit 1), though the PATCH had been carried out.
    session = make_session(tmp_path / "s", 2)
    with client(brainstem_server.url, brainstem_server.token) as c:
        ingest(session, dataset=DATASET, actions=[ACTION], client=c,
               journal=tmp_path / "a.sqlite", description="typed in by hand")
    patches = rewrite_when(lambda a: a.method == "PATCH", answer(body, 200, "text/html"))
    with Front(brainstem_server.url, rewrite=patches) as front, \
            client(front.url, brainstem_server.token) as c:
        report = ingest(session, dataset=DATASET, actions=[ACTION], client=c,
                        journal=tmp_path / "b.sqlite", existing="update")
    assert report.exit_code == exitcodes.QUEUED, report.to_json()
    assert all(r.error and r.error.startswith("queued: PATCH ") and one_line(r.error)
               for r in report.results)
    assert {s for s, _ in journal_rows(tmp_path / "b.sqlite").values()} == {"pending"}
    with client(brainstem_server.url, brainstem_server.token) as c:
        again = ingest(session, dataset=DATASET, actions=[ACTION], client=c,
                       journal=tmp_path / "b.sqlite", existing="update")
        assert again.counts() == {"unchanged": 2}
        assert all(not r.get("description") for r in c.experiment_data(DATASET)
                   if r["type_json"]["fileName"] in ours(session))


@pytest.mark.parametrize("kind", ["records-strings", "html-200", "json-list", "id-int"])
def test_cli_records_list_says_an_odd_listing_in_one_line(
        tmp_path: Path, brainstem_server: LocalServer, kind: str) -> None:
    # Before: records-strings ended `bsingest records list` with an AttributeError.
    with Front(brainstem_server.url, rewrite=rewrite_when(is_listing,
                                                          LISTING_ANSWERS[kind])) as front:
        result = CliRunner(env={"BRAINSTEM_TOKEN": brainstem_server.token,
                                "XDG_CONFIG_HOME": str(tmp_path / "cfg")}).invoke(
            cli, ["records", "list", "--server", front.url, "--api", "2023",
                  "--dataset", DATASET])
    assert result.exit_code == exitcodes.FAILED, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.output.startswith(f"bsingest: error: GET {front.url}{RECORDS}?")
    assert "answered 200: " in result.output and one_line(result.output)


# -- a record listed twice -------------------------------------------------------------------

def test_a_listing_that_repeats_each_record_deletes_nothing(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    # A server's join without DISTINCT lists each record twice, under one id. Before: the
    # copy was taken for a twin another run made: "kept X, removed X", a DELETE of the
    # very record kept, for each of them: the server ended with none (exit 0).
    session = make_session(tmp_path / "s", 2)
    with client(brainstem_server.url, brainstem_server.token) as c:
        made = ingest(session, dataset=DATASET, actions=[ACTION], client=c,
                      journal=tmp_path / "j.sqlite")
    assert made.counts() == {"created": 2}
    twice = records_as(lambda rs: [r for r in rs for _ in (0, 1)])
    with Front(brainstem_server.url, rewrite=rewrite_when(is_listing, twice)) as front, \
            client(front.url, brainstem_server.token) as c:
        report = ingest(session, dataset=DATASET, actions=[ACTION], client=c,
                        journal=tmp_path / "j.sqlite")
    assert [h for h in brainstem_server.hits if h.method == "DELETE"] == []
    assert names_on_server(brainstem_server) & ours(session) == ours(session)
    assert report.exit_code in (exitcodes.OK, exitcodes.QUEUED)
    assert all(one_line(r.error or "") for r in report.results)


def test_settle_never_deletes_the_id_it_keeps() -> None:
    wire = wire_for("2023")
    mine = {"type": "Extracellular", "dataset": DATASET, "actions": [ACTION],
            "type_json": {"fileName": "a.dat", "nChannels": 2, "sr": 1000.0}}
    theirs = {**mine, "id": "1f7f103b-e949-405a-9b01-ddda3b2f10cf"}

    class Row:
        record = mine
        state = "uploaded"
        existing = None

    done = settle(Row(), [theirs, dict(theirs)], posted=True, wire=wire,  # type: ignore[arg-type]
                  existing=None)
    assert (done.action, done.delete) == ("ours", ())


def test_a_proxy_page_on_every_path_is_not_said_to_be_a_404(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    # Before: "... answered 404): is it a BrainSTEM server?" when both probes had a 200
    # HTML page (a sign-in page of a proxy in front of the server).
    session = make_session(tmp_path / "s", 1)
    with Front(brainstem_server.url, rewrite=answer(PROXY_HTML, 200, "text/html")) as front:
        result = CliRunner(env=cli_env(brainstem_server, front.url, tmp_path)).invoke(
            cli, ["ingest", str(session), "--dataset", DATASET, "--action", ACTION])
    assert result.exit_code == exitcodes.USAGE, result.output
    assert result.output.startswith(f"bsingest: error: {front.url} answers neither /api/ nor")
    assert "answered 404, or a page that is not JSON" in result.output
    assert one_line(result.output)


# -- the current generation ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["html-201", "empty-201", "json-null", "id-null",
                                  "fields-of-other-types"])
def test_an_odd_answer_to_a_data_acquisition_create_is_read_back_once(
        tmp_path: Path, brainstem_server: LocalServer, kind: str) -> None:
    from tests.test_ingest_current import PROCEDURE, SESSION, acquisitions

    def change(a: Answer) -> Answer:
        if kind not in ("id-null", "fields-of-other-types"):
            return POST_ANSWERS[kind](a)
        made = json.loads(a.body)["data_acquisition"]
        made.update({"id": None} if kind == "id-null" else {"procedures": 3, "details": "x"})
        return Answer(a.method, a.path, a.status,
                      json.dumps({"data_acquisition": made}).encode(), a.kind)

    posts = rewrite_when(lambda a: a.method == "POST"
                         and a.path.startswith("/api/private/modules/dataacquisition/"), change)
    session = make_session(tmp_path / "s", 3)
    with Front(brainstem_server.url, rewrite=posts) as front, \
            BrainstemClient(server=front.url, token=brainstem_server.pat, api="2026",
                            retry=NO_WAIT) as c:
        report = ingest(session, session=SESSION, procedures=[PROCEDURE], client=c,
                        journal=tmp_path / "j.sqlite")
    made = {r["details"]["fileName"]: r["id"] for r in acquisitions(brainstem_server)
            if r["details"].get("fileName") in ours(session)}
    assert sorted(made) == sorted(ours(session))  # each once (a dict would hide twins)
    assert len([r for r in acquisitions(brainstem_server)
                if r["details"].get("fileName") in ours(session)]) == 3
    assert report.exit_code == exitcodes.OK, report.to_json()
    assert {r.path: (r.outcome, r.server_id) for r in report.results} == {
        n: ("created", i) for n, i in made.items()}


# -- an answer its Content-Encoding does not fit ---------------------------------------------

def gzip_lie(a: Answer) -> Answer:
    return Answer(a.method, a.path, a.status, a.body, a.kind, {"Content-Encoding": "gzip"})


def test_cli_a_create_answered_with_a_lying_content_encoding_is_read_back(
        tmp_path: Path, brainstem_server: LocalServer, no_waits: None) -> None:
    # Before: "cannot send the record: DecodingError: ..." and each record failed (exit 1),
    # journaled failed, though the server had made it.
    session = make_session(tmp_path / "s", 2)
    with Front(brainstem_server.url, rewrite=rewrite_when(is_post, gzip_lie)) as front:
        result = cli_ingest(session, cli_env(brainstem_server, front.url, tmp_path), "--json")
    assert result.exit_code == exitcodes.OK, result.output
    rows = journal_rows(tmp_path / "j.sqlite")
    assert {f["path"]: (f["outcome"], f["server_id"]) for f in
            json.loads(result.stdout)["files"]} == {n: ("created", rows[n][1]) for n in rows}
    assert {s for s, _ in rows.values()} == {"uploaded"}
    assert names_on_server(brainstem_server) & ours(session) == ours(session)


def test_cli_a_listing_with_a_lying_content_encoding_queues_the_records(
        tmp_path: Path, brainstem_server: LocalServer, no_waits: None) -> None:
    # Before: httpx.DecodingError went through the command line as a traceback.
    session = make_session(tmp_path / "s", 2)
    with Front(brainstem_server.url, rewrite=rewrite_when(is_listing, gzip_lie)) as front:
        result = cli_ingest(session, cli_env(brainstem_server, front.url, tmp_path))
    assert result.exit_code == exitcodes.QUEUED, result.output
    assert isinstance(result.exception, SystemExit)
    (why,) = [x for x in result.output.splitlines() if x.startswith("queued: ")]
    assert why.startswith(f"queued: GET {front.url}{RECORDS} failed: the answer could not be "
                          "decoded (")
    assert {s for s, _ in journal_rows(tmp_path / "j.sqlite").values()} == {"pending"}


# -- the device sign-in ----------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, PROXY_HTML, b"[]", b""],
                         ids=["nested-too-deep", "html", "json-list", "empty"])
def test_an_odd_answer_to_a_sign_in_poll_ends_it_in_one_line(tmp_path: Path,
                                                              body: bytes) -> None:
    # Before: JSON nested too deeply went through as a RecursionError.
    from bsingest.client import wait_for_device_token
    from bsingest.errors import ApiError
    from bsingest.server import DeviceAuth

    poll = "/api/auth/device/token/"
    with LocalServer(db_path=tmp_path / "d.sqlite3",
                     device_auth=DeviceAuth(interval=0, auto_approve=0)) as srv, \
            Front(srv.url, rewrite=rewrite_when(lambda a: a.path == poll,
                                                answer(body, 200))) as front, \
            BrainstemClient(front.url, api="2026") as c:
        device = c.start_device_authorization()
        with pytest.raises(ApiError) as info:
            wait_for_device_token(c, device, sleep=lambda _: None)
    assert str(info.value).startswith(f"POST {front.url}{poll} answered 200: ")
    assert one_line(str(info.value)) and len(str(info.value)) < 1500
