"""The HTTP boundary: one pooled ``httpx.Client``, requests with retries, paging, errors.

Why httpx: it is already a dependency, has one connection pool that is safe to share
between threads, and separates "no answer" (``httpx.TransportError``) from an answer
with an error status, which is exactly the line between our ``TransportError`` and
``ApiError``. Every httpx exception is translated in :meth:`HttpClient._send`, the one
boundary, with ``raise ... from exc``. Retries follow :class:`~.retry.RetryPolicy`; a
DELETE retried after an unknown outcome that then answers 404 was done by the first
attempt, and counts as success.

The token travels only in the ``Authorization`` header; messages name the method and URL,
never headers, and any echo of the token in a response body is masked before the body is
quoted. Which generation's prefix a URL gets is :class:`~.discovery.GenerationChoice`'s
answer; the typed look-ups (:mod:`.lookups`) and the device sign-in (:mod:`.signin`) are
built on this class, and :class:`~bsingest.client.BrainstemClient` joins them.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from .. import __version__
from .. import settings as _settings
from ..errors import (
    ApiError,
    AuthError,
    BadAnswer,
    NotFound,
    RateLimited,
    Rejected,
    ServerError,
    TransportError,
    UsageError,
)
from ..generations import CURRENT, GENERATIONS, Generation, model_generation
from ..settings import Settings
from .answers import Params, Records, fields, summary, unwrap, whole
from .discovery import ApiMemory, GenerationChoice
from .retry import IDEMPOTENT, RetryPolicy, parse_retry_after
from .urls import check_id, check_server_url, model_path, show

__all__ = ["PAGE_SIZE", "HttpClient"]

log = logging.getLogger("bsingest.client")

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PAGE_SIZE = 100
_PAGES_AT_ONCE = 4
_LISTING_READS = 3  # reads of a listing that keeps changing while paged, then an error
_MAX_PAGES = 10_000  # a million records in one listing: a server making them up
_Self = TypeVar("_Self", bound="HttpClient")


class HttpClient:
    """Requests to one BrainSTEM server in either API generation; safe to share by threads.

    The parameters are :class:`~bsingest.client.BrainstemClient`'s.
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
        self._choice = GenerationChoice(self.server, self.speaks, api=api, api_source=api_source,
                                        prefer=prefer, memory=memory)
        # httpcore 1.0.9's sync pool can close a connection already handed to a queued
        # request when more threads than max_connections wait on it (encode/httpcore#1110:
        # EBADF, resets, read timeouts). Admitting at most max_connections requests at a
        # time means no request ever queues inside the pool.
        self._slots = threading.BoundedSemaphore(max_connections)
        limits = httpx.Limits(max_connections=max_connections,
                              max_keepalive_connections=max_connections)
        self._http = httpx.Client(timeout=httpx.Timeout(timeout), limits=limits,
                                  verify=_tls(self.server),
                                  headers={"User-Agent": f"bsingest/{__version__}",
                                           "Accept": "application/json"},
                                  transport=transport, follow_redirects=False)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(server={self.server!r}, portal={self.portal!r}, "
                f"api={self._choice.known!r})")

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
        return self._choice.api

    @property
    def generation(self) -> Generation:
        """The :class:`Generation` of :attr:`api`."""
        return GENERATIONS[self.api]

    @property
    def stated(self) -> bool:
        """Whether the generation was stated (``api=``, ``--api``), not found out."""
        return self._choice.stated

    @property
    def api_source(self) -> str:
        """Where a stated generation was stated (``--api 2023``), for messages."""
        return self._choice.source

    def prefer(self, api: str) -> None:
        """Use generation ``api`` if the server speaks it, unless one is stated or already
        known: the user's link names (``--dataset``, ``--session``) say which they mean."""
        self._choice.prefer(api)

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

    def check_stated_api(self) -> None:
        """A UsageError saying what the server speaks when a stated generation does not fit
        it; nothing when the generation was found out rather than stated, or fits.

        For a decision a stated generation makes before any request (which names the
        user's links must have): the user is told what the server speaks, not what they
        stated. One or two GETs, only the first time for a server.
        """
        self._choice.check_stated()

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
            resp = self._request("GET", url, params=query)
            body = self._json(resp)
            count = body.get("count") if isinstance(body, dict) else None
            # A bool is an int to Python; a count is a whole number >= 0.
            count = count if type(count) is int and count >= 0 else None
            return self._unwrap(body, path, resp, many=True), count

        before: tuple[int | None, frozenset[str]] | None = None
        for _ in range(_LISTING_READS):
            records, count = page(0)
            if count is not None and len(records) > count:
                count = None  # a page holds more than all of them: the count means nothing
            if not records or (count is not None and len(records) >= count):
                # All of them. Without a count, the next page is asked for even after one
                # that is not full: the server's pages may be smaller than ours (one more
                # request, only from a server that sends no count).
                return records
            records.extend(self._rest(page, url, records, count))
            if count is not None and len(records) > count:
                count = None  # the pages hold more than the count said
            # Without a count, no id seen twice is all that can be checked.
            if whole(records, count or 0):
                return records
            now = (count, frozenset(str(r["id"]) for r in records))
            if now == before:  # not a listing that changes: a wrong count, or repeats
                said = f"count {count}, " if count is not None else ""
                raise BadAnswer("GET", show(url), 200, f"{said}{len(records)} records in its "
                                f"pages, {len(now[1])} distinct ids (read twice alike)")
            before = now
            log.info("GET %s: the records changed while they were paged; reading again",
                     show(url))
        # The uploader decides "not on the server, create it" from a listing: an
        # incomplete one must not pass for whole.
        raise TransportError("GET", show(url), f"the listing changed while it was paged, "
                             f"{_LISTING_READS} times; try again later")

    def _rest(self, page: Callable[[int], tuple[Records, int | None]], url: str,
              first: Records, count: int | None) -> Records:
        """The pages after the ``first``, a few at a time, since each page costs a round
        trip (a 5,000-record dataset is 50 of them).

        The first page's length is the server's page size. Paging stops at the first page
        that is not full: a server whose ``count`` is wrong (a billion) or missing is asked
        for the pages it has, plus the few in flight, never ``count / 100`` of them (a
        billion made ten million requests, queued at once). Pages are asked for ahead up
        to ``count``, past it only once a full page reached beyond it (a count too low: a
        proxy's stale one; one that is a whole number of pages too low cannot be told
        from the truth without a request more for every listing). A page made only of
        records already read is a server that ignores ``offset``: asking on would never
        end; nor would a server that makes up records, hence ``_MAX_PAGES``.
        """
        step = len(first)
        cap = step * _MAX_PAGES
        bound = cap if count is None else min(count, cap)
        records: Records = []
        seen = {str(r["id"]) for r in first}
        last = False  # a page that is not full came
        next_offset = step
        with ThreadPoolExecutor(max_workers=_PAGES_AT_ONCE,
                                thread_name_prefix="bsingest-page") as pool:
            ahead: deque[tuple[int, Future[tuple[Records, int | None]]]] = deque()

            def ask_ahead() -> None:
                # Twice the threads: a slow page does not leave the others idle (the pool
                # kept every page queued before; a wrong count made that ten million).
                nonlocal next_offset
                while len(ahead) < 2 * _PAGES_AT_ONCE and next_offset < bound:
                    ahead.append((next_offset, pool.submit(page, next_offset)))
                    next_offset += step

            try:
                ask_ahead()
                while ahead:
                    offset, future = ahead.popleft()
                    items, _ = future.result()
                    ids = {str(r["id"]) for r in items}
                    if items and ids <= seen:
                        raise BadAnswer("GET", show(url), 200, f"the page at offset {offset} "
                                        "repeats records of earlier pages: the server does "
                                        "not page by offset")
                    seen |= ids
                    records.extend(items)
                    if len(items) < step:
                        last = True  # those still in flight hold nothing more
                        break
                    if count is not None and offset + step > count:
                        bound = cap  # a full page reaching past the count: it was wrong
                    ask_ahead()
            finally:
                for _, future in ahead:
                    future.cancel()
        if not last and next_offset >= cap:
            raise BadAnswer("GET", show(url), 200, f"more than {_MAX_PAGES} pages of {step} "
                            "records: not paged to the end")
        return records

    def get(self, model: str, id: str, *, portal: str | None = None) -> dict:
        """One record by id; :class:`NotFound` when it is absent or not visible."""
        path = model_path(model)
        resp = self._request("GET", self._url(path, id, portal=portal))
        return self._unwrap(self._json(resp), path, resp, many=False)

    def create(self, model: str, data: Mapping[str, Any]) -> dict:
        """POST one record (bare, not in its envelope); never retried (an unanswered POST
        may have been created)."""
        path = model_path(model)
        resp = self._request("POST", self._url(path), json=dict(data))
        return self._unwrap(self._json(resp), path, resp, many=False)

    def update(self, model: str, id: str, data: Mapping[str, Any]) -> dict:
        """PATCH the given fields of one record; answers the whole record."""
        path = model_path(model)
        resp = self._request("PATCH", self._url(path, id), json=dict(data))
        return self._unwrap(self._json(resp), path, resp, many=False)

    def delete(self, model: str, id: str) -> None:
        """DELETE one record."""
        self._request("DELETE", self._url(model_path(model), id))

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

    def __enter__(self: _Self) -> _Self:
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
        retryable = method in IDEMPOTENT
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
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                if retry_after is None or retry_after <= self.retry.max_retry_after:
                    uncertain = uncertain or status >= 500
                    self._pause(method, url, attempt, f"{status}", retry_after)
                    continue
            if method == "DELETE" and status == 404 and uncertain:
                log.info("%s %s: gone after an attempt without a clear answer; "
                         "the earlier attempt deleted it", method, show(url))
                return resp
            if resp.is_redirect and check:
                # Never followed: a POST would lose its body, a token could go elsewhere.
                raise self._error(method, url, resp)
            if resp.is_error and check:
                if status == 404 and auth and self._choice.stated:
                    self._choice.check_stated()  # a 404 may mean "not this generation at all"
                raise self._error(method, url, resp)
            if attempt > 1:
                log.info("%s %s succeeded after %d retries", method, show(url), attempt - 1)
            return resp
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _pause(self, method: str, url: str, attempt: int, reason: str,
               retry_after: float | None) -> None:
        delay = self.retry.delay(attempt, retry_after)
        log.warning("%s %s: %s; retry %d of %d in %.1f s", method, show(url), reason,
                    attempt, self.retry.attempts - 1, delay if self.retry.wait else 0.0)
        if self.retry.wait and delay > 0:
            self.retry.sleep(delay)

    def _send(self, method: str, url: str, params: Params | None,
              json: dict[str, Any] | None, auth: bool = True) -> httpx.Response:
        """The one boundary where httpx exceptions become ours."""
        headers = self._auth(method, url) if auth else {}
        try:
            with self._slots:
                # No query: no params at all (an empty one costs httpx a second parse of
                # the URL, ~40 µs of each POST: benchmarks/RESULTS.md, issue 25).
                resp = self._http.request(method, url, json=json, headers=headers,
                                          params=httpx.QueryParams(tuple(params))
                                          if params else None)
        except httpx.TimeoutException as exc:
            raise TransportError(method, show(url), f"timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise TransportError(method, show(url), self._mask(reason)) from exc
        except httpx.DecodingError as exc:
            # An answer whose body its Content-Encoding does not fit (a proxy's gzip
            # header on a plain body): no usable answer, as a dropped one. Not a
            # httpx.TransportError: it went through as a traceback, and a create answered
            # so was called failed ("cannot send the record") though it was made.
            reason = f"the answer could not be decoded ({exc or type(exc).__name__})"
            raise TransportError(method, show(url), self._mask(reason)) from exc
        if log.isEnabledFor(logging.DEBUG):  # the URL's text is built only to be shown
            log.debug("%s %s -> %d", method, show(str(resp.request.url)), resp.status_code)
        return resp

    def _error(self, method: str, url: str, resp: httpx.Response) -> ApiError:
        status = resp.status_code
        body = summary(resp, self._mask)
        shown = show(url)
        if status == 400:
            return Rejected(method, shown, status, body, fields=fields(resp))
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
            body = (f"redirects to {show(resp.headers.get('location', '?'))}: give the "
                    "server's address as it answers (https://, with or without www.)")
        elif status == 429:
            cls = RateLimited
        elif status >= 500:
            cls = ServerError
        else:
            cls = ApiError
        error = cls(method, shown, status, body)
        # Callers that retry a POST themselves (the ingest pipeline) honour it too.
        wait = parse_retry_after(resp.headers.get("Retry-After"))
        setattr(error, "retry_after", wait)  # noqa: B010
        return error

    def _json(self, resp: httpx.Response) -> Any:
        try:
            return resp.json()
        except ValueError as exc:  # a 2xx: an error status raised before (_request)
            what = summary(resp, self._mask) if resp.content else "an empty body"
            raise BadAnswer(resp.request.method, show(str(resp.request.url)),
                            resp.status_code, "the answer is not JSON: " + what) from exc
        except RecursionError as exc:  # [[[[...]]]] a hundred thousand deep: a traceback
            raise BadAnswer(resp.request.method, show(str(resp.request.url)),
                            resp.status_code, "the answer is JSON nested too deeply to "
                            f"read ({len(resp.content)} bytes)") from exc

    def _unwrap(self, body: Any, path: str, resp: httpx.Response, *, many: bool) -> Any:
        """:func:`~.answers.unwrap`, its errors naming the request that was answered."""
        return unwrap(body, path, many=many, method=resp.request.method,
                      url=show(str(resp.request.url)), status=resp.status_code,
                      mask=self._mask)

    def _mask(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def _tls(server: str) -> ssl.SSLContext | bool:
    """How the client checks TLS: the default trust store for an https server. A plain
    http server (the local demo server, a loopback one) gets a context that trusts no
    certificate: its client never opens a TLS connection (every URL is the server's, and
    redirects are not followed), and loading the trust store cost 50-100 ms of the
    command's start (benchmarks/RESULTS.md, issue 25). Were one opened, it would fail
    verification, never pass unchecked."""
    if urlsplit(server).scheme == "https":
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, with no trusted CA
