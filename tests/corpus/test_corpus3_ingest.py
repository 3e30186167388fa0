"""The second corpus (EEG, the neo formats, imaging, photometry, MRI, pose) as one session.

Issues 22-24's promise: ingested into the local server's current generation, a session of
these real files is accepted whole (every record ``extract`` lists is created, none
refused, none twice), and a re-run creates nothing. A 2023 server refuses, before any
request, exactly the records whose type the 2023 API lacks, each in one line naming it.
"""

from __future__ import annotations

import collections
from pathlib import Path

from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.extraction import extract_folder
from bsingest.generations import wire_for
from bsingest.ingest import ingest
from bsingest.recordtypes import legacy_name
from bsingest.server import LocalServer

CONTAINER = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: rat01-2024-03-01, both generations
LINK = "087b71c4-6785-437c-b8ef-e35a82a8463e"  # the action, and the procedure, of its implant


def test_the_whole_second_corpus_as_one_current_session(corpus3: Path, tmp_path: Path) -> None:
    files = corpus3 / "files"
    wire = wire_for("2026")
    listed = extract_folder(files)
    assert listed.errors == {}, listed.errors  # an extractor's failure, not the upload's
    expected = collections.Counter(
        f"{wire.wire_type(x.type)}|{x.relative_to(files).file_name}" for x in listed.extractions)
    assert len(expected) == len(listed.extractions) >= 60  # and no two share a key
    new_types = {wire.wire_type(x.type) for x in listed.extractions}
    assert {"Electroencephalography", "TwoPhotonMicroscopy", "Miniscope", "FiberPhotometry",
            "MagneticResonanceImaging", "ComputedTomography"} <= new_types

    with LocalServer(db_path=tmp_path / "server.sqlite3") as srv, \
            BrainstemClient(server=srv.url, token=srv.pat, api="2026",
                            retry=RetryPolicy(wait=False)) as c:
        seeded = {r["id"] for r in wire.records(c, CONTAINER)}
        report = ingest(files, session=CONTAINER, procedures=[LINK], client=c,
                        journal=tmp_path / "j.sqlite")
        refused = {r.path: r.error for r in report.results if r.outcome != "created"}
        assert refused == {}
        stored = [r for r in wire.records(c, CONTAINER) if r["id"] not in seeded]
        assert collections.Counter(wire.key(r) for r in stored) == expected

        writes = [h for h in srv.hits if h.method != "GET"]
        again = ingest(files, session=CONTAINER, procedures=[LINK], client=c,
                       journal=tmp_path / "j.sqlite")
        assert again.counts() == {"unchanged": len(expected)}
        assert [h for h in srv.hits if h.method != "GET"] == writes


def test_a_2023_server_refuses_only_the_types_it_lacks(corpus3: Path, tmp_path: Path) -> None:
    files = corpus3 / "files"
    listed = extract_folder(files)
    lacking = {x.relative_to(files).file_name: x.type for x in listed.extractions
               if legacy_name(x.type) is None}
    assert lacking  # EEG, imaging, photometry, MRI: none has a 2023 name
    with LocalServer(db_path=tmp_path / "server.sqlite3") as srv, \
            BrainstemClient(server=srv.url, token=srv.token, api="2023",
                            retry=RetryPolicy(wait=False)) as c:
        report = ingest(files, dataset=CONTAINER, actions=[LINK], client=c,
                        journal=tmp_path / "j.sqlite")
    failed = [r for r in report.results if r.outcome == "failed"]
    assert len(failed) == len(lacking)
    for r in failed:
        assert "\n" not in r.error and "2023" in r.error
        assert any(t in r.error for t in set(lacking.values())), r.error
    created = [r for r in report.results if r.outcome == "created"]
    assert len(created) == len(listed.extractions) - len(lacking)
