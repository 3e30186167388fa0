"""The device authorization flow of the current generation, as the local server runs it.

``POST /api/auth/device/`` starts a sign-in and answers a ``device_code`` (the tool's
secret), a ``user_code`` (what a person types on the verification page), the page's URL,
``expires_in`` and ``interval``. The tool then polls ``POST /api/auth/device/token/``;
every answer is HTTP 200 and says ``authorization_pending``, ``success`` with a personal
access token (once), or an error: ``access_denied``, ``expired_token``, ``already_used``.

A person approves or denies a code on the verification page (``/device/``, a demo user
signs in there with the seed password), or a test does it with :meth:`DeviceFlow.approve`,
:meth:`DeviceFlow.deny` and :meth:`DeviceFlow.expire`. For demos and tests
:class:`DeviceAuth` can approve by itself after a number of polls, and shortens the
interval so a test does not wait 5 s per poll. Codes live in memory: a sign-in does not
outlive the server; the token it gave does (it is stored with the others).
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DeviceAuth", "DeviceFlow", "page"]

# Unambiguous letters for a code a person reads and types (no vowels, no 0/O or 1/I).
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


@dataclass(frozen=True)
class DeviceAuth:
    """Options of the server's device authorization flow.

    Parameters
    ----------
    interval
        Seconds a tool waits between polls, as announced (the service says 5; a test may
        say 0 or 0.05).
    expires_in
        Seconds a code stays valid (the service: 15 minutes).
    auto_approve
        None: a code waits for a person (the verification page) or a test's
        :meth:`DeviceFlow.approve`. ``N`` >= 0: approved by itself after ``N`` polls that
        answered ``authorization_pending`` (0: the first poll succeeds).
    user
        Who an automatic approval signs in; None: the seed's main user.
    """

    interval: float = 5.0
    expires_in: float = 900.0
    auto_approve: int | None = None
    user: str | None = None

    def __post_init__(self) -> None:
        if self.interval < 0 or self.expires_in <= 0:
            raise ValueError("interval must not be negative and expires_in must be positive")
        if self.auto_approve is not None and self.auto_approve < 0:
            raise ValueError("auto_approve must be None or a number of polls >= 0")


@dataclass
class _Grant:
    device_code: str
    user_code: str
    client_name: str
    expires_at: float
    state: str = "pending"          # pending, approved, denied, used
    user: str | None = None         # the username who approved
    polls: int = 0
    token: str | None = field(default=None, repr=False)


class DeviceFlow:
    """Codes of device sign-ins in progress; thread-safe.

    ``issue_token(username, client_name)`` makes and stores the personal access token a
    successful poll hands out; ``main_user`` is who auto-approval signs in by default.
    """

    def __init__(self, options: DeviceAuth, issue_token: Callable[[str, str], str],
                 main_user: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.options = options
        self._issue_token = issue_token
        self._main_user = main_user
        self._clock = clock
        self._lock = threading.Lock()
        self._by_device: dict[str, _Grant] = {}
        self._by_user: dict[str, _Grant] = {}

    def start(self, client_name: str, base_url: str) -> dict[str, object]:
        """A new sign-in: the body of the answer to ``POST /api/auth/device/``."""
        with self._lock:
            user_code = self._new_user_code()
            grant = _Grant(secrets.token_urlsafe(32), user_code, client_name,
                           self._clock() + self.options.expires_in)
            self._by_device[grant.device_code] = grant
            self._by_user[user_code] = grant
        page = f"{base_url}/device/"
        return {"device_code": grant.device_code, "user_code": user_code,
                "verification_uri": page,
                "verification_uri_complete": f"{page}?user_code={user_code}",
                "expires_in": _number(self.options.expires_in),
                "interval": _number(self.options.interval)}

    def poll(self, device_code: str) -> dict[str, str]:
        """The body of the answer to one ``POST /api/auth/device/token/``."""
        with self._lock:
            grant = self._by_device.get(device_code)
            if grant is None:  # never issued, or forgotten: as good as expired
                return {"error": "expired_token"}
            if grant.state == "used":
                return {"error": "already_used"}
            if grant.state == "denied":
                return {"error": "access_denied"}
            if grant.state == "pending" and self._clock() >= grant.expires_at:
                return {"error": "expired_token"}
            auto = self.options.auto_approve
            if grant.state == "pending" and auto is not None and grant.polls >= auto:
                grant.state, grant.user = "approved", self.options.user or self._main_user
            if grant.state == "pending":
                grant.polls += 1
                return {"status": "authorization_pending"}
            assert grant.user is not None
            grant.state = "used"
            grant.token = self._issue_token(grant.user, grant.client_name)
            return {"status": "success", "token": grant.token}

    def approve(self, user_code: str, username: str | None = None) -> None:
        """Approve a pending code for ``username`` (None: the main user).

        Raises
        ------
        KeyError
            No pending, unexpired code ``user_code``.
        """
        with self._lock:
            grant = self._pending(user_code)
            grant.state, grant.user = "approved", username or self._main_user

    def deny(self, user_code: str) -> None:
        """Deny a pending code: the tool's next poll answers ``access_denied``."""
        with self._lock:
            self._pending(user_code).state = "denied"

    def expire(self, user_code: str) -> None:
        """Let a code expire now: the tool's next poll answers ``expired_token``."""
        with self._lock:
            grant = self._by_user[_normal(user_code)]
            grant.expires_at = self._clock() - 1

    def user_codes(self) -> list[str]:
        """The user codes still waiting for a person, oldest first."""
        with self._lock:
            now = self._clock()
            return [g.user_code for g in self._by_user.values()
                    if g.state == "pending" and now < g.expires_at]

    def client_name(self, user_code: str) -> str | None:
        """The tool that asked for a pending code (shown on the page), or None."""
        with self._lock:
            grant = self._by_user.get(_normal(user_code))
            return grant.client_name if grant is not None and grant.state == "pending" else None

    def _pending(self, user_code: str) -> _Grant:
        grant = self._by_user.get(_normal(user_code))
        if grant is None or grant.state != "pending" or self._clock() >= grant.expires_at:
            raise KeyError(f"no pending sign-in with code {user_code!r}")
        return grant

    def _new_user_code(self) -> str:
        while True:
            letters = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
            code = f"{letters[:4]}-{letters[4:]}"
            if code not in self._by_user:
                return code


def _normal(user_code: str) -> str:
    """A code as typed (any case, with or without the dash) in its canonical form."""
    letters = "".join(c for c in user_code.upper() if c.isalnum())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else user_code


def _number(seconds: float) -> int | float:
    return int(seconds) if float(seconds).is_integer() else seconds


def page(user_code: str | None, client_name: str | None, message: str = "") -> str:
    """The verification page: a form to approve or deny ``user_code``, or a ``message``."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'>",
             "<title>Sign in a device</title></head><body><h1>Sign in a device</h1>"]
    if message:
        parts.append(f"<p>{html.escape(message)}</p>")
    if user_code is not None:
        tool = f" by {html.escape(client_name)}" if client_name else ""
        parts.append(
            f"<p>A tool{tool} asks to act as you.</p>"
            "<form method='post' action='/device/'>"
            f"<label>Code <input name='user_code' value='{html.escape(user_code, True)}'>"
            "</label><br><label>Username <input name='username'></label><br>"
            "<label>Password <input name='password' type='password'></label><br>"
            "<button name='action' value='approve'>Approve</button> "
            "<button name='action' value='deny'>Deny</button></form>")
    parts.append("</body></html>")
    return "".join(parts)
