"""The BrainSTEM REST client: one pooled ``httpx.Client``, errors from ``bsingest.errors``.

URLs, envelopes and status codes follow the contract (``brainstem-api.md``)::

    {server}/rest/{portal}/{app}/{model}/        list (GET), add (POST)
    {server}/rest/{portal}/{app}/{model}/{id}/   detail (GET), change (PATCH), delete (DELETE)

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
unless ``allow_insecure_http``. The token travels only in the ``Authorization`` header;
messages name the method and URL, never headers, and any echo of the token in a
response body is masked before the body is quoted.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

from . import __version__
from .errors import (
    ApiError,
    AuthError,
    NotFound,
    RateLimited,
    Rejected,
    ServerError,
    TransportError,
    UsageError,
)
from .settings import Settings

__all__ = [
    "MODELS",
    "BrainstemClient",
    "RetryPolicy",
    "model_path",
    "obtain_token",
]

log = logging.getLogger("bsingest.client")

#: Short model names (as the seed's tools spell them) -> ``app/model``.
MODELS: dict[str, str] = {
    "experimentdata": "modules/experimentdata",
    "dataset": "stem/dataset",
    "action": "modules/action",
    "hardwaredevice": "resources/hardwaredevice",
}
#: ``app/model`` -> (envelope of one record, envelope of a list).
ENVELOPES: dict[str, tuple[str, str]] = {
    "modules/experimentdata": ("experiment_data", "experiment_data"),
    "stem/dataset": ("dataset", "datasets"),
    "modules/action": ("action", "actions"),
    "resources/hardwaredevice": ("hardware_device", "hardware_devices"),
}
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


class BrainstemClient:
    """A BrainSTEM REST client; one instance may be shared by threads.

    Parameters
    ----------
    server, token, portal
        As in :class:`~bsingest.settings.Settings` (which resolves what is left out).
    settings
        A ready :class:`Settings`; the other three are then ignored.
    allow_insecure_http
        Permit plain ``http://`` to a host other than loopback.
    retry
        The :class:`RetryPolicy` for GET, PATCH and DELETE.
    timeout
        Seconds for connecting and for each read.
    max_connections
        Size of the connection pool.
    """

    def __init__(self, server: str | None = None, token: str | None = None,
                 portal: str = "private", *, settings: Settings | None = None,
                 allow_insecure_http: bool = False, retry: RetryPolicy | None = None,
                 timeout: float = 30.0, max_connections: int = 16,
                 transport: httpx.BaseTransport | None = None) -> None:
        if settings is None:
            settings = Settings(server=server, token=token, portal=portal,
                                allow_insecure_http=allow_insecure_http)
        self.settings = settings
        self.server = check_server_url(settings.server or "",
                                       settings.allow_insecure_http or allow_insecure_http)
        self.portal = settings.portal
        self.retry = retry or RetryPolicy()
        self._token: str | None = None
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
        return f"BrainstemClient(server={self.server!r}, portal={self.portal!r})"

    # -- the REST operations ---------------------------------------------------------

    def list(self, model: str = "modules/experimentdata", *,
             filters: Mapping[str, Any] | None = None, sort: Sequence[str] | None = None,
             include: Sequence[str] | None = None, portal: str | None = None) -> Records:
        """Every record of ``model`` that matches, fetched page by page (``count``)."""
        path = model_path(model)
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
        """POST one record; never retried (an unanswered POST may have been created)."""
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
        """Every Experiment Data record of ``dataset`` (of one ``type`` if given)."""
        filters: dict[str, Any] = {"dataset": dataset}
        if type is not None:
            filters["type"] = type
        return self.list("modules/experimentdata", filters=filters)

    def get_dataset(self, id: str) -> dict:
        """The dataset ``id``."""
        return self.get("stem/dataset", id)

    def get_action(self, id: str) -> dict:
        """The action ``id``."""
        return self.get("modules/action", id)

    def get_hardware_device(self, id: str) -> dict:
        """The hardware device ``id``."""
        return self.get("resources/hardwaredevice", id)

    def find_dataset_by_name(self, name: str) -> dict | None:
        """The one dataset called ``name`` (exactly), None if none; UsageError if several."""
        found = [d for d in self.list("stem/dataset", filters={"name": name})
                 if d.get("name") == name]
        if len(found) > 1:
            ids = ", ".join(str(d.get("id")) for d in found)
            raise UsageError(f"several datasets are named {name!r} ({ids}): give the id")
        return found[0] if found else None

    # -- raw access for the façade ---------------------------------------------------

    def request_json(self, method: str, model: str, id: str | None = None, *,
                     portal: str | None = None, params: Params | None = None,
                     json: Mapping[str, Any] | None = None) -> Any:
        """One request; the decoded body as the server sent it (None for no body)."""
        url = self._url(model_path(model), id, portal=portal)
        resp = self._request(method, url, params=params,
                             json=dict(json) if json is not None else None)
        return self._json(resp) if resp.content else None

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
        url = f"{self.server}/rest/{portal or self.portal}/{path}/"
        return f"{url}{id}/" if id is not None else url

    def _auth(self, method: str, url: str) -> dict[str, str]:
        if self._token is None:
            # The public portal serves published data to anyone: reading it needs no token.
            public_read = method == "GET" and url.startswith(f"{self.server}/rest/public/")
            if public_read and self.settings.token_source() is None:
                return {}
            self._token = self.settings.resolved_token()
        return {"Authorization": f"Token {self._token}"}

    def _request(self, method: str, url: str, *, params: Params | None = None,
                 json: dict[str, Any] | None = None) -> httpx.Response:
        retryable = method in _IDEMPOTENT
        attempts = max(1, self.retry.attempts) if retryable else 1
        uncertain = False  # an earlier attempt may have been carried out
        for attempt in range(1, attempts + 1):
            try:
                resp = self._send(method, url, params, json)
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
            if resp.is_error:
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
              json: dict[str, Any] | None) -> httpx.Response:
        """The one boundary where httpx exceptions become ours."""
        headers = self._auth(method, url)
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
        body = self._mask(resp.text)
        shown = _show(url)
        if status == 400:
            return Rejected(method, shown, status, body, fields=_fields(resp))
        cls: type[ApiError]
        if status in (401, 403):
            cls = AuthError
        elif status == 404:
            cls = NotFound
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
                           "the answer is not JSON: " + self._mask(resp.text)) from exc

    def _mask(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def check_server_url(server: str, allow_insecure_http: bool = False) -> str:
    """The base URL without a trailing slash; refuses what is not https (or loopback http)."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"server {server!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise UsageError("put no credentials in the server URL: use a token")
    if (parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS
            and not allow_insecure_http):
        raise UsageError(f"refusing plain http:// to {parts.hostname}: the token would travel "
                         "unencrypted (use https, or allow insecure http explicitly)")
    return server.rstrip("/")


def obtain_token(server: str, username: str, password: str, *,
                 allow_insecure_http: bool = False, timeout: float = 30.0) -> str:
    """POST ``/api-token-auth/`` and return the token (AuthError on bad credentials)."""
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
        raise ServerError("POST", url, resp.status_code, resp.text.replace(password, "***"))
    try:
        token = resp.json()["token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError("POST", url, resp.status_code, "the answer holds no token") from exc
    if not isinstance(token, str) or not token:
        raise ApiError("POST", url, resp.status_code, "the answer holds no token")
    return token


def _unwrap(body: Any, path: str, *, many: bool) -> Any:
    """The records inside an envelope: the known key first, else the one list/object."""
    if not isinstance(body, dict):
        raise ApiError("GET", path, 200, f"unexpected answer: {str(body)[:200]}")
    one, lots = ENVELOPES.get(path, ("", ""))
    key = lots if many else one
    if key in body:
        return body[key]
    wanted = list if many else dict
    candidates = [v for k, v in body.items() if isinstance(v, wanted) and k != "meta"]
    if len(candidates) == 1:
        return candidates[0]
    if not many and "id" in body:
        return body  # a bare record
    raise ApiError("GET", path, 200, f"cannot find the records in keys {sorted(body)}")


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
