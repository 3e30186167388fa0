"""Real HTTP servers in front of the local server, for what it cannot be by itself.

- :class:`Front` forwards every request to a :class:`~bsingest.server.LocalServer`, except
  the paths it hides (404, as a server without that generation of the API answers),
  answers with an HTML error page, as a proxy in front of a real service does, or answers
  503 for a while (where the local server's own faults do not reach); or changes what the
  upstream answered after it acted (``rewrite``: an older server's or a proxy's odd answer
  to a request that did reach the service).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

PROXY_PAGE = (b"<!DOCTYPE html>\n<html><head><meta charset='utf-8'>\n<title>502 Bad Gateway"
              b" &amp; friends</title><style>" + b"body{margin:0}" * 200 + b"</style></head>"
              b"<body><h1>Bad Gateway</h1><p>The upstream server did not answer.</p>"
              + b"<p>padding</p>" * 500 + b"</body></html>")


@dataclass
class Answer:
    """One forwarded answer, as ``Front(rewrite=...)`` sees it: the request's method and
    path (with its query), the upstream's status, body and content type; ``headers``
    are sent besides (a ``Content-Encoding`` the body does not have)."""

    method: str
    path: str
    status: int
    body: bytes
    kind: str
    headers: dict[str, str] = field(default_factory=dict)  # more headers to send


#: Given the upstream's answer (it has acted), the answer the client gets; None: unchanged.
Rewrite = Callable[[Answer], "Answer | None"]


class Front:
    """Serve on a free loopback port; forward to ``upstream`` (a base URL).

    Parameters
    ----------
    upstream
        The base URL requests go on to.
    hide
        Path prefixes answered 404 (``/rest/``: a server of the current generation only).
    html_error
        Path prefixes answered ``502`` with an HTML page (a proxy's error page).
    redirect
        A base URL every request is redirected to (301), as an http:// front of an
        https:// service answers.
    steal_success
        A path whose successful answer is kept from the client: the request is sent
        once more and that answer returned (a device code someone else used first).
    unavailable
        Path prefix -> how many of its requests are answered ``503`` before the rest go
        through (None: all of them).
    rewrite
        Called with every forwarded :class:`Answer` after the upstream acted on the
        request; what it returns is sent instead (None: the upstream's answer). An
        exception in it answers 500, so a test's mistake shows as an error, not a hang.
    """

    def __init__(self, upstream: str, *, hide: Iterable[str] = (),
                 html_error: Iterable[str] = (),
                 unavailable: dict[str, int | None] | None = None,
                 redirect: str | None = None, steal_success: str | None = None,
                 rewrite: Rewrite | None = None) -> None:
        self.upstream = upstream
        self.rewrite = rewrite
        self.steal_success = steal_success
        self.redirect = redirect
        self.hide = tuple(hide)
        self.html_error = tuple(html_error)
        self.unavailable = dict(unavailable or {})
        self.paths: list[str] = []
        front = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                front.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if front.redirect is not None:
                    self.send_response(301)
                    self.send_header("Location", front.redirect + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                down = next((p for p in front.unavailable if self.path.startswith(p)), None)
                if down is not None and front.unavailable[down] != 0:
                    left = front.unavailable[down]
                    front.unavailable[down] = None if left is None else left - 1
                    self._answer(503, b'{"detail": "Service unavailable."}', "application/json")
                elif self.path.startswith(front.hide):
                    self._answer(404, b'{"detail": "Not found."}', "application/json")
                elif self.path.startswith(front.html_error):
                    self._answer(502, PROXY_PAGE, "text/html; charset=utf-8")
                else:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in ("host", "content-length", "connection")}
                    resp = httpx.request(self.command, front.upstream + self.path,
                                         headers=headers, content=body)
                    if self.path == front.steal_success and b'"success"' in resp.content:
                        resp = httpx.request(self.command, front.upstream + self.path,
                                             headers=headers, content=body)
                    answer = Answer(self.command, self.path, resp.status_code, resp.content,
                                    resp.headers.get("content-type", "application/json"))
                    if front.rewrite is not None:
                        try:
                            answer = front.rewrite(answer) or answer
                        except Exception as exc:  # said to the client: a test's slip, not a hang
                            answer = Answer(self.command, self.path, 500,
                                            f"rewrite failed: {exc!r}".encode(), "text/plain")
                    self._answer(answer.status, answer.body, answer.kind, answer.headers)

            def _answer(self, status: int, body: bytes, kind: str,
                        headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Front:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
