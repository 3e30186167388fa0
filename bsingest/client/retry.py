"""The retry policy: which requests are tried again, how long to wait, and ``Retry-After``.

GET, PATCH and DELETE are retried on connection errors, timeouts, 429, 500, 502, 503 and
504, with exponential back-off and full jitter, honouring ``Retry-After``, for a bounded
number of attempts; then the last error goes through. A POST is never retried: a create
that failed without an answer may have happened, and only the caller (the ingest
pipeline) can look for it before trying again. The loop that applies the policy is
:meth:`bsingest.client.http.HttpClient._request`.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

__all__ = ["IDEMPOTENT", "RetryPolicy", "parse_retry_after"]

#: The methods that may be sent again when an attempt's outcome is unknown.
IDEMPOTENT = frozenset({"GET", "PATCH", "DELETE", "HEAD", "PUT"})


@dataclass(frozen=True)
class RetryPolicy:
    """How GET, PATCH and DELETE are retried (POST never is).

    Attempt ``n`` (1-based) that failed waits ``min(cap, base * 2**(n-1))``, drawn
    uniformly from ``[0, that]`` when ``jitter`` (full jitter), or the server's
    ``Retry-After`` when it sent one and that is longer. A ``Retry-After`` above
    ``max_retry_after`` is not waited for: the error goes through at once.
    ``wait=False`` removes every wait (tests); ``sleep`` is the function that waits.
    """

    attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    jitter: bool = True
    wait: bool = True
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        backoff = min(self.cap, self.base * 2 ** (attempt - 1))
        if self.jitter:
            backoff = random.uniform(0, backoff)
        return max(backoff, retry_after or 0.0)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
