"""Records bsingest 0.1 wrote (``stream`` in type_json, bare file names), on a server and in
a journal, are recognised and brought to the new form by a PATCH: never duplicated."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.extraction import extract_or_error
from bsingest.ingest import ingest
from bsingest.journal import Journal
from bsingest.recordtypes import legacy_name
from bsingest.server import LocalServer
from tests.fixtures import write_dat, write_neuroscope_xml
from tests.samples import openephys

DATASET = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: rat01-2024-03-01, alice's
ACTION = "087b71c4-6785-437c-b8ef-e35a82a8463e"


def make_session(folder: Path) -> Path:
    """Two Open Ephys streams (each a continuous.dat), a .dat in a sub-folder, one on top."""
    openephys.good(folder)
    write_dat(folder / "probe1" / "rec.dat", n_channels=2, n_samples=7)
    write_neuroscope_xml(folder / "probe1" / "rec.xml", 2)
    write_dat(folder / "top.dat", n_channels=2, n_samples=9)
    write_neuroscope_xml(folder / "top.xml", 2)
    return folder


def old_form(session: Path) -> list[dict[str, Any]]:
    """The records bsingest 0.1 would have written: bare names, ``stream`` where it had one."""
    out = []
    for path in sorted(session.rglob("*.dat")):
        extractions, error = extract_or_error(path)
        assert error is None, error
        for x in extractions:
            type_json = {**x.type_json, "fileName": os.path.basename(x.path)}
            if x.legacy_stream:
                type_json["stream"] = x.legacy_stream
            # 0.1 named types as the 2023 API does.
            out.append({"id": str(uuid.uuid4()), "type": legacy_name(x.type), "dataset": DATASET,
                        "actions": [ACTION], "hardware_device": None, "description": None,
                        "type_json": type_json})
    return out


def plant(srv: LocalServer, records: list[dict[str, Any]]) -> None:
    """Insert records as the store holds them: the 2023 schemas no longer allow ``stream``,
    so they cannot be POSTed any more."""
    app: Any = srv.app
    with app._lock:
        for rec in records:
            app._db.execute("INSERT INTO experiment_data (id, dataset, body) VALUES (?, ?, ?)",
                            (rec["id"], rec["dataset"], json.dumps(rec)))


def stored(srv: LocalServer) -> list[dict[str, Any]]:
    with BrainstemClient(api="2023", server=srv.url, token=srv.token) as c:
        return c.experiment_data(DATASET)


def test_old_records_on_the_server_and_in_the_journal_are_updated_not_duplicated(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s")
    before = len(stored(brainstem_server))
    old = old_form(session)
    legacy = [r for r in old if r["type_json"]["fileName"] != "top.dat"]
    assert sum("stream" in r["type_json"] for r in legacy) == 3  # the Open Ephys streams
    plant(brainstem_server, legacy)
    # bsingest 0.1 was killed after POSTing one of them: its journal row is 'sending'.
    jpath = tmp_path / "j.sqlite"
    first = legacy[0]
    tj = first["type_json"]
    with Journal(jpath) as jr:
        row = jr.stage(brainstem_server.url, DATASET,
                       f"{first['type']}|{tj['fileName']}|{tj['stream']}", "x", first, "fp")
        jr.mark(row, "sending", attempt=True)

    with BrainstemClient(api="2023", server=brainstem_server.url, token=brainstem_server.token,
                         retry=RetryPolicy(wait=False)) as c:
        report = ingest(session, dataset=DATASET, actions=[ACTION], client=c, journal=jpath)
    assert report.exit_code == 0, [r.error for r in report.results if r.error]
    assert report.counts() == {"updated": len(legacy), "created": 1}
    records = stored(brainstem_server)
    assert len(records) == before + len(old)  # one per file: nothing duplicated
    by_id = {r["id"]: r for r in records}
    for rec in legacy:  # the same records, now in the new form
        now = by_id[rec["id"]]["type_json"]
        assert "stream" not in now
        assert now["fileName"].endswith("/" + rec["type_json"]["fileName"])
    assert sorted(by_id[x["id"]]["type_json"]["fileName"] for x in legacy) == sorted([
        "Record Node 101/experiment1/recording1/continuous/Neuropix-PXI-100.ProbeA/continuous.dat",
        "Record Node 101/experiment1/recording1/continuous/NI-DAQmx-103.PXIe-6341/continuous.dat",
        "old/experiment1/recording1/continuous/Rhythm_FPGA-100.0/continuous.dat",
        "probe1/rec.dat"])
    with Journal(jpath) as jr:
        rows = jr.entries(dataset=DATASET)
    # The 0.1 row goes on under the new key, with the id of the record it had sent.
    assert {r.key: r.server_id for r in rows} == {
        f"{r['type']}|{r['type_json']['fileName']}": r["id"] for r in records
        if r["id"] in {x["id"] for x in legacy} or r["type_json"]["fileName"] == "top.dat"}
    assert all(r.state == "uploaded" for r in rows)

    writes = [h for h in brainstem_server.hits if h.method != "GET"]
    with BrainstemClient(api="2023", server=brainstem_server.url,
                         token=brainstem_server.token) as c:
        again = ingest(session, dataset=DATASET, actions=[ACTION], client=c, journal=jpath)
    assert again.counts() == {"unchanged": len(old)}
    assert [h for h in brainstem_server.hits if h.method != "GET"] == writes


def test_a_dry_run_shows_old_records_as_updates(tmp_path: Path,
                                                brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s")
    legacy = [r for r in old_form(session) if r["type_json"]["fileName"] != "top.dat"]
    plant(brainstem_server, legacy)
    with BrainstemClient(api="2023", server=brainstem_server.url,
                         token=brainstem_server.token) as c:
        report = ingest(session, dataset=DATASET, actions=[ACTION], client=c, dry_run=True)
    assert report.counts() == {"would-update": len(legacy), "would-create": 1}
    assert [h for h in brainstem_server.hits if h.method != "GET"] == []


def test_a_journal_written_before_the_generation_column_reads_as_2023(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the table as bsingest 0.1 created it
        db.execute("CREATE TABLE entries (server TEXT NOT NULL, dataset TEXT NOT NULL, key TEXT "
                   "NOT NULL, path TEXT NOT NULL, record TEXT NOT NULL, fingerprint TEXT NOT "
                   "NULL, state TEXT NOT NULL, server_id TEXT, attempts INTEGER NOT NULL "
                   "DEFAULT 0, last_error TEXT, updated_at REAL NOT NULL, "
                   "PRIMARY KEY (server, dataset, key))")
        db.execute("INSERT INTO entries VALUES ('s', 'd', 'Extracellular|a.dat|x', 'a.dat', "
                   "'{}', 'fp', 'uploaded', 'id1', 1, NULL, 0)")
    with Journal(path) as jr:
        (row,) = jr.entries()
        assert (row.api, row.existing, row.server_id) == ("2023", None, "id1")
        assert jr.rename_keys("s", "d", {"Extracellular|a.dat|x": "Extracellular|p/a.dat"}) == 1
        assert [e.key for e in jr.entries()] == ["Extracellular|p/a.dat"]


def test_push_leaves_a_row_bsingest_01_queued_for_a_new_ingest(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    from bsingest.ingest import push

    session = make_session(tmp_path / "s")
    (old,) = [r for r in old_form(session) if "stream" in r["type_json"]][:1]
    tj = old["type_json"]
    with Journal(tmp_path / "j.sqlite") as jr:
        jr.stage(brainstem_server.url, DATASET, f"{old['type']}|{tj['fileName']}|{tj['stream']}",
                 "x", old, "fp")
        with BrainstemClient(api="2023", server=brainstem_server.url,
                             token=brainstem_server.token) as c:
            (result,) = push(client=c, journal=jr)
    assert result.outcome == "queued"
    assert "ingest its session again" in (result.error or "")
    assert [h for h in brainstem_server.hits if h.method != "GET"] == []


def test_a_second_folder_does_not_adopt_the_first_folders_record_of_the_same_name(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    """Issue 21: folder A sends rec.dat (at its top: new key ``type|rec.dat``); folder B,
    into the same dataset, holds sub/rec.dat, whose 0.1 key is that same ``type|rec.dat``.
    B's record is created beside A's, never PATCHed over it; and the command line prints
    no 'error:' line when nothing failed."""
    from click.testing import CliRunner

    from bsingest.cli.main import cli

    first, second = tmp_path / "a", tmp_path / "b"
    write_dat(first / "rec.dat", n_channels=2, n_samples=7)
    write_neuroscope_xml(first / "rec.xml", 2)
    write_dat(second / "sub" / "rec.dat", n_channels=3, n_samples=11)
    write_neuroscope_xml(second / "sub" / "rec.xml", 3)
    env = {"BRAINSTEM_TOKEN": brainstem_server.token,
           "BSINGEST_JOURNAL": str(tmp_path / "j.sqlite"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    runner = CliRunner(env=env)
    before = len(stored(brainstem_server))
    for folder in (first, second):
        result = runner.invoke(cli, ["ingest", str(folder), "--server", brainstem_server.url,
                                     "--api", "2023", "--dataset", DATASET, "--action", ACTION])
        assert result.exit_code == 0, result.output
        assert "error:" not in result.stderr
    records = stored(brainstem_server)
    assert len(records) == before + 2
    mine = {r["type_json"]["fileName"]: r["type_json"]["nChannels"] for r in records
            if r["type_json"]["fileName"] in ("rec.dat", "sub/rec.dat")}
    assert mine == {"rec.dat": 2, "sub/rec.dat": 3}
    patches = [h for h in brainstem_server.hits if h.method == "PATCH"]
    assert patches == []
