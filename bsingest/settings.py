"""Where bsingest talks to, and with which token.

Server, in this order: the ``server`` argument, ``BRAINSTEM_SERVER``, the ``server`` key
of ``<user config dir>/bsingest/config.toml`` (platformdirs), ``https://www.brainstem.org``.

Token, in this order (the first that is set wins):

1. the ``token`` argument;
2. ``BRAINSTEM_TOKEN``, then ``BRAINSTEM_API_TOKEN``;
3. the token file shared with the official BrainSTEM tools,
   ``~/.config/brainstem/token`` (``BRAINSTEM_TOKEN_FILE`` names another file).

The token is looked up when the first request needs it, not when the settings are made,
so ``bsingest --help`` and ``Settings()`` never fail for want of one. It never appears in
``repr``, messages or logs: :meth:`Settings.token_source` says where it came from instead.
The token file is written by :func:`write_token_file` with mode 0600 from the moment it
exists (``os.open`` with ``O_EXCL`` and mode 0600 on a temporary name, then a rename), the
way ``bsingest login`` stores it.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "DEFAULT_SERVER",
    "PORTALS",
    "Settings",
    "config_file",
    "configured_server",
    "save_server",
    "token_file",
    "write_token_file",
]

DEFAULT_SERVER = "https://www.brainstem.org"
PORTALS: tuple[str, ...] = ("private", "public", "super")
_TOKEN_ENV = ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN")
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # what an Authorization header can carry


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
        token, source = _find_token(self.token)
        if token is None:
            raise UsageError(
                "no BrainSTEM token: run `bsingest login`, set BRAINSTEM_TOKEN, or write "
                f"the token to {token_file()}"
            )
        if not _TOKEN_CHARS.fullmatch(token):
            # Checked before it reaches a header: HTTP libraries quote a bad header value
            # (escaped, so masking misses it) in their errors and debug logs.
            raise UsageError(f"the token from {source} is not one line of visible ASCII "
                             "characters (run `bsingest login` again, or fix it there)")
        return token

    def token_source(self) -> str | None:
        """Where the token comes from (``argument``, an env name, a file path), or None."""
        return _find_token(self.token)[1]


def token_file() -> Path:
    """The token file shared with the official BrainSTEM tools."""
    override = os.environ.get("BRAINSTEM_TOKEN_FILE")
    if override:
        return Path(override).expanduser()
    return Path.home() / ".config" / "brainstem" / "token"


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
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
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


def _find_token(explicit: str | None) -> tuple[str | None, str | None]:
    if explicit:
        return explicit, "argument"
    for name in _TOKEN_ENV:
        value = os.environ.get(name, "").strip()
        if value:
            return value, name
    path = token_file()
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the token file: {exc.strerror}") from exc
    return (text, str(path)) if text else (None, None)


def configured_server() -> str | None:
    """``BRAINSTEM_SERVER``, else ``server`` in the config file, else None (not configured)."""
    value = os.environ.get("BRAINSTEM_SERVER", "").strip()
    if value:
        return value
    server = _config().get("server")
    if server is not None and not isinstance(server, str):
        raise UsageError(f"{config_file()}: 'server' must be a string")
    return server or None


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
    path.write_text(f'server = "{server}"\n' + text, encoding="utf-8")
    return path


def _config() -> dict[str, object]:
    path = config_file()
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the configuration: {exc}") from exc


def _server_from_environment() -> str:
    return configured_server() or DEFAULT_SERVER
