"""Both API generations over real HTTP: the current one's operations and envelopes, which
generation a server speaks (the probe, its memory, a stated --api that does not fit)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.errors import AuthError, NotFound, Rejected, UsageError
from bsingest.server import LocalServer
from tests.httpfront import Front

NO_WAIT = RetryPolicy(wait=False)
PROBE_2026 = "/api/private/stem/session/"
PROBE_2023 = "/rest/private/stem/dataset/"


@pytest.fixture
def config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The user's config file under tmp_path; no token or server from the environment."""
    for name in ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN", "BRAINSTEM_SERVER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("BRAINSTEM_TOKEN_FILE", str(tmp_path / "brainstem" / "token"))
    return tmp_path / "config" / "bsingest" / "config.toml"


def _acquisition(srv: LocalServer, name: str = "rec.dat", **extra: Any) -> dict[str, Any]:
    body = {"type": "ExtracellularEphys", "session": srv.seed.session,
            "procedures": [srv.seed.procedure], "equipment": [srv.seed.equipment],
            "notes": None, "type_schema_version": "1.1.0",
            "details": {"fileName": name, "format": "DAT", "type": "int16", "nChannels": 8,
                        "sr": {"value": 30, "unit": "kHz"}, "nSamples": 1000,
                        "lsb": {"value": 0.195, "unit": "µV"}}}
    body.update(extra)
    return body


def _current(srv: LocalServer, **kw: Any) -> BrainstemClient:
    kw.setdefault("retry", NO_WAIT)
    return BrainstemClient(srv.url, srv.pat, api="2026", **kw)


def _paths(srv: LocalServer, since: int = 0) -> list[str]:
    return [h.path for h in srv.hits[since:]]


# -- the current generation's operations, in both envelopes --------------------------------

@pytest.mark.parametrize("legacy", [False, True], ids=["data_acquisitions", "dataacquisition"])
def test_every_operation_of_the_current_generation(tmp_path: Path, legacy: bool) -> None:
    with LocalServer(db_path=tmp_path / "db.sqlite3", legacy_envelope=legacy) as srv, \
            _current(srv) as client:
        session = srv.seed.session
        before = srv.acquisition_count(session)
        made = client.create("dataacquisition", _acquisition(srv))
        assert made["session"] == session and made["type_schema_version"] == "1.1.0"
        assert made["details"]["sr"] == {"value": 30, "unit": "kHz"}
        assert srv.acquisition_count(session) == before + 1
        assert client.get("modules/dataacquisition", made["id"]) == made
        changed = client.update("dataacquisition", made["id"], {"notes": "probe A"})
        assert changed == {**made, "notes": "probe A"}
        client.create("dataacquisition", _acquisition(srv, "b.dat", type="GeneralTimeSeries"))
        mine = {r["details"]["fileName"] for r in client.data_acquisitions(session)}
        assert {"rec.dat", "b.dat"} <= mine
        assert [r["details"]["fileName"] for r in client.data_acquisitions(
            session, type="GeneralTimeSeries")] == ["b.dat"]
        assert client.acquisitions(session) == client.data_acquisitions(session)
        assert client.list() == client.list("dataacquisition")  # the generation's records
        client.delete("dataacquisition", made["id"])
        with pytest.raises(NotFound):
            client.get("dataacquisition", made["id"])
        assert srv.acquisition_count(session) == before + 1
    # Every request went to /api/ (the server refuses a 2023 token or scheme there).
    assert all(p.startswith("/api/private/") for p in _paths(srv))


