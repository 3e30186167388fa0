"""The BrainSTEM REST client: one pooled ``httpx.Client``, errors from ``bsingest.errors``.

It speaks both generations of the API (``brainstem-api.md``, ``brainstem-api-2026.md``)::

    2023:  {server}/rest/{portal}/{app}/{model}/[{id}/]   Authorization: Token <key>
    2026:  {server}/api/{portal}/{app}/{model}/[{id}/]    Authorization: Bearer <token>

A model that exists in one generation only (``experimentdata``, ``dataset``, ``action``
of 2023; ``dataacquisition``, ``session``, ``procedure``, ``equipment`` of 2026) is always
addressed in its own; any other follows :attr:`BrainstemClient.api`, the generation the
server speaks. That is stated (``api=``, ``--api``, the config file, ``bsingest.toml``),
known (brainstem.org speaks the current one), remembered from an earlier probe, or found
by one cheap probe (``GET {server}/api/private/stem/session/?limit=1`` without a token:
404 means "not this generation"; then the same under ``/rest/``). A stated generation the
server does not speak is a :class:`UsageError` saying what it speaks (checked when a
request under it answers 404, so stating costs no request). Records are taken from
whichever envelope key holds them (``data_acquisitions`` / ``data_acquisition``, and the
older ``dataacquisition`` for both).

Why httpx: it is already a dependency, has one connection pool that is safe to share
between threads, and separates "no answer" (``httpx.TransportError``) from an answer
with an error status, which is exactly the line between our ``TransportError`` and
``ApiError``. Every httpx exception is translated in :meth:`BrainstemClient._send`, the one
boundary, with ``raise ... from exc``.

Retries (:class:`RetryPolicy`): GET, PATCH and DELETE are retried on connection errors,
timeouts, 429, 500, 502, 503 and 504, with exponential back-off and full jitter, honouring
``Retry-After``, for a bounded number of attempts; then the last error goes through. A
POST is never retried: a create that failed without an answer may have happened, and
only the caller (the ingest pipeline) can look for it before trying again. A DELETE
retried after an unknown outcome that then answers 404 was done by the first attempt,
and counts as success.

Security: TLS verification is always on; plain ``http://`` is refused except to loopback
unless ``allow_insecure_http``; a server URL with credentials, a query or a fragment is
refused; every id put into a URL must be a UUID (nothing can send ``../../stem/dataset/``).
The token travels only in the ``Authorization`` header; messages name the method and URL,
never headers, and any echo of the token in a response body is masked before the body is
quoted. An HTML error page (a proxy's) is summarised by its title, never pasted.
"""

from __future__ import annotations

import email.utils
import html
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

from . import __version__
from . import settings as _settings
from .errors import (
    ApiError,
    AuthError,
    NotFound,
    RateLimited,
    Rejected,
    ServerError,
    SignInError,
    TransportError,
    UsageError,
)
from .generations import CURRENT, GENERATIONS, Generation, model_generation
from .recordtypes import is_uuid
from .settings import API_GENERATIONS, Settings

__all__ = [
    "GENERATIONS",
    "MEMORY",
    "MODELS",
    "ApiMemory",
    "BrainstemClient",
    "DeviceAuthorization",
    "Generation",
    "RetryPolicy",
    "check_id",
    "check_server_url",
    "model_path",
    "obtain_token",
    "open_browser",
    "wait_for_device_token",
]

log = logging.getLogger("bsingest.client")



class ApiMemory:
    """What probes learnt about servers' generations: per server URL, the one found, and
    the (server, generation) pairs a stated generation was verified for.

    One instance serves the process (:data:`MEMORY`); a client takes another with
    ``memory=``, and :meth:`clear` makes it forget (what a test does instead of patching).
    """

    def __init__(self) -> None:
        self._found: dict[str, str] = {}
        self._verified: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def found(self, server: str) -> str | None:
        with self._lock:
            return self._found.get(server)

    def remember(self, server: str, api: str) -> None:
        with self._lock:
            self._found[server] = api

    def verified(self, server: str, api: str) -> bool:
        with self._lock:
            return (server, api) in self._verified

    def verify(self, server: str, api: str) -> None:
        with self._lock:
            self._verified.add((server, api))

    def clear(self) -> None:
        """Forget everything, as a new process would."""
        with self._lock:
            self._found.clear()
            self._verified.clear()


