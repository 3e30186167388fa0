"""Issue 11's promise, in both API generations: the whole corpus, ingested as one session
folder into a server that refuses unknown keys, creates one record for every record
``extract`` lists, refuses none, duplicates none; a re-run creates nothing."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest

from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.extraction import extract_folder
from bsingest.generations import wire_for
from bsingest.ingest import ingest
from bsingest.server import LocalServer

CONTAINER = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: rat01-2024-03-01, both generations
LINK = "087b71c4-6785-437c-b8ef-e35a82a8463e"  # the action, and the procedure, of its implant


@pytest.mark.parametrize("api", ["2023", "2026"])
def test_the_whole_corpus_as_one_session(corpus: Path, tmp_path: Path, api: str) -> None:
    wire = wire_for(api)
    listed = extract_folder(corpus)
    assert listed.errors == {}, listed.errors  # an extractor's failure, not the upload's
    expected = collections.Counter(
        f"{wire.wire_type(x.type)}|{x.relative_to(corpus).file_name}"
        for x in listed.extractions)
    assert len(expected) == len(listed.extractions) > 100  # and no two share a key
    links: dict[str, Any] = ({"dataset": CONTAINER, "actions": [LINK]} if api == "2023"
                             else {"session": CONTAINER, "procedures": [LINK]})

    with LocalServer(db_path=tmp_path / "server.sqlite3") as srv, \
            BrainstemClient(server=srv.url, token=srv.token if api == "2023" else srv.pat,
                            api=api, retry=RetryPolicy(wait=False)) as c:
        seeded = {r["id"] for r in wire.records(c, CONTAINER)}
        report = ingest(corpus, **links, client=c, journal=tmp_path / "j.sqlite")
        refused = {r.path: r.error for r in report.results if r.outcome != "created"}
        assert refused == {}
        stored = [r for r in wire.records(c, CONTAINER) if r["id"] not in seeded]
        assert collections.Counter(wire.key(r) for r in stored) == expected
        assert all("stream" not in wire.details(r) for r in stored)

        writes = [h for h in srv.hits if h.method != "GET"]
        again = ingest(corpus, **links, client=c, journal=tmp_path / "j.sqlite")
        assert again.counts() == {"unchanged": len(expected)}
        assert [h for h in srv.hits if h.method != "GET"] == writes


@pytest.mark.parametrize("jobs", [1, 4])
@pytest.mark.parametrize("which", ["corpus", "corpus3"])
def test_the_records_prepared_for_upload_hold_what_extract_lists(
        request: pytest.FixtureRequest, which: str, jobs: int) -> None:
    # ingest and batch read a session through prepare(): in one run (sidecars shared by
    # the files, one thread or several), apart from extract's. Every record must hold
    # the values extract lists for the same file.
    from bsingest.details import to_details
    from bsingest.ingest import prepare
    from bsingest.sessionconfig import load_options

    folder: Path = request.getfixturevalue(which)
    listed = extract_folder(folder)
    assert listed.errors == {}, listed.errors
    expected = {}
    for x in listed.extractions:
        mine = x.relative_to(folder)
        expected[mine.file_name] = to_details(mine.type, mine.type_json)
    options = load_options(folder, session=CONTAINER, procedures=(LINK,)).for_api("2026")
    ready = prepare(folder, options, jobs=jobs)
    assert ready.failures == []
    got = {body["details"]["fileName"]: (body["type"], body["details"])
           for _, _, body, _ in ready.records}
    assert len(got) == len(expected) > 60
    assert got == expected
