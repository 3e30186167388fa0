"""Exit codes a rig script can act on, and the one rule that picks them."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FAILED", "INTERRUPTED", "OK", "QUEUED", "USAGE", "from_outcomes", "worst"]

OK = 0  # all done
FAILED = 1  # some file, record or session failed
USAGE = 2  # wrong options or settings (click uses 2 as well)
QUEUED = 3  # records wait in the journal: the server could not be reached; run `bsingest push`
INTERRUPTED = 130  # Ctrl-C; running the same command again finishes the work


def from_outcomes(outcomes: Iterable[str], *, error: bool = False) -> int:
    """FAILED if anything (or the run itself) failed, else QUEUED if anything waits, else OK."""
    seen = set(outcomes)
    if error or "failed" in seen:
        return FAILED
    return QUEUED if "queued" in seen else OK


def worst(codes: Iterable[int]) -> int:
    """The code of several runs together (sessions of a batch)."""
    seen = set(codes)
    return FAILED if FAILED in seen else QUEUED if QUEUED in seen else OK