#: The process's memory of servers' generations (loopback ones are kept only here).
MEMORY = ApiMemory()
assert tuple(GENERATIONS) == API_GENERATIONS

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
#: ``app/model`` -> (keys of one record, keys of a list), the current spelling first.
ENVELOPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "modules/experimentdata": (("experiment_data",), ("experiment_data",)),
    "stem/dataset": (("dataset",), ("datasets",)),
    "modules/action": (("action",), ("actions",)),
    "resources/hardwaredevice": (("hardware_device", "hardwaredevice"),
                                 ("hardware_devices", "hardwaredevice")),
    # Earlier deployments of the current generation used "dataacquisition" for both.
    "modules/dataacquisition": (("data_acquisition", "dataacquisition"),
                                ("data_acquisitions", "dataacquisition")),
    "stem/session": (("session",), ("sessions",)),
    "stem/project": (("project",), ("projects",)),
    "modules/procedure": (("procedure",), ("procedures",)),
    "modules/equipment": (("equipment",), ("equipment", "equipments")),
}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PAGE_SIZE = 100
_PAGES_AT_ONCE = 4
_LISTING_READS = 3  # reads of a listing that keeps changing while paged, then an error
# Aliases, because the method BrainstemClient.list shadows the builtin inside the class.
Params = list[tuple[str, str]]
Records = list[dict[str, Any]]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_IDEMPOTENT = frozenset({"GET", "PATCH", "DELETE", "HEAD", "PUT"})


@dataclass(frozen=True)
class RetryPolicy:
    """How GET, PATCH and DELETE are retried (POST never is).

    Attempt ``n`` (1-based) that failed waits ``min(cap, base * 2**(n-1))``, drawn
    uniformly from ``[0, that]`` when ``jitter`` (full jitter), or the server's
    ``Retry-After`` when it sent one and that is longer. A ``Retry-After`` above
    ``max_retry_after`` is not waited for: the error goes through at once.
    ``wait=False`` removes every wait (tests); ``sleep`` is the function that waits.
    """

    attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    jitter: bool = True
    wait: bool = True
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        backoff = min(self.cap, self.base * 2 ** (attempt - 1))
        if self.jitter:
            backoff = random.uniform(0, backoff)
        return max(backoff, retry_after or 0.0)


def model_path(model: str) -> str:
    """``"experimentdata"`` or ``"modules/experimentdata"`` -> ``"modules/experimentdata"``."""
    if model in MODELS:
        return MODELS[model]
    parts = model.strip("/").split("/")
    if len(parts) == 2 and all(p.isidentifier() for p in parts):
        return "/".join(parts)
    raise UsageError(f"unknown model {model!r}: give app/model or one of {', '.join(MODELS)}")


def check_id(value: object, what: str = "id") -> str:
    """``value`` if it is a UUID (lower-cased), else a :class:`UsageError` naming ``what``.

    Every id goes into a URL path: anything else (``../../stem/dataset/<uuid>``, a
    ``?``, a ``#``) would address another resource than the one meant.
    """
    if not isinstance(value, str) or not is_uuid(value):  # the one UUID rule
        shown = value if isinstance(value, str) and len(value) <= 80 else f"{str(value)[:80]}..."
        raise UsageError(f"{what} {shown!r} is not a UUID (like "
                         "1f7f103b-e949-405a-9b01-ddda3b2f10cf)")
    return str(uuid.UUID(value))


