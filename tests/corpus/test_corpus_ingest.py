"""Issue 11's promise: the whole corpus, ingested as one session folder into a server that
refuses unknown keys, creates one record for every record ``extract`` lists, refuses none,
duplicates none; a re-run creates nothing."""

from __future__ import annotations

import collections
from pathlib import Path

from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.extraction import extract_folder
from bsingest.ingest import ingest
from bsingest.server import LocalServer

DATASET = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: rat01-2024-03-01
ACTION = "087b71c4-6785-437c-b8ef-e35a82a8463e"


def test_the_whole_corpus_as_one_session_2023(corpus: Path, tmp_path: Path) -> None:
    listed = extract_folder(corpus)
    assert listed.errors == {}, listed.errors  # an extractor's failure, not the upload's
    expected = collections.Counter(
        f"{x.type}|{x.relative_to(corpus).file_name}" for x in listed.extractions)
    assert len(expected) == len(listed.extractions) > 100  # and no two share a key

    with LocalServer(db_path=tmp_path / "server.sqlite3") as srv, \
            BrainstemClient(api="2023", server=srv.url, token=srv.token,
                            retry=RetryPolicy(wait=False)) as c:
        seeded = {r["id"] for r in c.experiment_data(DATASET)}
        report = ingest(corpus, dataset=DATASET, actions=[ACTION], client=c,
                        journal=tmp_path / "j.sqlite")
        refused = {r.path: r.error for r in report.results if r.outcome != "created"}
        assert refused == {}
        stored = collections.Counter(f"{r['type']}|{r['type_json']['fileName']}"
                                     for r in c.experiment_data(DATASET) if r["id"] not in seeded)
        assert stored == expected
        assert all("stream" not in r["type_json"] for r in c.experiment_data(DATASET))

        writes = [h for h in srv.hits if h.method != "GET"]
        again = ingest(corpus, dataset=DATASET, actions=[ACTION], client=c,
                       journal=tmp_path / "j.sqlite")
        assert again.counts() == {"unchanged": len(expected)}
        assert [h for h in srv.hits if h.method != "GET"] == writes
