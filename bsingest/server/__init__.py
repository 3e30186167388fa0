"""A local BrainSTEM-compatible server, for tests, demos and dry runs.

Real HTTP on 127.0.0.1 (stdlib ``ThreadingHTTPServer``), SQLite storage, the contract's
URLs, envelopes, status codes and 400 bodies, token auth and ``/api-token-auth/``, the
three portals, filters, sort, include and paging (at most 100 a page, with ``count``).
It is seeded from ``bsingest/data/seed.json`` (users with tokens, datasets, actions, a
hardware device, and the records of the BrainSTEM documentation's examples), and can
inject faults (:class:`Faults`)::

    from bsingest.server import LocalServer, Faults

    with LocalServer(faults=Faults(rate=0.5, modes=("drop_after",), seed=1)) as srv:
        srv.url, srv.token, srv.seed.datasets["rat01-2024-03-01"]
        srv.record_count(dataset=...)   # read the database directly
        srv.set_faults(Faults())        # change at run time

Not a production server: no TLS, one lock around the database, loopback only.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from .app import App, Seed, User, load_seed
from .http import FAULT_MODES, Faults, Hit, Server

__all__ = ["FAULT_MODES", "Faults", "Hit", "LocalServer", "Seed", "User"]


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
    """

    def __init__(self, db_path: Path | None = None, faults: Faults | None = None,
                 port: int = 0, *, seed_path: Path | None = None,
                 host: str = "127.0.0.1") -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if db_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="bsingest-server-")
            db_path = Path(self._tmp.name) / "brainstem.sqlite3"
        self.db_path = Path(db_path)
        self.app = App(self.db_path, load_seed(seed_path))
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
        """Ids of the seeded users, datasets (by name), actions and hardware device."""
        return self.app.seed

    @property
    def token(self) -> str:
        """The main seed user's token."""
        return self.seed.users[self.seed.main_user].token

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