@dataclass(frozen=True)
class DeviceAuthorization:
    """A started device sign-in: what the user opens or types, and how often to ask."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: float
    interval: float
    device_code: str = field(repr=False)  # exchanged for the token: a secret until used


class BrainstemClient:
    """A BrainSTEM REST client for either API generation; one instance may be shared by threads.

    Parameters
    ----------
    server, token, portal
        As in :class:`~bsingest.settings.Settings` (which resolves what is left out).
    api
        The generation the server speaks, ``"2023"`` or ``"2026"``, when stated (it is
        checked against the server before the first request); None: found out (config
        file, brainstem.org, a probe), see :attr:`api`.
    api_source
        Where a stated ``api`` comes from, for messages (``--api``, a file).
    settings
        A ready :class:`Settings`; server, token and portal are then ignored.
    allow_insecure_http
        Permit plain ``http://`` to a host other than loopback.
    retry
        The :class:`RetryPolicy` for GET, PATCH and DELETE.
    timeout
        Seconds for connecting and for each read.
    max_connections
        Size of the connection pool.
    prefer
        The generation the user's names mean (``--dataset``: 2023), used when the server
        speaks it and nothing states another (:meth:`prefer`).
    memory
        Where what probes learn is kept (default: the process's :data:`MEMORY`).
    """

    def __init__(self, server: str | None = None, token: str | None = None,
                 portal: str = "private", *, api: str | None = None,
                 api_source: str | None = None, settings: Settings | None = None,
                 allow_insecure_http: bool = False, retry: RetryPolicy | None = None,
                 timeout: float = 30.0, max_connections: int = 16,
                 transport: httpx.BaseTransport | None = None, prefer: str | None = None,
                 memory: ApiMemory | None = None) -> None:
        if settings is None:
            settings = Settings(server=server, token=token, portal=portal,
                                allow_insecure_http=allow_insecure_http)
        self.settings = settings
        self.server = check_server_url(settings.server or "",
                                       settings.allow_insecure_http or allow_insecure_http)
        self.portal = settings.portal
        self.retry = retry or RetryPolicy()
        self._token: str | None = None
        self._api_source = api_source or (f"api={api!r}" if api else "")
        self._api: str | None = None
        self._stated = api is not None
        self._memory = memory if memory is not None else MEMORY
        self._preferred: str | None = None
        if prefer is not None:
            self.prefer(prefer)
        if api is not None:
            self._api = self._fits_brainstem_org(_settings.check_api(api, self._api_source))
        self._api_lock = threading.Lock()
        # httpcore 1.0.9's sync pool can close a connection already handed to a queued
        # request when more threads than max_connections wait on it (encode/httpcore#1110:
        # EBADF, resets, read timeouts). Admitting at most max_connections requests at a
        # time means no request ever queues inside the pool.
        self._slots = threading.BoundedSemaphore(max_connections)
        limits = httpx.Limits(max_connections=max_connections,
                              max_keepalive_connections=max_connections)
        self._http = httpx.Client(timeout=httpx.Timeout(timeout), limits=limits, verify=True,
                                  headers={"User-Agent": f"bsingest/{__version__}",
                                           "Accept": "application/json"},
                                  transport=transport, follow_redirects=False)

    def __repr__(self) -> str:
        return (f"BrainstemClient(server={self.server!r}, portal={self.portal!r}, "
                f"api={self._api!r})")

    # -- which generation ------------------------------------------------------------

    @property
    def api(self) -> str:
        """The generation the server speaks, ``"2023"`` or ``"2026"``.

        Stated (no request), else stated in the config file, else remembered there, else
        the current one for brainstem.org, else what this process found, else a probe
        (one or two GETs without a token), remembered in the config file for a server
        off this machine. A probe that gets no answer raises :class:`TransportError`.
        A stated generation is checked when a request under it answers 404: a server
        that does not speak it at all is then a :class:`UsageError` saying what it speaks.
        """
        if self._api is None:
            with self._api_lock:
                if self._api is None:
                    self._api = self._find_api()
        return self._api

    @property
    def generation(self) -> Generation:
        """The :class:`Generation` of :attr:`api`."""
        return GENERATIONS[self.api]

    @property
    def stated(self) -> bool:
        """Whether the generation was stated (``api=``, ``--api``), not found out."""
        return self._stated

    @property
    def api_source(self) -> str:
        """Where a stated generation was stated (``--api 2023``), for messages."""
        return self._api_source

    def prefer(self, api: str) -> None:
        """Use generation ``api`` if the server speaks it, unless one is stated or already
        known: the user's link names (``--dataset``, ``--session``) say which they mean."""
        self._preferred = _settings.check_api(api, "api")

    def speaks(self, api: str) -> bool:
        """Whether the server answers generation ``api`` at all (a probe: 404 means no)."""
        gen = GENERATIONS[_settings.check_api(api, "api")]
        url = f"{self.server}/{gen.prefix}/private/{gen.probe_model}/"
        resp = self._request("GET", url, params=[("limit", "1")], auth=False, check=False)
        if resp.status_code in (401, 403):  # there, and wants a token
            return True
        if resp.status_code in (404, 405, 410):
            return False
        if resp.is_error or resp.is_redirect:
            raise self._error("GET", url, resp)
        # A 200 must be JSON: a catch-all HTML page is not an API.
        return resp.headers.get("content-type", "").startswith("application/json")

    def _fits_brainstem_org(self, api: str) -> str:
        """``api``, unless the server is brainstem.org and it is not the current one."""
        if _settings.is_brainstem_org(self.server) and api != CURRENT:
            raise UsageError(f"{self.server} speaks the {CURRENT} API, not {api} "
                             f"({self._api_source}): leave it out or state {CURRENT}")
        return api

    def _find_api(self) -> str:
        stated = _settings.configured_api(self.server)
        if stated is not None:
            self._stated, self._api_source = True, f'api = "{stated[0]}" in {stated[1]}'
            return self._fits_brainstem_org(stated[0])
        if _settings.is_brainstem_org(self.server):
            return CURRENT
        remembered = _settings.remembered_api(self.server)
        preferred = self._preferred
        if preferred is not None and preferred != remembered:
            # A server may speak both: the user's names choose, if it speaks theirs.
            if self._memory.verified(self.server, preferred) or self.speaks(preferred):
                self._memory.verify(self.server, preferred)
                return preferred
        if remembered is not None:
            return remembered
        found = self._memory.found(self.server)
        if found is not None:
            return found
        order = sorted(GENERATIONS, key=lambda name: name != CURRENT)  # the current first
        found = next((api for api in order if self.speaks(api)), None)
        if found is None:
            raise UsageError(f"{self.server} answers neither /api/ nor /rest/ (GET "
                             f"{self.server}/api/private/stem/session/ and .../rest/private/"
                             "stem/dataset/ answered 404): is it a BrainSTEM server?")
        self._memory.remember(self.server, found)
        path = _settings.remember_api(self.server, found)
        log.info("%s speaks the %s API%s", self.server, found,
                 f" (remembered in {path})" if path else "")
        return found

    def _known_to_speak(self, api: str) -> bool:
        """Whether ``api`` is known to fit the server without asking it."""
        if self._memory.verified(self.server, api) or _settings.is_brainstem_org(self.server):
            return True
        if self._memory.found(self.server) == api:
            return True
        return _settings.remembered_api(self.server) == api

    def check_stated_api(self) -> None:
        """A UsageError saying what the server speaks when a stated generation does not fit
        it; nothing when the generation was found out rather than stated, or fits.

        For a decision a stated generation makes before any request (which names the
        user's links must have): the user is told what the server speaks, not what they
        stated. One or two GETs, only the first time for a server.
        """
        self._check_stated()

    def _check_stated(self) -> None:
        """After a 404 under a stated generation: a UsageError if the server does not speak
        it at all, saying what it speaks (else the 404 stands).

        Checked only then, so that a stated generation costs no request of its own.
        """
        api = self._api
        if not self._stated or api is None or self._known_to_speak(api):
            return
        try:
            if self.speaks(api):
                self._memory.verify(self.server, api)
                return
            other = next(g for g in API_GENERATIONS if g != api)
            spoken = other if self.speaks(other) else None
        except (TransportError, ApiError):
            return  # no clear answer: the request's own error stands
        prefix = GENERATIONS[api].prefix
        if spoken is None:
            raise UsageError(f"{self.server} does not speak the {api} API ({self._api_source}):"
                             f" it has no /{prefix}/, nor the other generation's")
        raise UsageError(f"{self.server} speaks the {spoken} API, not {api} "
                         f"({self._api_source}; it has no /{prefix}/): state {spoken} "
                         "or leave it out")

    # -- the REST operations ---------------------------------------------------------

    def list(self, model: str | None = None, *,
             filters: Mapping[str, Any] | None = None, sort: Sequence[str] | None = None,
             include: Sequence[str] | None = None, portal: str | None = None) -> Records:
        """Every record of ``model`` that matches, fetched page by page (``count``).

        ``model`` defaults to the data records of the server's generation.
        """
        path = model_path(model) if model else self.generation.record_model
        params = self.query_params(filters, sort, include)
        url = self._url(path, portal=portal)

        def page(offset: int) -> tuple[Records, int | None]:
            query = [*params, ("limit", str(PAGE_SIZE)), ("offset", str(offset))]
            body = self._json(self._request("GET", url, params=query))
            count = body.get("count") if isinstance(body, dict) else None
            return _unwrap(body, path, many=True), count if isinstance(count, int) else None

        for _ in range(_LISTING_READS):
            records, count = page(0)
            if count is None or not records or len(records) >= count:
                return records
            # The first page told how many there are: fetch the rest a few at a time, since
            # each page costs a round trip (a 5,000-record dataset is 50 of them).
            offsets = range(len(records), count, PAGE_SIZE)
            with ThreadPoolExecutor(max_workers=min(_PAGES_AT_ONCE, len(offsets)),
                                    thread_name_prefix="bsingest-page") as pool:
                for items, _ in pool.map(page, offsets):
                    records.extend(items)
            if _whole(records, count):
                return records
            log.info("GET %s: the records changed while they were paged; reading again",
                     _show(url))
        # The uploader decides "not on the server, create it" from a listing: an
        # incomplete one must not pass for whole.
        raise TransportError("GET", _show(url), f"the listing changed while it was paged, "
                             f"{_LISTING_READS} times; try again later")

    def get(self, model: str, id: str, *, portal: str | None = None) -> dict:
        """One record by id; :class:`NotFound` when it is absent or not visible."""
        path = model_path(model)
        body = self._json(self._request("GET", self._url(path, id, portal=portal)))
        return _unwrap(body, path, many=False)

    def create(self, model: str, data: Mapping[str, Any]) -> dict:
        """POST one record (bare, not in its envelope); never retried (an unanswered POST
        may have been created)."""
        path = model_path(model)
        body = self._json(self._request("POST", self._url(path), json=dict(data)))
        return _unwrap(body, path, many=False)

    def update(self, model: str, id: str, data: Mapping[str, Any]) -> dict:
        """PATCH the given fields of one record; answers the whole record."""
        path = model_path(model)
        body = self._json(self._request("PATCH", self._url(path, id), json=dict(data)))
        return _unwrap(body, path, many=False)

    def delete(self, model: str, id: str) -> None:
        """DELETE one record."""
        self._request("DELETE", self._url(model_path(model), id))

    # -- look-ups for the pipeline ---------------------------------------------------

    def experiment_data(self, dataset: str, type: str | None = None) -> Records:
        """Every Experiment Data record (2023) of ``dataset`` (of one ``type`` if given)."""
        return self._records_of("modules/experimentdata", "dataset", dataset, type)

    def data_acquisitions(self, session: str, type: str | None = None) -> Records:
        """Every Data Acquisition record (2026) of ``session`` (of one ``type`` if given)."""
        return self._records_of("modules/dataacquisition", "session", session, type)

    def acquisitions(self, container: str, type: str | None = None) -> Records:
        """The data records of a dataset (2023) or session (2026), by the server's generation."""
        gen = self.generation
        return self._records_of(gen.record_model, gen.container_field, container, type)

    def get_dataset(self, id: str) -> dict:
        """The dataset ``id`` (2023)."""
        return self.get("stem/dataset", id)

    def get_action(self, id: str) -> dict:
        """The action ``id`` (2023)."""
        return self.get("modules/action", id)

    def get_hardware_device(self, id: str) -> dict:
        """The hardware device ``id``."""
        return self.get("resources/hardwaredevice", id)

    def get_session(self, id: str) -> dict:
        """The session ``id`` (2026)."""
        return self.get("stem/session", id)

    def get_procedure(self, id: str) -> dict:
        """The procedure ``id`` (2026)."""
        return self.get("modules/procedure", id)

    def get_equipment(self, id: str) -> dict:
        """The equipment ``id`` (2026)."""
        return self.get("modules/equipment", id)

    def get_container(self, id: str) -> dict:
        """The dataset (2023) or session (2026) ``id``, by the server's generation."""
        return self.get(self.generation.container_model, id)

    def find_dataset_by_name(self, name: str) -> dict | None:
        """The one dataset called ``name`` (exactly), None if none; UsageError if several."""
        return self._find_by_name("stem/dataset", "datasets", name)

    def find_session_by_name(self, name: str) -> dict | None:
        """The one session called ``name`` (exactly), None if none; UsageError if several."""
        return self._find_by_name("stem/session", "sessions", name)

    def find_container_by_name(self, name: str) -> dict | None:
        """The dataset (2023) or session (2026) called ``name``, by the server's generation."""
        gen = self.generation
        return self._find_by_name(gen.container_model, f"{gen.container_field}s", name)

    def create_session(self, name: str, projects: Sequence[str], *,
                       date_time: str | None = None, description: str | None = None,
                       **extra: Any) -> dict:
        """POST a session (2026) named ``name`` in ``projects``; the record the server made.

        ``date_time`` is when it was recorded (ISO 8601). Like every POST, never retried:
        a caller that must not make two looks first (:meth:`find_session_by_name`).
        """
        if isinstance(projects, str) or not projects:
            raise UsageError("create_session needs a list of project UUIDs (at least one), "
                             f"not {projects!r}")
        body: dict[str, Any] = {"name": name,
                                "projects": [check_id(p, "project") for p in projects]}
        if date_time is not None:
            body["date_time"] = date_time
        if description is not None:
            body["description"] = description
        body.update(extra)
        return self.create("stem/session", body)

    def _records_of(self, model: str, field: str, container: str,
                    type: str | None) -> Records:
        filters: dict[str, Any] = {field: check_id(container, field)}
        if type is not None:
            filters["type"] = type
        return self.list(model, filters=filters)

    def _find_by_name(self, model: str, plural: str, name: str) -> dict | None:
        found = [d for d in self.list(model, filters={"name": name}) if d.get("name") == name]
        if len(found) > 1:
            ids = ", ".join(str(d.get("id")) for d in found)
            raise UsageError(f"several {plural} are named {name!r} ({ids}): give the id")
        return found[0] if found else None

    # -- device sign-in (2026) -------------------------------------------------------

    def start_device_authorization(self, client_name: str = "bsingest") -> DeviceAuthorization:
        """POST ``/api/auth/device/``: the codes and URLs of a new device sign-in."""
        url = f"{self.server}/api/auth/device/"
        body = self._json(self._request("POST", url, json={"client_name": client_name},
                                        auth=False))
        try:
            return DeviceAuthorization(
                user_code=str(body["user_code"]),
                verification_uri=str(body["verification_uri"]),
                verification_uri_complete=str(body.get("verification_uri_complete")
                                              or body["verification_uri"]),
                expires_in=float(body.get("expires_in", 900)),
                interval=max(0.0, float(body.get("interval", 5))),
                device_code=str(body["device_code"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError("POST", url, 200, "the answer is not a device authorization "
                           f"(keys {sorted(body) if isinstance(body, dict) else '?'})") from exc

    def poll_device_token(self, device: DeviceAuthorization) -> tuple[str, str | None]:
        """One POST to ``/api/auth/device/token/``: (status or error, token or None)."""
        url = f"{self.server}/api/auth/device/token/"
        resp = self._request("POST", url, json={"device_code": device.device_code},
                             auth=False, check=False)
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if resp.is_error:
                raise self._error("POST", url, resp)
            raise ApiError("POST", url, resp.status_code, "the answer is not JSON: "
                           + _summary(resp, self._mask))
        token = body.get("token")
        if body.get("status") == "success" and isinstance(token, str) and token:
            return "success", token
        state = body.get("error") or body.get("status")
        if not isinstance(state, str) or not state:
            if resp.is_error:
                raise self._error("POST", url, resp)
            raise ApiError("POST", url, resp.status_code, "the answer holds neither a "
                           f"status nor an error (keys {sorted(body)})")
        return state, None

    # -- raw access for the façades --------------------------------------------------

    def request_json(self, method: str, model: str, id: str | None = None, *,
                     portal: str | None = None, params: Params | None = None,
                     json: Mapping[str, Any] | None = None) -> Any:
        """One request; the decoded body as the server sent it (None for no body)."""
        url = self._url(model_path(model), id, portal=portal)
        resp = self._request(method, url, params=params,
                             json=dict(json) if json is not None else None)
        return self._json(resp) if resp.content else None

    def request(self, method: str, model: str, id: str | None = None, *,
                portal: str | None = None, params: Params | None = None,
                json: Mapping[str, Any] | None = None) -> httpx.Response:
        """One request, retried as any; the response whatever its status (the official
        tools' shape: the caller looks at the status)."""
        url = self._url(model_path(model), id, portal=portal)
        return self._request(method, url, params=params,
                             json=dict(json) if json is not None else None, check=False)

    def error_for(self, resp: httpx.Response) -> ApiError:
        """The :mod:`bsingest.errors` exception an error response stands for."""
        return self._error(resp.request.method, str(resp.request.url), resp)

    @staticmethod
    def query_params(filters: Mapping[str, Any] | None = None, sort: Sequence[str] | None = None,
                     include: Sequence[str] | None = None) -> Params:
        """``filter{f}``, ``sort[]`` and ``include[]`` parameters, in the contract's spelling."""
        params: Params = []
        for key, value in (filters or {}).items():
            if isinstance(value, list | tuple):
                value = ",".join(map(str, value))
            elif isinstance(value, bool):
                value = "true" if value else "false"
            params.append((f"filter{{{key}}}", str(value)))
        params += [("sort[]", s) for s in sort or ()]
        params += [("include[]", i if i.endswith(".*") else f"{i}.*") for i in include or ()]
        return params

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> BrainstemClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------

    def _url(self, path: str, id: str | None = None, *, portal: str | None = None) -> str:
        portal = portal or self.portal
        if portal not in _settings.PORTALS:
            raise UsageError(f"portal {portal!r} is not one of {', '.join(_settings.PORTALS)}")
        gen = model_generation(path) or GENERATIONS[self.api]
        url = f"{self.server}/{gen.prefix}/{portal}/{path}/"
        return f"{url}{check_id(id)}/" if id is not None else url

    def _auth(self, method: str, url: str) -> dict[str, str]:
        # The scheme of the generation whose prefix the URL has (each refuses the other's).
        gen = next((g for g in GENERATIONS.values()
                    if url.startswith(f"{self.server}/{g.prefix}/")), GENERATIONS[CURRENT])
        if self._token is None:
            # The public portal serves published data to anyone: reading it needs no token.
            public_read = method == "GET" and url.startswith(f"{self.server}/{gen.prefix}/public/")
            if public_read and self.settings.token_source() is None:
                return {}
            self._token = self.settings.resolved_token()
        return {"Authorization": f"{gen.scheme} {self._token}"}

    def _request(self, method: str, url: str, *, params: Params | None = None,
                 json: dict[str, Any] | None = None, auth: bool = True,
                 check: bool = True) -> httpx.Response:
        retryable = method in _IDEMPOTENT
        attempts = max(1, self.retry.attempts) if retryable else 1
        uncertain = False  # an earlier attempt may have been carried out
        for attempt in range(1, attempts + 1):
            try:
                resp = self._send(method, url, params, json, auth)
            except TransportError as exc:
                if attempt == attempts:
                    raise
                uncertain = True
                self._pause(method, url, attempt, exc.reason, None)
                continue
            status = resp.status_code
            if retryable and status in self.retry.statuses and attempt < attempts:
                retry_after = _retry_after(resp.headers.get("Retry-After"))
                if retry_after is None or retry_after <= self.retry.max_retry_after:
                    uncertain = uncertain or status >= 500
                    self._pause(method, url, attempt, f"{status}", retry_after)
                    continue
            if method == "DELETE" and status == 404 and uncertain:
                log.info("%s %s: gone after an attempt without a clear answer; "
                         "the earlier attempt deleted it", method, _show(url))
                return resp
            if resp.is_redirect and check:
                # Never followed: a POST would lose its body, a token could go elsewhere.
                raise self._error(method, url, resp)
            if resp.is_error and check:
                if status == 404 and auth and self._stated:
                    self._check_stated()  # a 404 may mean "not this generation at all"
                raise self._error(method, url, resp)
            if attempt > 1:
                log.info("%s %s succeeded after %d retries", method, _show(url), attempt - 1)
            return resp
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _pause(self, method: str, url: str, attempt: int, reason: str,
               retry_after: float | None) -> None:
        delay = self.retry.delay(attempt, retry_after)
        log.warning("%s %s: %s; retry %d of %d in %.1f s", method, _show(url), reason,
                    attempt, self.retry.attempts - 1, delay if self.retry.wait else 0.0)
        if self.retry.wait and delay > 0:
            self.retry.sleep(delay)

    def _send(self, method: str, url: str, params: Params | None,
              json: dict[str, Any] | None, auth: bool = True) -> httpx.Response:
        """The one boundary where httpx exceptions become ours."""
        headers = self._auth(method, url) if auth else {}
        try:
            with self._slots:
                resp = self._http.request(method, url, json=json, headers=headers,
                                          params=httpx.QueryParams(tuple(params or ())))
        except httpx.TimeoutException as exc:
            raise TransportError(method, _show(url), f"timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise TransportError(method, _show(url), self._mask(reason)) from exc
        log.debug("%s %s -> %d", method, _show(str(resp.request.url)), resp.status_code)
        return resp

    def _error(self, method: str, url: str, resp: httpx.Response) -> ApiError:
        status = resp.status_code
        body = _summary(resp, self._mask)
        shown = _show(url)
        if status == 400:
            return Rejected(method, shown, status, body, fields=_fields(resp))
        cls: type[ApiError]
        if status in (401, 403):
            cls = AuthError
            if status == 401 and self._token is not None:
                source = self.settings.token_source()
                which = "given" if source == "argument" else f"from {source}"
                body = (f"{body} (the token {which} was refused: `bsingest login "
                        f"--server {self.server}` gets a new one)").strip()
        elif status == 404:
            cls = NotFound
            if url.endswith("/") and not _UUID.search(url.rsplit("/", 2)[-2]):
                # A list that is not there: the server lacks the model (or the generation).
                body = (f"{body} (this server has no such list: it may speak the other "
                        "generation of the API; see --api)").strip()
        elif resp.is_redirect:
            cls = ApiError
            body = (f"redirects to {_show(resp.headers.get('location', '?'))}: give the "
                    "server's address as it answers (https://, with or without www.)")
        elif status == 429:
            cls = RateLimited
        elif status >= 500:
            cls = ServerError
        else:
            cls = ApiError
        error = cls(method, shown, status, body)
        # Callers that retry a POST themselves (the ingest pipeline) honour it too.
        setattr(error, "retry_after", _retry_after(resp.headers.get("Retry-After")))  # noqa: B010
        return error

    def _json(self, resp: httpx.Response) -> Any:
        try:
            return resp.json()
        except ValueError as exc:
            raise ApiError(resp.request.method, _show(str(resp.request.url)), resp.status_code,
                           "the answer is not JSON: " + _summary(resp, self._mask)) from exc

    def _mask(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def wait_for_device_token(client: BrainstemClient, device: DeviceAuthorization, *,
                          sleep: Callable[[float], None] = time.sleep,
                          clock: Callable[[], float] = time.monotonic) -> str:
    """Poll until the user approves ``device``: the token; :class:`SignInError` otherwise.

    Polls every ``interval`` seconds as the server announced (five more after a
    ``slow_down``), until it answers success, a final error, or the code expires.
    """
    interval = device.interval
    deadline = clock() + device.expires_in
    failures = 0
    while True:
        try:
            state, token = client.poll_device_token(device)
            failures = 0
        except (TransportError, ServerError) as exc:
            # One lost poll must not end a sign-in the user may be approving right now.
            failures += 1
            if failures >= _POLL_FAILURES:
                raise
            log.warning("%s; asking again in %.0f s", exc, interval)
            state, token = "authorization_pending", None
        if token is not None:
            return token
        if state == "authorization_pending":
            pass
        elif state == "slow_down":  # RFC 8628: wait five seconds longer from now on
            interval += 5
        else:
            raise SignInError(_SIGN_IN_ENDS.get(state, f"the server ended the sign-in: {state}"))
        if clock() + interval > deadline:
            raise SignInError(_SIGN_IN_ENDS["expired_token"])
        sleep(interval)


def open_browser(url: str) -> bool:
    """Open ``url`` in a graphical browser, if this session has one; whether it did."""
    import os
    import sys
    import webbrowser

    graphical = sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not graphical:  # a text browser (lynx, w3m) would take over this terminal
        return False
    try:
        return bool(webbrowser.open(url, new=2))
    except webbrowser.Error:
        return False


_POLL_FAILURES = 3  # polls in a row without an answer, then the sign-in fails
_SIGN_IN_ENDS = {
    "access_denied": "sign-in denied: the request was refused in the browser; nothing stored",
    "expired_token": "sign-in expired: the code was not approved in time; run "
                     "`bsingest login` again",
    "already_used": "sign-in code already used: run `bsingest login` again for a new one",
}


def check_server_url(server: str, allow_insecure_http: bool = False) -> str:
    """The base URL without a trailing slash; refuses what is not https (or loopback http),
    and a URL with credentials, a query, a fragment or characters a URL cannot hold."""
    if any(c.isspace() or not c.isprintable() for c in server):
        raise UsageError(f"server {server!r} holds spaces or control characters")
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"server {server!r} is not an http(s) URL")
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


def obtain_token(server: str, username: str, password: str, *,
                 allow_insecure_http: bool = False, timeout: float = 30.0) -> str:
    """POST ``/api-token-auth/`` (2023) and return the token (AuthError on bad credentials)."""
    base = check_server_url(server, allow_insecure_http)
    url = f"{base}/api-token-auth/"
    try:
        with httpx.Client(timeout=timeout, verify=True) as http:
            resp = http.post(url, json={"username": username, "password": password})
    except httpx.TimeoutException as exc:
        raise TransportError("POST", url, "timed out") from exc
    except httpx.TransportError as exc:
        raise TransportError("POST", url, str(exc) or type(exc).__name__) from exc
    if resp.status_code in (400, 401, 403):
        # The body may quote what was sent; the password must not reach a message.
        raise AuthError("POST", url, resp.status_code, "the username or password was refused")
    if resp.is_error:
        raise ServerError("POST", url, resp.status_code,
                          _summary(resp, lambda t: t.replace(password, "***")))
    try:
        token = resp.json()["token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError("POST", url, resp.status_code, "the answer holds no token") from exc
    if not isinstance(token, str) or not token:
        raise ApiError("POST", url, resp.status_code, "the answer holds no token")
    return token


def _unwrap(body: Any, path: str, *, many: bool) -> Any:
    """The records inside an envelope: a known key first, else the one list/object."""
    if not isinstance(body, dict):
        raise ApiError("GET", path, 200, f"unexpected answer: {str(body)[:200]}")
    ones, lots = ENVELOPES.get(path, ((), ()))
    wanted = list if many else dict
    for key in lots if many else ones:
        if isinstance(body.get(key), wanted):
            return body[key]
    candidates = [v for k, v in body.items() if isinstance(v, wanted) and k != "meta"]
    if len(candidates) == 1:
        return candidates[0]
    if not many and "id" in body:
        return body  # a bare record
    raise ApiError("GET", path, 200, f"cannot find the records in keys {sorted(body)}")


_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


def _summary(resp: httpx.Response, mask: Callable[[str], str]) -> str:
    """A response body for a message: an HTML page by its title, anything else masked."""
    text = resp.text
    kind = resp.headers.get("content-type", "").lower()
    if "html" in kind or text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        found = _TITLE.search(text[:65536])
        title = " ".join(html.unescape(found.group(1)).split())[:120] if found else ""
        return mask(f"an HTML page titled {title!r}" if title else "an HTML page")
    return mask(text)


def _fields(resp: httpx.Response) -> dict[str, list[str]]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {"detail": [str(body)]}
    return {str(k): [str(m) for m in v] if isinstance(v, list) else [str(v)]
            for k, v in body.items()}


def _whole(records: Records, count: int) -> bool:
    """Whether paged ``records`` are all ``count`` of them, none seen twice.

    Offset paging over a listing that changes between pages skips or repeats records: a
    deletion before the offset moves one record up into a page already read (fewer
    distinct ids than ``count``), an insertion moves one down into the next page (an id
    seen twice). Records added at the end, as a listing in creation order receives them,
    disturb nothing.
    """
    ids = [r.get("id") for r in records if isinstance(r, dict)]
    if len(ids) != len(records) or None in ids:
        return True  # nothing to tell them apart by
    return len(set(ids)) == len(ids) >= count


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _show(url: str) -> str:
    """A URL for messages: long query strings cut."""
    return url if len(url) <= 300 else url[:300] + "..."
