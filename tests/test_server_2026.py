"""The local server's current generation (``/api/``), driven with plain httpx.

Every expectation comes from ``brainstem-api-2026.md`` and the seed fixture: Data
Acquisition CRUD in both envelope forms, sessions, the read-only related models, Bearer
personal access tokens against 2023 tokens, the device flow's every state, strict
validation and units through the server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from bsingest.details import from_details, to_details
from bsingest.server import DeviceAuth, Faults, LocalServer

DA = "/api/{portal}/modules/dataacquisition/"
SESSIONS = "/api/private/stem/session/"
DOCS_RECORD = "b0e4ed13-f2f1-4845-8772-24978539d0bd"
SEED = json.loads(resources.files("bsingest.data").joinpath("seed.json").read_text("utf-8"))


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[LocalServer]:
    with LocalServer(db_path=tmp_path / "brainstem.sqlite3",
                     device_auth=DeviceAuth(interval=0)) as server:
        yield server


def _http(srv: LocalServer, user: str | None = "alice") -> httpx.Client:
    headers = {"Authorization": f"Bearer {srv.seed.users[user].pat}"} if user else {}
    return httpx.Client(base_url=srv.url, headers=headers, timeout=10)


def _acquisition(srv: LocalServer, **extra: Any) -> dict[str, Any]:
    body = {"type": "ExtracellularEphys", "session": srv.seed.session,
            "procedures": [srv.seed.procedure], "equipment": [srv.seed.equipment],
            "notes": "probe A", "type_schema_version": "1.1.0",
            "details": {"fileName": "rec.dat", "format": "DAT", "type": "int16",
                        "nChannels": 4, "sr": {"value": 20000, "unit": "Hz"},
                        "nSamples": 100, "lsb": {"value": 0.195, "unit": "µV"}}}
    body.update(extra)
    return body


def test_seed_ids_match_the_fixture(srv: LocalServer) -> None:
    alice = next(u for u in SEED["users"] if u["username"] == "alice")
    assert srv.pat == alice["pat"] and srv.token == alice["token"] and srv.pat != srv.token
    assert srv.seed.sessions == {s["name"]: s["id"] for s in SEED["sessions"]}
    # The main session is the main 2023 dataset, under the same id.
    assert srv.seed.session == srv.seed.datasets["rat01-2024-03-01"]
    assert srv.seed.procedure == srv.seed.actions["rat01 probe implant"]
    assert srv.seed.project == srv.seed.projects["rat01-lab"]
    assert srv.seed.equipment == srv.seed.equipments["rig A headstage"]
    assert srv.seed.foreign_session == srv.seed.sessions["bob-private-session"]
    assert srv.seed.readonly_session == srv.seed.sessions["bob-shared-session"]
    assert srv.acquisition_count() == len(SEED["data_acquisitions"])
    assert srv.record_count() == len(SEED["experiment_data"])


@pytest.mark.parametrize("legacy", [False, True])
def test_crud_status_codes_and_envelopes(tmp_path: Path, legacy: bool) -> None:
    one = "dataacquisition" if legacy else "data_acquisition"
    many = "dataacquisition" if legacy else "data_acquisitions"
    with LocalServer(tmp_path / "db", legacy_envelope=legacy) as srv, _http(srv) as http:
        created = http.post(DA.format(portal="private"), json=_acquisition(srv))
        assert created.status_code == 201
        rec = created.json()[one]
        assert len(rec["id"]) == 36 and rec["image"] is None and rec["order"] is None
        assert rec["details"]["sr"] == {"value": 20000, "unit": "Hz"}
        assert rec["type_schema_version"] == "1.1.0"
        url = DA.format(portal="private") + rec["id"] + "/"
        assert http.get(url).json() == {one: rec}
        listed = http.get(DA.format(portal="private"),
                          params={"filter{session}": srv.seed.session}).json()
        assert set(listed) == {many, "count"} and listed[many] == [rec] and listed["count"] == 1
        changed = http.patch(url, json={"notes": "probe B", "order": 2})
        assert changed.status_code == 200
        assert changed.json()[one] == {**rec, "notes": "probe B", "order": 2}
        gone = http.delete(url)
        assert gone.status_code == 204 and gone.content == b""
        assert http.get(url).status_code == 404
        assert srv.acquisition_count(srv.seed.session) == 0


def test_list_filters_sort_include_and_paging(srv: LocalServer) -> None:
    with _http(srv) as http:
        for i in range(5):
            body = _acquisition(srv, notes=f"n{i}")
            body["details"] = {**body["details"], "fileName": f"probe_{i}/rec.dat"}
            assert http.post(DA.format(portal="private"), json=body).status_code == 201
        url = DA.format(portal="private")

        def ids(**params: Any) -> list[str]:
            answer = http.get(url, params=params).json()
            return [r["details"].get("fileName") for r in answer["data_acquisitions"]]

        assert ids(**{"filter{details.fileName}": "probe_3/rec.dat"}) == ["probe_3/rec.dat"]
        assert ids(**{"filter{session.id}": srv.seed.session, "sort[]": "-notes",
                      "limit": 2, "offset": 1}) == ["probe_3/rec.dat", "probe_2/rec.dat"]
        page = http.get(url, params={"filter{session}": srv.seed.session, "limit": 2}).json()
        assert page["count"] == 5 and len(page["data_acquisitions"]) == 2
        assert http.get(url, params={"filter{type}": "Audio"}).json()["count"] == 0
        embedded = http.get(url, params={"filter{session}": srv.seed.session, "limit": 1,
                                         "include[]": ["session.*", "procedures.*"]}).json()
        rec = embedded["data_acquisitions"][0]
        assert rec["session"]["name"] == "rat01-2024-03-01"
        assert rec["procedures"][0]["id"] == srv.seed.procedure
        assert http.get(url, params={"filter{owner}": "x"}).status_code == 400
        assert http.get(url, params={"include[]": "dataset.*"}).status_code == 400


def test_visibility_per_portal(srv: LocalServer) -> None:
    mine = {s for n, s in srv.seed.sessions.items() if not n.startswith("bob-")}
    with _http(srv) as http, _http(srv, None) as anonymous:
        private = http.get(DA.format(portal="private")).json()["data_acquisitions"]
        public = anonymous.get(DA.format(portal="public")).json()["data_acquisitions"]
        sessions = http.get(SESSIONS).json()["sessions"]
    assert {r["session"] for r in private} <= mine
    assert srv.seed.foreign_session not in {s["id"] for s in sessions}
    # A viewer sees the session of a project shared with her, and not bob's others.
    assert srv.seed.readonly_session in {s["id"] for s in sessions}
    assert [r["id"] for r in public] == ["e8331f96-8897-408b-aac2-136aea2a2b49"]
    assert public[0]["details"]["sr"] == {"value": 250, "unit": "kHz"}


def test_tokens_of_one_generation_are_refused_by_the_other(srv: LocalServer) -> None:
    da, ed = DA.format(portal="private"), "/rest/private/modules/experimentdata/"
    with httpx.Client(base_url=srv.url, timeout=10) as http:
        def status(path: str, header: str) -> int:
            return http.get(path, headers={"Authorization": header}).status_code

        assert status(da, f"Bearer {srv.pat}") == 200
        assert status(ed, f"Token {srv.token}") == 200
        assert status(da, f"Token {srv.token}") == 401
        assert status(da, f"Bearer {srv.token}") == 401
        assert status(ed, f"Bearer {srv.pat}") == 401
        assert status(ed, f"Token {srv.pat}") == 401
        assert http.get(da).status_code == 401
        refused = http.get(da, headers={"Authorization": f"Token {srv.token}"})
        assert "Bearer" in refused.json()["detail"]
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert srv.token not in refused.text and srv.pat not in refused.text


def test_an_expired_token_is_refused_with_its_reason(srv: LocalServer) -> None:
    with httpx.Client(base_url=srv.url, timeout=10) as http:
        start = _start(http)
        srv.approve_device(start["user_code"])
        fresh = _poll(http, start["device_code"])["token"]
        for token in (fresh, srv.pat):
            headers = {"Authorization": f"Bearer {token}"}
            assert http.get(SESSIONS, headers=headers).status_code == 200
            srv.expire_pat(token)
            refused = http.get(SESSIONS, headers=headers)
            assert refused.status_code == 401 and "expired" in refused.json()["detail"]
        other = {"Authorization": f"Bearer {srv.seed.users['bob'].pat}"}
        assert http.get(SESSIONS, headers=other).status_code == 200


def test_public_portal_is_read_only(srv: LocalServer) -> None:
    with _http(srv) as http:
        resp = http.post(DA.format(portal="public"), json=_acquisition(srv))
        assert resp.status_code == 403
        assert http.post("/api/public/stem/session/", json={}).status_code == 403
        assert http.get("/api/super/modules/dataacquisition/").status_code == 404


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"details": {"fileName": "rec.dat", "stream": "A"}}, "details", "stream"),
    ({"details": {"sr": 20000}}, "details", "sr"),                    # bare number in 1.1.0
    ({"details": {"sr": {"value": 20, "unit": "uV"}}}, "details", "unit"),
    ({"details": {"lsb": {"value": 0.195, "unit": "uV"}}}, "details", "µV"),  # strict enum
    ({"details": {"nChannels": 2, "electrodeGroups": [{"channels": [3]}]}}, "details",
     "nChannels"),
    # A tag names its groups by index ("groups": [0]), the one form this server keeps.
    ({"details": {"electrodeGroups": [{"channels": [0], "label": "shank1"}],
                  "channelTags": [{"tag": "bad", "electrodeGroups": "shank1"}]}}, "details",
     "electrodeGroups"),
    # Not a list where the cross-field rules read one: said, never a 500 (it was).
    ({"details": {"nChannels": 2, "channelTags": True}}, "details", "channelTags"),
    ({"details": {"nChannels": 2, "electrodeGroups": 5}}, "details", "electrodeGroups"),
    ({"type": "Extracellular"}, "type", "ExtracellularEphys"),      # the 2023 name
    ({"type_schema_version": "2.0.0"}, "type_schema_version", "1.1.0"),
    ({"notes": "x" * 501}, "notes", "500"),
    ({"procedures": ["not-a-uuid"]}, "procedures", "UUID"),
    ({"dataset": "x"}, "dataset", "not a field"),
    ({"session": None}, "session", "required"),
])
def test_strict_validation_names_the_field(srv: LocalServer, change: dict[str, Any],
                                           field: str, words: str) -> None:
    with _http(srv) as http:
        resp = http.post(DA.format(portal="private"), json=_acquisition(srv, **change))
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert field in body and any(words in m for m in body[field]), body
    assert srv.acquisition_count() == len(SEED["data_acquisitions"])


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_in_a_body_are_refused(srv: LocalServer, number: bytes) -> None:
    body = json.dumps(_acquisition(srv)).replace('"value": 20000', '"value": @').encode()
    with _http(srv) as http:
        resp = http.post(DA.format(portal="private"), content=body.replace(b"@", number),
                         headers={"Content-Type": "application/json"})
        assert resp.status_code == 400 and "JSON parse error" in resp.json()["detail"]
        # The 2023 endpoint parses the same way.
        ed = http.post("/rest/private/modules/experimentdata/",
                       content=b'{"type": "Extracellular", "type_json": {"sr": ' + number + b"}}",
                       headers={"Content-Type": "application/json",
                                "Authorization": f"Token {srv.token}"})
        assert ed.status_code == 400
    assert srv.acquisition_count() == len(SEED["data_acquisitions"])


def test_schema_0_0_0_records_carry_bare_numbers(srv: LocalServer) -> None:
    legacy = {"fileName": "old.dat", "format": "DAT", "type": "int16", "nChannels": 2,
              "sr": 20000, "nSamples": 10, "lsb": 0.195}
    with _http(srv) as http:
        url = DA.format(portal="private")
        made = http.post(url, json=_acquisition(srv, type_schema_version="0.0.0",
                                                details=legacy))
        assert made.status_code == 201
        rec = made.json()["data_acquisition"]
        assert rec["details"] == legacy and rec["type_schema_version"] == "0.0.0"
        # A PATCH with units under 0.0.0 is refused; with the version, accepted.
        units = {"sr": {"value": 20, "unit": "kHz"}}
        assert http.patch(url + rec["id"] + "/", json={"details": units}).status_code == 400
        upgraded = http.patch(url + rec["id"] + "/",
                              json={"details": units, "type_schema_version": "1.1.0"})
        assert upgraded.status_code == 200
        assert upgraded.json()["data_acquisition"]["details"] == units
        seeded = http.get(url + "f3b6bd2c-7c2a-4a44-a0d4-1a4c8bd1a7f0/").json()
    assert seeded["data_acquisition"]["type_schema_version"] == "0.0.0"
    assert from_details("ExtracellularEphys", seeded["data_acquisition"]["details"],
                        "0.0.0")[1]["sr"] == 20000


def test_another_users_session_is_refused_with_a_clear_message(srv: LocalServer) -> None:
    url = DA.format(portal="private")
    with _http(srv) as alice, _http(srv, "bob") as bob:
        readonly = alice.post(url, json=_acquisition(srv, session=srv.seed.readonly_session))
        assert readonly.status_code == 400
        message = readonly.json()["session"][0]
        assert "bob-shared-session" in message and "change rights" in message
        foreign = alice.post(url, json=_acquisition(srv, session=srv.seed.foreign_session))
        assert foreign.status_code == 400
        assert "does not exist" in foreign.json()["session"][0]
        # bob writes to his own session; alice may read that record but not change it.
        bobs = bob.post(url, json=_acquisition(srv, session=srv.seed.readonly_session,
                                               procedures=[], equipment=[]))
        assert bobs.status_code == 201, bobs.text
        rec_url = url + bobs.json()["data_acquisition"]["id"] + "/"
        assert alice.get(rec_url).status_code == 200
        for resp in (alice.patch(rec_url, json={"notes": "mine now"}), alice.delete(rec_url)):
            assert resp.status_code == 403 and "bob-shared-session" in resp.json()["detail"]
        # Nor may a record move into a session she cannot change.
        own = alice.post(url, json=_acquisition(srv)).json()["data_acquisition"]
        moved = alice.patch(url + own["id"] + "/", json={"session": srv.seed.readonly_session})
        assert moved.status_code == 400 and "change rights" in moved.json()["session"][0]
        # Nor name bob's procedure or equipment.
        refs = alice.post(url, json=_acquisition(
            srv, procedures=[srv.seed.procedures["bob implant"]],
            equipment=[srv.seed.equipments["bob rig camera"]]))
        assert refs.status_code == 400 and set(refs.json()) == {"procedures", "equipment"}


@pytest.mark.parametrize(("type_2023", "type_json"), [
    ("Extracellular", {"fileName": "probe_1/npx.imec.ap.bin", "format": "SpikeGLX",
                       "type": "int16", "nChannels": 2, "sr": 30000.0, "nSamples": 9,
                       "lsb": 2.34375, "electrodeGroups": [{"channels": [0, 1], "label": "a"}],
                       "channelTags": [{"tag": "bad", "channels": [1], "groups": [0]}]}),
    ("Audio", {"fileName": "usv.flac", "format": "FLAC", "type": "int24", "nChannels": 1,
               "sr": 250000, "nSamples": 5}),
    ("BehavioralTracking", {"fileName": "cam.mp4", "format": "MP4", "compression": "H.264",
                            "frameRate": 29.97, "nFrames": 3, "verticalResolution": 480,
                            "horizontalResolution": 640}),
])
def test_units_round_trip_through_the_server(srv: LocalServer, type_2023: str,
                                             type_json: dict[str, Any]) -> None:
    rtype, details = to_details(type_2023, type_json)
    with _http(srv) as http:
        made = http.post(DA.format(portal="private"),
                         json=_acquisition(srv, type=rtype, details=details))
        assert made.status_code == 201, made.text
        back = http.get(DA.format(portal="private") + made.json()["data_acquisition"]["id"]
                        + "/").json()["data_acquisition"]
    assert from_details(back["type"], back["details"], back["type_schema_version"]) == (
        type_2023, type_json)


@pytest.mark.parametrize(("field", "value", "unit", "bare"), [
    ("sr", 30, "kHz", 30000), ("sr", 0.25, "MHz", 250000),
    ("lsb", 0.000195, "mV", 0.195), ("lsb", 195, "nV", 0.195),
])
def test_other_units_are_stored_as_sent_and_read_exactly(srv: LocalServer, field: str,
                                                         value: float, unit: str,
                                                         bare: float) -> None:
    details = {"fileName": "rec.dat", field: {"value": value, "unit": unit}}
    with _http(srv) as http:
        made = http.post(DA.format(portal="private"), json=_acquisition(srv, details=details))
        assert made.status_code == 201
        got = http.get(DA.format(portal="private"),
                       params={"filter{details.fileName}": "rec.dat"}).json()
    rec = got["data_acquisitions"][0]
    assert rec["details"][field] == {"value": value, "unit": unit}
    assert from_details(rec["type"], rec["details"], "1.1.0")[1][field] == bare


def test_sessions_list_detail_create(srv: LocalServer) -> None:
    with _http(srv) as http:
        docs = http.get(SESSIONS + srv.seed.sessions["docs-example"] + "/").json()["session"]
        assert docs["projects"] == [srv.seed.project]
        assert DOCS_RECORD in docs["dataacquisition"]
        assert docs["behaviors"] == [] and docs["date_time"] == "2023-03-22T15:30:00Z"
        made = http.post(SESSIONS, json={"name": "rat01-2024-03-09",
                                         "projects": [srv.seed.project],
                                         "date_time": "2024-03-09T10:11:12.123456789+01:00",
                                         "description": "made by a test"})
        assert made.status_code == 201, made.text
        session = made.json()["session"]
        assert session["name"] == "rat01-2024-03-09" and session["dataacquisition"] == []
        found = http.get(SESSIONS, params={"filter{name}": "rat01-2024-03-09"}).json()
        assert found == {"sessions": [session], "count": 1}
        # The new session takes data at once.
        rec = http.post(DA.format(portal="private"),
                        json=_acquisition(srv, session=session["id"]))
        assert rec.status_code == 201
        again = http.get(SESSIONS + session["id"] + "/").json()["session"]
        assert again["dataacquisition"] == [rec.json()["data_acquisition"]["id"]]
        assert http.patch(SESSIONS + session["id"] + "/", json={}).status_code == 405
        # The official tools' load_session embeds its data acquisitions.
        embedded = http.get(SESSIONS, params={"filter{name}": "rat01-2024-03-09",
                                              "include[]": ["dataacquisition.*", "projects.*",
                                                            "behaviors.*"]}).json()
        shown = embedded["sessions"][0]
        assert shown["dataacquisition"] == [rec.json()["data_acquisition"]]
        assert shown["projects"][0]["name"] == "rat01-lab" and shown["behaviors"] == []


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"name": "rat01-2024-03-01"}, "name", "already exists"),
    ({"name": "x" * 101}, "name", "at most 100"),
    ({"name": ""}, "name", "required"),
    ({"projects": []}, "projects", "required"),
    ({"projects": ["cbb0ba8d-56eb-4da2-b2fe-cb4c0827fc47"]}, "projects", "does not exist"),
    ({"projects": ["d09ba6c2-f29c-4331-9b79-9471fe019302"]}, "projects", "change rights"),
    ({"date_time": "yesterday"}, "date_time", "ISO 8601"),
    ({"date_time": "2024-02-30T10:00:00Z"}, "date_time", "ISO 8601"),
    ({"owner": "bob"}, "owner", "not a field"),
])
def test_session_creation_is_strict(srv: LocalServer, body: dict[str, Any], field: str,
                                    words: str) -> None:
    full = {"name": "fresh", "projects": [srv.seed.project], **body}
    with _http(srv) as http:
        resp = http.post(SESSIONS, json=full)
        listed = http.get(SESSIONS).json()["count"]
    assert resp.status_code == 400, resp.text
    assert any(words in m for m in resp.json()[field]), resp.json()
    assert listed == sum(1 for s in SEED["sessions"] if not s["owner"] == "bob"
                         or s["name"] == "bob-shared-session")


@pytest.mark.parametrize(("path", "many", "one", "seeded"), [
    ("stem/project", "projects", "project", "rat01-lab"),
    ("modules/procedure", "procedures", "procedure", "rat01 probe implant"),
    ("modules/equipment", "equipments", "equipment", "rig A headstage"),
    ("stem/subject", "subjects", "subject", "rat01"),
])
def test_related_models_read_only(srv: LocalServer, path: str, many: str, one: str,
                                  seeded: str) -> None:
    with _http(srv) as http:
        listed = http.get(f"/api/private/{path}/").json()
        names = [o["name"] for o in listed[many]]
        assert seeded in names and listed["count"] == len(names)
        # Another user's objects are not listed (bob-shared-lab is: alice is its viewer).
        assert not {"bob-lab", "bob-published", "bob implant", "bob rig camera",
                    "bob-mouse"} & set(names)
        first = listed[many][0]
        assert http.get(f"/api/private/{path}/{first['id']}/").json() == {one: first}
        assert "owner" not in first and "members" not in first
        assert http.post(f"/api/private/{path}/", json={}).status_code == 405


def test_project_lists_its_sessions(srv: LocalServer) -> None:
    with _http(srv) as http:
        project = http.get(f"/api/private/stem/project/{srv.seed.project}/").json()["project"]
    assert srv.seed.session in project["sessions"]
    assert srv.seed.subjects["rat01"] in project["subjects"]


# -- the device authorization flow -----------------------------------------------------


def _start(http: httpx.Client) -> dict[str, Any]:
    resp = http.post("/api/auth/device/", json={"client_name": "bsingest"})
    assert resp.status_code == 200
    return resp.json()


def _poll(http: httpx.Client, device_code: str) -> dict[str, Any]:
    resp = http.post("/api/auth/device/token/", json={"device_code": device_code})
    assert resp.status_code == 200  # every answer, whatever it says
    return resp.json()


def test_device_flow_pending_success_already_used(srv: LocalServer) -> None:
    with httpx.Client(base_url=srv.url, timeout=10) as http:
        start = _start(http)
        assert set(start) == {"device_code", "user_code", "verification_uri",
                              "verification_uri_complete", "expires_in", "interval"}
        assert start["verification_uri"] == f"{srv.url}/device/"
        assert start["verification_uri_complete"].endswith(f"user_code={start['user_code']}")
        assert start["expires_in"] == 900 and start["interval"] == 0
        assert _poll(http, start["device_code"]) == {"status": "authorization_pending"}
        assert srv.device_user_codes() == [start["user_code"]]
        srv.approve_device(start["user_code"].lower().replace("-", ""), "bob")
        done = _poll(http, start["device_code"])
        assert done["status"] == "success"
        token = done["token"]
        assert _poll(http, start["device_code"]) == {"error": "already_used"}
        me = http.get(DA.format(portal="private"),
                      headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        # bob's token sees bob's session.
        assert srv.seed.foreign_session in {r["session"] for r in me.json()["data_acquisitions"]}
        assert srv.device_user_codes() == []


def test_device_flow_denied_and_expired(srv: LocalServer) -> None:
    with httpx.Client(base_url=srv.url, timeout=10) as http:
        denied, expired = _start(http), _start(http)
        srv.deny_device(denied["user_code"])
        srv.expire_device(expired["user_code"])
        assert _poll(http, denied["device_code"]) == {"error": "access_denied"}
        assert _poll(http, denied["device_code"]) == {"error": "access_denied"}
        assert _poll(http, expired["device_code"]) == {"error": "expired_token"}
        assert _poll(http, "never-issued") == {"error": "expired_token"}
        with pytest.raises(KeyError):
            srv.approve_device(expired["user_code"])
        assert http.post("/api/auth/device/", json={}).status_code == 400
        assert http.post("/api/auth/device/token/", json={}).status_code == 400
        assert http.get("/api/auth/device/token/").status_code == 405


@pytest.mark.parametrize("after", [0, 2])
def test_device_flow_auto_approve(tmp_path: Path, after: int) -> None:
    auth = DeviceAuth(interval=0.01, auto_approve=after)
    with LocalServer(tmp_path / "db", device_auth=auth) as srv, \
            httpx.Client(base_url=srv.url, timeout=10) as http:
        start = _start(http)
        assert start["interval"] == 0.01
        answers = [_poll(http, start["device_code"]) for _ in range(after + 1)]
        assert answers[:after] == [{"status": "authorization_pending"}] * after
        assert answers[-1]["status"] == "success"
        me = http.get(SESSIONS, headers={"Authorization": f"Bearer {answers[-1]['token']}"})
        assert me.status_code == 200
        assert srv.seed.session in {s["id"] for s in me.json()["sessions"]}  # the main user


def test_device_verification_page(srv: LocalServer) -> None:
    with httpx.Client(base_url=srv.url, timeout=10) as http:
        start = _start(http)
        page = http.get(start["verification_uri_complete"])
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        assert start["user_code"] in page.text and "bsingest" in page.text
        form = {"user_code": start["user_code"], "username": "alice", "action": "approve"}
        wrong = http.post("/device/", data={**form, "password": "guess"})
        assert wrong.status_code == 403
        assert _poll(http, start["device_code"]) == {"status": "authorization_pending"}
        ok = http.post("/device/", data={**form, "password": "alice-demo-password"})
        assert ok.status_code == 200 and "Approved" in ok.text
        assert _poll(http, start["device_code"])["status"] == "success"
        other = _start(http)
        http.post("/device/", data={**form, "user_code": other["user_code"],
                                    "password": "alice-demo-password", "action": "deny"})
        assert _poll(http, other["device_code"]) == {"error": "access_denied"}


# -- faults apply to both generations ---------------------------------------------------


def test_faults_apply_to_the_current_generation(tmp_path: Path) -> None:
    with LocalServer(tmp_path / "db", Faults(rate=1.0, modes=("error_before",), limit=1)) \
            as srv, _http(srv) as http:
        first = http.post(DA.format(portal="private"), json=_acquisition(srv))
        assert first.status_code == 500
        assert srv.acquisition_count() == len(SEED["data_acquisitions"])
        assert http.post(DA.format(portal="private"), json=_acquisition(srv)).status_code == 201
        # Sign-in is not a data endpoint: no faults there.
        srv.set_faults(Faults(rate=1.0, modes=("unavailable",)))
        assert http.post("/api/auth/device/", json={"client_name": "x"}).status_code == 200
        assert http.post(SESSIONS, json={"name": "n", "projects": [srv.seed.project]}
                         ).status_code == 503


def test_drop_after_commits_the_current_generation_write(tmp_path: Path) -> None:
    with LocalServer(tmp_path / "db", Faults(rate=1.0, modes=("drop_after",), limit=1)) \
            as srv, _http(srv) as http:
        with pytest.raises(httpx.HTTPError):
            http.post(DA.format(portal="private"), json=_acquisition(srv))
        assert srv.acquisition_count(srv.seed.session) == 1
        assert srv.hits[-1].status is None and srv.hits[-1].path.startswith("/api/")


def test_late_commit_lands_in_the_current_generation(tmp_path: Path) -> None:
    import time

    faults = Faults(rate=1.0, modes=("late_commit",), limit=1, late=0.05)
    with LocalServer(tmp_path / "db", faults) as srv, _http(srv) as http:
        assert http.post(DA.format(portal="private"), json=_acquisition(srv)).status_code == 504
        for _ in range(200):  # the write lands a moment after the 504
            if srv.acquisition_count(srv.seed.session) == 1:
                break
            time.sleep(0.05)
        assert srv.acquisition_count(srv.seed.session) == 1


def test_an_old_database_gets_the_current_generation(tmp_path: Path) -> None:
    """A database a bsingest 0.1 server created gains the current generation's seed."""
    import sqlite3

    db = tmp_path / "db"
    with LocalServer(db):
        pass
    conn = sqlite3.connect(db)
    with conn:
        for table in ("pats", "data_acquisition", "meta"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM objects WHERE kind IN ('project', 'session', 'subject', "
                     "'procedure', 'equipment')")
    conn.close()
    with LocalServer(db) as srv, _http(srv) as http:
        assert srv.acquisition_count() == len(SEED["data_acquisitions"])
        assert http.get(SESSIONS).status_code == 200
        assert srv.record_count() == len(SEED["experiment_data"])


# -- one generation alone, and lists that stay cheap ----------------------------------------


@pytest.mark.parametrize("apis", [("2026",), ("2023",)])
def test_one_generation_alone(tmp_path: Path, apis: tuple[str, ...]) -> None:
    with LocalServer(tmp_path / "db", apis=apis) as srv, \
            httpx.Client(base_url=srv.url, timeout=10) as http:
        def status(method: str, path: str, header: str = "", **kw: Any) -> int:
            headers = {"Authorization": header} if header else {}
            return http.request(method, path, headers=headers, **kw).status_code

        current = [status("GET", DA.format(portal="private"), f"Bearer {srv.pat}"),
                   status("POST", "/api/auth/device/", json={"client_name": "t"}),
                   status("GET", "/device/")]
        older = [status("GET", "/rest/private/modules/experimentdata/", f"Token {srv.token}"),
                 status("POST", "/api-token-auth/",
                        json={"username": "alice", "password": "alice-demo-password"})]
    assert current == ([200, 200, 200] if "2026" in apis else [404, 404, 404])
    assert older == ([200, 200] if "2023" in apis else [404, 404])
    with pytest.raises(ValueError, match="apis"):
        LocalServer(tmp_path / "other", apis=("2024",))


def test_filters_narrowed_in_sql_answer_as_before(srv: LocalServer) -> None:
    """Exact and ``in`` filters are applied by SQLite first: the answers must not change."""
    ed = "/rest/private/modules/experimentdata/"
    mine, shared = srv.seed.datasets["rat01-2024-03-01"], srv.seed.datasets["rat01-2024-03-02"]
    with httpx.Client(base_url=srv.url, timeout=10,
                      headers={"Authorization": f"Token {srv.token}"}) as http:
        for i in range(7):
            tj = {"fileName": f"f{i}.dat", "format": "DAT", "type": "int16", "nChannels": 4,
                  "sr": 20000.0 if i % 2 else 30000, "nSamples": 10}
            body = {"type": "Extracellular", "dataset": mine if i < 5 else shared,
                    "actions": [srv.seed.actions["rat01 probe implant"]], "type_json": tj}
            assert http.post(ed, json=body).status_code == 201

        def names(**params: Any) -> list[str]:
            answer = http.get(ed, params=params).json()
            assert answer["count"] == len(answer["experiment_data"]) or "limit" in params
            return [r["type_json"].get("fileName") for r in answer["experiment_data"]]

        assert names(**{"filter{type_json.sr}": "20000"}) == ["f1.dat", "f3.dat", "f5.dat"]
        assert names(**{"filter{type_json.fileName.in}": "f2.dat,f6.dat,nope"}) == [
            "f2.dat", "f6.dat"]
        assert names(**{"filter{dataset}": mine, "filter{type}": "Extracellular"}) == [
            f"f{i}.dat" for i in range(5)]
        assert names(**{"filter{dataset.id}": shared, "filter{type_json.nChannels}": "4"}) == [
            "f5.dat", "f6.dat"]
        assert names(**{"filter{actions}": srv.seed.actions["rat01 probe implant"],
                        "filter{dataset}": shared}) == ["f5.dat", "f6.dat"]
        # Pages of one dataset (counted and cut by SQLite) add up to the whole of it.
        pages = [http.get(ed, params={"filter{dataset}": mine, "limit": 2,
                                      "offset": o}).json() for o in (0, 2, 4, 6)]
        assert [p["count"] for p in pages] == [5] * 4
        assert [r["type_json"]["fileName"] for p in pages for r in p["experiment_data"]] == [
            f"f{i}.dat" for i in range(5)]
        # Another user's dataset named in the filter stays invisible.
        bob = srv.seed.datasets["bob-private-session"]
        both = http.get(ed, params={"filter{dataset.in}": f"{bob},{shared}"}).json()
        assert both["count"] == 2 and {r["dataset"] for r in both["experiment_data"]} == {
            shared}
        assert http.get(ed, params={"filter{dataset}": bob}).json()["count"] == 0


def test_bsingest_server_flags(tmp_path: Path) -> None:
    """``bsingest server``: one generation, the older envelope, auto-approved sign-in."""
    import signal
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "bsingest.cli.main", "server", "--port", "0",
           "--db", str(tmp_path / "db.sqlite3"), "--serve-api", "2026", "--legacy-envelope",
           "--device-auto-approve", "0", "--device-interval", "0"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith("BrainSTEM-compatible server on http://127.0.0.1:"), first
        url = first.split(" on ", 1)[1].strip()
        with httpx.Client(base_url=url, timeout=10) as http:
            start = _start(http)
            assert start["interval"] == 0
            token = _poll(http, start["device_code"])["token"]
            listed = http.get(DA.format(portal="private"),
                              headers={"Authorization": f"Bearer {token}"}).json()
            assert set(listed) == {"dataacquisition", "count"}
            assert http.get("/rest/public/modules/experimentdata/").status_code == 404
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopped" in err
