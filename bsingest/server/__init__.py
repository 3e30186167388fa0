"""A local BrainSTEM-compatible server, for tests, demos and dry runs.

Real HTTP on 127.0.0.1 (stdlib ``ThreadingHTTPServer``), SQLite storage, both API
generations side by side, each with its contract's URLs, envelopes, status codes and 400
bodies, portals, filters, sort, include and paging (at most 100 a page, with ``count``):

- 2023 (``brainstem-api.md``): ``/rest/{portal}/modules/experimentdata/``, datasets,
  actions, hardware devices; ``Authorization: Token <key>``, ``POST /api-token-auth/``;
- current (``brainstem-api-2026.md``): ``/api/{portal}/modules/dataacquisition/``,
  ``stem/session`` (list, detail, create), ``stem/project``, ``stem/subject``,
  ``modules/procedure``, ``modules/equipment``; ``Authorization: Bearer <personal access
  token>``; the device flow ``POST /api/auth/device/`` and ``.../device/token/`` with its
  verification page at ``/device/``; ``details`` checked by schema 1.1.0 (or 0.0.0).

A token of one generation is refused by the other. It is seeded from
``bsingest/data/seed.json`` (users with tokens and personal access tokens; datasets,
actions, a hardware device and the records of the BrainSTEM documentation's examples;
projects, sessions, subjects, procedures, equipment and data acquisitions), and injects
the same faults (:class:`Faults`) into both generations::

    from bsingest.server import DeviceAuth, Faults, LocalServer

    with LocalServer(faults=Faults(rate=0.5, modes=("drop_after",), seed=1)) as srv:
        srv.url, srv.token, srv.seed.datasets["rat01-2024-03-01"]
        srv.pat, srv.seed.session, srv.seed.procedure, srv.seed.equipment, srv.seed.project
        srv.record_count(dataset=...)   # read the database directly
        srv.acquisition_count(session=...)
        srv.set_faults(Faults())        # change at run time

    # Device sign-in that approves itself at the second poll, polled without waiting:
    with LocalServer(device_auth=DeviceAuth(interval=0, auto_approve=1)) as srv: ...
    # or by hand: srv.device_user_codes(), srv.approve_device(code), .deny_device(code),
    # .expire_device(code); a token's end: srv.expire_pat(token)
    # Answer the older envelope key "dataacquisition" for lists and details:
    with LocalServer(legacy_envelope=True) as srv: ...
    # Speak one generation only (404 for the other's paths), as a real deployment does:
    with LocalServer(apis=("2026",)) as srv: ...

Not a production server: no TLS, one lock around the database, loopback only.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from .app import App, Seed, User, load_seed
from .device import DeviceAuth
from .http import FAULT_MODES, Faults, Hit, Server

__all__ = ["FAULT_MODES", "DeviceAuth", "Faults", "Hit", "LocalServer", "Seed", "User"]


class LocalServer:
    """Start the server on ``127.0.0.1:port`` (0: a free port) in a background thread.

    Parameters
    ----------
    db_path
        The SQLite file; seeded when new. None: a temporary file, removed on stop.
    faults
        The faults to inject from the start.
    port
        TCP port; 0 picks a free one.
    seed_path
        Another seed fixture (JSON, same shape as ``bsingest/data/seed.json``).
    host
        The address to bind; loopback unless you mean otherwise.
    legacy_envelope
        Answer Data Acquisition lists and details under ``dataacquisition`` (the key
        earlier deployments used for both) instead of ``data_acquisitions`` /
        ``data_acquisition``, so a client can be tested against both forms.
    device_auth
        The device flow's options (:class:`DeviceAuth`): ``interval`` (default 5 s; 0 for
        tests), ``expires_in``, ``auto_approve`` (None: wait for the page or
        :meth:`approve_device`; N: approve after N pending polls), ``user``.
    apis
        The generations served, ``("2023", "2026")`` by default; ``("2026",)`` behaves
        like brainstem.org (no ``/rest/``), ``("2023",)`` like an older instance.
    """

    def __init__(self, db_path: Path | None = None, faults: Faults | None = None,
                 port: int = 0, *, seed_path: Path | None = None,
                 host: str = "127.0.0.1", legacy_envelope: bool = False,
                 device_auth: DeviceAuth | None = None,
                 apis: tuple[str, ...] = ("2023", "2026")) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if db_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="bsingest-server-")
            db_path = Path(self._tmp.name) / "brainstem.sqlite3"
        self.db_path = Path(db_path)
        self.app = App(self.db_path, load_seed(seed_path), legacy_envelope=legacy_envelope,
                       device_auth=device_auth, apis=apis)
        self._server = Server((host, port), self.app, faults)
        self._thread: threading.Thread | None = None
        host_shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{host_shown}:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        """The TCP port served."""
        return int(self._server.server_address[1])

    @property
    def seed(self) -> Seed:
        """Ids of the seeded objects of both generations (see :class:`Seed`)."""
        return self.app.seed

    @property
    def token(self) -> str:
        """The main seed user's 2023 token (``Authorization: Token ...`` on ``/rest/``)."""
        return self.seed.users[self.seed.main_user].token

    @property
    def pat(self) -> str:
        """The main seed user's personal access token (``Bearer`` on ``/api/``)."""
        return self.seed.pat

    @property
    def hits(self) -> list[Hit]:
        """Every request seen so far, in order (a copy)."""
        return list(self._server.hits)

    @property
    def faults(self) -> Faults:
        """The faults now in force."""
        return self._server.faults

    def set_faults(self, faults: Faults) -> None:
        """Change the faults at run time (the generator restarts from their seed)."""
        self._server.set_faults(faults)

    def record_count(self, dataset: str | None = None) -> int:
        """Experiment Data records in the database (in ``dataset``, or in all)."""
        return self.app.record_count(dataset)

    def acquisition_count(self, session: str | None = None) -> int:
        """Data Acquisition records in the database (in ``session``, or in all)."""
        return self.app.acquisition_count(session)

    def expire_pat(self, token: str) -> None:
        """Let a personal access token expire now: ``/api/`` answers 401 "Token expired"."""
        self.app.expire_pat(token)

    def device_user_codes(self) -> list[str]:
        """User codes of device sign-ins waiting for a person, oldest first."""
        return self.app.device.user_codes()

    def approve_device(self, user_code: str, user: str | None = None) -> None:
        """Approve a waiting sign-in as ``user`` (None: the main user); KeyError if none."""
        self.app.device.approve(user_code, user)

    def deny_device(self, user_code: str) -> None:
        """Deny a waiting sign-in: its next poll answers ``access_denied``."""
        self.app.device.deny(user_code)

    def expire_device(self, user_code: str) -> None:
        """Let a sign-in's code expire now: its next poll answers ``expired_token``."""
        self.app.device.expire(user_code)

    def start(self) -> LocalServer:
        """Serve in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05},
                                            name=f"bsingest-server-{self.port}", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (``bsingest server``)."""
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, close the database, remove a temporary one."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self.app.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalServer(url={self.url!r}, db_path={str(self.db_path)!r})"
