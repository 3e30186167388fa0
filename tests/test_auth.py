"""Settings, the token order, the token file (0600 from birth), login/logout, and no leaks."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.client import BrainstemClient
from bsingest.errors import UsageError
from bsingest.server import Faults, LocalServer
from bsingest.settings import (
    DEFAULT_SERVER,
    Settings,
    server_token_file,
    token_file,
    write_token_file,
)
from tests.fixtures import bsingest_cmd, write_dat, write_neuroscope_xml

PASSWORD = "alice-demo-password"  # the seed fixture's demo password for alice


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No token or server from the real environment; the token file under tmp_path."""
    for name in ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN", "BRAINSTEM_SERVER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "brainstem" / "token"
    monkeypatch.setenv("BRAINSTEM_TOKEN_FILE", str(path))
    yield path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- resolution order --------------------------------------------------------------------

def test_token_order(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="bsingest login"):
        Settings().resolved_token()
    write_token_file("from-file", clean_env)
    assert (Settings().resolved_token(), Settings().token_source()) == ("from-file",
                                                                        str(clean_env))
    monkeypatch.setenv("BRAINSTEM_API_TOKEN", "from-api-env")
    assert Settings().resolved_token() == "from-api-env"
    monkeypatch.setenv("BRAINSTEM_TOKEN", "from-env")
    assert Settings().resolved_token() == "from-env"
    assert Settings(token="explicit").resolved_token() == "explicit"
    assert Settings(token="explicit").token_source() == "argument"


