"""Printing for the command line: tables for people, JSON for machines, and where log
lines go (stderr as ``-v``/``-q`` say, or only the ``--log`` file).

rich draws the tables (and, on a TTY, colours); it is imported on first use.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from bsingest.errors import UsageError

VERBOSITY = "bsingest.verbosity"  # in the root context's meta: -1 quiet, 0, 1 (-v), 2 (-vv)
_LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def print_json(data: Any) -> None:
    """Machine output on stdout: indented, UTF-8, nothing else on the stream."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_table(title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]],
                *, err: bool = False) -> None:
    """A readable table; plain text when the stream is not a terminal."""
    from rich.console import Console
    from rich.table import Table

    stream = sys.stderr if err else sys.stdout
    console = Console(file=stream, soft_wrap=False, width=None if stream.isatty() else 160)
    if title:  # a heading line of its own: rich would wrap a title to the table's width
        console.print(title, style="bold", highlight=False)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for h in headers:
        table.add_column(h, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def fmt_number(value: Any) -> str:
    """Numbers for tables: thousands separators, rates without a trailing .0."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}" if not value.is_integer() else f"{int(value):,}"
    return str(value)


def summary(counts: dict[str, int]) -> str:
    """``3 created, 1 failed`` (by name), or ``no records``."""
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no records"


def echo_queued(counts: dict[str, int]) -> None:
    """The hint a run that left records queued ends with."""
    if counts.get("queued"):
        click.echo(f"queued {counts['queued']} records; run bsingest push", err=True)


# -- log lines: -v/-q (before or after the subcommand) and --log FILE ----------------------


def verbosity_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-v``/``-q`` on a subcommand too (``bsingest ingest DIR -v``), as on the group."""
    f = click.option("-q", "--quiet", count=True, expose_value=False, callback=_verbosity,
                     help="Quieter: only errors in the log on stderr, no progress display.")(f)
    return click.option("-v", "--verbose", count=True, expose_value=False, callback=_verbosity,
                        help="More log output on stderr (-vv for debug).")(f)


def _verbosity(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        meta = ctx.find_root().meta
        now = meta.get(VERBOSITY, 0)
        meta[VERBOSITY] = -1 if param.name == "quiet" else max(now, 0) + value
        set_verbosity(meta[VERBOSITY])


def set_verbosity(verbosity: int) -> None:
    """Log lines on stderr: errors only (-1), warnings (0), info (1), debug (2 and more)."""
    level = _level(verbosity)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format=_LOG_FORMAT)
    root.setLevel(level)


def quiet() -> bool:
    """Whether ``-q`` was given (no progress display, no notices)."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.find_root().meta.get(VERBOSITY, 0) < 0


def _level(verbosity: int) -> int:
    return {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        verbosity, logging.DEBUG if verbosity > 1 else logging.ERROR)


def log_to(path: str | None) -> None:
    """``--log FILE``: bsingest's log lines go to FILE (appended), and only there.

    The ``bsingest`` logger stops propagating to the root handler (stderr) for the rest
    of the command; ``-v`` still shows its lines on stderr as well. An unwritable FILE is
    a one-line usage error.
    """
    if not path:
        return
    try:
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--log {path}: cannot write to it ({exc.strerror or exc})") from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("bsingest")
    before = (logger.level, logger.propagate)
    added = [handler]
    verbosity = 0
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        verbosity = ctx.find_root().meta.get(VERBOSITY, 0)
    if verbosity > 0:  # asked for on stderr too
        echo = logging.StreamHandler(sys.stderr)
        echo.setLevel(_level(verbosity))
        echo.setFormatter(logging.Formatter(_LOG_FORMAT))
        added.append(echo)
    for h in added:
        logger.addHandler(h)
    logger.propagate = False
    logger.setLevel(min(logging.INFO, _level(verbosity)))

    def restore() -> None:  # CliRunner runs many commands in one process
        for h in added:
            logger.removeHandler(h)
            h.close()
        logger.setLevel(before[0])
        logger.propagate = before[1]

    if ctx is not None:
        ctx.call_on_close(restore)
