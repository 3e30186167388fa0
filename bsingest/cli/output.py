"""Printing for the command line: tables for people, JSON for machines, and where log
lines go (stderr as ``-v``/``-q`` say, or only the ``--log`` file).

Everything shown goes through :func:`shown` (control characters escaped) or
:func:`json_text` (strict JSON).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from bsingest.errors import UsageError
from bsingest.records import finite

VERBOSITY = "bsingest.verbosity"  # in the root context's meta: -1 quiet, 0, 1 (-v), 2 (-vv)
_LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def print_json(data: Any) -> None:
    """Machine output on stdout: strict JSON (see :func:`json_text`), UTF-8 bytes."""
    click.echo(json_text(data).encode("utf-8"))


def json_text(data: Any) -> str:
    """Indented JSON that every parser takes: non-finite numbers become null (JSON has
    no NaN or Infinity), and a file name that is not valid UTF-8 (its bytes kept by
    Python as lone surrogates, ``surrogateescape``) is written as a ``\\udcXX`` escape,
    so the text itself is always valid UTF-8."""
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:  # a NaN or an infinity: walk the data for them only then
        text = json.dumps(finite(data), indent=2, ensure_ascii=False, allow_nan=False,
                          default=str)
    if text.isascii():  # no surrogate to escape (most reports): no pass over the text
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)



_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters a terminal acts on instead of showing: C0/C1 controls (ESC starts an escape
# sequence, CR and newline rewrite or forge lines), the bidirectional overrides and
# isolates (RLO shows 'exe.txt' for 'txt.exe'), and lone surrogates (a name that is not
# valid UTF-8).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")


def shown(value: Any) -> str:
    """``value`` as text safe to print to a terminal or a log: every character a terminal
    would act on is escaped (``\\x1b``, ``\\u202e``; a file name's byte that is not
    UTF-8 as ``\\xff``). The one place that does it: tables, messages and log lines all
    go through here."""
    text = "" if value is None else str(value)
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escaped, text)


def _escaped(m: re.Match[str]) -> str:
    code = ord(m.group())
    if 0xDC80 <= code <= 0xDCFF:
        # A byte of a file name that is not UTF-8 (surrogateescape): shown as that byte,
        # as journal.shown writes it into messages, so a name reads the same everywhere.
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def echo_reasons(kind: str, rows: Sequence[tuple[str, str]], noun: str = "files") -> None:
    """The reasons under a table: each (where, reason) in a line of its own, and a reason
    several rows share once, with how many (``error: ... (12 files)``).

    A reason that starts with the file's name (as extraction errors do) is shown after
    ``where`` (``one/odd.dat: 13 bytes ...``) instead.
    """
    counts: dict[str, int] = {}
    for _, reason in rows:
        counts[reason] = counts.get(reason, 0) + 1
    said: set[str] = set()
    for where, reason in rows:
        if counts[reason] > 1:
            if reason not in said:
                said.add(reason)
                echo_err(f"{_kind(kind, reason)}{reason} ({counts[reason]} {noun})")
            continue
        name = where.rsplit("/", 1)[-1]
        if where and reason.startswith(f"{name}: "):
            reason = reason[len(name) + 2:]
        echo_err(f"{_kind(kind, reason)}{where}: {reason}" if where
                 else f"{_kind(kind, reason)}{reason}")


def _kind(kind: str, reason: str) -> str:
    return "" if reason.startswith(f"{kind}: ") else f"{kind}: "


# Files that come with recordings and that bsingest knows it does not describe: counted in
# one line instead of a "no extractor reads this kind of file" line each (an Open Ephys
# folder has dozens of .npy event files); -v lists them. Patterns match the lower-case
# file name.
_COMPANIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Open Ephys events and timestamps", (
        "*.npy", "sync_messages.txt", "*.events", "*.spikes", "settings*.xml",
        "*.openephys")),
    ("Neuroscope/Klusters spike files", (
        "*.spk", "*.spk.*", "*.clu", "*.clu.*", "*.res", "*.res.*", "*.fet", "*.fet.*",
        "*.evt", "*.evt.*", "*.nrs", "*.mar.*")),
    ("SpikeGLX side files", (
        "*.xd_*.txt", "*.xa_*.txt", "*.xid_*.txt", "*.xia_*.txt", "*_fyi.txt",
        "*_ct_offsets.txt", "*_tcat.*.txt", "*.imec*.txt", "*.nidq.txt")),
    ("DeepLabCut side files", ("*.pickle", "config.yaml", "*.yaml")),
    # Spikes and events beside continuous files (a lone Blackrock .nev: a spike-only run).
    ("Neuralynx/Blackrock spike and event files", ("*.nev", "*.ntt", "*.nse", "*.nst")),
    ("Spike2 resource files", ("*.s2rx",)),
    # Told by the reason, not the name (``trial.3`` is Axona's only beside ``trial.set``).
    ("Axona tetrode spike files", ()),
)
_BY_REASON = {"an Axona tetrode spike file": "Axona tetrode spike files"}


def companion_kind(path: str) -> str | None:
    """The family a known companion file belongs to (see ``_COMPANIONS``), else None."""
    import fnmatch

    name = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    for kind, patterns in _COMPANIONS:
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            return kind
    return None


def echo_skipped(skipped: dict[str, str]) -> None:
    """Files left out, with why; known companions counted in one line (listed with -v)."""
    verbose = _verbosity_now() > 0
    companions: dict[str, int] = {}
    for path, reason in skipped.items():
        kind = None if verbose else (companion_kind(path) or next(
            (k for start, k in _BY_REASON.items() if reason.startswith(start)), None))
        if kind is None:
            echo_err(f"skipped: {path}: {reason}")
        else:
            companions[kind] = companions.get(kind, 0) + 1
    if companions:
        n = sum(companions.values())
        kinds = ", ".join(f"{k}: {companions[k]}" for k, _ in _COMPANIONS if k in companions)
        echo_err(f"skipped {n} companion file{'s' if n > 1 else ''} bsingest does not describe "
                 f"({kinds}; -v lists them)")


def _verbosity_now() -> int:
    ctx = click.get_current_context(silent=True)
    return 0 if ctx is None else int(ctx.find_root().meta.get(VERBOSITY, 0))


def echo_err(text: str) -> None:
    """A message line on stderr, escaped (:func:`shown`)."""
    click.echo(shown(text), err=True)


def print_table(title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]],
                *, err: bool = False) -> None:
    """Columns padded to their widest cell, two spaces apart; every cell escaped.

    Plain text on purpose: rich laid out 20,000 rows in 35 s (the JSON of the same took
    10 s); this costs about what the JSON does. The title and the header are bold on a
    terminal.
    """
    stream = sys.stderr if err else sys.stdout
    cells = [[shown(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row[:len(widths)]):
            if len(cell) > widths[i]:
                widths[i] = len(cell)
    tty = stream.isatty()

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=False)).rstrip()

    out = []
    if title:
        out.append(click.style(shown(title), bold=True) if tty else shown(title))
    head = line(headers)
    out.append(click.style(head, bold=True) if tty else head)
    out += [line(row) for row in cells]
    click.echo("\n".join(out), file=stream)


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
        handler = _Stderr()
        handler.setFormatter(_SafeFormatter(_LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    # httpx says every request at INFO: that is -vv's detail, not what -v asks for.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING if verbosity < 2 else logging.NOTSET)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler that writes to ``sys.stderr`` as it is at each line: while the progress
    line is drawn, rich puts a proxy there that prints log lines above it (a handler that
    kept the stream it was made with would write through the line)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _SafeFormatter(logging.Formatter):
    """Log lines with file names (and anything else) escaped by :func:`shown`; a
    traceback, if any, keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return shown(super().formatMessage(record))


