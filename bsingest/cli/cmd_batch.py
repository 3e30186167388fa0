"""``bsingest batch``: ingest many sessions from a manifest, or every folder under a root."""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import click

from bsingest import exitcodes

from .options import (
    check_generation,
    id_options,
    journal_option,
    server_option,
    stated_arguments,
    stated_options,
    stated_values,
    verify_asked,
)
from .output import (
    echo_err,
    echo_queued,
    echo_reasons,
    json_text,
    log_report,
    log_to,
    print_json,
    print_table,
    summary,
)
from .progress import ProgressLine

_COLUMNS = ("created", "updated", "unchanged", "skipped", "failed", "queued")
_DRY_COLUMNS = ("would-create", "would-update", "unchanged", "would-skip", "would-fail")


@click.command("batch")
@click.argument("source", type=click.Path(exists=True))
@click.option("--match", metavar="GLOB",
              help="With a ROOT folder: the session folders to take, e.g. 'rat*/2024-*'.")
@id_options
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--jobs", type=click.IntRange(min=1), metavar="N",
              help="Extraction processes (default: one per core).")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Read the files on the Dask cluster whose scheduler is at ADDRESS "
                   "(tcp://host:8786; 'local' starts one here, of --jobs workers); the "
                   "journal and the uploads stay here. Needs: pip install 'bsingest[dask]'.")
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True,
              metavar="N", help="Requests in flight at once, over all sessions.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write a JSON report with every file's outcome and error (FILE.jsonl: "
                   "a line per session as it finishes, then one with the counts).")
