"""Sign-in and tokens: the device flow (2026) and the password token (2023).

The device flow (RFC 8628, as brainstem.org serves it):
:meth:`DeviceSignIn.start_device_authorization` gets the codes, the user approves in a
browser (:func:`open_browser` opens one where there is a display), and
:func:`wait_for_device_token` polls until the token comes, the user refuses, or the code
expires. A server of the 2023 API gives a token for a username and
password (:func:`obtain_token`); the password never reaches a message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ..errors import ApiError, AuthError, ServerError, SignInError, TransportError
from .answers import summary
from .http import HttpClient
from .urls import check_server_url

__all__ = ["DeviceAuthorization", "DeviceSignIn", "obtain_token", "open_browser",
           "wait_for_device_token"]

log = logging.getLogger("bsingest.client")


@dataclass(frozen=True)
class DeviceAuthorization:
    """A started device sign-in: what the user opens or types, and how often to ask."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: float
    interval: float
    device_code: str = field(repr=False)  # exchanged for the token: a secret until used


class DeviceSignIn(HttpClient):
    """The two requests of a device sign-in, made without a token."""

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
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
            body = None
        if not isinstance(body, dict):
            if resp.is_error:
                raise self._error("POST", url, resp)
            raise ApiError("POST", url, resp.status_code, "the answer is not JSON: "
                           + summary(resp, self._mask))
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


def wait_for_device_token(client: DeviceSignIn, device: DeviceAuthorization, *,
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
                          summary(resp, lambda t: t.replace(password, "***")))
    try:
        token = resp.json()["token"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ApiError("POST", url, resp.status_code, "the answer holds no token") from exc
    if not isinstance(token, str) or not token:
        raise ApiError("POST", url, resp.status_code, "the answer holds no token")
    return token