def quiet() -> bool:
    """Whether ``-q`` was given (no progress display, no notices)."""
    return _verbosity_now() < 0


def _level(verbosity: int) -> int:
    return {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        verbosity, logging.DEBUG if verbosity > 1 else logging.ERROR)


def log_to(path: str | None, *, rotate_bytes: int = 0, keep: int = 0) -> None:
    """``--log FILE``: bsingest's log lines go to FILE (appended), and only there;
    ``rotate_bytes``: a new file past that size, ``keep`` old ones (``bsingest watch``).

    The ``bsingest`` logger stops propagating to the root handler (stderr) for the rest
    of the command; ``-v`` still shows its lines on stderr as well. An unwritable FILE is
    a one-line usage error.
    """
    if not path:
        return
    import logging.handlers  # here: a run without --log does not import it (~5 ms)

    try:
        handler: logging.Handler = (
            logging.handlers.RotatingFileHandler(path, maxBytes=rotate_bytes, backupCount=keep,
                                                 encoding="utf-8")
            if rotate_bytes else logging.FileHandler(path, encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--log {path}: cannot write to it ({exc.strerror or exc})") from None
    handler.setFormatter(_SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("bsingest")
    before = (logger.level, logger.propagate)
    added = [handler]
    ctx = click.get_current_context(silent=True)
    verbosity = _verbosity_now()
    if verbosity > 0:  # asked for on stderr too
        echo = _Stderr()
        echo.setLevel(_level(verbosity))
        echo.setFormatter(_SafeFormatter(_LOG_FORMAT))
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


def log_report(report: Any) -> None:
    """One line per file of a session's report, for --log (the rig's morning after)."""
    log = logging.getLogger("bsingest.ingest")
    for r in report.results:
        bad = r.outcome in ("failed", "queued")
        log.log(logging.WARNING if bad else logging.INFO, "%s %s: %s%s%s", report.session,
                r.path, r.outcome, f" ({r.error})" if r.error else "",
                f" [{r.note}]" if getattr(r, "note", None) else "")
    if report.error:
        log.error("%s: %s", report.session, report.error)
    log.info("%s: %s", report.session, summary(report.counts()))