@server_option
@journal_option
@click.option("--log", "log_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Append a log of the run to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@stated_options
@click.option("--report-html", metavar="FILE", type=click.Path(dir_okay=False),
              help="Also write one report page (bsingest report) with a row per session.")
@click.pass_context
def batch_cmd(ctx: click.Context, source: str, match: str | None, session_by_name: bool,
              create_session: bool, project: str | None, procedures: tuple[str, ...],
              dataset_by_name: bool,
              actions: tuple[str, ...], existing: str | None, dry_run: bool, jobs: int | None,
              concurrency: int, report_file: str | None, server: str | None,
              api: str | None, allow_insecure_http: bool, journal: str | None, log_file: str | None,
              as_json: bool, report_html: str | None, dask_address: str | None = None
              ) -> None:
    """Ingest many sessions: the command to run after a day of recordings, or over an archive.

    SOURCE is a manifest, CSV with a header naming its columns:
    `folder,session,procedures,equipment,notes` for the current BrainSTEM API (lists
    separated by ';'; a `project` column with no session creates the session), or
    `session,dataset,actions,hardware_device,description` for a 2023 server (`session` is
    then the folder); empty cells fall back to the session's bsingest.toml. Or TOML with
    [[session]] tables of the same keys plus existing, type_map and files. Or a ROOT
    folder with --match GLOB and --session-by-name (2023: --dataset-by-name). A manifest's
    folder paths are relative to the folder the manifest file is in (not the current
    folder); paths written on Windows (sessions\\day3, D:\\data\\rat01) are read by
    Windows' rules.

    Same server, token, journal, --existing and stated-value options (--n-channels, --sr,
    --dtype, --lsb, --type: for every session; a session's bsingest.toml and the
    manifest's files rules win) as `bsingest ingest`. Resumable:
    after a crash or Ctrl-C, run the same command again; only what is left is done.

    \b
    Examples:
      bsingest batch sessions.csv --report report.json
      bsingest batch /data/archive --match 'rat*' --session-by-name --procedure UUID
      bsingest batch /data/today --match '*' --session-by-name --create-session \\
          --project UUID --procedure UUID

    Exit codes: 0 all done, 1 some sessions or files failed, 2 usage error, 3 queued for
    later (run `bsingest push`), 130 interrupted.
    """
    from bsingest.target import configured_api, configured_server

    root = Path(source)
    by_name = session_by_name or dataset_by_name
    if session_by_name and dataset_by_name:
        raise click.UsageError("--session-by-name (current API) or --dataset-by-name (2023): "
                               "give one")
    if root.is_dir() and not (match and by_name):
        raise click.UsageError("a ROOT folder needs --match GLOB and --session-by-name "
                               "(2023: --dataset-by-name)")
    if not root.is_dir() and (match or by_name):
        raise click.UsageError("--match and --session-by-name go with a ROOT folder")
    if create_session and not (session_by_name and project):
        raise click.UsageError("--create-session goes with --session-by-name and --project UUID")
    if dask_address:
        from bsingest.distributed import require_dask

        require_dask()  # one line, before anything starts
    chosen = configured_server(server)
    stated = configured_api(api, None, chosen) or (None, None)
    rows: list[Any] | None = None
    if not root.is_dir():  # the manifest's usage errors, every row's, before any request
        rows = _check_manifest(ctx, root, stated, procedures=procedures, actions=actions,
                               existing=existing)
    # Started before the client's imports and the first request: see bsingest.readers.
    readers = ctx.with_resource(_readers(dask_address, jobs,
                                         None if rows is None else len(rows)))
    if readers is not None and rows and stated[0]:
        # The generation is stated: the first session is read while the client loads and
        # the checks go out (the first upload waits for it). One only: two readers at
        # once took the core the client's imports needed, and the first request left
        # later (benchmarks/RESULTS.md, issue 25).
        from bsingest.batch import read_ahead

        record_type, values = stated_values(ctx)
        read_ahead(readers, rows, 1, api=stated[0],
                   procedures=procedures, actions=actions, existing=existing,
                   record_type=record_type, stated=values, verify=verify_asked(ctx))
    from bsingest.batch import batch, sessions_by_name
    from bsingest.journal import Journal
    from bsingest.target import open_target

    log_to(log_file)
    lines = _Lines(report_file) if report_file and report_file.endswith(".jsonl") else None
    show: Any = ProgressLine("batch", enabled=not as_json)
    if lines is not None:
        show = lines.tee(show)
    started = time.monotonic()
    with open_target(chosen, max_connections=concurrency, api=stated[0], api_source=stated[1],
                     allow_insecure_http=allow_insecure_http, read_only=dry_run) as target, \
            (contextlib.nullcontext() if dry_run else Journal(journal)) as jr:
        check_generation(target.client, session_by_name=session_by_name,
                         dataset_by_name=dataset_by_name, procedures=procedures,
                         actions=actions)
        sessions: Any = sessions_by_name(
            root, match or "*", target.client, kind="session" if session_by_name else "dataset",
            project=project if create_session else None) if root.is_dir() else str(root)
        try:
            report = batch(sessions, client=target.client, journal=jr,
                           server_key=target.server_key, actions=actions,
                           procedures=procedures, existing=existing,
                           dry_run=dry_run, jobs=jobs, concurrency=concurrency,
                           progress=show, **stated_arguments(ctx), dask=dask_address,
                           readers=readers,
                           # the per-file results only where something shows them at the end
                           keep_files=bool(as_json or log_file or (report_file and not lines)))
        except KeyboardInterrupt:
            show.close()
            click.echo("interrupted: run the same command again to finish; the journal "
                       "remembers what was done", err=True)
            ctx.exit(exitcodes.INTERRUPTED)
    show.close()
    for session_report in report.sessions if log_file else ():
        log_report(session_report)
    if lines is not None:
        lines.close(report)
    elif report_file:
        Path(report_file).write_text(json_text(report.to_json()), encoding="utf-8")
    if report_html:  # the page of `bsingest report`, a row per session
        from bsingest.report import write_html

        write_html(report_html, [r.session for r in report.sessions])
    if as_json:
        print_json(report.to_json())
    else:
        _print_summary(report, time.monotonic() - started)
    _skip_last_collection()
    ctx.exit(report.exit_code)


def _skip_last_collection() -> None:
    """At the process's exit, keep the collector off the run's objects: they go with the
    process, and its last pass over them cost 30-40 ms of a 14 s batch
    (benchmarks/RESULTS.md, issue 25). At exit only: a process that goes on (a test
    runner) keeps collecting."""
    global _EXIT_FREEZE
    if not _EXIT_FREEZE:
        _EXIT_FREEZE = True
        atexit.register(gc.freeze)


_EXIT_FREEZE = False


@contextlib.contextmanager
def _readers(dask_address: str | None, jobs: int | None, sessions: int | None
             ) -> Iterator[Executor | None]:
    """The processes that read the sessions, started now (None: Dask's workers read)."""
    if dask_address or sessions == 0:
        yield None
        return
    from bsingest.readers import reader_pool

    pool = reader_pool(jobs, sessions)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _check_manifest(ctx: click.Context, manifest: Path, stated: tuple[str | None, str | None],
                    *, procedures: tuple[str, ...], actions: tuple[str, ...],
                    existing: str | None) -> list[Any]:
    """Exit 2 with a line per manifest row that cannot run (:func:`bsingest.batch.check_rows`),
    before anything is sent; else the rows (:class:`bsingest.batch.SessionJob`)."""
    from bsingest.batch import check_rows, read_manifest
    from bsingest.errors import ManifestError
    from bsingest.sessionconfig import stated_rules

    record_type, values = stated_values(ctx)
    jobs = read_manifest(manifest)
    try:
        check_rows(jobs, api=stated[0], source=stated[1],
                   procedures=procedures, actions=actions, existing=existing,
                   stated=stated_rules(record_type, values))
    except ManifestError as exc:
        for line in exc.lines:
            echo_err(f"bsingest: error: {line}")
        ctx.exit(exitcodes.USAGE)
    return jobs


class _Lines:
    """The --report FILE.jsonl: a line per session as it finishes, the counts last."""

    def __init__(self, path: str) -> None:
        self._fh = open(path, "w", encoding="utf-8")

    def tee(self, show: Any) -> Any:
        def both(kind: str, item: Any) -> None:
            if kind == "session":
                self._fh.write(json.dumps(item.to_json(), default=str) + "\n")
                self._fh.flush()
            show(kind, item)

        both.close = show.close  # type: ignore[attr-defined]
        return both

    def close(self, report: Any) -> None:
        summary = {k: v for k, v in report.to_json().items() if k != "sessions"}
        self._fh.write(json.dumps(summary) + "\n")
        self._fh.close()


def _print_summary(report: Any, seconds: float) -> None:
    dry_run = any(r.dry_run for r in report.sessions)
    columns = _DRY_COLUMNS if dry_run else _COLUMNS
    rows = []
    labels = _labels(report.sessions)
    for r in report.sessions:
        c = r.counts()
        if dry_run:  # a file that failed to extract fails in a dry run too
            c["would-fail"] = c.get("would-fail", 0) + c.pop("failed", 0)
        # The dataset's first 8 characters, as git shortens a hash: --report has them all.
        rows.append((labels[r.session], (r.dataset or "")[:8],
                     *(c.get(k, 0) or "" for k in columns), "yes" if r.error else ""))
    shown_columns = [k.replace("would-fail", "failed") for k in columns]
    # The records' container: a dataset (2023) or, for the current API, a BrainSTEM session.
    kind = report.sessions[0].container_kind if report.sessions else "dataset"
    print_table("dry run: what would happen" if dry_run else None,
                ("folder" if kind == "session" else "session", kind, *shown_columns, "error"),
                rows)
    _print_reasons(report)
    for r in report.sessions:  # once per session, as `ingest` says them, not per record
        for note in getattr(r, "notes", ()):
            echo_err(f"note: {labels[r.session]}: {note}")
    total = report.counts()
    click.echo(f"{len(report.sessions)} sessions in {seconds:.1f} s: {summary(total)}", err=True)
    echo_queued(total)


def _print_reasons(report: Any) -> None:
    """Why: each failed session, then each failed (or queued) file, a shared reason once."""
    labels = _labels(report.sessions)
    echo_reasons("error", [(labels[r.session], r.error) for r in report.sessions
                           if r.error], noun="sessions")
    failed, queued = [], []
    for r in report.sessions:
        for f in r.results:
            if not f.error or f.error == r.error:
                continue
            where = f"{labels[r.session]}/{f.path}"
            if f.outcome in ("failed", "would-fail"):
                failed.append((where, f.error))
            elif f.outcome == "queued":
                queued.append((where, f.error))
    echo_reasons("error", failed)
    echo_reasons("queued", queued)


def _labels(sessions: Any) -> dict[str, str]:
    """Each session folder as tables show it: its name, or, when two share a name
    (rat01/day1, rat02/day1), its path below the folder all of them are in."""
    folders: dict[str, set[str]] = {}
    for r in sessions:
        folders.setdefault(Path(r.session).name, set()).add(os.path.abspath(r.session))
    if all(len(paths) == 1 for paths in folders.values()):  # (a duplicate row: one folder)
        return {r.session: Path(r.session).name for r in sessions}
    try:
        common = os.path.commonpath([os.path.abspath(r.session) for r in sessions])
    except ValueError:  # different drives (Windows): the whole paths
        return {r.session: r.session for r in sessions}
    return {r.session: Path(os.path.relpath(os.path.abspath(r.session), common)).as_posix()
            for r in sessions}
