"""Printing for the command line: tables for people, JSON for machines.

rich draws the tables (and, on a TTY, colours); it is imported on first use.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click


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
