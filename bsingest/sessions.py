"""Sessions that ``--create-session`` makes on a server of the current API, exactly once.

A session is named like its folder (or as ``--session-name`` says), belongs to the
``--project``, and is dated by the recording's start as the files state it: the earliest
``Extraction.start_time`` of its records (the report says which file gave it; with none,
``date_time`` is left empty and the report says so once).

Names are unique on the server, so the name is the session's identity: before every POST
the server is asked for a session of that name, and one found is used, not created again.
The journal holds a row per (server, name), written ``sending`` before the POST goes out:
a run killed between the POST and its answer, or a POST whose answer was lost, leaves a
row that the next run resolves by that look-up, never by a second POST of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .errors import ApiError, NotFound, TransportError, UsageError

if TYPE_CHECKING:
    from .client import BrainstemClient
    from .journal import Journal

__all__ = ["NAME_LIMIT", "SessionOutcome", "ensure_session", "is_text", "recording_start"]

log = logging.getLogger(__name__)

MODEL = "stem/session"
NAME_LIMIT = 100  # characters, as the server allows


@dataclass(frozen=True, slots=True)
class SessionOutcome:
    """What ``--create-session`` did: ``created``, ``existing`` (found by name, or known
    from the journal), or ``would-create`` in a dry run."""

    name: str
    id: str | None
    outcome: str
    date_time: str | None = None
    date_time_from: str | None = None  # "path: how the file states it"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.id, "outcome": self.outcome,
                "date_time": self.date_time, "date_time_from": self.date_time_from}

    def describe(self) -> str:
        """One line for the report."""
        verb = {"created": "created", "existing": "found existing",
                "would-create": "would create"}.get(self.outcome, self.outcome)
        when = (f", recorded {self.date_time} (from {self.date_time_from})" if self.date_time
                else ", date_time left empty: no file states when the recording started")
        return f"session {self.name!r}: {verb}{f' ({self.id})' if self.id else ''}{when}"


def recording_start(starts: list[tuple[str, str, str]]) -> tuple[str | None, str | None]:
    """The earliest start time of (start, path, detail) triples, and where it came from.

    Times with an offset are compared in UTC; times without one (local time where the rig
    stood) as they are; a mix compares the naive ones as if in UTC.
    """
    best: tuple[datetime, str, str, str] | None = None
    for when, path, detail in starts:
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            log.warning("%s: start time %r is not ISO 8601; ignored", path, when)
            continue
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        if best is None or moment < best[0]:
            best = (moment, when, path, detail)
    if best is None:
        return None, None
    _, when, path, detail = best
    return when, f"{path}: {detail}" if detail else path


def ensure_session(client: BrainstemClient, journal: Journal | None, server_key: str, *,
                   name: str, project: str, folder: str,
                   starts: list[tuple[str, str, str]], dry_run: bool = False,
                   attempts: int = 6) -> SessionOutcome:
    """The session called ``name``: found (by the journal's id, else by name) or created.

    Raises ``TransportError``/``ServerError``/``RateLimited`` when the server cannot say
    whether it exists (the caller queues the session's records), ``ApiError`` when it
    refuses the session (another project's, no change rights).
    """
    if not name or len(name) > NAME_LIMIT:
        raise UsageError(f"session name {name!r}: 1 to {NAME_LIMIT} characters "
                         "(--session-name)")
    if not is_text(name):
        # Bytes that are not UTF-8 (a folder's name, --session-name from a shell in another
        # encoding) reach Python as lone surrogates: the POST body's encoding raised a
        # UnicodeEncodeError traceback.
        raise UsageError(f"session name {name!r} is not valid UTF-8 text: give "
                         "--session-name (or session_name in bsingest.toml)")
    date_time, source = recording_start(starts)
    row = journal.session(server_key, name) if journal is not None else None
    if row is not None and row.state == "uploaded" and row.server_id:
        try:  # the id survives a rename on the server; the name would not
            client.get_session(row.server_id)
            return SessionOutcome(name, row.server_id, "existing", date_time, source)
        except NotFound:
            log.info("session %s (%s) is gone from the server; looking by name", name,
                     row.server_id)
    found = _find(client, name)
    if found is not None:
        if journal is not None:
            journal.mark_session(server_key, name, project, folder, "uploaded", server_id=found)
        return SessionOutcome(name, found, "existing", date_time, source)
    if dry_run or journal is None:
        return SessionOutcome(name, None, "would-create", date_time, source)
    body: dict[str, Any] = {"name": name, "projects": [project]}
    if date_time:
        body["date_time"] = date_time
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        # Written before the POST goes out: if we die now, the next run looks first.
        journal.mark_session(server_key, name, project, folder, "sending", attempt=True)
        try:
            created = client.create(MODEL, body)
        except (TransportError, ApiError) as exc:
            last = exc
            # Unknown outcome (no answer, 5xx), or a refusal that may mean "that name is
            # taken" (a run elsewhere, a write that landed late): look before anything else.
            found = _find(client, name)
            if found is None and not _refused(exc):
                journal.mark_session(server_key, name, project, folder, "pending",
                                     error=str(exc))
                _pause(client, attempt, exc)
                found = _find(client, name)  # a POST a gateway timed out on may land late
            if found is not None:
                journal.mark_session(server_key, name, project, folder, "uploaded",
                                     server_id=found)
                return SessionOutcome(name, found, "created", date_time, source)
            if _refused(exc):
                journal.mark_session(server_key, name, project, folder, "failed",
                                     error=str(exc))
                raise
            continue
        server_id = str(created.get("id"))
        journal.mark_session(server_key, name, project, folder, "uploaded", server_id=server_id)
        return SessionOutcome(name, server_id, "created", date_time, source)
    assert last is not None
    raise last


def is_text(text: str) -> bool:
    """Whether ``text`` can be sent as UTF-8 (no lone surrogate from bytes that were not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _find(client: BrainstemClient, name: str) -> str | None:
    found = client.find_session_by_name(name)
    return str(found["id"]) if found else None


def _refused(exc: Exception) -> bool:
    """An answer that wrote nothing and will not change on retry (4xx but 408/429)."""
    return isinstance(exc, ApiError) and 400 <= exc.status < 500 and exc.status not in (408, 429)


def _pause(client: BrainstemClient, attempt: int, exc: Exception) -> None:
    policy = client.retry
    if policy.wait:
        policy.sleep(policy.delay(attempt, getattr(exc, "retry_after", None)))
