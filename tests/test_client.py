"""BrainstemClient against the local server over real HTTP: operations, errors, paging, retries."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.errors import (
    BODY_LIMIT,
    ApiError,
    AuthError,
    NotFound,
    RateLimited,
    Rejected,
    ServerError,
    TransportError,
    UsageError,
)
from bsingest.server import Faults, LocalServer

NO_WAIT = RetryPolicy(wait=False)
GHOST = "00000000-0000-4000-8000-000000000000"


def _client(srv: LocalServer, user: str = "alice", **kw: Any) -> BrainstemClient:
    """A client of the 2023 generation (the local server speaks both)."""
    kw.setdefault("retry", NO_WAIT)
    return BrainstemClient(srv.url, srv.seed.users[user].token, api="2023", **kw)


def _body(srv: LocalServer, name: str = "rec.dat", dataset: str = "rat01-2024-03-01",
          **extra: Any) -> dict:
    body = {"type": "Extracellular", "dataset": srv.seed.datasets[dataset],
            "actions": [srv.seed.actions["rat01 probe implant"]],
            "hardware_device": srv.seed.hardware_device, "description": None,
            "type_json": {"fileName": name, "format": "DAT", "type": "int16", "nChannels": 8,
                          "sr": 30000.0, "nSamples": 1000}}
    body.update(extra)
    return body


# -- operations -------------------------------------------------------------------------

def test_create_get_update_delete(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    ds = srv.seed.datasets["rat01-2024-03-01"]
    with _client(srv) as client:
        made = client.create("experimentdata", _body(srv))
        assert {k: made[k] for k in ("dataset", "type")} == {"dataset": ds,
                                                               "type": "Extracellular"}
        assert srv.record_count(ds) == 1
        assert client.get("modules/experimentdata", made["id"]) == made
        changed = client.update("experimentdata", made["id"], {"description": "probe A"})
        assert changed == {**made, "description": "probe A"}
        client.delete("experimentdata", made["id"])
        assert srv.record_count(ds) == 0
        with pytest.raises(NotFound):
            client.get("experimentdata", made["id"])


def test_lookups_for_the_pipeline(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    ds = srv.seed.datasets["rat01-2024-03-01"]
    action = srv.seed.actions["rat01 probe implant"]
    with _client(srv) as client:
        client.create("experimentdata", _body(srv, "a.dat"))
        client.create("experimentdata", _body(srv, "b.dat", type="GeneralTimeSeries"))
        client.create("experimentdata", _body(srv, "c.dat", dataset="rat01-2024-03-02"))
        assert sorted(r["type_json"]["fileName"] for r in client.experiment_data(ds)) == [
            "a.dat", "b.dat"]
        assert [r["type_json"]["fileName"]
                for r in client.experiment_data(ds, type="GeneralTimeSeries")] == ["b.dat"]
        assert client.get_dataset(ds)["name"] == "rat01-2024-03-01"
        assert client.get_action(action)["name"] == "rat01 probe implant"
        assert client.get_hardware_device(srv.seed.hardware_device)["id"] == (
            srv.seed.hardware_device)
        assert client.find_dataset_by_name("rat01-2024-03-02")["id"] == (
            srv.seed.datasets["rat01-2024-03-02"])
        assert client.find_dataset_by_name("rat01") is None  # exact names only
        assert client.find_dataset_by_name("bob-private-session") is None  # not visible


def test_list_with_filters_sort_include_and_portal(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    with _client(srv) as client:
        for name in ("b.dat", "a.dat", "c.dat"):
            client.create("experimentdata", _body(srv, name, description=f"shank {name}"))
        ds = srv.seed.datasets["rat01-2024-03-01"]
        got = client.list("experimentdata",
                          filters={"dataset": ds, "description.icontains": "SHANK"},
                          sort=["-type_json.fileName"], include=["dataset"])
        assert [r["type_json"]["fileName"] for r in got] == ["c.dat", "b.dat", "a.dat"]
        assert got[0]["dataset"]["name"] == "rat01-2024-03-01"
        public = client.list("experimentdata", portal="public")
        assert {r["dataset"] for r in public} == {srv.seed.datasets["bob-published-session"]}


def test_list_pages_past_100_records(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    ds = srv.seed.datasets["rat01-2024-03-01"]
    n = 234
    with _client(srv) as client:
        made = {client.create("experimentdata", _body(srv, f"r{i:03}.dat"))["id"]
                for i in range(n)}
        before = len(srv.hits)
        listed = client.list("experimentdata", filters={"dataset": ds})
    assert len(listed) == n == srv.record_count(ds)
    assert {r["id"] for r in listed} == made
    # 234 records at 100 a page: three GETs, each for the next offset.
    pages = [h for h in srv.hits[before:] if h.method == "GET"]
    assert len(pages) == -(-n // 100)


def test_a_listing_that_changes_while_paged_is_read_again(brainstem_server: LocalServer) -> None:
    # Someone deletes a record of page 1 between our page 1 and page 2: offset paging then
    # skips the record that moved up into page 1. The uploader decides "not on the server,
    # POST it" from such a listing, so a skipped record becomes a duplicate.
    srv = brainstem_server
    ds = srv.seed.datasets["rat01-2024-03-01"]
    with _client(srv) as other:
        made = [other.create("experimentdata", _body(srv, f"r{i:03}.dat"))["id"]
                for i in range(150)]
        victim = made[10]

        class DeleteBeforePage2(httpx.HTTPTransport):  # real HTTP; another user acts
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                if request.url.params.get("offset") == "100" and victim in made:
                    made.remove(victim)
                    other.delete("experimentdata", victim)
                return super().handle_request(request)

        with _client(srv, transport=DeleteBeforePage2()) as client:
            listed = client.list("experimentdata", filters={"dataset": ds})
    assert victim not in made  # the deletion happened during the listing
    assert sorted(r["id"] for r in listed) == sorted(made)


def test_a_listing_that_never_holds_still_is_an_error_not_a_short_list(
        brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    with _client(srv) as other:
        made = [other.create("experimentdata", _body(srv, f"r{i:03}.dat"))["id"]
                for i in range(150)]

        class DeleteBeforeEveryPage2(httpx.HTTPTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                if request.url.params.get("offset") == "100":
                    other.delete("experimentdata", made.pop(0))
                return super().handle_request(request)

        with _client(srv, transport=DeleteBeforeEveryPage2()) as client, \
                pytest.raises(TransportError, match="changed while it was paged"):
            client.list("experimentdata",
                        filters={"dataset": srv.seed.datasets["rat01-2024-03-01"]})
    assert len(made) == 147  # read three times


def test_one_client_is_safe_to_share_between_threads(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    ids: list[str] = []
    lock = threading.Lock()
    with _client(srv, max_connections=4) as client:
        def work(t: int) -> None:
            for i in range(10):
                rec = client.create("experimentdata", _body(srv, f"t{t}-{i}.dat"))
                with lock:
                    ids.append(rec["id"])

        threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(set(ids)) == 60 == srv.record_count(srv.seed.datasets["rat01-2024-03-01"])


# -- every error class -------------------------------------------------------------------

def test_bad_token_is_auth_error_without_the_token(brainstem_server: LocalServer) -> None:
    wrong = "0123456789abcdef0123456789abcdef01234567"
    with BrainstemClient(brainstem_server.url, wrong, retry=NO_WAIT) as client:
        with pytest.raises(AuthError) as info:
            client.list("experimentdata")
    assert info.value.status == 401
    assert info.value.method == "GET" and "/rest/private/modules/experimentdata/" in str(
        info.value)
    assert wrong not in str(info.value) and wrong not in repr(info.value)


def test_super_portal_needs_staff(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    with _client(srv, portal="super") as client, pytest.raises(AuthError) as info:
        client.list("experimentdata")
    assert info.value.status == 403
    with _client(srv, "admin", portal="super") as admin:
        assert len(admin.list("experimentdata")) == srv.record_count()


def test_public_portal_is_read_only(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    with _client(srv, portal="public") as client, pytest.raises(AuthError) as info:
        client.create("experimentdata", _body(srv))
    assert info.value.status == 403


def test_missing_record_is_not_found(brainstem_server: LocalServer) -> None:
    with _client(brainstem_server) as client:
        with pytest.raises(NotFound) as info:
            client.get("experimentdata", GHOST)
        with pytest.raises(NotFound):
            client.update("experimentdata", GHOST, {"description": "x"})
        with pytest.raises(NotFound):
            client.delete("experimentdata", GHOST)
    assert GHOST in str(info.value) and "404" in str(info.value)


def test_rejected_carries_the_fields(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    body = _body(srv, actions=[GHOST])
    body["type_json"]["sr"] = -5
    with _client(srv) as client, pytest.raises(Rejected) as info:
        client.create("experimentdata", body)
    assert set(info.value.fields) == {"type_json"}  # schema problems come first
    assert any("sr" in m for m in info.value.fields["type_json"])
    body["type_json"]["sr"] = 5.0
    with _client(srv) as client, pytest.raises(Rejected) as info:
        client.create("experimentdata", body)
    assert list(info.value.fields) == ["actions"] and GHOST in info.value.fields["actions"][0]


def test_long_bodies_are_cut_in_messages(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    body = _body(srv)
    body["type_json"].update({f"unknownKey{i}": i for i in range(400)})
    with _client(srv) as client, pytest.raises(Rejected) as info:
        client.create("experimentdata", body)
    message = str(info.value)
    assert len(info.value.body) > 2 * BODY_LIMIT
    assert len(message) < BODY_LIMIT + 200 and "more]" in message


def test_no_answer_is_transport_error() -> None:
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with BrainstemClient(f"http://127.0.0.1:{port}", "t" * 40, retry=NO_WAIT) as client:
        with pytest.raises(TransportError) as info:
            client.list("experimentdata")
    assert f"127.0.0.1:{port}" in str(info.value) and "t" * 40 not in str(info.value)


def test_missing_token_is_a_usage_error_at_the_first_request(
        brainstem_server: LocalServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BRAINSTEM_TOKEN", raising=False)
    monkeypatch.delenv("BRAINSTEM_API_TOKEN", raising=False)
    monkeypatch.setenv("BRAINSTEM_TOKEN_FILE", str(tmp_path / "absent"))
    client = BrainstemClient(brainstem_server.url)  # constructing is fine
    with client, pytest.raises(UsageError, match="bsingest login"):
        client.list("experimentdata")


def test_public_portal_reads_without_a_token(
        brainstem_server: LocalServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Published data is for everyone: the public portal answers without credentials.
    srv = brainstem_server
    monkeypatch.delenv("BRAINSTEM_TOKEN", raising=False)
    monkeypatch.delenv("BRAINSTEM_API_TOKEN", raising=False)
    monkeypatch.setenv("BRAINSTEM_TOKEN_FILE", str(tmp_path / "absent"))
    with _client(srv, portal="public") as member:
        published = member.list("experimentdata")  # what a token holder sees there
    assert published
    with BrainstemClient(srv.url, portal="public", retry=NO_WAIT) as anonymous:
        assert anonymous.list("experimentdata") == published
        assert anonymous.get("experimentdata", published[0]["id"]) == published[0]
        with pytest.raises(UsageError, match="bsingest login"):  # writing still needs one
            anonymous.create("experimentdata", _body(srv))
    assert not [h for h in srv.hits if h.method == "POST"]


@pytest.mark.parametrize("server", ["http://brainstem.example.org", "ftp://127.0.0.1",
                                    "https://user:pw@brainstem.org"])
def test_insecure_or_odd_servers_are_refused(server: str) -> None:
    with pytest.raises(UsageError):
        BrainstemClient(server, "token")


def test_http_allowed_to_loopback_or_when_asked() -> None:
    for server in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"):
        BrainstemClient(server, "token").close()
    BrainstemClient("http://lab-server:8000", "token", allow_insecure_http=True).close()


# -- retries under each fault ------------------------------------------------------------

AFTER_WRITE = ("error_after", "drop_after")
EVERY_MODE = ("error_before", "unavailable", "throttle", *AFTER_WRITE)


@pytest.mark.parametrize("mode", EVERY_MODE)
def test_patch_is_retried_through_each_fault(brainstem_server: LocalServer, mode: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    srv = brainstem_server
    with _client(srv) as client:
        rec = client.create("experimentdata", _body(srv))
        srv.set_faults(Faults(rate=1.0, modes=(mode,), limit=2))
        with caplog.at_level(logging.INFO, logger="bsingest.client"):
            changed = client.update("experimentdata", rec["id"], {"description": "fixed"})
    assert changed["description"] == "fixed"
    patches = [h for h in srv.hits if h.method == "PATCH"]
    assert [h.fault for h in patches] == [mode, mode, None]
    assert "succeeded after 2 retries" in caplog.text


@pytest.mark.parametrize("mode", EVERY_MODE)
def test_delete_is_retried_through_each_fault(brainstem_server: LocalServer, mode: str) -> None:
    srv = brainstem_server
    ds = srv.seed.datasets["rat01-2024-03-01"]
    with _client(srv) as client:
        rec = client.create("experimentdata", _body(srv))
        srv.set_faults(Faults(rate=1.0, modes=(mode,), limit=1))
        client.delete("experimentdata", rec["id"])  # a 404 after a done delete is success
    assert srv.record_count(ds) == 0
    deletes = [h for h in srv.hits if h.method == "DELETE"]
    assert len(deletes) == 2
    assert deletes[1].status == (404 if mode in AFTER_WRITE else 204)


@pytest.mark.parametrize("mode", ("error_before", "unavailable", "throttle", "error_after",
                                  "drop_after"))
def test_get_is_retried_through_each_fault(brainstem_server: LocalServer, mode: str) -> None:
    srv = brainstem_server
    srv.set_faults(Faults(rate=1.0, modes=(mode,), limit=3, methods=("GET",)))
    with _client(srv) as client:
        records = client.list("experimentdata")
    assert len(records) == 1  # the seeded documentation record
    assert len([h for h in srv.hits if h.method == "GET"]) == 4


@pytest.mark.parametrize("mode,error", [("error_before", ServerError),
                                        ("unavailable", ServerError),
                                        ("throttle", RateLimited),
                                        ("error_after", ServerError),
                                        ("drop_after", TransportError)])
def test_post_is_never_retried(brainstem_server: LocalServer, mode: str,
                               error: type[Exception]) -> None:
    srv = brainstem_server
    ds = srv.seed.datasets["rat01-2024-03-01"]
    srv.set_faults(Faults(rate=1.0, modes=(mode,), limit=1))
    with _client(srv) as client, pytest.raises(error) as info:
        client.create("experimentdata", _body(srv))
    assert "POST" in str(info.value)
    assert [h.method for h in srv.hits] == ["POST"]
    # The write happened exactly when the fault came after it; the caller must look.
    assert srv.record_count(ds) == (1 if mode in AFTER_WRITE else 0)


def test_retries_are_bounded_then_the_last_error_goes_through(
        brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    srv.set_faults(Faults(rate=1.0, modes=("unavailable",), methods=("GET",)))
    with _client(srv, retry=RetryPolicy(attempts=3, wait=False)) as client:
        with pytest.raises(ServerError) as info:
            client.list("experimentdata")
    assert info.value.status == 503
    assert len(srv.hits) == 3


def test_retry_after_is_honoured_and_backoff_grows(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, base=0.25, jitter=False, sleep=waits.append)
    srv.set_faults(Faults(rate=1.0, modes=("throttle",), methods=("GET",), retry_after=7,
                          limit=1))
    with _client(srv, retry=policy) as client:
        client.list("experimentdata")
    assert waits == [7.0]  # the server's 7 s, not the 0.25 s of the first back-off
    waits.clear()
    srv.set_faults(Faults(rate=1.0, modes=("error_before",), methods=("GET",), limit=3))
    with _client(srv, retry=policy) as client:
        client.list("experimentdata")
    assert waits == [0.25, 0.5, 1.0]


def test_backoff_is_capped_and_jitter_stays_below_it() -> None:
    policy = RetryPolicy(base=1.0, cap=5.0, jitter=False)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    jittered = RetryPolicy(base=1.0, cap=5.0)
    draws = [jittered.delay(3) for _ in range(200)]
    assert all(0 <= d <= 4.0 for d in draws) and len(set(draws)) > 1


def test_retry_after_beyond_the_bound_is_not_waited_for(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    waits: list[float] = []
    srv.set_faults(Faults(rate=1.0, modes=("throttle",), methods=("GET",), retry_after=3600))
    policy = RetryPolicy(max_retry_after=60, sleep=waits.append)
    with _client(srv, retry=policy) as client, pytest.raises(RateLimited):
        client.list("experimentdata")
    assert waits == [] and len(srv.hits) == 1


def test_errors_carry_retry_after_for_callers_that_retry_posts(
        brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    srv.set_faults(Faults(rate=1.0, modes=("unavailable",), retry_after=9))
    with _client(srv) as client, pytest.raises(ServerError) as info:
        client.create("experimentdata", _body(srv))
    assert info.value.retry_after == 9.0  # type: ignore[attr-defined]


def test_deleting_an_absent_record_is_still_not_found_without_a_fault(
        brainstem_server: LocalServer) -> None:
    # The "404 after an unclear attempt" rule must not hide a plain 404.
    with _client(brainstem_server) as client, pytest.raises(NotFound):
        client.delete("experimentdata", GHOST)


def test_api_error_for_unexpected_status(brainstem_server: LocalServer) -> None:
    # The related models are read-only: a write there answers 405, an ApiError.
    with _client(brainstem_server) as client, pytest.raises(ApiError) as info:
        client.create("stem/dataset", {"name": "x"})
    assert info.value.status == 405 and type(info.value) is ApiError


# -- hostile ids and server URLs (issue 12) ----------------------------------------------

TRAVERSAL = "../../stem/dataset/1f7f103b-e949-405a-9b01-ddda3b2f10cf"


@pytest.mark.parametrize("bad", [TRAVERSAL, "b0e4ed13-f2f1-4845-8772-24978539d0bd/../x",
                                 "b0e4ed13-f2f1-4845-8772-24978539d0bd?x=1", "", "42",
                                 "b0e4ed13f2f14845877224978539d0bd"])
def test_an_id_that_is_not_a_uuid_never_reaches_a_url(brainstem_server: LocalServer,
                                                       bad: str) -> None:
    srv = brainstem_server
    before = srv.record_count()
    with _client(srv) as client:
        for call in (lambda: client.get("experimentdata", bad),
                     lambda: client.update("experimentdata", bad, {"description": "x"}),
                     lambda: client.delete("experimentdata", bad),
                     lambda: client.get_dataset(bad),
                     lambda: client.experiment_data(bad)):
            with pytest.raises(UsageError, match="is not a UUID"):
                call()
    assert srv.hits == []
    assert srv.record_count() == before  # the seeded records, untouched


def test_an_upper_case_uuid_is_sent_in_its_canonical_form(brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    record = "b0e4ed13-f2f1-4845-8772-24978539d0bd"
    with _client(srv) as client:
        assert client.get("experimentdata", record.upper())["id"] == record
    assert srv.hits[-1].path.endswith(f"/{record}/")


@pytest.mark.parametrize("command", [["show"], ["update", "--description", "x"],
                                     ["delete", "--yes"]])
def test_records_commands_refuse_a_path_for_an_id_before_any_request(
        brainstem_server: LocalServer, command: list[str]) -> None:
    from click.testing import CliRunner

    from bsingest.cli.main import cli

    srv = brainstem_server
    result = CliRunner().invoke(cli, ["records", command[0], TRAVERSAL, *command[1:],
                                      "--server", srv.url], env={"BRAINSTEM_TOKEN": srv.token})
    assert result.exit_code == 2, result.output
    assert "is not a UUID" in result.output and "Traceback" not in result.output
    assert srv.hits == []


@pytest.mark.parametrize("server,why", [
    ("http://127.0.0.1:8000/?next=/evil", "query"),
    ("https://brainstem.org/#frag", "fragment"),
    ("https://brainstem.org/?", "query"),
    ("https://alice@brainstem.org", "credentials"),
    ("https://brainstem.org/ x", "spaces"),
    ("https://brainstem.org/\x1b[2J", "control"),
])
def test_a_server_url_with_a_query_fragment_or_user_info_is_refused(server: str,
                                                                    why: str) -> None:
    from click.testing import CliRunner

    from bsingest.cli.main import cli

    with pytest.raises(UsageError, match=why):
        BrainstemClient(server, "token")
    result = CliRunner().invoke(cli, ["records", "list", "--server", server],
                                env={"BRAINSTEM_TOKEN": "t" * 40})
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "\x1b" not in result.output


def test_an_html_error_page_is_summarised_not_pasted(brainstem_server: LocalServer) -> None:
    from tests.httpfront import Front

    with Front(brainstem_server.url, html_error=("/rest/private/modules/",)) as front, \
            _client(brainstem_server) as direct:
        record = direct.list("experimentdata")[0]["id"]
        with BrainstemClient(front.url, brainstem_server.token, retry=NO_WAIT) as client:
            with pytest.raises(ServerError) as info:
                client.get("experimentdata", record)
    message = str(info.value)
    assert message == (f"GET {front.url}/rest/private/modules/experimentdata/{record}/ "
                       "answered 502: an HTML page titled '502 Bad Gateway & friends'")
