"""``bsingest ingest``, ``bsingest push`` and ``bsingest status``: the upload side."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bsingest import exitcodes

from .options import (
    EXISTING,
    WAIT,
    PositiveFinite,
    journal_option,
    server_option,
    stated_arguments,
    stated_options,
)
from .output import (
    echo_err,
    echo_queued,
    echo_skipped,
    log_report,
    log_to,
    print_json,
    print_table,
    quiet,
    shown,
    summary,
)
from .progress import ProgressLine

_INTERRUPTED = "interrupted: {again} to finish; the journal remembers what was done"
_NOTES_SHOWN = 10  # notes (e.g. a twin another run created was removed) printed under a table
_NOTICE_LOCAL = ("No server configured: using the local BrainSTEM-compatible demo server "
                 "(data in {db}).")


def _link_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """What the records link to, in both API generations' names."""
    for option in reversed((
        click.option("--session", metavar="UUID",
                     help="The session the records belong to (current BrainSTEM API)."),
        click.option("--procedure", "procedures", multiple=True, metavar="UUID",
                     help="A procedure the records link to (repeat for several)."),
        click.option("--equipment", multiple=True, metavar="UUID",
                     help="Equipment used (repeat for several)."),
        click.option("--notes", help="Notes for every record (at most 500 characters)."),
        click.option("--create-session", is_flag=True,
                     help="Create the session (named like the folder) in --project when "
                          "none of that name exists; dated by the recording's start."),
        click.option("--project", metavar="UUID",
                     help="The project --create-session creates the session in."),
        click.option("--session-name", metavar="NAME",
                     help="The name of the session --create-session finds or creates "
                          "(default: the folder's name)."),
        click.option("--dataset", metavar="UUID",
                     help="2023 API: the dataset the records belong to."),
        click.option("--action", "actions", multiple=True, metavar="UUID",
                     help="2023 API: an action the records link to (repeatable)."),
        click.option("--hardware-device", metavar="UUID",
                     help="2023 API: the hardware device used."),
        click.option("--description",
                     help="2023 API: a description for every record (at most 500 characters)."),
    )):
        f = option(f)
    return f


#: The keyword arguments of ingest() that _link_options gives.
_LINKS = ("session", "procedures", "equipment", "notes", "create_session", "project",
          "session_name", "dataset", "actions", "hardware_device", "description")


@click.command("ingest")
@click.argument("session_dir", type=click.Path(exists=True, file_okay=False))
@_link_options
@click.option("--type-map", multiple=True, metavar="GLOB=TYPE",
              help="Record type for matching files, e.g. '*.lfp=GeneralTimeSeries'.")
@click.option("--existing", type=EXISTING,
              help="A record the session (2023: dataset) already holds with other values: "
                   "skip it (default), update it, or report an error.")
@click.option("--dry-run", is_flag=True,
              help="Show what would be created, updated and skipped; write nothing anywhere.")
@server_option
@journal_option
@click.option("--settle", type=WAIT, metavar="SECONDS",
              help="First wait until no file has changed for this long (rig hooks).")
@click.option("--lock-timeout", type=PositiveFinite(zero=True), default=600, show_default=True,
              metavar="SECONDS", help="How long to wait for another run on the same session.")
