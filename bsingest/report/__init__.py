"""A session at a glance: every record's duration and start, checks across modalities, and a
self-contained HTML page with a timeline (``bsingest report``, ``--report-html``).

The report extracts the session as ``ingest`` does (the same per-file rules from
``bsingest.toml``), then runs the checks of :mod:`bsingest.report.checks` on what the
extractors found. Nothing is uploaded and nothing in the session folder is written.

Settings, in the session's ``bsingest.toml`` (or the user's config file)::

    [report]
    duration_tolerance = 2             # seconds modalities may differ by at least
    duration_tolerance_fraction = 0.01 # ... or this fraction of the longer one
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bsingest.errors import BsingestError, UsageError

from .checks import CHECKS, run_checks
from .model import CheckRun, Finding, RecordView, ReportSettings, SessionReport, Severity

__all__ = ["CHECKS", "CheckRun", "Finding", "RecordView", "ReportSettings", "SessionReport",
           "Severity", "build_report", "report_settings", "write_html"]

_SETTING_KEYS = {"duration_tolerance", "duration_tolerance_fraction"}


def build_report(session_dir: str | os.PathLike[str], *, settings: ReportSettings | None = None,
                 jobs: int | None = None) -> SessionReport:
    """Extract ``session_dir`` and check it; see the module docstring.

    A session that cannot be read at all (no such folder, a bad ``bsingest.toml``) gives a
    report with ``error`` set rather than an exception, so a batch page shows it.
    """
    from bsingest.extraction import extract_or_error
    from bsingest.sessionconfig import load_options
    from extractors import discover

    session = Path(session_dir)
    report = SessionReport(str(session))
    try:
        if not session.is_dir():
            raise UsageError(f"{session}: not a folder")
        report.settings = settings or report_settings(session)
        options = load_options(session)
    except BsingestError as exc:
        report.error = str(exc)
        report.findings.append(Finding(Severity.ERROR, "unreadable", str(exc), (),
                                       {"session": str(session)},
                                       "The session could not be read at all."))
        return report
    found = discover(session)
    report.skipped = {_rel(session, p): reason for p, reason in found.skipped.items()}

    def one(path: Path) -> tuple[Path, list[Any], str | None]:
        rule = options.for_file(_rel(session, path))
        extractions, error = extract_or_error(path, record_type=rule.record_type, **rule.stated)
        return path, extractions, error

    workers = jobs or min(8, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bsingest-report") as pool:
        for path, extractions, error in pool.map(one, found.data):
            report.records += [RecordView.from_extraction(x.relative_to(session))
                               for x in extractions]
            if error is not None:
                report.failed[_rel(session, path)] = error
    report.findings, report.checks = run_checks(report.records, report.failed, report.settings)
    return report


def report_settings(session_dir: str | os.PathLike[str] | None = None) -> ReportSettings:
    """``[report]`` from the user's config file, then the session's ``bsingest.toml``."""
    from bsingest.sessionconfig import SESSION_FILE
    from bsingest.settings import config_file, present, read_toml

    values: dict[str, float] = {}
    files = [config_file()]
    if session_dir is not None:
        files.append(Path(session_dir) / SESSION_FILE)
    for f in files:
        if not present(f):  # a folder or a broken link there is said, not skipped
            continue
        table = read_toml(f).get("report", {})  # one line for any unreadable file
        if not isinstance(table, dict):
            raise UsageError(f"{f}: report must be a table ([report])")
        unknown = set(table) - _SETTING_KEYS
        if unknown:
            raise UsageError(f"{f}: [report] has unknown keys {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(sorted(_SETTING_KEYS))})")
        for key, value in table.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0 \
                    or value == float("inf"):
                raise UsageError(f"{f}: [report] {key} = {value!r}: expected a number >= 0")
            values[key] = float(value)
    return ReportSettings(**values)


def write_html(path: str | os.PathLike[str], sessions: Sequence[str | os.PathLike[str]] | None
               = None, *, reports: Sequence[SessionReport] | None = None) -> list[SessionReport]:
    """Write the HTML page for one session, or a batch page for several; return the reports.

    ``sessions`` are folders to report on (each extracted and checked); ``reports`` are
    reports already built. Raises :class:`BsingestError` when the file cannot be written.
    """
    from .html import render

    built = list(reports or []) + [build_report(s) for s in sessions or ()]
    text = render(built, batch=len(built) != 1)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BsingestError(f"{path}: cannot write the report: {exc.strerror or exc}") from exc
    return built


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name
