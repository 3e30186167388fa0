"""The one exception tree of bsingest.

Every error bsingest raises on purpose derives from :class:`BsingestError`, so the
command line catches that one class at its boundary and prints a one-line message;
anything else is a bug and keeps its traceback::

    BsingestError
    ├── UsageError                 wrong or missing options, settings, config
    │   └── ManifestError          a batch manifest's rows that cannot run (a line each)
    ├── ExtractionError            a file could not be described (names the file)
    │   ├── UnsupportedFile        no extractor, or more than one, claims the file
    │   ├── NothingToDescribe      the file is a family's, but holds nothing a record
    │   │                          describes (an annotations-only EDF, a DICOMDIR): skipped
    │   └── SidecarError           a sidecar (XML, meta, oebin) is missing or malformed
    ├── RecordInvalid              a record breaks the contract's rules (lists every problem)
    ├── ApiError                   the server answered with an error status
    │   ├── AuthError              401/403: no, bad or insufficient token
    │   ├── NotFound               404
    │   ├── Rejected               400: per-field messages in ``fields``
    │   ├── RateLimited            429 (after retries)
    │   ├── ServerError            5xx
    │   └── BadAnswer              2xx, but not what the contract says: not JSON, no
    │                              records, a record without a UUID id, pages that repeat
    ├── TransportError             no answer: connection refused, reset, timeout
    ├── SignInError                the device sign-in ended without a token (denied, expired)
    └── JournalError               the local outbox cannot be read or written

Messages are one line, name the file or the method and URL, and never contain a token.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

__all__ = [
    "ApiError",
    "AuthError",
    "BadAnswer",
    "BsingestError",
    "ExtractionError",
    "JournalError",
    "ManifestError",
    "NotFound",
    "NothingToDescribe",
    "RateLimited",
    "RecordInvalid",
    "Rejected",
    "ServerError",
    "SidecarError",
    "SignInError",
    "TransportError",
    "UnsupportedFile",
    "UsageError",
]

#: Response bodies are cut to this many characters in messages.
BODY_LIMIT = 1024


class BsingestError(Exception):
    """Base of every error bsingest raises on purpose."""


class UsageError(BsingestError):
    """Options, settings or configuration are wrong or missing."""


class ManifestError(UsageError):
    """Rows of a batch manifest that cannot run: ``lines``, one per row, each naming the
    row (``m.csv:3``), its session folder and the reason."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = tuple(lines)
        super().__init__("; ".join(self.lines))


class ExtractionError(BsingestError):
    """A file could not be described; the message starts with the file's name."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{os.path.basename(self.path) or self.path}: {reason}")


class UnsupportedFile(ExtractionError):
    """No extractor claims the file, or several do and none is more specific."""


class NothingToDescribe(ExtractionError):
    """The file is its family's, but holds nothing a record describes; ``reason`` says why.

    A folder listing skips such a file with the reason (an EDF+ hypnogram beside its
    recording, a DICOMDIR index beside its images); given by name it is this error.
    """


class SidecarError(ExtractionError):
    """A sidecar the file needs is missing, unsafe or malformed."""


class RecordInvalid(BsingestError):
    """A record breaks the contract; ``problems`` lists every one of them."""

    def __init__(self, problems: Iterable[str], subject: str = "record") -> None:
        self.problems = list(problems)
        self.subject = subject
        super().__init__(f"{subject}: " + "; ".join(self.problems))


class ApiError(BsingestError):
    """The server answered with an error status."""

    def __init__(self, method: str, url: str, status: int, body: str = "") -> None:
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        super().__init__(self._message())

    def _message(self) -> str:
        detail = _cut(self.body)
        suffix = f": {detail}" if detail else ""
        return f"{self.method} {self.url} answered {self.status}{suffix}"


class AuthError(ApiError):
    """401 or 403: the token is missing, wrong, or may not do this."""


class NotFound(ApiError):
    """404: no such record, or not visible on this portal."""


class Rejected(ApiError):
    """400: the server refused the data; ``fields`` maps each field to its messages."""

    def __init__(
        self,
        method: str,
        url: str,
        status: int,
        body: str = "",
        fields: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.fields = dict(fields or {})
        super().__init__(method, url, status, body)

    def _message(self) -> str:
        if not self.fields:
            return super()._message()
        parts = [f"{k}: {' '.join(map(str, v))}" for k, v in self.fields.items()]
        return f"{self.method} {self.url} answered {self.status}: " + _cut("; ".join(parts))


class RateLimited(ApiError):
    """429 that outlasted the retries."""


class ServerError(ApiError):
    """5xx: the server failed; for a POST the write may or may not have happened."""


class BadAnswer(ApiError):
    """A success status whose body the contract does not allow (not JSON, a list where an
    object belongs, no record, a record without a UUID ``id``, pages that repeat).

    Nothing can be concluded from it: a proxy's page may stand for a request that never
    reached the service, or for one that did. A write answered so has an unknown outcome
    (the uploader reads it back); a read answered so leaves the records queued.
    """


class TransportError(BsingestError):
    """No usable answer: connection refused or dropped, or a timeout."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        self.method = method
        self.url = url
        self.reason = reason
        super().__init__(f"{method} {url} failed: {reason}")


class SignInError(BsingestError):
    """The device sign-in ended without a token: denied, expired, or its code already used."""


class JournalError(BsingestError):
    """The local outbox (journal) cannot be opened, read or written."""


#: The server did not give a usable answer: none (TransportError), 5xx or 429 that
#: outlasted the retries, or a 2xx the contract does not allow (BadAnswer: a proxy's page,
#: an envelope without the record), which proves nothing either way. It is down or
#: overloaded, not refusing the records: they stay queued in the journal (exit 3) rather
#: than fail. Caught as one by ingest, the uploader and watch (not in ``__all__``, which
#: lists the tree's classes, for users to catch by name).
UNAVAILABLE: tuple[type[BsingestError], ...] = (TransportError, ServerError, RateLimited,
                                                BadAnswer)


def _cut(text: str, limit: int = BODY_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more]"
