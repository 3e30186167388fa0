"""What may go into a URL: the server's base URL, model paths and ids.

TLS verification is always on; plain ``http://`` is refused except to loopback unless
``allow_insecure_http``; a server URL with credentials, a query or a fragment is refused;
every id put into a URL must be a UUID (nothing can send ``../../stem/dataset/``).
"""

from __future__ import annotations

from ..errors import UsageError
from ..ids import check_id
from ..settings import check_server_text

__all__ = ["LOOPBACK_HOSTS", "MODELS", "check_id", "check_server_url", "model_path", "show"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

#: Short model names (as the official tools spell them) -> ``app/model``.
MODELS: dict[str, str] = {
    "experimentdata": "modules/experimentdata",
    "dataset": "stem/dataset",
    "action": "modules/action",
    "hardwaredevice": "resources/hardwaredevice",
    "dataacquisition": "modules/dataacquisition",
    "session": "stem/session",
    "project": "stem/project",
    "procedure": "modules/procedure",
    "equipment": "modules/equipment",
}


def model_path(model: str) -> str:
    """``"experimentdata"`` or ``"modules/experimentdata"`` -> ``"modules/experimentdata"``."""
    if model in MODELS:
        return MODELS[model]
    parts = model.strip("/").split("/")
    if len(parts) == 2 and all(p.isidentifier() for p in parts):
        return "/".join(parts)
    raise UsageError(f"unknown model {model!r}: give app/model or one of {', '.join(MODELS)}")


def check_server_url(server: str, allow_insecure_http: bool = False) -> str:
    """The base URL without a trailing slash; refuses what is not https (or loopback http),
    and a URL with credentials, a query, a fragment or characters a URL cannot hold."""
    if any(c.isspace() or not c.isprintable() for c in server):
        raise UsageError(f"server {server!r} holds spaces or control characters")
    parts = check_server_text(server)
    if "@" in parts.netloc:
        raise UsageError("put no credentials in the server URL: use a token")
    if "?" in server or "#" in server:
        raise UsageError(f"server {server!r}: give the base URL alone, without a query (?) "
                         "or a fragment (#)")
    if (parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS
            and not allow_insecure_http):
        raise UsageError(f"refusing plain http:// to {parts.hostname}: the token would travel "
                         "unencrypted (use https, or allow insecure http explicitly)")
    return server.rstrip("/")


def show(url: str) -> str:
    """A URL for messages: long query strings cut."""
    return url if len(url) <= 300 else url[:300] + "..."
