"""The official BrainSTEM Python tools' call shapes, so scripts written for them run unchanged.

Two generations of those tools, two shapes.

**The current tools** (``brainstem-python-api-tools`` 2.0, ``from brainstem_api_tools
import BrainstemClient``): change that import line to ``from bsingest.compat import
BrainstemClient`` and the script runs against bsingest, with the same signatures and
return values::

    client = BrainstemClient()                      # token cached, else device sign-in
    client = BrainstemClient(token="...", url="http://127.0.0.1:8000/", headless=True)
    resp = client.load("session", filters={"name.icontains": "rat"}, sort=["-name"])
    resp.status_code, resp.json()                   # the response, whatever its status
    everything = client.load("dataacquisition", filters={"session": sid}, load_all=True)
    resp = client.save("dataacquisition", data={...})            # POST
    resp = client.save("dataacquisition", id=rid, data={...})    # PATCH
    resp = client.delete("dataacquisition", id=rid)              # 204
    client.load_session(name="rat", load_all=True)                # the convenience loaders

``load`` without ``load_all``, ``save`` and ``delete`` return a :class:`Response` (as the
tools return requests' response: ``status_code``, ``ok``, ``json()``, ``text``,
``raise_for_status()``); ``load_all=True`` returns one dict with every page's records
under the list's key and the first page's other keys. What differs, on purpose: the
token comes from bsingest's order (argument, ``BRAINSTEM_TOKEN``/``BRAINSTEM_API_TOKEN``,
the server's token file) and a device sign-in's token is stored by bsingest's rules
(the shared ``~/.config/brainstem/token`` only for brainstem.org); an id that is not a
UUID is refused before any request; ``raise_for_status()`` raises the
:mod:`bsingest.errors` tree (``NotFound``, ``AuthError``, ...); GET, PATCH and DELETE are
retried as bsingest retries them; a server of the 2023 generation works too (the models
``experimentdata``, ``dataset``, ``action`` are known as well).

**The 2023 tools** (``load_model(settings, ...)``). The BrainSTEM documentation's
examples read::

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
import enum
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import httpx

from . import client as _client_module
from .errors import AuthError, UsageError
from .settings import Settings

__all__ = ["AuthenticationError", "BrainstemClient", "ModelType", "PortalType", "Response",
           "close_clients", "delete_model", "load_model", "save_model"]

_clients: dict[tuple[Any, ...], _client_module.BrainstemClient] = {}
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


def _client(settings: Settings | None) -> _client_module.BrainstemClient:
    settings = settings or Settings()
    # The token is part of the key (so another token gets another client) but is
    # never stored anywhere that prints: the key lives only in this private dict.
    key = (settings.server, settings.resolved_token(), settings.portal,
           settings.allow_insecure_http)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _client_module.BrainstemClient(settings=settings)
        return client


atexit.register(close_clients)


# -- the current official tools' BrainstemClient -----------------------------------------

#: The official tools' model -> app table (2.0.0), and the 2023 generation's models.
MODEL_TO_APP: dict[str, str] = {
    **dict.fromkeys(("project", "subject", "session", "collection", "cohort", "breeding",
                     "project_membership_invitation", "project_group_membership_invitation",
                     "dataset"), "stem"),
    **dict.fromkeys(("procedure", "behavior", "dataacquisition", "manipulation", "equipment",
                     "consumablestock", "procedurelog", "subjectlog", "experimentdata",
                     "action"), "modules"),
    **dict.fromkeys(("behavioralassay", "datastorage", "inventory", "license", "protocol",
                     "setup"), "personal_attributes"),
    **dict.fromkeys(("consumable", "hardwaredevice", "supplier"), "resources"),
    **dict.fromkeys(("behavioralcategory", "behavioralparadigm", "brainregion",
                     "regulatoryauthority", "setuptype", "species", "strain",
                     "strainapproval"), "taxonomies"),
    **dict.fromkeys(("journal", "journalapproval", "publication"), "dissemination"),
    **dict.fromkeys(("group", "group_membership_invitation", "group_membership_request",
                     "laboratory", "user"), "users"),
}

ModelType = enum.Enum("ModelType", {k: k for k in MODEL_TO_APP})  # type: ignore[misc]
ModelType.__doc__ = "The model names, as the official tools' enum."


class PortalType(enum.Enum):
    """The portals, as the official tools' enum."""

    public = "public"
    private = "private"
    super = "super"


class AuthenticationError(AuthError):
    """401 during ``load_all``, or a device sign-in that ended without a token."""


