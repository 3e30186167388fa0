"""Where bsingest talks to, with which token, and which generation of the API it speaks.

Server, in this order: the ``server`` argument, ``BRAINSTEM_SERVER``, the ``server`` key
of ``<user config dir>/bsingest/config.toml`` (platformdirs), ``https://www.brainstem.org``.

Token, in this order (the first that is set wins):

1. the ``token`` argument;
2. ``BRAINSTEM_TOKEN``, then ``BRAINSTEM_API_TOKEN``;
3. the server's token file: for brainstem.org the file shared with the official BrainSTEM
   tools, ``~/.config/brainstem/token`` (``BRAINSTEM_TOKEN_FILE`` names another file), as
   they use it; for any other server bsingest's own, one file per server under
   ``<user config dir>/bsingest/tokens/``. A lab instance's or a demo's token never
   lands in the shared file, and brainstem.org's token is never sent to another server.

The token is looked up when the first request needs it, not when the settings are made,
so ``bsingest --help`` and ``Settings()`` never fail for want of one. It never appears in
``repr``, messages or logs: :meth:`Settings.token_source` says where it came from instead.
Token files are written by :func:`write_token_file` with mode 0600 from the moment they
exist (``os.open`` with ``O_EXCL`` and mode 0600 on a temporary name, then a rename). A
token file that others may read is still used, with a warning, as ssh does.

API generation (``"2023"``: ``/rest/``, ``Token``; ``"2026"``: ``/api/``, ``Bearer``): the
config file may state it, ``api = "..."`` beside ``server`` (for that server; alone, for
every server); what a probe found is kept per server in a table
``[servers."https://lab.example"]`` with ``api = "..."`` (:func:`remember_api`; servers
off this machine only: a loopback port serves one thing today and another tomorrow).
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

from .errors import UsageError
from .records import APIS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "API_GENERATIONS",
    "DEFAULT_SERVER",
    "PORTALS",
    "Settings",
    "check_api",
    "check_server_text",
    "check_token_text",
    "config_file",
    "configured_api",
    "configured_server",
    "is_brainstem_org",
    "is_loopback",
    "read_toml",
    "remember_api",
    "remembered_api",
    "save_server",
    "server_token_file",
    "store_token",
    "token_file",
    "write_token_file",
]

log = logging.getLogger("bsingest.settings")

DEFAULT_SERVER = "https://www.brainstem.org"
PORTALS: tuple[str, ...] = ("private", "public", "super")
#: The generations of the BrainSTEM API: 2023 (``/rest/``, Experiment Data) and the current
#: one (``/api/``, Data Acquisition).
API_GENERATIONS: tuple[str, ...] = APIS
_TOKEN_ENV = ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN")
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # what an Authorization header can carry
_BRAINSTEM_ORG = frozenset({"www.brainstem.org", "brainstem.org"})


@dataclass
class Settings:
    """Server, token and portal for a :class:`~bsingest.client.BrainstemClient`.

    Parameters
    ----------
    server
        Base URL (``https://www.brainstem.org``, ``http://127.0.0.1:8000``); resolved
        from the environment and the config file when left out.
    token
        API token; resolved lazily by :meth:`resolved_token` when left out.
    portal
        ``private`` (default), ``public`` or ``super``.
    allow_insecure_http
        Permit plain ``http://`` to a host other than loopback.
    """

    server: str | None = None
    token: str | None = field(default=None, repr=False)
    portal: str = "private"
    allow_insecure_http: bool = False

    def __post_init__(self) -> None:
        if self.server is None:
            self.server = _server_from_environment()
        if not isinstance(self.server, str):  # Settings(server=5): not an AttributeError
            raise UsageError(f"server must be a URL string, not {self.server!r}")
        self.server = self.server.rstrip("/")
        if self.portal not in PORTALS:
            raise UsageError(f"portal {self.portal!r} is not one of {', '.join(PORTALS)}")

    def __repr__(self) -> str:
        # Written out so that no future field can leak the token through the default repr.
        return (f"Settings(server={self.server!r}, portal={self.portal!r}, "
                f"token={'<set>' if self.token else '<unresolved>'}, "
                f"allow_insecure_http={self.allow_insecure_http!r})")

    def resolved_token(self) -> str:
        """The token by the documented order; :class:`UsageError` when there is none."""
        server = self.server or DEFAULT_SERVER
        token, source = _find_token(self.token, server)
        if token is None:
            path = server_token_file(server)
            hint = ""
            if not is_brainstem_org(server) and token_file().is_file():
                hint = f" ({token_file()} holds the token for brainstem.org only)"
            raise UsageError(
                f"no BrainSTEM token for {server}: run `bsingest login --server {server}`, "
                f"set BRAINSTEM_TOKEN, or write the token to {path}{hint}"
            )
        check_token_text(token, f"the token from {source}")
        return token

    def token_source(self) -> str | None:
        """Where the token comes from (``argument``, an env name, a file path), or None."""
        return _find_token(self.token, self.server or DEFAULT_SERVER)[1]


def check_token_text(token: str, what: str = "the token") -> None:
    """A :class:`UsageError` (which never quotes it) for a token that is not one line of
    visible ASCII characters.

    Checked before it reaches a header: HTTP libraries quote a bad header value (escaped,
    so masking misses it) in their errors and debug logs.
    """
    if not _TOKEN_CHARS.fullmatch(token):
        raise UsageError(f"{what} is not one line of visible ASCII characters (run "
                         "`bsingest login` again, or fix it there)")


def is_brainstem_org(server: str) -> bool:
    """Whether ``server`` is brainstem.org itself (over https)."""
    parts = urlsplit(server)
    return parts.scheme == "https" and (parts.hostname or "") in _BRAINSTEM_ORG


def is_loopback(server: str) -> bool:
    """Whether ``server`` is on this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = urlsplit(server).hostname or ""
    if host == "localhost":
        return True
    import ipaddress  # here, not at start-up: extract and --help never ask

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_file() -> Path:
    """The token file shared with the official BrainSTEM tools (brainstem.org's token)."""
    override = os.environ.get("BRAINSTEM_TOKEN_FILE")
    if override:
        return Path(override).expanduser()
    return Path.home() / ".config" / "brainstem" / "token"


def server_token_file(server: str) -> Path:
    """Where the token for ``server`` is kept: the shared file for brainstem.org, else ours.

    The file name is the server URL percent-encoded, a name every file system takes
    (``http%3A%2F%2F127.0.0.1%3A8000``) and one a person can still read.
    """
    server = server.rstrip("/")
    if is_brainstem_org(server):
        return token_file()
    return config_file().parent / "tokens" / quote(server, safe="")


def config_file() -> Path:
    """``<user config dir>/bsingest/config.toml``."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("bsingest")) / "config.toml"


def write_token_file(token: str, path: Path | None = None) -> Path:
    """Store ``token`` in ``path`` (default :func:`token_file`), readable by its owner only.

    The file is created under a temporary name with ``O_CREAT | O_EXCL`` and mode 0600, so
    it is never readable by others, not even for a moment, and then renamed over the old
    one, so a crash leaves either the old token or the new one, never half a file.
    """
    path = path or token_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # os.urandom, as secrets.token_hex is, without importing secrets (hashlib, OpenSSL:
    # ~10 ms of every command's start-up, settings being imported by all).
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token.strip() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def store_token(server: str, token: str) -> Path:
    """Write ``token`` to ``server``'s token file (:func:`server_token_file`); its path."""
    if not _TOKEN_CHARS.fullmatch(token.strip()):
        raise UsageError("the token is not one line of visible ASCII characters")
    return write_token_file(token, server_token_file(server))


def _find_token(explicit: str | None, server: str) -> tuple[str | None, str | None]:
    if explicit:
        return explicit, "argument"
    for name in _TOKEN_ENV:
        value = os.environ.get(name, "").strip()
        if value:
            return value, name
    path = server_token_file(server)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the token file: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        # Never quote the bytes: they are (part of) a secret.
        raise UsageError(f"{path}: the token file is not UTF-8 text (byte {exc.start + 1}); "
                         "run `bsingest login` again, or fix it there") from exc
    if text:
        _warn_if_readable_by_others(path)
    return (text, str(path)) if text else (None, None)


_WARNED: set[tuple[str, int]] = set()


def _warn_if_readable_by_others(path: Path) -> None:
    if os.name == "nt":  # permissions are ACLs there; the mode bits say nothing
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077 and (str(path), mode) not in _WARNED:
        _WARNED.add((str(path), mode))  # once per process, not at every look-up
        log.warning("%s may be read by others (mode %04o): using it anyway; run "
                    "`chmod 600 %s`", path, mode, path)


def configured_server() -> str | None:
    """``BRAINSTEM_SERVER``, else ``server`` in the config file, else None (not configured)."""
    value = os.environ.get("BRAINSTEM_SERVER", "").strip()
    if value:
        if value != "local":
            check_server_text(value, "BRAINSTEM_SERVER")
        return value
    server = _config().get("server")
    if server is not None and not isinstance(server, str):
        raise UsageError(f"{config_file()}: 'server' must be a string")
    if server and server != "local":
        check_server_text(server, str(config_file()))
    return server or None


def check_server_text(server: str, where: str | None = None) -> SplitResult:
    """``server`` split, or a usage error (naming ``where``, a file or an environment
    variable, when given) for a server that is no http(s) URL.

    The one check of a server's URL text: the client's (:func:`bsingest.client.urls.
    check_server_url`, which adds plain http, credentials, a query) starts with it, and
    settings use it without importing the client (it brings httpx). Without ``where``, the
    user was left to guess where "server 'ftp://x' is not an http(s) URL" was written; and
    "http://[::1" (an unclosed bracket) or a port of 99999 was a ValueError traceback, or
    a request to a port that cannot be.
    """
    said = f"{where}: " if where else ""
    try:
        parts = urlsplit(server)
        parts.port  # noqa: B018 - raises for a port that is not a number of 0 to 65535
    except ValueError as exc:
        raise UsageError(f"{said}server {server!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{said}server {server!r} is not an http(s) URL")
    return parts


def save_server(server: str) -> Path:
    """Record ``server`` as ``server = "..."`` in the config file (created if need be)."""
    path = config_file()
    config = _config()
    if config.get("server") == server:
        return path
    if "server" in config:
        raise UsageError(f"{path} already names the server {config['server']!r}; edit it there")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    # A top-level key must come before any [table]: put it first.
    path.write_text(f"server = {json.dumps(server)}\n" + text, encoding="utf-8")
    return path


def configured_api(server: str) -> tuple[str, str] | None:
    """The generation the user states for ``server`` in the config file, and where: or None.

    A top-level ``api`` goes with the top-level ``server`` (stated for that server only);
    with no ``server`` there, it is stated for every server.
    """
    server = server.rstrip("/")
    config = _config()
    top = config.get("server")
    mine = top is None or (isinstance(top, str) and top.rstrip("/") == server)
    if "api" in config and mine:
        return check_api(config["api"], f"{config_file()}: api"), str(config_file())
    return None


def remembered_api(server: str) -> str | None:
    """The generation ``[servers."URL"] api`` gives for ``server`` (a probe wrote it, or
    the user): None when there is no such entry."""
    server = server.rstrip("/")
    servers = _config().get("servers", {})
    path = config_file()
    if not isinstance(servers, dict):
        raise UsageError(f"{path}: 'servers' must be a table of [servers.\"URL\"] tables")
    entry = next((v for k, v in servers.items() if k.rstrip("/") == server), None)
    if isinstance(entry, dict) and "api" in entry:
        return check_api(entry["api"], f"{path} [servers.{json.dumps(server)}]: api")
    return None


def remember_api(server: str, api: str) -> Path | None:
    """Keep what a probe found for ``server`` in the config file; None when not kept.

    Only servers off this machine are kept, and never over an entry that is there.
    """
    server = server.rstrip("/")
    if is_loopback(server) or is_brainstem_org(server):
        return None
    config = _config()
    servers = config.get("servers", {})
    if not isinstance(servers, dict) or any(k.rstrip("/") == server for k in servers):
        return None
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    # JSON string escapes are TOML basic-string escapes: the URL is quoted safely.
    text += (f"\n# found by bsingest (which generation of the API this server speaks)\n"
             f"[servers.{json.dumps(server)}]\napi = {json.dumps(api)}\n")
    path.write_text(text, encoding="utf-8")
    return path


def check_api(value: object, source: str) -> str:
    """``value`` as an API generation (``"2023"``, ``"2026"``; 2026 as a number too), or a
    :class:`UsageError` naming ``source``."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if text not in API_GENERATIONS:
        raise UsageError(f"{source}: api must be one of {', '.join(map(repr, API_GENERATIONS))}"
                         f", not {value!r}")
    return str(text)


def present(path: Path) -> bool:
    """Whether the user put something at ``path`` for bsingest to read.

    Anything under that name counts (a folder, a link to nowhere, a link loop), so that
    reading it fails in a line naming it; ``is_file()`` said False for those, and the
    session's settings were silently ignored. Only no entry at all is "not there".
    """
    return os.path.lexists(path)


def read_toml(path: Path, what: str = "") -> dict[str, Any]:
    """A TOML file as a table; anything wrong with it (unreadable, not TOML, nested deeper
    than the parser recurses) is a one-line :class:`UsageError` naming the file."""
    try:
        # utf-8-sig: Notepad on a Windows rig starts a UTF-8 file with a BOM, which TOML
        # parsers refuse as "Invalid statement (at line 1, column 1)".
        return tomllib.loads(path.read_text("utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read{what}: {exc}") from exc
    except ValueError as exc:
        # TOMLDecodeError is a ValueError; so is what int() raises for an integer of more
        # than 4,300 digits (sys.get_int_max_str_digits), which tomllib lets through.
        raise UsageError(f"{path}: not valid TOML: {_first_line(exc)}") from exc
    except RecursionError:
        raise UsageError(f"{path}: not valid TOML: arrays or tables nested too deeply"
                         ) from None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _config() -> dict[str, object]:
    path = config_file()
    if not present(path):
        return {}
    # The one reader of settings files: a BOM, an integer of 5,000 digits or arrays nested
    # 10,000 deep are one line naming the file, as in bsingest.toml (they were a
    # ValueError or RecursionError traceback here).
    return read_toml(path, " the configuration")


def _server_from_environment() -> str:
    return configured_server() or DEFAULT_SERVER
