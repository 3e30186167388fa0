"""The HTTP side of the local server: stdlib ``ThreadingHTTPServer``, HTTP/1.1 keep-alive.

Chosen over a framework because it ships with Python, serves real sockets (so the client
is tested over real HTTP, pooling and dropped connections included) and is small enough
that fault injection can sit exactly where a real server fails: before the write, or
after the commit and before the answer.
"""

from __future__ import annotations

import json
import logging
import math
import random
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .app import App
from .store import HttpError, Response

__all__ = ["FAULT_MODES", "Faults", "Hit", "Server"]

log = logging.getLogger("bsingest.server")

FAULT_MODES = ("error_before", "unavailable", "throttle", "error_after", "drop_after",
               "late_commit", "commit_then_drop", "drop_before", "unavailable_no_retry_after")
_MAX_BODY = 10 * 1024 * 1024
_REASONS_SENT_BEFORE = {"error_before": 500, "unavailable": 503, "throttle": 429,
                        "unavailable_no_retry_after": 503}
_DROPPED_AFTER = ("drop_after", "commit_then_drop")
_POST_ONLY = frozenset({"/api-token-auth", "/api/auth/device", "/api/auth/device/token"})


@dataclass(frozen=True)
class Faults:
    """Faults the server injects into requests under ``/rest/`` and ``/api/{portal}/``.

    Each request whose method is in ``methods`` draws from a generator seeded with
    ``seed``: with probability ``rate`` it suffers one of ``modes`` (drawn in turn), until
    ``limit`` faults have been injected (None: no limit); ``rate=1.0, limit=2`` fails the
    first two such requests. The first ``after`` such requests are spared (a server that
    goes down in the middle of a run). Every request first waits ``latency`` seconds. A
    ``Retry-After`` header says ``retry_after`` seconds. Modes:

    - ``error_before``: 500, nothing written;
    - ``unavailable``: 503 with ``Retry-After``, nothing written;
    - ``throttle``: 429 with ``Retry-After``, nothing written;
    - ``error_after``: the write is committed, then 500;
    - ``drop_after``: the write is committed, then the connection closes with no answer;
    - ``late_commit``: 504 at once (a gateway gave up), and the write is committed
      ``late`` seconds later, as a slow backend does;
    - ``commit_then_drop``: the name issue 13 uses for ``drop_after``;
    - ``drop_before``: the connection closes with no answer and nothing is written (a
      server that stopped answering);
    - ``unavailable_no_retry_after``: 503 without ``Retry-After``, nothing written (a
      client cannot tell it from a failure after the write, and must look).
    """

    latency: float = 0.0
    rate: float = 0.0
    modes: tuple[str, ...] = ()
    seed: int = 0
    methods: tuple[str, ...] = ("POST", "PATCH", "DELETE")
    retry_after: int = 1
    limit: int | None = None
    late: float = 0.1
    after: int = 0

    def __post_init__(self) -> None:
        unknown = [m for m in self.modes if m not in FAULT_MODES]
        if unknown:
            raise ValueError(f"unknown fault modes {unknown}: choose from {FAULT_MODES}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate {self.rate} is not within [0, 1]")
        if self.latency < 0:
            raise ValueError("latency must not be negative")


@dataclass(frozen=True)
class Hit:
    """One request the server saw: method, path, the status answered (None: dropped)."""

    method: str
    path: str
    status: int | None
    fault: str | None


