"""The :class:`BrainstemClient`: the HTTP boundary, the typed look-ups and the device
sign-in, joined in one object (each part in its own module of this package)."""

from __future__ import annotations

from .lookups import Lookups
from .signin import DeviceSignIn

__all__ = ["BrainstemClient"]


class BrainstemClient(Lookups, DeviceSignIn):
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
