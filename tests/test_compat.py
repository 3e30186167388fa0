"""The seed's five examples, as written in BrainSTEM's Experiment Data API page, through the façade.

The examples (list, add, detail, change, delete) and their documented responses are
copied from the BrainSTEM support documentation (``docs/api/modules/experimentdata.md``,
the version that uses ``load_model(settings, ...)`` and ``type_json``). The local
server is seeded with the documentation's dataset, action and record ids, so the
statements run unchanged; only ``settings`` is made here, pointing at that server.
"""

from __future__ import annotations

from collections.abc import Iterator

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
