"""The BrainSTEM REST client: one pooled ``httpx.Client``, errors from ``bsingest.errors``.

It speaks both generations of the API (``brainstem-api.md``, ``brainstem-api-2026.md``)::

    2023:  {server}/rest/{portal}/{app}/{model}/[{id}/]   Authorization: Token <key>
    2026:  {server}/api/{portal}/{app}/{model}/[{id}/]    Authorization: Bearer <token>

One module per part, :class:`BrainstemClient` joining them (``brainstem``):

- ``http``: the HTTP boundary (:class:`~.http.HttpClient`): the pooled connection,
  requests and their retries, paging, the one place httpx exceptions become ours;
- ``urls``: what may go into a URL (the server's base URL, model paths, ids: UUIDs only);
- ``answers``: records out of their envelopes, error bodies for messages (masked);
- ``retry``: the :class:`RetryPolicy` and ``Retry-After``;
- ``discovery``: which generation the server speaks (stated, configured, remembered,
  probed), learnt into an injectable :class:`ApiMemory` (:data:`MEMORY` by default);
- ``lookups``: the typed look-ups of the pipeline (a container's records, by id, by name);
- ``signin``: the device sign-in (2026) and the password token (2023).

Every name below is importable from ``bsingest.client`` as before the split.
"""

from __future__ import annotations

from ..generations import GENERATIONS, Generation
from . import _httpx  # noqa: F401  (before anything imports httpx: see there)
from .answers import ENVELOPES
from .brainstem import BrainstemClient
from .discovery import MEMORY, ApiMemory
from .http import PAGE_SIZE
from .retry import RetryPolicy
from .signin import DeviceAuthorization, obtain_token, open_browser, wait_for_device_token
from .urls import LOOPBACK_HOSTS, MODELS, check_id, check_server_url, model_path

__all__ = [
    "ENVELOPES",
    "GENERATIONS",
    "LOOPBACK_HOSTS",
    "MEMORY",
    "MODELS",
    "PAGE_SIZE",
    "ApiMemory",
    "BrainstemClient",
    "DeviceAuthorization",
    "Generation",
    "RetryPolicy",
    "check_id",
    "check_server_url",
    "model_path",
    "obtain_token",
    "open_browser",
    "wait_for_device_token",
]
