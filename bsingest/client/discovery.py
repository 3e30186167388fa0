"""Which API generation a server speaks: stated, configured, remembered, or found by a probe.

A model that exists in one generation only (``experimentdata``, ``dataset``, ``action``
of 2023; ``dataacquisition``, ``session``, ``procedure``, ``equipment`` of 2026) is always
addressed in its own; any other follows the generation the server speaks. That is stated
(``api=``, ``--api``, the config file, ``bsingest.toml``), known (brainstem.org speaks the
current one), remembered from an earlier probe, or found by one cheap probe
(``GET {server}/api/private/stem/session/?limit=1`` without a token: 404 means "not this
generation"; then the same under ``/rest/``). A stated generation the server does not
speak is a :class:`UsageError` saying what it speaks (checked when a request under it
answers 404, so stating costs no request).

What probes learnt is kept in an :class:`ApiMemory`, which a client takes (``memory=``);
:data:`MEMORY` serves the process, and a test clears it rather than patching anything.
The probe itself is a request, made by the client and handed in as a function: this
module sends nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .. import settings as _settings
from ..errors import ApiError, TransportError, UsageError
from ..generations import CURRENT, GENERATIONS
from ..settings import API_GENERATIONS

__all__ = ["MEMORY", "ApiMemory", "GenerationChoice"]

log = logging.getLogger("bsingest.client")


class ApiMemory:
    """What probes learnt about servers' generations: per server URL, the one found, and
    the (server, generation) pairs a stated generation was verified for.

    One instance serves the process (:data:`MEMORY`); a client takes another with
    ``memory=``, and :meth:`clear` makes it forget (what a test does instead of patching).
    """

    def __init__(self) -> None:
        self._found: dict[str, str] = {}
        self._verified: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def found(self, server: str) -> str | None:
        with self._lock:
            return self._found.get(server)

    def remember(self, server: str, api: str) -> None:
        with self._lock:
            self._found[server] = api

    def verified(self, server: str, api: str) -> bool:
        with self._lock:
            return (server, api) in self._verified

    def verify(self, server: str, api: str) -> None:
        with self._lock:
            self._verified.add((server, api))

    def clear(self) -> None:
        """Forget everything, as a new process would."""
        with self._lock:
            self._found.clear()
            self._verified.clear()


#: The process's memory of servers' generations (loopback ones are kept only here).
MEMORY = ApiMemory()
assert tuple(GENERATIONS) == API_GENERATIONS


class GenerationChoice:
    """The generation one client's server speaks, chosen once (thread-safe).

    Parameters
    ----------
    server
        The server's checked base URL.
    speaks
        The probe: whether the server answers a generation at all (a request; it may
        raise :class:`TransportError` or :class:`ApiError`).
    api, api_source, prefer, memory
        As for :class:`~bsingest.client.BrainstemClient`.
    """

    def __init__(self, server: str, speaks: Callable[[str], bool], *,
                 api: str | None = None, api_source: str | None = None,
                 prefer: str | None = None, memory: ApiMemory | None = None) -> None:
        self.server = server
        self._speaks = speaks
        self._source = api_source or (f"api={api!r}" if api else "")
        self._api: str | None = None
        self._stated = api is not None
        self._memory = memory if memory is not None else MEMORY
        self._preferred: str | None = None
        if prefer is not None:
            self.prefer(prefer)
        if api is not None:
            self._api = self._fits_brainstem_org(_settings.check_api(api, self._source))
        self._lock = threading.Lock()

    @property
    def api(self) -> str:
        """The generation, found out the first time it is asked for unless stated."""
        if self._api is None:
            with self._lock:
                if self._api is None:
                    self._api = self._find_api()
        return self._api

    @property
    def known(self) -> str | None:
        """The generation if already stated or found, None otherwise (asks nothing)."""
        return self._api

    @property
    def stated(self) -> bool:
        """Whether the generation was stated (``api=``, ``--api``, a config file)."""
        return self._stated

    @property
    def source(self) -> str:
        """Where a stated generation was stated (``--api 2023``), for messages."""
        return self._source

    def prefer(self, api: str) -> None:
        """Use generation ``api`` if the server speaks it, unless one is stated or known."""
        self._preferred = _settings.check_api(api, "api")

    def _fits_brainstem_org(self, api: str) -> str:
        """``api``, unless the server is brainstem.org and it is not the current one."""
        if _settings.is_brainstem_org(self.server) and api != CURRENT:
            raise UsageError(f"{self.server} speaks the {CURRENT} API, not {api} "
                             f"({self._source}): leave it out or state {CURRENT}")
        return api

    def _find_api(self) -> str:
        stated = _settings.configured_api(self.server)
        if stated is not None:
            self._stated, self._source = True, f'api = "{stated[0]}" in {stated[1]}'
            return self._fits_brainstem_org(stated[0])
        if _settings.is_brainstem_org(self.server):
            return CURRENT
        remembered = _settings.remembered_api(self.server)
        preferred = self._preferred
        if preferred is not None and preferred != remembered:
            # A server may speak both: the user's names choose, if it speaks theirs.
            if self._memory.verified(self.server, preferred) or self._speaks(preferred):
                self._memory.verify(self.server, preferred)
                return preferred
        if remembered is not None:
            return remembered
        found = self._memory.found(self.server)
        if found is not None:
            return found
        order = sorted(GENERATIONS, key=lambda name: name != CURRENT)  # the current first
        found = next((api for api in order if self._speaks(api)), None)
        if found is None:
            # Either probe may have had a 404, or a 200 that is not JSON (a proxy's or a
            # sign-in page): the message must not claim which.
            raise UsageError(f"{self.server} answers neither /api/ nor /rest/ (GET "
                             f"{self.server}/api/private/stem/session/ and .../rest/private/"
                             "stem/dataset/ answered 404, or a page that is not JSON): is it "
                             "a BrainSTEM server?")
        self._memory.remember(self.server, found)
        path = _settings.remember_api(self.server, found)
        log.info("%s speaks the %s API%s", self.server, found,
                 f" (remembered in {path})" if path else "")
        return found

    def _known_to_speak(self, api: str) -> bool:
        """Whether ``api`` is known to fit the server without asking it."""
        if self._memory.verified(self.server, api) or _settings.is_brainstem_org(self.server):
            return True
        if self._memory.found(self.server) == api:
            return True
        return _settings.remembered_api(self.server) == api

    def check_stated(self) -> None:
        """A UsageError if a stated generation is not spoken by the server at all, saying
        what it speaks; nothing when the generation was found out rather than stated, or
        fits, or the probe gets no clear answer.

        Called after a 404 under a stated generation (so that stating costs no request of
        its own), and for a decision a stated generation makes before any request.
        """
        api = self._api
        if not self._stated or api is None or self._known_to_speak(api):
            return
        try:
            if self._speaks(api):
                self._memory.verify(self.server, api)
                return
            other = next(g for g in API_GENERATIONS if g != api)
            spoken = other if self._speaks(other) else None
        except (TransportError, ApiError):
            return  # no clear answer: the request's own error stands
        prefix = GENERATIONS[api].prefix
        if spoken is None:
            raise UsageError(f"{self.server} does not speak the {api} API ({self._source}):"
                             f" it has no /{prefix}/, nor the other generation's")
        raise UsageError(f"{self.server} speaks the {spoken} API, not {api} "
                         f"({self._source}; it has no /{prefix}/): state {spoken} "
                         "or leave it out")
