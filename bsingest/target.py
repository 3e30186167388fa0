"""Which server a run talks to: a configured BrainSTEM, or the local demo server.

With no server configured anywhere (no ``--server``, no ``BRAINSTEM_SERVER``, no
``server`` in ``bsingest.toml`` or the user's config file; ``bsingest login`` writes it
there), ``bsingest ingest`` runs the whole job against the local BrainSTEM-compatible
server, started for the run on loopback
with its data in ``<user data dir>/bsingest/local-server.sqlite3``, and says so. The name
``local`` (``--server local``) asks for it explicitly. The journal knows it as ``local``,
whatever port it got.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import BrainstemClient, RetryPolicy
    from .server import LocalServer

__all__ = ["LOCAL", "Target", "configured_api", "local_db_path", "open_target"]

LOCAL = "local"

HOW_TO_USE_BRAINSTEM = (
    "To upload to brainstem.org instead: `bsingest login --server "
    "https://www.brainstem.org` (it saves the server for later runs), then give your own "
    "session and procedure IDs (--session, --procedure, or the session's bsingest.toml)."
)


@dataclass
class Target:
    """A client, the name the journal knows its server by, and the demo server if any."""

    client: BrainstemClient
    server_key: str
    local: LocalServer | None = None


def local_db_path() -> Path:
    """Where the local demo server keeps its data (``BSINGEST_LOCAL_DB`` overrides)."""
    env = os.environ.get("BSINGEST_LOCAL_DB")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("bsingest", appauthor=False)) / "local-server.sqlite3"


def configured_server(explicit: str | None, session: str | None = None) -> str | None:
    """The server a run uses, None for the local demo.

    In this order: ``--server``, ``BRAINSTEM_SERVER``, the session's ``bsingest.toml``,
    the user's config file.
    """
    from . import settings

    if explicit:
        return explicit
    env = os.environ.get("BRAINSTEM_SERVER", "").strip()
    return env or session or settings.configured_server()


def configured_api(explicit: str | None, session: object = None, server: str | None = None,
                   *, session_source: str = "bsingest.toml") -> tuple[str, str] | None:
    """The API generation stated for a run, and where it was stated; None: find it out.

    In this order: ``--api`` (``explicit``), the session's ``bsingest.toml`` (``session``,
    the value of its ``api`` key; ``session_source`` names the file), the user's config file
    for ``server`` (``[servers."URL"] api``, or top-level ``api`` beside ``server``). Pass
    the pair to :func:`open_target` as ``api=`` and ``api_source=``; a stated generation
    the server does not speak is then a usage error before anything is sent.
    """
    from . import settings

    if explicit is not None:
        return settings.check_api(explicit, "--api"), f"--api {explicit}"
    if session is not None:
        value = settings.check_api(session, f"{session_source}: api")
        return value, f"api = \"{value}\" in {session_source}"
    if server not in (None, LOCAL):
        found = settings.configured_api(str(server))
        if found is not None:
            return found[0], f"api = \"{found[0]}\" in {found[1]}"
    return None


@contextlib.contextmanager
def open_target(server: str | None, *, token: str | None = None, portal: str = "private",
                retry: RetryPolicy | None = None, max_connections: int = 16,
                allow_insecure_http: bool = False, read_only: bool = False,
                api: str | None = None, api_source: str | None = None,
                prefer: str | None = None) -> Iterator[Target]:
    """Open a client for ``server`` (None or ``local``: the local demo server).

    ``read_only`` (a dry run): the local demo server works on a scratch copy of its data,
    so that not even its database file is created or changed. ``api``/``api_source``: the
    generation stated (:func:`configured_api`); None: the client finds it out, taking
    ``prefer`` (the generation the user's link names imply) when the server speaks it.
    """
    from .client import BrainstemClient
    from .generations import generation

    if server in (None, LOCAL):
        from .server import LocalServer

        with contextlib.ExitStack() as stack:
            path = local_db_path()
            if read_only:
                scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                if path.is_file():  # a consistent snapshot, even while a server writes
                    with contextlib.closing(sqlite3.connect(path)) as src, \
                            contextlib.closing(sqlite3.connect(scratch / path.name)) as dst:
                        src.backup(dst)
                path = scratch / path.name
            path.parent.mkdir(parents=True, exist_ok=True)
            srv = stack.enter_context(LocalServer(db_path=path))
            # It speaks both generations: the stated one, else the one the user's names
            # imply, else the default, with the seed user's token of that generation
            # (each refuses the other's).
            chosen = generation(api or prefer)
            client = BrainstemClient(server=srv.url, token=getattr(srv, chosen.demo_token),
                                     portal=portal, retry=retry, max_connections=max_connections,
                                     api=chosen.name,
                                     api_source=api_source or "the local demo server")
            try:
                yield Target(client, LOCAL, srv)
            finally:
                client.close()
        return
    client = BrainstemClient(server=server, token=token, portal=portal, retry=retry,
                             max_connections=max_connections,
                             allow_insecure_http=allow_insecure_http, api=api,
                             api_source=api_source, prefer=prefer)
    try:
        yield Target(client, client.server)
    finally:
        client.close()