class Server(ThreadingHTTPServer):
    """A threading HTTP server bound to an :class:`App`, with switchable faults."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App, faults: Faults | None = None) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.hits: list[Hit] = []
        self._fault_lock = threading.Lock()
        self.set_faults(faults or Faults())

    def set_faults(self, faults: Faults) -> None:
        """Switch faults at run time; the generator restarts from ``faults.seed``."""
        with self._fault_lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)
            self._injected = 0
            self._spared = 0

    def draw_fault(self, method: str) -> str | None:
        """The fault for the next request with ``method``, or None."""
        with self._fault_lock:
            f = self.faults
            if not f.modes or f.rate <= 0 or method not in f.methods:
                return None
            if f.limit is not None and self._injected >= f.limit:
                return None
            if self._spared < f.after:
                self._spared += 1
                return None
            if self._rng.random() >= f.rate:
                return None
            self._injected += 1
            return f.modes[self._rng.randrange(len(f.modes))]

    def record(self, hit: Hit) -> None:
        with self._fault_lock:
            self.hits.append(hit)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server
    server_version = "bsingest-local-brainstem"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        # The request line never carries the token (it travels in a header); debug only.
        log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path
        fault: str | None = None
        app = self.server.app
        try:
            body = self._read_body()
            route = path.rstrip("/")
            if _generation(route) not in app.apis:
                raise HttpError(404, {"detail": "Not found."})
            if route in _POST_ONLY and method != "POST":
                raise HttpError(405, {"detail": f'Method "{method}" not allowed.'})
            if route == "/api-token-auth":
                resp = app.obtain_token(body)
            elif route == "/api/auth/device":
                resp = app.device_start(body, self._base_url())
            elif route == "/api/auth/device/token":
                resp = app.device_poll(body)
            elif route == "/device" and method in ("GET", "POST"):
                resp = app.device_page(method, parse_qsl(url.query), body)
            elif path.startswith(("/rest/", "/api/")):
                fault = self.server.draw_fault(method)
                latency = self.server.faults.latency
                if latency:
                    time.sleep(latency)
                if fault == "drop_before":
                    self.server.record(Hit(method, path, None, fault))
                    self._drop()
                    return
                resp = self._data(method, path, url.query, body, fault)
            else:
                raise HttpError(404, {"detail": "Not found."})
        except HttpError as exc:
            resp = exc.response
        if fault == "error_after":
            resp = Response(500, {"detail": "A server error occurred after the write."})
        if fault in _DROPPED_AFTER:
            self.server.record(Hit(method, path, None, fault))
            self._drop()
            return
        self.server.record(Hit(method, path, resp.status, fault))
        self._send(resp)

    def _data(self, method: str, path: str, query: str, body: Any,
              fault: str | None) -> Response:
        """``/rest/{portal}/{app}/{model}/[{id}/]`` (2023) or ``/api/...`` (current)."""
        parts = [p for p in path.split("/") if p]
        if len(parts) not in (4, 5) or parts[1] not in ("private", "public", "super"):
            raise HttpError(404, {"detail": "Not found."})
        portal, model = parts[1], f"{parts[2]}/{parts[3]}"
        record_id = parts[4] if len(parts) == 5 else None
        app = self.server.app
        header = self.headers.get("Authorization")
        if parts[0] == "api":
            user = app.authenticate_pat(header, portal)
            handle = app.handle_current
        else:
            user = app.authenticate(header, portal)
            handle = app.handle
        if fault in _REASONS_SENT_BEFORE:
            status = _REASONS_SENT_BEFORE[fault]
            headers = {} if fault in ("error_before", "unavailable_no_retry_after") else {
                "Retry-After": str(self.server.faults.retry_after)}
            detail = {500: "A server error occurred.", 503: "Service temporarily unavailable.",
                      429: "Request was throttled."}[status]
            return Response(status, {"detail": detail}, headers)
        params = parse_qsl(query, keep_blank_values=True)
        if fault == "late_commit":
            late = threading.Timer(self.server.faults.late, _quietly, (handle, method,
                                   portal, model, record_id, params, body, user))
            late.daemon = True
            late.start()
            return Response(504, {"detail": "Gateway timeout."})
        return handle(method, portal, model, record_id, params, body, user)

    def _base_url(self) -> str:
        """The server as this request addressed it (for the verification page's URL)."""
        host = self.headers.get("Host")
        if not host:
            address, port = str(self.server.server_address[0]), self.server.server_address[1]
            host = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        return f"http://{host}"

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise HttpError(413, {"detail": "Request body too large."})
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            return dict(parse_qsl(raw.decode("utf-8", "replace")))
        try:
            # NaN and Infinity are not JSON: the service's parser refuses them, Python's
            # would take them (and 1e999 as inf) unless told.
            return json.loads(raw, parse_constant=_not_json, parse_float=_finite)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HttpError(400, {"detail": f"JSON parse error - {exc}"}) from None

    def _send(self, resp: Response) -> None:
        if resp.body is None:
            payload = b""
        elif isinstance(resp.body, str):
            payload = resp.body.encode("utf-8")
        else:
            payload = json.dumps(resp.body).encode("utf-8")
        self.send_response(resp.status)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        if payload:
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _drop(self) -> None:
        """Close the connection without a byte of answer (the write already happened)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _generation(route: str) -> str | None:
    """The API generation a path belongs to (None: neither)."""
    if route == "/api-token-auth" or route.startswith("/rest/"):
        return "2023"
    if route == "/device" or route.startswith("/api/"):
        return "2026"
    return None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not valid JSON (numbers must be finite)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a JSON number (numbers must be finite)")
    return value


def _quietly(handle: Any, *args: Any) -> None:
    """A late write: its answer goes nowhere (the client was told 504 long ago)."""
    try:
        handle(*args)
    except Exception as exc:  # the server may have stopped meanwhile; nobody to tell
        log.debug("late write failed: %s", exc)