def test_default_token_file_is_the_official_tools_one(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.delenv("BRAINSTEM_TOKEN_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert token_file() == tmp_path / ".config" / "brainstem" / "token"


def test_server_order(clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert Settings().server == DEFAULT_SERVER
    config = tmp_path / "config" / "bsingest" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('server = "https://brainstem.lab.example/"\n')
    assert Settings().server == "https://brainstem.lab.example"
    monkeypatch.setenv("BRAINSTEM_SERVER", "http://127.0.0.1:9999")
    assert Settings().server == "http://127.0.0.1:9999"
    assert Settings(server="https://other.example").server == "https://other.example"
    config.write_text("server = [\n")
    monkeypatch.delenv("BRAINSTEM_SERVER")
    with pytest.raises(UsageError, match=r"config\.toml"):
        Settings()


def test_reprs_never_show_the_token() -> None:
    from bsingest.client import BrainstemClient

    secret = "s3cr3t-token-value-0123456789"
    settings = Settings(server="https://brainstem.example", token=secret)
    client = BrainstemClient(settings=settings)
    try:
        assert secret not in repr(settings) and secret not in str(settings)
        assert secret not in repr(client)
    finally:
        client.close()


def test_bad_portal_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="portal"):
        Settings(server="https://x.example", portal="secret")


# -- the token file ----------------------------------------------------------------------

def test_token_file_is_0600_from_the_moment_it_exists(clean_env: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    real_open = os.open

    def watching_open(path, flags, mode=0o777, *args, **kwargs):  # type: ignore[no-untyped-def]
        fd = real_open(path, flags, mode, *args, **kwargs)
        if flags & os.O_CREAT:
            seen.append(stat.S_IMODE(os.fstat(fd).st_mode))  # before a byte is written
        return fd

    old_umask = os.umask(0)  # a permissive umask must not widen the file
    monkeypatch.setattr(os, "open", watching_open)
    try:
        write_token_file("first", clean_env)
        write_token_file("second", clean_env)  # replacing keeps the mode too
    finally:
        os.umask(old_umask)
    assert seen == [0o600, 0o600]
    assert _mode(clean_env) == 0o600
    assert _mode(clean_env.parent) == 0o700
    assert clean_env.read_text().strip() == "second"
    assert [p.name for p in clean_env.parent.iterdir()] == ["token"]  # no temporary left


# -- login / logout ----------------------------------------------------------------------

def test_login_writes_the_token_0600_and_logout_removes_it(
        clean_env: Path, brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    runner = CliRunner()
    result = runner.invoke(cli, ["login", "--server", srv.url, "--api", "2023"],
                           input=f"alice\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    stored = server_token_file(srv.url)
    assert stored.read_text().strip() == srv.token
    assert _mode(stored) == 0o600 and _mode(stored.parent) == 0o700
    assert not clean_env.exists()  # the file shared with the official tools: brainstem.org's
    assert PASSWORD not in result.output and srv.token not in result.output
    # The stored token now works for the other commands.
    listed = runner.invoke(cli, ["records", "list", "--server", srv.url, "--api", "2023",
                                 "--json"])
    assert listed.exit_code == 0, listed.output
    assert "b0e4ed13-f2f1-4845-8772-24978539d0bd" in listed.stdout
    result = runner.invoke(cli, ["logout", "--server", srv.url])
    assert result.exit_code == 0 and not stored.exists()
    result = runner.invoke(cli, ["records", "list", "--server", srv.url, "--api", "2023"])
    assert result.exit_code == 2 and "bsingest login" in result.output


def test_login_to_a_demo_on_this_machine_harms_no_real_set_up(
        clean_env: Path, brainstem_server: LocalServer, tmp_path: Path) -> None:
    # The official tools' token for brainstem.org, and no server configured yet.
    write_token_file("brainstem-org-token-1234", clean_env)
    before = clean_env.stat().st_mtime_ns
    result = CliRunner().invoke(cli, ["login", "--server", brainstem_server.url, "--api",
                                      "2023"], input=f"alice\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert clean_env.read_text().strip() == "brainstem-org-token-1234"
    assert clean_env.stat().st_mtime_ns == before
    assert "not saved as the default server" in result.output
    assert not (tmp_path / "config" / "bsingest" / "config.toml").exists()
    # Each server its own token: brainstem.org's is never sent to the demo, nor the reverse.
    assert Settings(server=brainstem_server.url).resolved_token() == brainstem_server.token
    assert Settings().resolved_token() == "brainstem-org-token-1234"


def test_login_saves_a_real_server_when_none_is_configured(
        clean_env: Path, tmp_path: Path) -> None:
    from bsingest.cli.cmd_auth import _store

    _store("https://brainstem.lab.example", "lab-token-5678")
    config = tmp_path / "config" / "bsingest" / "config.toml"
    assert config.read_text() == 'server = "https://brainstem.lab.example"\n'
    assert Settings().resolved_token() == "lab-token-5678"  # the configured server's token
    assert not clean_env.exists()
    _store("https://www.brainstem.org", "org-token-9012")
    assert clean_env.read_text().strip() == "org-token-9012"  # shared with the official tools
    assert _mode(clean_env) == 0o600
    assert config.read_text() == 'server = "https://brainstem.lab.example"\n'  # left alone


def test_login_leaves_a_configured_server_alone(
        clean_env: Path, brainstem_server: LocalServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINSTEM_SERVER", brainstem_server.url)
    assert CliRunner().invoke(cli, ["login", "--api", "2023"],
                              input=f"alice\n{PASSWORD}\n").exit_code == 0
    assert not (tmp_path / "config" / "bsingest" / "config.toml").exists()


def test_login_with_a_wrong_password_fails_in_one_line(
        clean_env: Path, brainstem_server: LocalServer) -> None:
    wrong = "not-the-password-123"
    result = CliRunner().invoke(cli, ["login", "--server", brainstem_server.url, "--api", "2023",
                                      "--username", "alice"], input=f"{wrong}\n")
    assert result.exit_code == 1
    assert "refused" in result.output and wrong not in result.output
    assert not clean_env.exists() and not server_token_file(brainstem_server.url).exists()


def test_login_refuses_plain_http_to_another_host(clean_env: Path) -> None:
    result = CliRunner().invoke(cli, ["login", "--server", "http://brainstem.example.org",
                                      "--username", "alice"], input="pw\n")
    assert result.exit_code == 2 and "http://" in result.output


# -- nothing leaks -----------------------------------------------------------------------

def test_a_whole_run_never_prints_or_logs_a_token(
        clean_env: Path, brainstem_server: LocalServer, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    srv = brainstem_server
    wrong = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"
    secrets = [srv.token, PASSWORD, wrong, *(u.token for u in srv.seed.users.values())]
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    runner = CliRunner()
    outputs: list[str] = []

    def run(*args: str, input: str | None = None) -> int:
        result = runner.invoke(cli, ["-vv", *args], input=input)
        outputs.append(result.output)
        if result.exception and not isinstance(result.exception, SystemExit):
            outputs.append(repr(result.exception))
        return result.exit_code

    server = ["--server", srv.url, "--api", "2023"]
    assert run("login", *server, input=f"alice\n{PASSWORD}\n") == 0
    assert run("records", "list", *server) == 0
    record = "b0e4ed13-f2f1-4845-8772-24978539d0bd"
    assert run("records", "show", record, *server) == 0
    srv.set_faults(Faults(rate=1.0, modes=("drop_after", "error_after"), limit=2))
    assert run("records", "update", record, "--description", "x", *server) == 0
    assert run("records", "delete", record, "--yes", *server) == 0
    assert run("records", "show", record, *server) == 1
    monkeypatch.setenv("BRAINSTEM_TOKEN", wrong)
    assert run("records", "list", *server) == 1
    assert run("records", "list", "--portal", "super", *server) == 1
    captured = capfd.readouterr()
    everything = "\n".join([*outputs, caplog.text, captured.out, captured.err])
    assert "succeeded after 2 retries" in caplog.text  # the logs were captured
    assert "answered 401" in everything
    for secret in secrets:
        assert secret not in everything


@pytest.mark.parametrize("bad", ["firstpart7781\nsecondpart7781", "with space7781",
                                 "accentu\u00e9-7781"])
def test_a_malformed_token_is_refused_without_quoting_it(
        clean_env: Path, brainstem_server: LocalServer, caplog: pytest.LogCaptureFixture,
        bad: str) -> None:
    # A token file holding two lines, or a stray character, must not reach an HTTP header:
    # the header error quotes the header (escaped, so masking misses it), or is a traceback.
    path = server_token_file(brainstem_server.url)
    path.parent.mkdir(parents=True)
    path.write_text(bad + "\n")
    path.chmod(0o600)
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(cli, ["-vv", "records", "list", "--server", brainstem_server.url,
                                      "--api", "2023"])
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, UnicodeError)
    assert str(path) in result.output and "token" in result.output
    everything = result.output + caplog.text
    for piece in ("firstpart", "secondpart", "with space", "accentu"):
        assert piece not in everything
    assert not brainstem_server.hits  # nothing was sent


# -- token files: others' eyes, bad bytes, pasted tokens ----------------------------------

def test_a_token_file_others_may_read_is_used_with_a_warning(
        clean_env: Path, brainstem_server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    srv = brainstem_server
    path = server_token_file(srv.url)
    write_token_file(srv.token, path)
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="bsingest.settings"):
        result = CliRunner().invoke(cli, ["records", "list", "--server", srv.url,
                                          "--api", "2023", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)  # the token was used
    assert f"{path} may be read by others (mode 0644)" in caplog.text
    assert f"chmod 600 {path}" in caplog.text
    assert srv.token not in caplog.text + result.output


def test_a_token_file_with_a_byte_that_is_not_utf8_is_one_line(
        clean_env: Path, brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    path = server_token_file(srv.url)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"abc\xffdef-secret-7781\n")
    path.chmod(0o600)
    result = CliRunner().invoke(cli, ["records", "list", "--server", srv.url, "--api", "2023"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (f"bsingest: error: {path}: the token file is not UTF-8 "
                                     "text (byte 4); run `bsingest login` again, or fix it "
                                     "there")
    assert not isinstance(result.exception, UnicodeError)


def test_login_token_stdin_stores_a_pasted_token_once_the_server_takes_it(
        clean_env: Path, brainstem_server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    srv = brainstem_server
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    wrong = "0123456789abcdef0123456789abcdef0badf00d"
    result = runner.invoke(cli, ["-vv", "login", "--server", srv.url, "--api", "2023",
                                 "--token-stdin"], input=wrong + "\n")
    assert result.exit_code == 1, result.output
    assert "refused this token; nothing stored" in result.output
    assert not server_token_file(srv.url).exists()
    result = runner.invoke(cli, ["-vv", "login", "--server", srv.url, "--api", "2023",
                                 "--token-stdin"], input=f"  {srv.token}  \n")
    assert result.exit_code == 0, result.output
    assert server_token_file(srv.url).read_text() == srv.token + "\n"
    assert _mode(server_token_file(srv.url)) == 0o600
    for secret in (wrong, srv.token):
        assert secret not in result.output + caplog.text


# -- the device sign-in of the current generation ------------------------------------------

def _device_server(tmp_path: Path, **options: Any) -> LocalServer:
    from bsingest.server import DeviceAuth

    return LocalServer(db_path=tmp_path / "device.sqlite3", device_auth=DeviceAuth(**options))


def _subprocess_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BRAINSTEM_", "DISPLAY", "WAYLAND"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"),
               BRAINSTEM_TOKEN_FILE=str(tmp_path / "brainstem" / "token"))
    return env


def _wait_for_code(srv: LocalServer, proc: subprocess.Popen[str]) -> str:
    while not srv.device_user_codes():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    return srv.device_user_codes()[0]


def test_device_sign_in_headless_polls_until_approved_and_never_shows_the_token(
        clean_env: Path, tmp_path: Path) -> None:
    write_token_file("brainstem-org-token-1234", clean_env)
    with _device_server(tmp_path, interval=0.02, auto_approve=2) as srv:
        env = _subprocess_env(tmp_path)
        login = subprocess.run(bsingest_cmd("-vv", "login", "--server", srv.url, "--headless"),
                               env=env, capture_output=True, text=True, timeout=120)
        assert login.returncode == 0, login.stderr
        token = server_token_file(srv.url).read_text().strip()
        polls = [h for h in srv.hits if h.path == "/api/auth/device/token/"]
        assert len(polls) == 3  # pending, pending, success
        code = re.search(r"enter the code: (\S+)", login.stderr)
        assert code and f"{srv.url}/device/" in login.stderr
        with BrainstemClient(srv.url, token, api="2026") as client:  # a working token
            assert client.get_session(srv.seed.session)["id"] == srv.seed.session
        # The stored token at work, logging at debug level to the terminal and to --log.
        session = tmp_path / "rec-session"
        session.mkdir()
        write_dat(session / "rec.dat", 4, 1000)
        write_neuroscope_xml(session / "rec.xml", 4)
        log_file = tmp_path / "ingest.log"
        before = srv.acquisition_count(srv.seed.session)
        listed = subprocess.run(bsingest_cmd(
            "-vv", "ingest", str(session), "--server", srv.url, "--session", srv.seed.session,
            "--procedure", srv.seed.procedure, "--log", str(log_file),
            "--journal", str(tmp_path / "journal.sqlite")), env=env, capture_output=True,
            text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert "rec.dat" in log_file.read_text()
        assert srv.acquisition_count(srv.seed.session) == before + 1
    assert _mode(server_token_file(srv.url)) == 0o600
    assert clean_env.read_text().strip() == "brainstem-org-token-1234"  # untouched
    assert not (tmp_path / "config" / "bsingest" / "config.toml").exists()  # not the default
    for text in (login.stdout, login.stderr, listed.stdout, listed.stderr, log_file.read_text()):
        assert token not in text
    assert "Authorization" not in login.stderr + listed.stderr


def test_device_sign_in_polls_at_the_announced_interval(tmp_path: Path) -> None:
    from bsingest.client import wait_for_device_token

    with _device_server(tmp_path, interval=7, auto_approve=3) as srv, \
            BrainstemClient(srv.url, api="2026") as client:
        device = client.start_device_authorization("bsingest-test")
        waits: list[float] = []
        token = wait_for_device_token(client, device, sleep=waits.append)
    assert waits == [7.0, 7.0, 7.0] and token.strip() == token and token
    assert "device_code" not in repr(device) and device.device_code not in repr(device)


def test_a_device_code_already_used_ends_the_sign_in_in_one_line(tmp_path: Path) -> None:
    from bsingest.client import wait_for_device_token
    from bsingest.errors import SignInError

    with _device_server(tmp_path, interval=0) as srv, \
            BrainstemClient(srv.url, api="2026") as client:
        device = client.start_device_authorization()
        assert client.poll_device_token(device) == ("authorization_pending", None)
        srv.approve_device(device.user_code)
        state, token = client.poll_device_token(device)
        assert state == "success" and token
        with pytest.raises(SignInError) as info:
            wait_for_device_token(client, device, sleep=lambda _: None)
    assert str(info.value) == ("sign-in code already used: run `bsingest login` again for a "
                               "new one")


@pytest.mark.parametrize("end,message", [
    ("deny_device", "bsingest: error: sign-in denied: the request was refused in the browser;"
                    " nothing stored"),
    ("expire_device", "bsingest: error: sign-in expired: the code was not approved in time; "
                      "run `bsingest login` again"),
])
def test_a_denied_or_expired_sign_in_is_one_line_and_stores_nothing(
        clean_env: Path, tmp_path: Path, end: str, message: str) -> None:
    with _device_server(tmp_path, interval=0.02) as srv:
        proc = subprocess.Popen(bsingest_cmd("login", "--server", srv.url, "--headless"),
                                env=_subprocess_env(tmp_path), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        getattr(srv, end)(_wait_for_code(srv, proc))
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert err.strip().splitlines()[-1] == message
    assert "Traceback" not in err and out == ""
    assert not server_token_file(srv.url).exists() and not clean_env.exists()


def test_a_code_someone_else_used_first_is_one_line_through_the_cli(
        clean_env: Path, tmp_path: Path) -> None:
    from tests.httpfront import Front

    poll = "/api/auth/device/token/"
    with _device_server(tmp_path, interval=0.02, auto_approve=1) as srv, \
            Front(srv.url, steal_success=poll) as front:
        done = subprocess.run(bsingest_cmd("login", "--server", front.url, "--headless"),
                              env=_subprocess_env(tmp_path), capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "bsingest: error: sign-in code already used: run `bsingest login` again for a new one")
    assert not server_token_file(front.url).exists() and not clean_env.exists()


def test_ctrl_c_stops_the_sign_in_cleanly(clean_env: Path, tmp_path: Path) -> None:
    with _device_server(tmp_path, interval=0.02) as srv:
        proc = subprocess.Popen(bsingest_cmd("login", "--server", srv.url, "--headless"),
                                env=_subprocess_env(tmp_path), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        _wait_for_code(srv, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "sign-in stopped; nothing stored"
    assert "Traceback" not in err
    assert not server_token_file(srv.url).exists()


def test_device_sign_in_opens_a_browser_where_there_is_one(
        clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(webbrowser, "open", lambda url, new=0: opened.append(url) or True)
    with _device_server(tmp_path, interval=0, auto_approve=1) as srv:
        result = CliRunner().invoke(cli, ["login", "--server", srv.url])
        assert result.exit_code == 0, result.output
        token = server_token_file(srv.url).read_text().strip()
    assert len(opened) == 1 and opened[0].startswith(f"{srv.url}/device/")
    code = re.search(r"\(code (\S+)\)", result.output)
    assert code and code.group(1) in opened[0]  # the page comes with the code filled in
    assert "browser window just opened" in result.output and token not in result.output


def test_a_password_is_not_how_the_current_generation_signs_in(
        clean_env: Path, brainstem_server: LocalServer) -> None:
    result = CliRunner().invoke(cli, ["login", "--server", brainstem_server.url,
                                      "--username", "alice"])
    assert result.exit_code == 2
    assert "sign-in happens in a browser" in result.output
    assert not [h for h in brainstem_server.hits if h.method == "POST"]


def test_token_stdin_for_the_current_generation(clean_env: Path,
                                                brainstem_server: LocalServer) -> None:
    srv = brainstem_server
    result = CliRunner().invoke(cli, ["login", "--server", srv.url, "--token-stdin"],
                                input=srv.token + "\n")  # a 2023 token: refused by /api/
    assert result.exit_code == 1 and "nothing stored" in result.output
    result = CliRunner().invoke(cli, ["login", "--server", srv.url, "--token-stdin"],
                                input=srv.pat + "\n")
    assert result.exit_code == 0, result.output
    assert server_token_file(srv.url).read_text().strip() == srv.pat
    assert srv.pat not in result.output


def test_a_poll_lost_on_the_way_does_not_end_the_sign_in(tmp_path: Path) -> None:
    from bsingest.client import wait_for_device_token
    from bsingest.errors import ServerError
    from tests.httpfront import Front

    poll = "/api/auth/device/token/"
    with _device_server(tmp_path, interval=0, auto_approve=0) as srv:
        with Front(srv.url, unavailable={poll: 2}) as front, \
                BrainstemClient(front.url, api="2026") as client:
            device = client.start_device_authorization()
            assert wait_for_device_token(client, device, sleep=lambda _: None)  # 503, 503, ok
        assert [p for p in front.paths if p == poll] == [poll] * 3
        with Front(srv.url, unavailable={poll: None}) as front, \
                BrainstemClient(front.url, api="2026") as client:
            device = client.start_device_authorization()
            with pytest.raises(ServerError, match="503"):  # a server that stays away: bounded
                wait_for_device_token(client, device, sleep=lambda _: None)
        assert [p for p in front.paths if p == poll] == [poll] * 3


def test_password_sign_in_without_input_is_one_line_naming_the_way_out(
        clean_env: Path, brainstem_server: LocalServer) -> None:
    """A 2023 server asks a name and password; a rig's hook has no one to type them."""
    result = CliRunner().invoke(cli, ["login", "--server", brainstem_server.url, "--api", "2023",
                                      "--headless"], input="")
    assert result.exit_code == 2, result.output
    assert "--token-stdin" in result.output and "Aborted" not in result.output
    assert not clean_env.exists() and not server_token_file(brainstem_server.url).exists()


def test_login_api_2023_against_a_server_without_rest_names_the_mismatch_first(
        clean_env: Path, tmp_path: Path) -> None:
    with LocalServer(db_path=tmp_path / "only2026.sqlite3", apis=("2026",)) as srv:
        result = CliRunner().invoke(cli, ["login", "--server", srv.url, "--api", "2023"],
                                    input="alice\npw\n")
    assert result.exit_code == 2, result.output
    assert "2026" in result.output and "Username" not in result.output
