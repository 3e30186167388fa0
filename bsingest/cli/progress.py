"""The one progress display of ``ingest`` and ``batch``: a line on a terminal's stderr.

On a terminal (and without ``-q``/``--json``) a single rich line is redrawn a few times a
second and cleared when the run ends, so the table that follows stands alone. It shows
something from the first moment (what is being done, and the time spent), records done
with their rate, sessions done, and an ETA only once the totals are final: while sessions
are still being read, every new one moves the goal, and an ETA would be a guess that
only grows. Off a terminal, a batch writes one plain line per finished session.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import click

from .output import quiet, shown, summary

__all__ = ["ProgressLine"]


class ProgressLine:
    """Progress of a run; ``record`` for ingest's callback, the object itself for batch's."""

    def __init__(self, label: str, *, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled and not quiet()
        self.done = 0  # records
        self.planned = 0  # records known so far
        self.sessions_total: int | None = None
        self.sessions_planned = 0  # sessions whose records are known (or that failed first)
        self.sessions_done = 0
        self._t0 = time.monotonic()
        self._lock = threading.Lock()  # called from the upload and session threads
        self._progress: Any = None
        if self.enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                      TimeElapsedColumn(), TextColumn("{task.fields[eta]}"),
                                      console=Console(stderr=True), transient=True,
                                      refresh_per_second=4)
            self._task = self._progress.add_task(self._text(), total=None, eta="")
            self._progress.start()

    # -- the callbacks ------------------------------------------------------------------

    def record(self, result: Any) -> None:
        """One record (or failed file) is done: ``ingest(progress=...)``."""
        with self._lock:
            self.done += 1
            self._redraw(result)

    def __call__(self, kind: str, item: Any) -> None:
        """``batch(progress=...)``: see :func:`bsingest.batch.batch`."""
        with self._lock:
            self._event(kind, item)
            self._redraw()

    def _event(self, kind: str, item: Any) -> None:
        if kind == "sessions":
            self.sessions_total = int(item)
        elif kind == "planned":
            self.planned += int(item)
            self.sessions_planned += 1
        elif kind == "file":
            self.done += 1
        elif kind == "session":
            self.sessions_done += 1
            if item.error and not item.results:  # failed before its files were read
                self.sessions_planned += 1
            # A session's error is said once, under the table (with others that share it).
            counts = summary(item.counts()) if item.results else ""
            state = ", ".join(x for x in (counts, "failed (see below)" if item.error else "")
                              if x)
            line = f"[{self.sessions_done}] {item.session}: {state}"
            self.echo(line)

    def echo(self, line: str) -> None:
        """A line that stays: above the progress line on a terminal, else on stderr."""
        if not self.enabled:
            return
        if self._progress is not None:
            self._progress.console.print(shown(line), highlight=False, markup=False)
        else:
            click.echo(shown(line), err=True)

    def close(self) -> None:
        """Clear the line (idempotent)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # -- drawing ------------------------------------------------------------------------

    def _redraw(self, last: Any = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=self._text(last), eta=self._eta())

    def _text(self, last: Any = None) -> str:
        from rich.markup import escape

        parts = [f"{self.label}:"]
        if not self.done and not self.planned:
            parts.append("reading files, asking the server")
        else:
            total = f"/{self.planned:,}" if self.planned else ""
            parts.append(f"{self.done:,}{total} records")
            elapsed = time.monotonic() - self._t0
            if self.done and elapsed > 0:
                parts.append(f"({self.done / elapsed:.1f}/s)")
        if self.sessions_total is not None:
            parts.append(f"- {self.sessions_done}/{self.sessions_total} sessions")
        if last is not None:
            parts.append(f"- {shown(last.path)}: {last.outcome}")
        return escape(" ".join(parts))

    def _eta(self) -> str:
        final = (self.sessions_total is not None
                 and self.sessions_planned >= self.sessions_total and self.planned > 0)
        elapsed = time.monotonic() - self._t0
        if not final or not self.done or self.done >= self.planned:
            return ""
        left = (self.planned - self.done) * elapsed / self.done
        return f"ETA {int(left) // 60}:{int(left) % 60:02d}"
