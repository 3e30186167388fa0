"""MkDocs hooks: pages that are generated from the code, so that they cannot drift.

``<!-- record-types -->`` in a page becomes the record-type table of
:mod:`bsingest.recordtypes` (names in both generations, fields, units);
``<!-- report-checks -->`` the list of the report's checks.
"""

from __future__ import annotations

from typing import Any


def on_page_markdown(markdown: str, **_: Any) -> str:
    for marker, make in (("<!-- record-types -->", record_types_table),
                         ("<!-- report-checks -->", report_checks_list)):
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown


def record_types_table() -> str:
    """The table of every record type, one row each, from the one table in the code."""
    from bsingest.recordtypes import RECORD_TYPES, UNITS

    rows = ["| type (current API) | 2023 name | family | fields (unit inside bsingest) |",
            "|---|---|---|---|"]
    for name, t in RECORD_TYPES.items():
        fields = ", ".join(f"`{f}` ({UNITS[f][0]})" if f in UNITS else f"`{f}`"
                           for f in t.fields)
        legacy = f"`{t.legacy}`" if t.legacy else "none: refused by a 2023 server"
        rows.append(f"| `{name}` | {legacy} | {t.family} | {fields} |")
    return "\n".join(rows)


def report_checks_list() -> str:
    """Every check the report runs, with its title on the page."""
    from bsingest.report.checks import CHECKS

    return "\n".join(f"- `{name}`: {title}" for name, title in CHECKS.items())
