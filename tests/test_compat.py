"""The seed's five examples, as written in BrainSTEM's Experiment Data API page, through the façade.

The examples (list, add, detail, change, delete) and their documented responses are
copied from the BrainSTEM support documentation (``docs/api/modules/experimentdata.md``,
the version that uses ``load_model(settings, ...)`` and ``type_json``). The local
server is seeded with the documentation's dataset, action and record ids, so the
statements run unchanged; only ``settings`` is made here, pointing at that server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bsingest.errors import NotFound, Rejected
from bsingest.server import LocalServer

DOCUMENTED_DETAIL = {'experiment_data': {
    'id': 'b0e4ed13-f2f1-4845-8772-24978539d0bd',
    'description': 'some text',
    'hardware_device': None,
    'actions': ['087b71c4-6785-437c-b8ef-e35a82a8463e'],
    'dataset': '1f7f103b-e949-405a-9b01-ddda3b2f10cf',
    'type': 'Extracellular',
    'type_json': {
            'type': 'int16',
            'nChannels': 32,
            'sr': 1250,
            'nSamples': 3000,
            'electrodeGroups': [],
            'channelTags': []
        }
    }
}


@pytest.fixture
def settings(brainstem_server: LocalServer) -> Iterator[object]:
    from bsingest import Settings
    from bsingest.compat import close_clients

    yield Settings(server=brainstem_server.url, token=brainstem_server.token)
    close_clients()


def test_the_five_documented_examples_run_as_written(settings: object,
                                                     brainstem_server: LocalServer) -> None:
    from bsingest import delete_model, load_model, save_model

    # List view
    resp = load_model(settings, 'experimentdata')
    assert set(resp) >= {'experiment_data'}
    assert resp['experiment_data'] == [DOCUMENTED_DETAIL['experiment_data']]

    # Add
    resp = save_model(settings, "experimentdata",  data={
        "type": "Extracellular",
        "actions": ["087b71c4-6785-437c-b8ef-e35a82a8463e"],
        "dataset": "1f7f103b-e949-405a-9b01-ddda3b2f10cf",
        "description": "some text",
        "type_json": {
                "type": "int16",
                "nChannels": 32,
                "sr": 1250,
                "nSamples": 3000,
                "electrodeGroups": [],
                "channelTags": []
            }
        }
    )
    added = resp['experiment_data']
    assert added['id'] != DOCUMENTED_DETAIL['experiment_data']['id']  # the server's new id
    assert {**added, 'id': None} == {**DOCUMENTED_DETAIL['experiment_data'], 'id': None}
    assert brainstem_server.record_count('1f7f103b-e949-405a-9b01-ddda3b2f10cf') == 2

    # Detail
    resp = load_model(settings, 'experimentdata', id='b0e4ed13-f2f1-4845-8772-24978539d0bd')
    assert resp == DOCUMENTED_DETAIL

    # Change
    resp = save_model(settings, "experimentdata", id="b0e4ed13-f2f1-4845-8772-24978539d0bd", data={"description": "new text"})  # noqa: E501
    expected = {'experiment_data': {**DOCUMENTED_DETAIL['experiment_data'],
                                    'description': 'new text'}}
    assert resp == expected
    assert load_model(settings, 'experimentdata',
                      id='b0e4ed13-f2f1-4845-8772-24978539d0bd') == expected

    # Delete
    resp = delete_model(settings, "experimentdata", id="b0e4ed13-f2f1-4845-8772-24978539d0bd")
    assert resp is None  # 204, no body
    with pytest.raises(NotFound):
        load_model(settings, 'experimentdata', id='b0e4ed13-f2f1-4845-8772-24978539d0bd')
    assert brainstem_server.record_count('1f7f103b-e949-405a-9b01-ddda3b2f10cf') == 1


def test_filters_sort_include_and_portal_through_the_facade(settings: object,
                                                            brainstem_server: LocalServer) -> None:
    from bsingest import load_model

    ds = '1f7f103b-e949-405a-9b01-ddda3b2f10cf'
    resp = load_model(settings, 'experimentdata', filters={'dataset': ds},
                      sort=['-type'], include=['dataset'])
    assert resp['count'] == 1
    assert resp['experiment_data'][0]['dataset']['name'] == 'docs-example'
    public = load_model(settings, 'experimentdata', portal='public')
    assert [r['id'] for r in public['experiment_data']] == ['e8331f96-8897-408b-aac2-136aea2a2b49']
    datasets = load_model(settings, 'dataset', filters={'name.icontains': 'RAT01'})
    assert sorted(d['name'] for d in datasets['datasets']) == [
        'rat01-2024-03-01', 'rat01-2024-03-02']


def test_errors_raise_the_exception_tree(settings: object) -> None:
    from bsingest import save_model

    with pytest.raises(Rejected) as info:
        save_model(settings, "experimentdata", data={"type": "Nonsense"})
    assert {"type", "dataset", "actions"} <= set(info.value.fields)


def test_settings_come_from_the_environment(brainstem_server: LocalServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from bsingest import Settings, load_model
    from bsingest.compat import close_clients

    monkeypatch.setenv("BRAINSTEM_SERVER", brainstem_server.url)
    monkeypatch.setenv("BRAINSTEM_TOKEN", brainstem_server.seed.users["bob"].token)
    try:
        resp = load_model(Settings(), 'experimentdata')
    finally:
        close_clients()
    bob_datasets = {'db04b73f-20d6-4ea4-9654-35615eb90723',
                    'cca1d6c0-fe9d-4347-af1b-fc8bd8509f11',
                    'a2987175-c93b-47a6-9a35-6aa48c3e2640'}  # own two, and one shared
    assert {r['dataset'] for r in resp['experiment_data']} <= bob_datasets
    assert len(resp['experiment_data']) == 2


# -- the current official tools' BrainstemClient ------------------------------------------

OFFICIAL_IMPORT = "from brainstem_api_tools import BrainstemClient"
OUR_IMPORT = "from bsingest.compat import BrainstemClient"

# A script as a user of the official tools (2.0.0) writes it; only its import line changes.
SCRIPT = '''
import json, sys
from brainstem_api_tools import BrainstemClient

url, token, session, procedure = sys.argv[1:5]
client = BrainstemClient(token=token, url=url)
out = {}

resp = client.load("session", filters={"name.icontains": "docs"}, sort=["-name"])
out["list"] = [resp.status_code, [s["name"] for s in resp.json()["sessions"]]]

ids = []
for i in range(60):
    made = client.save("dataacquisition", data={
        "type": "ExtracellularEphys", "session": session, "procedures": [procedure],
        "equipment": [], "notes": None, "type_schema_version": "1.1.0",
        "details": {"fileName": f"r{i:02}.dat", "format": "DAT", "type": "int16",
                    "nChannels": 4, "sr": {"value": 20, "unit": "kHz"}}})
    ids.append(made.json()["data_acquisition"]["id"])
out["save"] = made.status_code

changed = client.save("dataacquisition", id=ids[0], data={"notes": "shank 1"})
out["change"] = [changed.status_code, changed.json()["data_acquisition"]["notes"]]

one = client.load("dataacquisition", id=ids[0])
out["detail"] = [one.status_code, one.json()["data_acquisition"]["details"]["sr"]]

everything = client.load("dataacquisition", filters={"session": session}, limit=25,
                         load_all=True)
names = sorted(r["details"].get("fileName", "") for r in everything["data_acquisitions"])
out["load_all"] = [everything["count"], len(names), names[-3:], sorted(everything)]

by_helper = client.load_dataacquisition(session=session, load_all=True)
out["helper"] = len(by_helper["data_acquisitions"])

gone = client.delete("dataacquisition", id=ids[1])
out["delete"] = [gone.status_code, gone.content]
missing = client.load("dataacquisition", id=ids[1])
out["missing"] = missing.status_code
print(json.dumps(out, default=repr))
'''


def _run(script: str, args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRAINSTEM_", "DISPLAY"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    return subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_a_script_for_the_official_tools_runs_unchanged_but_its_import(tmp_path: Path) -> None:
    results = {}
    for name, line in (("official", OFFICIAL_IMPORT), ("bsingest", OUR_IMPORT)):
        with LocalServer(db_path=tmp_path / f"{name}.sqlite3") as srv:
            args = [srv.url, srv.pat, srv.seed.session, srv.seed.procedure]
            done = _run(SCRIPT.replace(OFFICIAL_IMPORT, line), args, tmp_path / name)
            assert done.returncode == 0, done.stderr
            results[name] = json.loads(done.stdout)
            count = srv.acquisition_count(srv.seed.session)
    assert results["bsingest"] == results["official"]
    got = results["bsingest"]
    assert got["list"] == [200, ["docs-example"]]
    assert got["save"] == 201 and got["change"] == [200, "shank 1"]
    assert got["detail"] == [200, {"value": 20, "unit": "kHz"}]
    assert got["load_all"] == [count + 1, count + 1, ["r57.dat", "r58.dat", "r59.dat"],
                               ["count", "data_acquisitions"]]
    assert got["helper"] == count + 1
    assert got["delete"] == [204, "b''"] and got["missing"] == 404


DEVICE_SCRIPT = '''
import sys
from brainstem_api_tools import BrainstemClient

client = BrainstemClient(url=sys.argv[1], headless=True)   # no token: the device sign-in
print(client.load("session", filters={"name": "docs-example"}).json()["sessions"][0]["name"])
'''


def test_device_sign_in_of_the_official_tools_and_of_ours(tmp_path: Path) -> None:
    from bsingest.server import DeviceAuth

    with LocalServer(db_path=tmp_path / "d.sqlite3",
                     device_auth=DeviceAuth(interval=0, auto_approve=1)) as srv:
        official = _run(DEVICE_SCRIPT, [srv.url], tmp_path / "official")
        ours = _run(DEVICE_SCRIPT.replace(OFFICIAL_IMPORT, OUR_IMPORT), [srv.url],
                    tmp_path / "ours")
        prompts = [h for h in srv.hits if h.path == "/api/auth/device/"]
    for done in (official, ours):
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert re.fullmatch(rf"Open {re.escape(srv.url)}/device/ and enter: \S+", lines[0])
        assert lines[-1] == "docs-example"
    assert len(prompts) == 2
    # The official tools cache the token in the shared file, whatever the server; bsingest
    # keeps a server on this machine out of it.
    shared = Path(".config") / "brainstem" / "token"
    assert (tmp_path / "official" / shared).stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "ours" / shared).exists()
    stored = list((tmp_path / "ours" / ".config" / "bsingest" / "tokens").iterdir())
    assert len(stored) == 1 and stored[0].stat().st_mode & 0o777 == 0o600
    token = stored[0].read_text().strip()
    assert token and token not in ours.stdout + ours.stderr


def test_official_shapes_errors_and_refusals(brainstem_server: LocalServer) -> None:
    from bsingest.compat import AuthenticationError, BrainstemClient, ModelType, PortalType
    from bsingest.errors import NotFound, UsageError

    srv = brainstem_server
    with BrainstemClient(token=srv.pat, url=srv.url) as client:
        resp = client.load(ModelType.session, portal=PortalType.private)
        assert resp.ok and bool(resp) and repr(resp) == "<Response [200]>"
        assert resp.json()["count"] == len(resp.json()["sessions"])
        refused = client.save("dataacquisition", data={"type": "Nonsense"})
        assert refused.status_code == 400 and {"type", "session"} <= set(refused.json())
        missing = client.load("session", id="00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404 and not missing.ok
        with pytest.raises(NotFound):
            missing.raise_for_status()
        with pytest.raises(ValueError, match="Unknown model"):
            client.load("nonsense")
        with pytest.raises(ValueError, match="Unknown portal"):
            client.load("session", portal="secret")
        with pytest.raises(ValueError, match="cannot be used together with id"):
            client.load("session", id=srv.seed.session, load_all=True)
        with pytest.raises(ValueError, match="'id' is required"):
            client.delete("session")
        with pytest.raises(UsageError, match="is not a UUID"):
            client.delete("dataacquisition", id="../../stem/session/" + srv.seed.session)
        names = [s["name"] for s in client.load_session(name="rat01", load_all=True)["sessions"]]
        assert sorted(names) == ["rat01-2024-03-01", "rat01-2024-03-02"]
        with pytest.raises(TypeError, match="Unexpected keyword"):
            client.load_session(colour="red")
    before = len(srv.hits)
    with BrainstemClient(token="0" * 40, url=srv.url) as wrong, \
            pytest.raises(AuthenticationError, match="bsingest login"):
        wrong.load("session", load_all=True)
    assert len(srv.hits) == before + 1
