"""The rule for an ID that goes into a URL, without the client.

Apart from :mod:`bsingest.client` so that checking a manifest's IDs, before anything is
sent, does not import httpx: ``bsingest batch`` starts its reader processes after that
check, and every millisecond before them is a millisecond before the first upload
(benchmarks/RESULTS.md, issue 25).
"""

from __future__ import annotations

import uuid

from .errors import UsageError
from .recordtypes import is_uuid

__all__ = ["check_id"]


def check_id(value: object, what: str = "id") -> str:
    """``value`` if it is a UUID (lower-cased), else a :class:`UsageError` naming ``what``.

    Every id goes into a URL path: anything else (``../../stem/dataset/<uuid>``, a
    ``?``, a ``#``) would address another resource than the one meant.
    """
    if not isinstance(value, str) or not is_uuid(value):  # the one UUID rule
        shown = value if isinstance(value, str) and len(value) <= 80 else f"{str(value)[:80]}..."
        raise UsageError(f"{what} {shown!r} is not a UUID (like "
                         "1f7f103b-e949-405a-9b01-ddda3b2f10cf)")
    return str(uuid.UUID(value))