class Response:
    """What ``load``, ``save`` and ``delete`` return: the answer, whatever its status.

    The attributes a script uses on the official tools' (requests') response.
    """

    def __init__(self, resp: httpx.Response, client: _client_module.BrainstemClient) -> None:
        self._resp = resp
        self._client = client
        self.status_code: int = resp.status_code
        self.headers = resp.headers
        self.url = str(resp.request.url)
        self.reason: str = resp.reason_phrase
        self.content: bytes = resp.content

    @property
    def ok(self) -> bool:
        """True for a status below 400."""
        return self.status_code < 400

    @property
    def text(self) -> str:
        """The body as text."""
        return self._resp.text

    def json(self) -> Any:
        """The body decoded from JSON."""
        return self._resp.json()

    def raise_for_status(self) -> None:
        """Raise the :mod:`bsingest.errors` exception of an error status; else nothing."""
        if self.status_code >= 400:
            raise self._client.error_for(self._resp)

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


class BrainstemClient:
    """The official tools' ``BrainstemClient`` (2.0.0), on bsingest's client.

    Parameters
    ----------
    token
        An API token; None: bsingest's order (environment, the server's token file), and
        when there is none, the device sign-in (a browser, or ``headless``: a printed
        address and code), whose token is then stored.
    headless
        Print the sign-in address and code instead of opening a browser.
    url
        The server (default ``https://www.brainstem.org/``).
    api
        Not in the official tools: the generation, when it should not be found out.
    """

    BASE_URL = "https://www.brainstem.org/"
    DEFAULT_TIMEOUT: int = 30

    def __init__(self, token: str | None = None, headless: bool = False,
                 url: str | None = None, *, api: str | None = None) -> None:
        server = (url or self.BASE_URL).rstrip("/")
        settings = Settings(server=server, token=token)
        self._client = _client_module.BrainstemClient(settings=settings, api=api,
                                                      timeout=self.DEFAULT_TIMEOUT)
        if not token and settings.token_source() is None:
            token = self._device_auth_flow(headless)
            from .settings import store_token

            store_token(self._client.server, token)
            self._client.close()
            self._client = _client_module.BrainstemClient(
                settings=Settings(server=server, token=token), api=api,
                timeout=self.DEFAULT_TIMEOUT)

    def _device_auth_flow(self, headless: bool = False) -> str:
        from .errors import SignInError

        client = self._client
        if not client.generation.device_sign_in:
            raise UsageError(f"no token for {client.server}, a server of the {client.api} "
                             "API: run `bsingest login`, or pass token=")
        device = client.start_device_authorization("bsingest")
        if not headless and _client_module.open_browser(device.verification_uri_complete):
            print("Waiting for browser approval...")
        else:  # headless, or no browser here: the official tools' headless line
            print(f"Open {device.verification_uri} and enter: {device.user_code}")
        try:
            return _client_module.wait_for_device_token(client, device)
        except SignInError as exc:
            raise AuthenticationError("POST", f"{client.server}/api/auth/device/token/", 200,
                                      str(exc)) from exc

    def load(self, model: Any, portal: Any = "private", id: str | None = None,
             options: str | None = None, filters: Mapping[str, Any] | None = None,
             sort: list[str] | None = None, include: list[str] | None = None,
             limit: int | None = None, offset: int | None = None,
             load_all: bool = False) -> Response | dict[str, Any]:
        """GET records of ``model`` (one with ``id``); every page merged with ``load_all``."""
        path, portal = _resolve(model), _portal(portal)
        params: list[tuple[str, str]] = []
        if not id:
            params = self._client.query_params(filters, sort, include)
            if limit is not None:
                params.append(("limit", str(limit)))
            if offset is not None:
                params.append(("offset", str(offset)))
        params += _options(options)
        if not load_all:
            return Response(self._client.request("GET", path, id, portal=portal,
                                                 params=params), self._client)
        if id is not None:
            raise ValueError("load_all=True cannot be used together with id.")
        page_size = limit or 100
        base = [p for p in params if p[0] not in ("limit", "offset")]
        at = offset or 0
        combined: dict[str, Any] = {}
        key: str | None = None
        while True:
            resp = self._client.request("GET", path, portal=portal,
                                        params=[*base, ("limit", str(page_size)),
                                                ("offset", str(at))])
            if resp.status_code == 401:
                raise AuthenticationError("GET", str(resp.request.url), 401,
                                          "API token is invalid or expired. Run `bsingest "
                                          "login` to re-authenticate.")
            if resp.is_error:
                raise self._client.error_for(resp)
            data = resp.json()
            if key is None:
                key = next((k for k, v in data.items() if isinstance(v, list)), None)
                if key is None:
                    raise ValueError("load_all=True requires a paginated list response, but "
                                     "the API returned no list-valued key.")
                combined = {k: v for k, v in data.items() if k != key}
                combined[key] = []
            page = data.get(key) or []
            combined[key].extend(page)
            if not page or len(combined[key]) >= data.get("count", len(combined[key])):
                return combined
            at += page_size

    def save(self, model: Any, portal: Any = "private", id: str | None = None,
             data: Mapping[str, Any] | None = None, options: str | None = None) -> Response:
        """PATCH ``data`` into the record ``id``; without ``id``, POST a new record."""
        path, portal = _resolve(model), _portal(portal)
        method = "PATCH" if id is not None else "POST"
        return Response(self._client.request(method, path, id, portal=portal,
                                             params=_options(options), json=dict(data or {})),
                        self._client)

    def delete(self, model: Any, portal: Any = "private", id: str | None = None) -> Response:
        """DELETE the record ``id``."""
        if id is None:
            raise ValueError("'id' is required to delete a record.")
        path, portal = _resolve(model), _portal(portal)
        return Response(self._client.request("DELETE", path, id, portal=portal), self._client)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> BrainstemClient:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"bsingest.compat.BrainstemClient(url={self._client.server!r})"


