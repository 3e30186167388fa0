"""The seed's call shapes, so scripts written for the BrainSTEM Python tools run unchanged.

The BrainSTEM documentation's examples read::

    resp = load_model(settings, 'experimentdata')
    resp = save_model(settings, "experimentdata", data={...})
    resp = load_model(settings, 'experimentdata', id='b0e4ed13-...')
    resp = save_model(settings, "experimentdata", id="b0e4ed13-...", data={...})
    resp = delete_model(settings, "experimentdata", id="b0e4ed13-...")

Each function returns the decoded body as the server sent it (``{'experiment_data': ...}``;
None for a delete, which answers 204 with no body). Unlike the seed, an error status
raises the exception tree of :mod:`bsingest.errors` (a 404 is ``NotFound``) instead of
returning the error body, and a list answers one page as the server pages it (pass
``limit``/``offset``, or use :meth:`BrainstemClient.list` for every page).

One pooled client is kept per distinct settings, so a script's many calls reuse
connections; :func:`close_clients` closes them (also at interpreter exit).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from typing import Any

from .client import BrainstemClient
from .errors import UsageError
from .settings import Settings

__all__ = ["close_clients", "delete_model", "load_model", "save_model"]

_clients: dict[tuple[Any, ...], BrainstemClient] = {}
_lock = threading.Lock()


def load_model(settings: Settings | None, model: str, id: str | None = None,
               portal: str | None = None, filters: Mapping[str, Any] | None = None,
               sort: list[str] | None = None, include: list[str] | None = None,
               limit: int | None = None, offset: int | None = None) -> Any:
    """GET a list (``{'experiment_data': [...], 'count': n}``) or, with ``id``, one record."""
    client = _client(settings)
    if id is not None:
        return client.request_json("GET", model, id, portal=portal)
    params = client.query_params(filters, sort, include)
    if limit is not None:
        params.append(("limit", str(limit)))
    if offset is not None:
        params.append(("offset", str(offset)))
    return client.request_json("GET", model, portal=portal, params=params)


def save_model(settings: Settings | None, model: str, id: str | None = None,
               data: Mapping[str, Any] | None = None, portal: str | None = None) -> Any:
    """POST ``data`` as a new record, or, with ``id``, PATCH those fields of a record."""
    if data is None:
        raise UsageError("save_model needs data")
    client = _client(settings)
    if id is None:
        return client.request_json("POST", model, portal=portal, json=data)
    return client.request_json("PATCH", model, id, portal=portal, json=data)


def delete_model(settings: Settings | None, model: str, id: str | None = None,
                 portal: str | None = None) -> Any:
    """DELETE the record ``id``; None (the server answers 204 with no body)."""
    if id is None:
        raise UsageError("delete_model needs the id of the record to delete")
    return _client(settings).request_json("DELETE", model, id, portal=portal)


def close_clients() -> None:
    """Close the pooled clients the façade opened."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


def _client(settings: Settings | None) -> BrainstemClient:
    settings = settings or Settings()
    # The token is part of the key (so another token gets another client) but is
    # never stored anywhere that prints: the key lives only in this private dict.
    key = (settings.server, settings.resolved_token(), settings.portal,
           settings.allow_insecure_http)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = BrainstemClient(settings=settings)
        return client


atexit.register(close_clients)
