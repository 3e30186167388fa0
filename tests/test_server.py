"""The local BrainSTEM-compatible server, driven with plain httpx (not our client).

Every expectation comes from the contract (``brainstem-api.md``) and the seed fixture.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from bsingest.server import Faults, LocalServer

ED = "/rest/{portal}/modules/experimentdata/"
DOCS_RECORD = "b0e4ed13-f2f1-4845-8772-24978539d0bd"
SEED = json.loads(resources.files("bsingest.data").joinpath("seed.json").read_text("utf-8"))


def _http(srv: LocalServer, user: str | None = "alice") -> httpx.Client:
    headers = {"Authorization": f"Token {srv.seed.users[user].token}"} if user else {}
    return httpx.Client(base_url=srv.url, headers=headers, timeout=10)


def _record(srv: LocalServer, dataset: str = "rat01-2024-03-01", **extra: Any) -> dict:
    body = {"type": "Extracellular", "dataset": srv.seed.datasets[dataset],
            "actions": [srv.seed.actions["rat01 probe implant"]],
            "type_json": {"fileName": "rec.dat", "format": "DAT", "type": "int16",
                          "nChannels": 4, "sr": 20000.0, "nSamples": 100}}
    body.update(extra)
    return body


def test_seed_ids_match_the_fixture(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    assert srv.seed.datasets == {d["name"]: d["id"] for d in SEED["datasets"]}
    assert srv.token == next(u["token"] for u in SEED["users"] if u["username"] == "alice")
    assert srv.record_count() == len(SEED["experiment_data"])


def test_crud_status_codes_and_envelopes(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    with _http(srv) as http:
        created = http.post(ED.format(portal="private"), json=_record(srv))
        assert created.status_code == 201
        rec = created.json()["experiment_data"]
        assert rec["type_json"]["nChannels"] == 4 and len(rec["id"]) == 36
        url = ED.format(portal="private") + rec["id"] + "/"
        detail = http.get(url)
        assert detail.status_code == 200 and detail.json() == {"experiment_data": rec}
        changed = http.patch(url, json={"description": "new text"})
        assert changed.status_code == 200
        assert changed.json()["experiment_data"] == {**rec, "description": "new text"}
        gone = http.delete(url)
        assert gone.status_code == 204 and gone.content == b""
        missing = http.get(url)
        assert missing.status_code == 404 and "detail" in missing.json()


def test_400_body_maps_each_field_to_messages(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    bad = _record(srv, actions=["not-a-uuid"], description="x" * 501)
    bad["type_json"]["nChannels"] = -1
    del bad["dataset"]
    with _http(srv) as http:
        resp = http.post(ED.format(portal="private"), json=bad)
    assert resp.status_code == 400
    body = resp.json()
    assert set(body) == {"dataset", "actions", "description", "type_json"}
    assert all(isinstance(v, list) and v and all(isinstance(m, str) for m in v)
               for v in body.values())
    assert any("nChannels" in m for m in body["type_json"])
    assert srv.record_count() == len(SEED["experiment_data"])


def test_unknown_references_are_400_naming_the_pk(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    ghost = "00000000-0000-4000-8000-000000000000"
    with _http(srv) as http:
        resp = http.post(ED.format(portal="private"),
                         json=_record(srv, actions=[ghost], hardware_device=ghost))
    assert resp.status_code == 400
    assert set(resp.json()) == {"actions", "hardware_device"}
    assert ghost in resp.json()["actions"][0]


def test_auth_missing_invalid_and_token_endpoint(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    with _http(srv, user=None) as anon:
        assert anon.get(ED.format(portal="private")).status_code == 401
        bad = anon.get(ED.format(portal="private"), headers={"Authorization": "Token nope"})
        assert bad.status_code == 401 and bad.json() == {"detail": "Invalid token."}
        ok = anon.post("/api-token-auth/", json={"username": "bob",
                                                 "password": "bob-demo-password"})
        assert ok.status_code == 200 and ok.json() == {"token": srv.seed.users["bob"].token}
        refused = anon.post("/api-token-auth/", json={"username": "bob", "password": "x"})
        assert refused.status_code == 400 and "non_field_errors" in refused.json()


def test_portals(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    by_dataset = {r["id"]: r["dataset"] for r in SEED["experiment_data"]}
    owner = {d["id"]: d["owner"] for d in SEED["datasets"]}
    public = {d["id"] for d in SEED["datasets"] if d["is_public"]}
    with _http(srv) as alice, _http(srv, "admin") as admin, _http(srv, None) as anon:
        mine = alice.get(ED.format(portal="private")).json()["experiment_data"]
        assert {r["id"] for r in mine} == {i for i, d in by_dataset.items()
                                           if owner[d] == "alice"}
        pub = anon.get(ED.format(portal="public")).json()["experiment_data"]
        assert {r["id"] for r in pub} == {i for i, d in by_dataset.items() if d in public}
        assert alice.post(ED.format(portal="public"), json=_record(srv)).status_code == 403
        assert alice.get(ED.format(portal="super")).status_code == 403
        every = admin.get(ED.format(portal="super")).json()
        assert every["count"] == len(SEED["experiment_data"])
        # Another user's unpublished record is invisible, hence 404, even by id.
        bobs = next(i for i, d in by_dataset.items() if owner[d] == "bob" and d not in public)
        assert alice.get(ED.format(portal="private") + bobs + "/").status_code == 404
        # Writing into another user's dataset is refused like a missing one.
        resp = alice.post(ED.format(portal="private"),
                          json=_record(srv, dataset="bob-private-session"))
        assert resp.status_code == 400 and "dataset" in resp.json()


def test_shared_dataset_is_writable_by_its_member(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    with _http(srv, "bob") as bob:
        body = _record(srv, dataset="rat01-2024-03-02",
                       actions=[srv.seed.actions["bob implant"]])
        assert bob.post(ED.format(portal="private"), json=body).status_code == 201


def test_filters_sort_include_and_paging(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    ds = srv.seed.datasets["rat01-2024-03-01"]
    url = ED.format(portal="private")
    with _http(srv) as http:
        for i, kind in enumerate(["Extracellular", "GeneralTimeSeries", "Extracellular"]):
            body = _record(srv, type=kind, description=f"Probe shank {i}")
            body["type_json"]["fileName"] = f"rec{i}.dat"
            assert http.post(url, json=body).status_code == 201

        def ids(params: list[tuple[str, str]]) -> list[str]:
            resp = http.get(url, params=params)
            assert resp.status_code == 200, resp.text
            return [r["type_json"].get("fileName") for r in resp.json()["experiment_data"]]

        assert ids([("filter{dataset}", ds)]) == ["rec0.dat", "rec1.dat", "rec2.dat"]
        assert ids([("filter{dataset}", ds), ("filter{type}", "GeneralTimeSeries")]) == [
            "rec1.dat"]
        assert ids([("filter{description.icontains}", "SHANK 2")]) == ["rec2.dat"]
        assert ids([("filter{type_json.fileName}", "rec0.dat")]) == ["rec0.dat"]
        assert ids([("filter{dataset}", ds), ("sort[]", "-type_json.fileName")]) == [
            "rec2.dat", "rec1.dat", "rec0.dat"]
        assert ids([("filter{dataset}", ds), ("sort[]", "-type"),
                    ("sort[]", "type_json.fileName")]) == ["rec1.dat", "rec0.dat", "rec2.dat"]
        page = http.get(url, params=[("filter{dataset}", ds), ("limit", "1"),
                                     ("offset", "1")]).json()
        assert page["count"] == 3 and len(page["experiment_data"]) == 1
        assert page["experiment_data"][0]["type_json"]["fileName"] == "rec1.dat"
        inc = http.get(url, params=[("filter{dataset}", ds), ("include[]", "dataset.*")]).json()
        assert inc["experiment_data"][0]["dataset"]["name"] == "rat01-2024-03-01"
        assert http.get(url, params=[("filter{secret}", "x")]).status_code == 400
        assert http.get(url, params=[("limit", "many")]).status_code == 400


def test_a_page_holds_at_most_100(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    url = ED.format(portal="private")
    with _http(srv) as http:
        for _ in range(105):
            assert http.post(url, json=_record(srv)).status_code == 201
        resp = http.get(url, params={"limit": "500"}).json()
    total = 105 + sum(1 for r in SEED["experiment_data"] if r["dataset"] in
                      {d["id"] for d in SEED["datasets"] if d["owner"] == "alice"})
    assert resp["count"] == total and len(resp["experiment_data"]) == 100


def test_related_models_are_read_only(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    with _http(srv) as http:
        datasets = http.get("/rest/private/stem/dataset/").json()
        assert {d["name"] for d in datasets["datasets"]} == {
            d["name"] for d in SEED["datasets"] if d["owner"] == "alice"}
        assert all("owner" not in d for d in datasets["datasets"])
        device = http.get(f"/rest/private/resources/hardwaredevice/{srv.seed.hardware_device}/")
        assert device.json()["hardware_device"]["id"] == srv.seed.hardware_device
        assert http.post("/rest/private/stem/dataset/", json={"name": "x"}).status_code == 405
        assert http.get("/rest/private/stem/nosuch/").status_code == 404


@pytest.mark.parametrize("mode,status", [("error_before", 500), ("unavailable", 503),
                                         ("throttle", 429)])
def test_faults_before_the_write_write_nothing(tmp_path: Path, mode: str, status: int) -> None:
    with LocalServer(tmp_path / "db.sqlite3", Faults(rate=1.0, modes=(mode,),
                                                     retry_after=7)) as srv:
        with _http(srv) as http:
            resp = http.post(ED.format(portal="private"), json=_record(srv))
        assert resp.status_code == status
        if mode != "error_before":
            assert resp.headers["Retry-After"] == "7"
        assert srv.record_count() == len(SEED["experiment_data"])


def test_faults_after_the_write_commit_it(tmp_path: Path) -> None:
    with LocalServer(tmp_path / "db.sqlite3", Faults(rate=1.0, modes=("error_after",))) as srv:
        with _http(srv) as http:
            assert http.post(ED.format(portal="private"), json=_record(srv)).status_code == 500
            srv.set_faults(Faults(rate=1.0, modes=("drop_after",)))
            with pytest.raises(httpx.RemoteProtocolError):
                http.post(ED.format(portal="private"), json=_record(srv))
        assert srv.record_count(srv.seed.datasets["rat01-2024-03-01"]) == 2
        assert [h.status for h in srv.hits] == [500, None]


def test_fault_draws_are_deterministic_for_a_seed(tmp_path: Path) -> None:
    def outcomes(seed: int, where: str) -> list[int]:
        faults = Faults(rate=0.5, modes=("error_before", "throttle"), seed=seed)
        with LocalServer(tmp_path / where, faults) as srv, _http(srv) as http:
            return [http.post(ED.format(portal="private"), json=_record(srv)).status_code
                    for _ in range(30)]

    first, again, other = outcomes(3, "a.db"), outcomes(3, "b.db"), outcomes(4, "c.db")
    assert first == again
    assert first != other
    assert {201, 500, 429} <= set(first)


def test_reads_are_not_faulted_by_default_and_limit_bounds_faults(tmp_path: Path) -> None:
    with LocalServer(tmp_path / "db", Faults(rate=1.0, modes=("error_before",), limit=2)) as srv:
        with _http(srv) as http:
            assert http.get(ED.format(portal="private")).status_code == 200
            codes = [http.post(ED.format(portal="private"), json=_record(srv)).status_code
                     for _ in range(3)]
    assert codes == [500, 500, 201]


def test_database_survives_a_restart_without_reseeding(tmp_path: Path) -> None:
    db = tmp_path / "keep.sqlite3"
    with LocalServer(db) as srv, _http(srv) as http:
        http.post(ED.format(portal="private"), json=_record(srv))
    with LocalServer(db) as srv:
        assert srv.record_count() == len(SEED["experiment_data"]) + 1


def test_latency_is_added(tmp_path: Path) -> None:
    # Shown by a client's read timeout, not by timing the request: a client that waits
    # 0.05 s for an answer gets none from a server told to take 1 s, and one that waits
    # 10 s gets it.
    with LocalServer(tmp_path / "db", Faults(latency=1.0, methods=("GET",))) as srv:
        headers = {"Authorization": f"Token {srv.token}"}
        with httpx.Client(base_url=srv.url, headers=headers, timeout=0.05) as impatient:
            with pytest.raises(httpx.ReadTimeout):
                impatient.get(ED.format(portal="private"))
        with _http(srv) as http:
            assert http.get(ED.format(portal="private")).status_code == 200