def _resolve(model: Any) -> str:
    name = model.value if isinstance(model, ModelType) else str(model)
    if name not in MODEL_TO_APP:
        raise ValueError(f"Unknown model '{name}'. Valid models are: "
                         + ", ".join(sorted(MODEL_TO_APP)))
    return f"{MODEL_TO_APP[name]}/{name}"


def _portal(portal: Any) -> str:
    value = str(portal.value if isinstance(portal, enum.Enum) else portal)
    if value not in ("private", "public", "super"):
        raise ValueError(f"Unknown portal '{value}'. Valid portals are: private, public, super")
    return value


def _options(options: str | None) -> list[tuple[str, str]]:
    """The official tools append ``options`` to the URL: here only a query is taken."""
    if not options:
        return []
    if not options.startswith("?"):
        raise UsageError(f"options {options!r}: only a query string (?key=value&...) is taken")
    return parse_qsl(options[1:], keep_blank_values=True)


# The official tools' convenience loaders: model, the related records embedded by
# default, and keyword -> filter field.
_LOADERS: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {}


def _loader(model: str, include: tuple[str, ...] = (), **filter_map: str) -> None:
    _LOADERS[f"load_{model}"] = (model, include, {"tags": "tags", **filter_map})


_loader("project", ("sessions", "subjects", "collections", "cohorts"),
        name="name.icontains", sessions="sessions.id", subjects="subjects.id")
_loader("subject", ("procedures", "subjectlogs"), name="name.icontains",
        projects="projects.id", strain="strain.id", sex="sex")
_loader("session", ("dataacquisition", "behaviors", "manipulations", "epochs"),
        name="name.icontains", projects="projects.id", datastorage="datastorage.id")
_loader("collection", ("sessions",), name="name.icontains")
_loader("cohort", ("subjects",), name="name.icontains")
for _model in ("behavior", "dataacquisition", "manipulation"):
    _loader(_model, session="session.id")
_loader("procedure", subject="subject.id")
_loader("procedurelog", procedure="procedure.id")
_loader("subjectlog", subject="subject.id")
_loader("equipment", name="name.icontains", setup="setup.id")
_loader("consumablestock")
for _model in ("behavioralassay", "datastorage", "setup", "hardwaredevice", "brainregion",
               "species", "publication", "laboratory"):
    _loader(_model, name="name.icontains")
_loader("strain", name="name.icontains", species="species.id")


def _make_loader(method: str) -> Any:
    model, default_include, filter_map = _LOADERS[method]

    def load(self: BrainstemClient, portal: Any = "private", id: str | None = None,
             filters: Mapping[str, Any] | None = None, sort: list[str] | None = None,
             include: list[str] | None = None, limit: int | None = None,
             offset: int | None = None, load_all: bool = False,
             **fields: Any) -> Response | dict[str, Any]:
        unknown = set(fields) - set(filter_map)
        if unknown:
            raise TypeError(f"Unexpected keyword argument(s): {', '.join(sorted(unknown))}")
        merged = dict(filters or {})
        merged.update({filter_map[k]: v for k, v in fields.items() if v is not None})
        return self.load(model, portal=portal, id=id, filters=merged or None, sort=sort,
                         include=include if include is not None else list(default_include),
                         limit=limit, offset=offset, load_all=load_all)

    load.__name__ = load.__qualname__ = method
    load.__doc__ = (f"Load {model} record(s); keyword filters: "
                    f"{', '.join(filter_map)}.")
    return load


for _method in _LOADERS:
    setattr(BrainstemClient, _method, _make_loader(_method))
