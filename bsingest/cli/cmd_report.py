"""``bsingest report``: a session at a glance; checks across modalities, an HTML page."""

from __future__ import annotations

import click

from bsingest import exitcodes

from .output import print_json, print_table


@click.command("report")
@click.argument("session_dir", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the report as one self-contained HTML page (timeline, records, "
                   "findings) to FILE.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the records and findings as JSON on stdout, for scripts.")
@click.option("--strict", is_flag=True, help="Exit 1 when any finding is an error.")
@click.pass_context
def report_cmd(ctx: click.Context, session_dir: str, output: str | None, as_json: bool,
               strict: bool) -> None:
    """Check a session's recordings against each other; upload nothing, write nothing there.

    Reads every file as `bsingest extract` does and checks: that the modalities of the
    session last as long as each other (tolerance: [report] duration_tolerance in
    bsingest.toml, default 2 s or 1%); that the streams one acquisition system wrote agree
    (a Neuroscope .dat and its .lfp, Intan files of one recording, SpikeGLX AP/LF/NIDQ of
    one run, Open Ephys streams of one recording); video frame counts; sampling rates the
    system cannot produce; truncation the extractors found. Each finding says its severity
    (error, warning, info), the values compared and why it matters.

    \b
    Examples:
      bsingest report examples/session -o report.html
      bsingest report /data/rat01/day3 --json --strict

    Exit codes: 0 done (findings or not), 1 a file could not be read or (--strict) an
    error finding, 2 usage error.
    """
    from bsingest.report import build_report, write_html

    report = build_report(session_dir)
    if report.error:  # a bad bsingest.toml: a usage error, said in one line
        from bsingest.errors import UsageError

        raise UsageError(report.error)
    if output:
        write_html(output, reports=[report])
    if as_json:
        print_json(report.to_json())
    else:
        _print(report, output)
    failed = bool(report.failed) or (strict and report.has_errors)
    ctx.exit(exitcodes.FAILED if failed else exitcodes.OK)


def _print(report, output: str | None) -> None:  # type: ignore[no-untyped-def]
    from bsingest.report.checks import CHECKS
    from bsingest.report.model import visible

    rows = [(f.severity.value, CHECKS.get(f.check, f.check), visible(f.message))
            for f in report.findings]
    if rows:
        print_table(f"{report.name}: findings", ("severity", "check", "finding"), rows)
    counts = report.counts()
    click.echo(f"{len(report.records)} records, {len(report.checks)} checks: "
               f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} notes"
               + (f"; report written to {output}" if output else ""), err=True)