def test_lookups_and_sessions_of_the_current_generation(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    with _current(srv) as client:
        assert client.get_session(srv.seed.session)["id"] == srv.seed.session
        assert client.get_container(srv.seed.session) == client.get_session(srv.seed.session)
        assert client.get_procedure(srv.seed.procedure)["id"] == srv.seed.procedure
        assert client.get_equipment(srv.seed.equipment)["id"] == srv.seed.equipment
        name = client.get_session(srv.seed.session)["name"]
        assert client.find_session_by_name(name)["id"] == srv.seed.session
        assert client.find_container_by_name(name)["id"] == srv.seed.session
        assert client.find_session_by_name(name[:-1]) is None  # exact names only
        made = client.create_session("rat01-2024-05-07", [srv.seed.project],
                                     date_time="2024-05-07T09:15:00Z")
        assert made["name"] == "rat01-2024-05-07"
        assert made["projects"] == [srv.seed.project]
        assert client.find_session_by_name("rat01-2024-05-07")["id"] == made["id"]
        with pytest.raises(UsageError, match="list of project UUIDs"):
            client.create_session("x", srv.seed.project)  # a string, not a list
        with pytest.raises(Rejected):
            client.create_session("rat01-2024-05-07", [srv.seed.project])  # names are unique


def test_the_other_users_session_is_refused_with_the_server_s_reason(
        brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    with _current(srv) as client, pytest.raises((Rejected, AuthError, NotFound)) as info:
        client.create("dataacquisition", _acquisition(srv, session=srv.seed.foreign_session))
    assert "POST" in str(info.value) and "/api/private/modules/dataacquisition/" in str(
        info.value)


def test_the_public_portal_of_the_current_generation_needs_no_token(
        brainstem_server: LocalServer, config_home: Path) -> None:
    srv = brainstem_server
    with BrainstemClient(srv.url, portal="public", api="2026", retry=NO_WAIT) as anonymous:
        anonymous.list("session")  # no token, no error
        with pytest.raises(UsageError, match="bsingest login"):
            anonymous.create("dataacquisition", _acquisition(srv))


def test_a_2023_token_is_not_sent_as_bearer_and_fails_cleanly(
        brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    with BrainstemClient(srv.url, srv.token, api="2026", retry=NO_WAIT) as client:
        with pytest.raises(AuthError) as info:
            client.get_session(srv.seed.session)
    assert info.value.status in (401, 403) and srv.token not in str(info.value)


# -- which generation: probe, memory, statements ------------------------------------------

def test_the_probe_finds_the_current_generation_once_per_server(
        brainstem_server: LocalServer, config_home: Path) -> None:
    srv = brainstem_server
    with BrainstemClient(srv.url, srv.pat, retry=NO_WAIT) as client:
        assert _paths(srv) == []  # constructing asks nothing
        assert client.api == "2026" and client.generation.prefix == "api"
        assert _paths(srv) == [PROBE_2026]
        assert client.get_session(srv.seed.session)["id"] == srv.seed.session
    with BrainstemClient(srv.url, srv.pat, retry=NO_WAIT) as again:
        assert again.api == "2026"
    assert _paths(srv).count(PROBE_2026) == 1  # remembered in this process
    # A server on this machine is not written into the config file: its port may serve
    # something else tomorrow.
    assert not config_home.exists()


def test_the_probe_finds_the_2023_generation_behind_a_server_without_api(
        brainstem_server: LocalServer, config_home: Path) -> None:
    srv = brainstem_server
    with Front(srv.url, hide=("/api/",)) as front, \
            BrainstemClient(front.url, srv.token, retry=NO_WAIT) as client:
        assert client.api == "2023"
        assert [p.split("?")[0] for p in front.paths] == [PROBE_2026, PROBE_2023]
        assert client.acquisitions(srv.seed.datasets["docs-example"])  # /rest/, Token
        assert client.find_container_by_name("docs-example")["id"] == (
            srv.seed.datasets["docs-example"])


class _ToLocal(httpx.HTTPTransport):
    """Real HTTP to the local server for a client that believes it talks to a lab's host."""

    def __init__(self, srv: LocalServer) -> None:
        super().__init__()
        self.local = httpx.URL(srv.url)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host=self.local.host,
                                            port=self.local.port)
        return super().handle_request(request)


def test_what_the_probe_found_is_remembered_per_server_in_the_config_file(
        brainstem_server: LocalServer, config_home: Path, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    import bsingest.client

    srv = brainstem_server
    lab = "https://brainstem.lab.example"
    config_home.parent.mkdir(parents=True)
    config_home.write_text('portal = "private"\n')
    with BrainstemClient(lab, srv.pat, retry=NO_WAIT, transport=_ToLocal(srv)) as client:
        assert client.api == "2026"
        assert client.get_session(srv.seed.session)["id"] == srv.seed.session
    assert config_home.read_text().endswith(f'[servers."{lab}"]\napi = "2026"\n')
    assert config_home.read_text().startswith('portal = "private"\n')  # kept
    probes = _paths(srv).count(PROBE_2026)
    bsingest.client.MEMORY.clear()  # a new process
    with BrainstemClient(lab + "/", srv.pat, retry=NO_WAIT, transport=_ToLocal(srv)) as again:
        assert again.api == "2026"
    assert _paths(srv).count(PROBE_2026) == probes == 1  # from the config file, no probe


def test_brainstem_org_speaks_the_current_generation_without_a_probe(config_home: Path) -> None:
    with BrainstemClient("https://www.brainstem.org", "t" * 40) as client:
        assert client.api == "2026"  # nothing was sent: no network in tests
    with pytest.raises(UsageError, match=r"speaks the 2026 API, not 2023 \(--api 2023\)"):
        BrainstemClient("https://www.brainstem.org", "t" * 40, api="2023",
                        api_source="--api 2023")
    result = CliRunner().invoke(cli, ["records", "list", "--server", "https://brainstem.org",
                                      "--api", "2023"], env={"BRAINSTEM_TOKEN": "t" * 40})
    assert result.exit_code == 2
    assert result.output.strip() == ("bsingest: error: https://brainstem.org speaks the 2026 "
                                     "API, not 2023 (--api 2023): leave it out or state 2026")


@pytest.mark.parametrize("hide,stated,speaks", [("/rest/", "2023", "2026"),
                                                ("/api/", "2026", "2023")])
def test_a_stated_generation_the_server_does_not_speak_is_a_usage_error(
        brainstem_server: LocalServer, config_home: Path, hide: str, stated: str,
        speaks: str) -> None:
    srv = brainstem_server
    token = srv.pat if speaks == "2026" else srv.token
    with Front(srv.url, hide=(hide,)) as front:
        result = CliRunner().invoke(cli, ["records", "list", "--server", front.url, "--api",
                                          stated], env={"BRAINSTEM_TOKEN": token})
        assert result.exit_code == 2, result.output
        assert result.output.strip() == (
            f"bsingest: error: {front.url} speaks the {speaks} API, not {stated} (--api "
            f"{stated}; it has no {hide}): state {speaks} or leave it out")
        # The list that answered 404, then the probes that tell why; nothing else.
        assert len(front.paths) == 3
        assert [p.split("?")[0] for p in front.paths[1:]] == (
            [PROBE_2023, PROBE_2026] if stated == "2023" else [PROBE_2026, PROBE_2023])
        fine = CliRunner().invoke(cli, ["records", "list", "--server", front.url, "--api",
                                        speaks, "--json"], env={"BRAINSTEM_TOKEN": token})
        assert fine.exit_code == 0, fine.output
        assert json.loads(fine.stdout)


@pytest.mark.parametrize("command", ["ingest", "batch"])
@pytest.mark.parametrize("hide,stated,speaks", [("/rest/", "2023", "2026"),
                                                ("/api/", "2026", "2023")])
def test_names_of_a_stated_generation_the_server_does_not_speak_name_what_it_speaks(
        brainstem_server: LocalServer, config_home: Path, tmp_path: Path, command: str,
        hide: str, stated: str, speaks: str) -> None:
    """`--api 2023 --session UUID` against a server with no /rest/. ingest: a usage error
    before any request, saying what --api states (issue 21: usage errors before the
    network); batch the same, naming the manifest's row and column."""
    from tests.fixtures import write_dat, write_neuroscope_xml

    srv = brainstem_server
    session = tmp_path / "day1"
    write_dat(session / "rec.dat", n_channels=4, n_samples=100)
    write_neuroscope_xml(session / "rec.xml", n_channels=4)
    links = (["--session", srv.seed.session, "--procedure", srv.seed.procedure]
             if speaks == "2026" else
             ["--dataset", srv.seed.session, "--action", srv.seed.procedure])
    token = srv.pat if speaks == "2026" else srv.token
    with Front(srv.url, hide=(hide,)) as front:
        if command == "ingest":
            args = ["ingest", str(session), *links]
        else:
            manifest = tmp_path / "sessions.csv"
            names = "session,procedures" if speaks == "2026" else "dataset,actions"
            manifest.write_text(f"folder,{names}\nday1,{links[1]},{links[3]}\n")
            args = ["batch", str(manifest)]
        result = CliRunner().invoke(cli, [*args, "--server", front.url, "--api", stated,
                                          "--dry-run"], env={"BRAINSTEM_TOKEN": token})
        assert result.exit_code == 2, result.output
        if command == "ingest":
            first = links[0]
            right = "--dataset UUID" if stated == "2023" else "--session UUID"
            assert result.stderr.strip().startswith(
                f"bsingest: error: {first}: --api {stated} states the ")
            assert result.stderr.strip().endswith(f"; use {right}")
        else:  # the row's columns, named by the row, as ingest names its options
            first = names.split(",")[0]
            right = ("a dataset column" if stated == "2023"
                     else "a session column of UUIDs beside a folder column")
            assert result.stderr.strip().startswith(
                f"bsingest: error: sessions.csv:2 (day1): {first}: --api {stated} states the ")
            assert result.stderr.strip().endswith(f"; use {right}")
        assert front.paths == []  # nothing asked
        # The same links with the generation left out are fine: nothing was wrong but --api.
        fine = CliRunner().invoke(cli, [*args, "--server", front.url, "--dry-run"],
                                  env={"BRAINSTEM_TOKEN": token})
        assert fine.exit_code == 0, fine.output


def test_a_generation_stated_in_the_config_file_is_checked_and_named(
        brainstem_server: LocalServer, config_home: Path) -> None:
    srv = brainstem_server
    with Front(srv.url, hide=("/rest/",)) as front:
        config_home.parent.mkdir(parents=True)
        config_home.write_text(f'server = "{front.url}"\napi = "2023"\n')
        result = CliRunner().invoke(cli, ["records", "list"], env={"BRAINSTEM_TOKEN": srv.pat})
    assert result.exit_code == 2, result.output
    assert f'(api = "2023" in {config_home}; it has no /rest/)' in result.output
    config_home.write_text(f'server = "{srv.url}"\napi = 2023.5\n')
    result = CliRunner().invoke(cli, ["records", "list"], env={"BRAINSTEM_TOKEN": srv.pat})
    assert result.exit_code == 2 and "api must be one of '2023', '2026'" in result.output


def test_a_server_that_speaks_neither_generation_is_named(
        brainstem_server: LocalServer, config_home: Path) -> None:
    with Front(brainstem_server.url, hide=("/api/", "/rest/")) as front, \
            BrainstemClient(front.url, "t" * 40, retry=NO_WAIT) as client, \
            pytest.raises(UsageError, match="answers neither /api/ nor /rest/"):
        _ = client.api


# -- records CLI in the current generation ------------------------------------------------

def test_records_commands_in_the_current_generation(brainstem_server: LocalServer,
                                                    config_home: Path) -> None:
    srv = brainstem_server
    with _current(srv) as client:
        made = client.create("dataacquisition", _acquisition(srv, "cli.dat"))
    env = {"BRAINSTEM_TOKEN": srv.pat}
    base = ["--server", srv.url]
    runner = CliRunner()
    listed = runner.invoke(cli, ["records", "list", *base, "--session", srv.seed.session,
                                 "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert made["id"] in {r["id"] for r in json.loads(listed.stdout)}
    table = runner.invoke(cli, ["records", "list", *base, "--session", srv.seed.session],
                          env=env)
    assert "session" in table.stdout and "cli.dat" in table.stdout
    shown = runner.invoke(cli, ["records", "show", made["id"], *base], env=env)
    assert json.loads(shown.stdout) == made
    updated = runner.invoke(cli, ["records", "update", made["id"], "--notes", "shank 2",
                                  *base], env=env)
    assert updated.exit_code == 0, updated.output
    wrong = runner.invoke(cli, ["records", "update", made["id"], "--description", "x", *base],
                          env=env)
    assert wrong.exit_code == 2 and "use --notes" in wrong.output
    wrong = runner.invoke(cli, ["records", "list", "--dataset", srv.seed.session, *base],
                          env=env)
    assert wrong.exit_code == 2 and "use --session" in wrong.output
    deleted = runner.invoke(cli, ["records", "delete", made["id"], "--yes", *base], env=env)
    assert deleted.exit_code == 0, deleted.output
    with _current(srv) as client, pytest.raises(NotFound):
        client.get("dataacquisition", made["id"])


@pytest.fixture
def legacy_server(tmp_path: Path) -> Iterator[LocalServer]:
    with LocalServer(db_path=tmp_path / "legacy.sqlite3", legacy_envelope=True) as srv:
        yield srv


def test_the_older_envelope_reads_the_same(legacy_server: LocalServer,
                                           brainstem_server: LocalServer) -> None:
    docs = "1f7f103b-e949-405a-9b01-ddda3b2f10cf"  # the documentation's session, seeded
    with _current(legacy_server) as old, _current(brainstem_server) as new:
        listed = new.data_acquisitions(docs)
        assert len(listed) == 2
        assert old.data_acquisitions(docs) == listed
        assert old.get("dataacquisition", listed[0]["id"]) == listed[0]
    raw = httpx.get(f"{legacy_server.url}/api/private/modules/dataacquisition/",
                    headers={"Authorization": f"Bearer {legacy_server.pat}"}).json()
    assert "dataacquisition" in raw and "data_acquisitions" not in raw


@pytest.mark.parametrize("mode", ["unavailable", "drop_after"])
def test_the_current_generation_is_retried_as_the_2023_one(brainstem_server: LocalServer,
                                                           mode: str) -> None:
    from bsingest.server import Faults

    srv = brainstem_server
    with _current(srv) as client:
        made = client.create("dataacquisition", _acquisition(srv, "retry.dat"))
        srv.set_faults(Faults(rate=1.0, modes=(mode,), limit=2))
        assert client.update("dataacquisition", made["id"], {"notes": "x"})["notes"] == "x"
        srv.set_faults(Faults(rate=1.0, modes=(mode,), limit=1))
        client.delete("dataacquisition", made["id"])  # a 404 after a done delete: success
    patches = [h.fault for h in srv.hits if h.method == "PATCH"]
    assert patches == [mode, mode, None]
    with _current(srv) as client, pytest.raises(NotFound):
        client.get("dataacquisition", made["id"])


def test_a_server_that_redirects_is_named_with_where_it_points(
        brainstem_server: LocalServer, config_home: Path) -> None:
    from bsingest.errors import ApiError

    with Front(brainstem_server.url, redirect="https://brainstem.lab.example") as front:
        with BrainstemClient(front.url, "t" * 40, retry=NO_WAIT) as client, \
                pytest.raises(ApiError) as info:
            _ = client.api
        with BrainstemClient(front.url, "t" * 40, api="2026", retry=NO_WAIT) as client, \
                pytest.raises(ApiError) as listing:
            client.list("session")
    assert f"answered 301: redirects to https://brainstem.lab.example{PROBE_2026}?limit=1" in (
        str(info.value))
    assert "give the server's address as it answers" in str(listing.value)
    assert len(front.paths) == 2  # followed nowhere; the token went nowhere else


def test_api_alone_in_the_config_file_is_stated_for_every_server(
        brainstem_server: LocalServer, config_home: Path) -> None:
    srv = brainstem_server
    config_home.parent.mkdir(parents=True)
    config_home.write_text('api = "2023"\n')
    with BrainstemClient(srv.url, srv.token, retry=NO_WAIT) as client:
        assert client.api == "2023"
        assert client.find_container_by_name("docs-example")["id"] == (
            srv.seed.datasets["docs-example"])
    assert PROBE_2026 not in _paths(srv)  # stated: nothing to find out
    with pytest.raises(UsageError, match=r"speaks the 2026 API, not 2023 \(api = \"2023\" in "):
        BrainstemClient("https://www.brainstem.org", "t" * 40).api  # noqa: B018


@pytest.mark.parametrize("api,typed,stored", [("2026", "Extracellular", "ExtracellularEphys"),
                                              ("2023", "ExtracellularEphys", "Extracellular"),
                                              ("2026", "ExtracellularEphys",
                                               "ExtracellularEphys")])
def test_records_list_type_takes_either_generations_name(
        brainstem_server: LocalServer, config_home: Path, api: str, typed: str,
        stored: str) -> None:
    """`extract` shows 2023 type names; `records list --type Extracellular` against a
    current server listed nothing rather than its ExtracellularEphys records."""
    srv = brainstem_server
    token = srv.pat if api == "2026" else srv.token
    args = ["records", "list", "--server", srv.url, "--api", api, "--json"]
    everything = CliRunner().invoke(cli, args, env={"BRAINSTEM_TOKEN": token})
    expected = sorted(r["id"] for r in json.loads(everything.stdout) if r["type"] == stored)
    assert expected  # the seed holds some
    result = CliRunner().invoke(cli, [*args, "--type", typed], env={"BRAINSTEM_TOKEN": token})
    assert result.exit_code == 0, result.output
    assert sorted(r["id"] for r in json.loads(result.stdout)) == expected


def test_discovery_needs_only_a_probe_and_a_memory(config_home: Path) -> None:
    """Generation discovery is its own part: given a probe function and an ApiMemory, it
    asks the probe once per server and memory, and leaves the process's MEMORY alone."""
    from bsingest.client import MEMORY, ApiMemory
    from bsingest.client.discovery import GenerationChoice

    asked: list[str] = []

    def speaks(api: str) -> bool:
        asked.append(api)
        return api == "2023"

    server, memory = "http://127.0.0.1:9", ApiMemory()
    assert GenerationChoice(server, speaks, memory=memory).api == "2023"
    assert asked == ["2026", "2023"]  # the current generation first
    assert GenerationChoice(server, speaks, memory=memory).api == "2023"
    assert asked == ["2026", "2023"]  # remembered: no probe
    assert MEMORY.found(server) is None
    assert GenerationChoice(server, speaks, memory=ApiMemory()).api == "2023"
    assert asked == ["2026", "2023"] * 2  # another memory knows nothing
    assert GenerationChoice(server, speaks, api="2026", memory=memory).known == "2026"