@click.option("--log", "log_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Append a log of the run to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@stated_options
@click.option("--report-html", metavar="FILE", type=click.Path(dir_okay=False),
              help="Also write the session's report page (bsingest report) to FILE.")
@click.pass_context
def ingest_cmd(ctx: click.Context, session_dir: str, type_map: tuple[str, ...],
               existing: str | None, dry_run: bool, server: str | None, api: str | None,
               allow_insecure_http: bool, journal: str | None, settle: float | None,
               lock_timeout: float, log_file: str | None, as_json: bool,
               report_html: str | None, **links: Any) -> None:
    """Create a session's data acquisition records on BrainSTEM, exactly once.

    Reads every recognised file in SESSION_DIR, builds and validates a record per file,
    checks that the session, procedures and equipment exist, compares with what the
    session already holds, and creates what is missing. Anything not yet on the server
    waits in the journal; a re-run, or `bsingest push`, finishes it. Running it again on
    an unchanged session changes nothing.

    A server of the 2023 API (Experiment Data) takes --dataset, --action,
    --hardware-device and --description instead of --session, --procedure, --equipment
    and --notes. IDs and per-file overrides can live in SESSION_DIR/bsingest.toml, so a
    rig hook can run `bsingest ingest DIR` alone. Files without a sidecar take what
    `extract` takes (--n-channels, --sr, --dtype, --lsb, --type), for every file here, or
    per glob in bsingest.toml's [[files]] tables.

    \b
    Examples:
      bsingest ingest examples/session                  (local demo server)
      bsingest ingest /data/rat01/day3 --session UUID --procedure UUID \\
          --server https://www.brainstem.org --settle 30 --log ingest.log
      bsingest ingest /data/rat01/day4 --create-session --project UUID --procedure UUID

    Exit codes: 0 all done, 1 some files failed, 2 usage error, 3 queued for later
    (the server could not be reached; run `bsingest push`), 130 interrupted (Ctrl-C).
    """
    from bsingest.generations import implied_by
    from bsingest.ingest import Run, check_usage, ingest, options_for
    from bsingest.sessionconfig import SESSION_FILE
    from bsingest.target import (
        HOW_TO_USE_BRAINSTEM,
        configured_api,
        configured_server,
        local_db_path,
        open_target,
    )

    log_to(log_file)
    # Every usage error is found here, before the server is asked anything.
    options = options_for(session_dir, **{k: links[k] for k in _LINKS}, existing=existing,
                          type_map=type_map, server=server, settle=settle, **stated_arguments(ctx))
    chosen = configured_server(server, options.server)
    stated = configured_api(api, options.api, chosen,
                            session_source=str(Path(session_dir) / SESSION_FILE)) or (None, None)
    check_usage(options, stated[0], stated[1])
    implied = implied_by(options.given)
    with open_target(chosen, portal=options.portal, allow_insecure_http=allow_insecure_http,
                     read_only=dry_run, api=stated[0], api_source=stated[1],
                     prefer=implied.name if implied else None) as target:
        if target.local is not None and not as_json and not quiet():
            click.echo(_NOTICE_LOCAL.format(db=local_db_path()), err=True)
        line = ProgressLine("ingest", enabled=not as_json)
        try:
            report = ingest(session_dir, options, target.client, run=Run(
                dry_run=dry_run, journal=journal, server_key=target.server_key,
                lock_timeout=lock_timeout, progress=line.record))
        except KeyboardInterrupt:
            line.close()
            again = "run the same command again (or bsingest push)"
            click.echo(f"\n{_INTERRUPTED.format(again=again)}", err=True)
            ctx.exit(exitcodes.INTERRUPTED)
        line.close()
        if as_json:
            print_json(report.to_json())
        else:
            _print_ingest(report)
            if target.local is not None:
                _print_server_records(target.client, report)
                click.echo(HOW_TO_USE_BRAINSTEM, err=True)
    if log_file:
        log_report(report)
    if report_html:  # the page of `bsingest report`
        from bsingest.report import write_html

        write_html(report_html, [session_dir])
    ctx.exit(report.exit_code)


@click.command("push")
@server_option
@journal_option
@click.option("--dataset", "--session", "dataset", metavar="UUID",
              help="Only this dataset's (or session's) records.")
@click.option("--existing", type=EXISTING,
              help="A record the session (2023: dataset) already holds with other values "
                   "(default: what the run that queued it asked for).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
@click.pass_context
def push_cmd(ctx: click.Context, server: str | None, api: str | None,
             allow_insecure_http: bool, journal: str | None, dataset: str | None,
             existing: str | None, as_json: bool) -> None:
    """Upload what the journal still holds for a server (after exit code 3).

    Exit codes: 0 nothing left, 1 some records failed, 3 still queued, 130 interrupted.
    """
    from bsingest.ingest import push
    from bsingest.journal import Journal
    from bsingest.target import configured_api, configured_server, open_target

    chosen = configured_server(server)
    stated = configured_api(api, None, chosen) or (None, None)
    with Journal(journal) as jr, open_target(chosen, allow_insecure_http=allow_insecure_http,
                                             api=stated[0], api_source=stated[1]) as target:
        try:
            results = push(client=target.client, journal=jr, dataset=dataset,
                           existing=existing, server_key=target.server_key)
        except KeyboardInterrupt:
            click.echo(f"\n{_INTERRUPTED.format(again='run bsingest push again')}", err=True)
            ctx.exit(exitcodes.INTERRUPTED)
    outcomes = [r.outcome for r in results]
    if as_json:
        print_json([r.to_json() for r in results])
    elif results:
        _print_results(None, results)
    else:
        click.echo("nothing to push", err=True)
    code = exitcodes.from_outcomes(outcomes)
    if code == exitcodes.QUEUED and not as_json:
        click.echo(f"still queued: {outcomes.count('queued')} records; run bsingest push "
                   "again when the server is back", err=True)
    ctx.exit(code)


@click.command("status")
@journal_option
@click.option("--server", metavar="URL", help="Only this server's rows ('local': the demo).")
@click.option("--dataset", "--session", "dataset", metavar="UUID",
              help="Only this dataset's (or session's) rows.")
@click.option("--all", "show_all", is_flag=True, help="List uploaded rows too.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def status_cmd(journal: str | None, server: str | None, dataset: str | None, show_all: bool,
               as_json: bool) -> None:
    """Show the journal: counts per session (2023: dataset) and state, and what is not
    uploaded yet."""
    from bsingest.journal import Journal

    if not as_json:
        _echo_server(server)
    with Journal(journal) as jr:
        entries = jr.entries(server=server, dataset=dataset)
        if as_json:
            print_json([{"server": e.server, "api": e.api, "dataset": e.dataset,
                         "path": e.path, "key": e.key, "state": e.state,
                         "server_id": e.server_id, "attempts": e.attempts,
                         "last_error": e.last_error} for e in entries])
            return
        counts: dict[tuple[str, str, str], dict[str, int]] = {}
        for e in entries:  # the current API's rows are in a session, 2023's in a dataset
            by_state = counts.setdefault((e.server, e.api, e.dataset), {})
            by_state[e.state] = by_state.get(e.state, 0) + 1
        states = ("uploaded", "pending", "sending", "skipped", "failed")
        print_table(f"journal {jr.path}", ("server", "api", "dataset/session", *states),
                    [(s, a, d, *(c.get(st, 0) for st in states))
                     for (s, a, d), c in counts.items()])
        shown = [e for e in entries if show_all or e.state != "uploaded"]
        if shown:
            print_table(None, ("file", "state", "attempts"),
                        [(e.path, e.state, e.attempts) for e in shown])
        # Why rows wait or failed: one line per reason with its count (a server that was
        # down gives hundreds of rows the same long reason), most frequent first.
        made = [r for r in jr.sessions(server) if show_all or r.state != "uploaded"]
        if made:  # sessions --create-session makes; one not 'uploaded' may exist already
            print_table("sessions to create", ("name", "project", "state", "id"),
                        [(r.name, r.project, r.state, r.server_id or "") for r in made])
        reasons = Counter(e.last_error for e in shown if e.last_error and e.state != "uploaded")
        if reasons:
            click.echo("why (rows: reason):")
        for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            click.echo(f"{n:>6}  {_escaped(reason)}")


def _shown_path(result: Any) -> str:
    """The file, with ``#part`` for one of several records of one file (an EDF rate group,
    a TDT store, an AlphaOmega stream): else those rows all read the same."""
    path = str(result.path)
    key = getattr(result, "key", None) or ""
    fields = key.split("|")
    if len(fields) >= 2:
        name = fields[1]
        if name.startswith(path + "#"):
            return name
        if len(fields) == 3 and fields[2] and name == path:  # bsingest 0.1's stream key
            return f"{path}#{fields[2]}"
    return path


def _print_results(title: str | None, results: Any, session_error: str | None = None) -> None:
    """A row per record; a reason many rows share (a server down) is said once, below."""
    errors = Counter(r.error for r in results if r.error)
    shared = {e for e, n in errors.items() if n > 1 or e == session_error}
    rows = [(_shown_path(r), r.type or "", r.outcome,
             "(see below)" if r.error in shared else r.error or r.server_id or "")
            for r in results]
    if rows:
        print_table(title, ("file", "type", "outcome", "id or error"), rows)
    for reason in sorted(shared | ({session_error} if session_error else set())):
        n = errors.get(reason, 0)
        echo_err((reason if reason.startswith("queued: ") else f"error: {reason}")
                 + (f" ({n} records)" if n > 1 else ""))
    notes = [(r.path, r.note) for r in results if getattr(r, "note", None)]
    for path, note in notes[:_NOTES_SHOWN]:
        echo_err(f"note: {path}: {note}")
    if len(notes) > _NOTES_SHOWN:
        click.echo(f"note: {len(notes) - _NOTES_SHOWN} more notes (--json shows them all)",
                   err=True)


def _print_ingest(report: Any) -> None:
    if report.created_session:
        from bsingest.sessions import SessionOutcome

        click.echo(SessionOutcome(**report.created_session).describe(), err=True)
    _print_results(f"{report.session} -> {report.container_kind} {report.dataset}"
                   + (" (dry run)" if report.dry_run else ""), report.results, report.error)
    echo_skipped(report.skipped_files)
    for note in report.notes:  # once for the session, not on each record
        echo_err(f"note: {note}")
    counts = report.counts()
    click.echo(f"summary: {summary(counts)}", err=True)
    echo_queued(counts)


def _print_server_records(client: Any, report: Any) -> None:
    from bsingest.generations import wire_for

    wire = wire_for(report.api)
    records = wire.records(client, report.dataset) if report.dataset else []
    rows = [(wire.file_name(r), r["type"], r["id"]) for r in records]
    print_table(f"{len(rows)} records stored on the local demo server, {wire.container} "
                f"{report.dataset}:", ("fileName", "type", "id"), rows)


def _escaped(text: str) -> str:
    return shown(text)  # status_cmd has a local list called shown


def _echo_server(explicit: str | None = None) -> None:
    """Which server push and ingest use now (status shows the journal of every server),
    or the one ``status --server`` picked."""
    from bsingest.target import configured_server

    chosen = None if explicit == "local" else configured_server(explicit)
    name = (shown(chosen) if chosen else "the local demo server"
            + ("" if explicit == "local" else " (none configured)"))
    click.echo(f"server: {name}", err=True)
