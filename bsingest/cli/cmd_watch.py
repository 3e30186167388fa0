"""``bsingest watch``: ingest each session folder under a root once its recording is done."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

import click

from .options import (
    WAIT,
    WAIT_LIMIT,
    PositiveFinite,
    check_generation,
    id_options,
    journal_option,
    server_option,
)
from .output import log_to

_LOG_BYTES = 10 * 1024 * 1024  # a rotating log: 10 MiB a file, 5 old files kept
_LOG_KEEP = 5


@click.command("watch")
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--match", default="*", show_default=True, metavar="GLOB",
              help="The session folders below ROOT, one step per level, e.g. 'rat*/2024-*'.")
@id_options
@click.option("--settle", type=WAIT, default=60, show_default=True,
              metavar="SECONDS",
              help="A session is complete when none of its files changed for this long "
                   "(rigs write every second while recording; an SMB client shows sizes "
                   "and times up to 10 s late: a minute is well past both).")
@click.option("--marker", "markers", multiple=True, metavar="NAME",
              help="A file name (glob) that marks a session complete when it appears "
                   "anywhere in it (repeatable); the files then need only 2 s of quiet. "
                   "Per session: [watch] markers = [\"NAME\"] in its bsingest.toml.")
@click.option("--no-spikeglx-marker", is_flag=True,
              help="Do not count a session where every SpikeGLX .bin has its .meta as "
                   "complete; wait for the settle time.")
@click.option("--poll", type=PositiveFinite(zero=True, low=0.1, high=WAIT_LIMIT),
              metavar="SECONDS",
              help="Poll every SECONDS instead of using file events. Default: events, or "
                   "polling every 30 s when ROOT is on a network share (Linux: nfs, cifs, "
                   "smb*, fuse.sshfs and others in /proc/mounts; Windows: a UNC path or "
                   "a mapped network drive), where another machine's writes raise no event.")
@click.option("--retry-max", type=PositiveFinite(zero=True, low=1, high=WAIT_LIMIT),
              default=300, show_default=True,
              metavar="SECONDS",
              help="Server down: queued records are retried after 1, 2, 4 ... s, at most "
                   "this long apart.")
@server_option
@journal_option
@click.option("--log", "log_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Log to FILE only (rotated at 10 MiB, 5 kept): each session ingested, "
                   "each file that failed or waits. Without it, warnings on stderr (-v: all).")
def watch_cmd(root: str, match: str, session_by_name: bool, create_session: bool,
              project: str | None, procedures: tuple[str, ...], dataset_by_name: bool,
              actions: tuple[str, ...], existing: str | None, settle: float,
              markers: tuple[str, ...], no_spikeglx_marker: bool, poll: float | None,
              retry_max: float, server: str | None, api: str | None,
              allow_insecure_http: bool, journal: str | None, log_file: str | None) -> None:
    """Ingest each session folder under ROOT as its recording finishes; run as a service.

    A session is complete when its files have not changed for --settle seconds, or 2 s
    after a completion marker appears: SpikeGLX writes each stream's .meta when it closes
    the .bin, so a session where every .bin has its .meta is complete (Open Ephys and
    Intan write no file at stop: those sessions wait for the settle time); --marker NAME
    for your own (e.g. a file your rig script writes last). It is then ingested as
    `bsingest ingest` does, with the IDs given here as `bsingest batch` takes them
    (--session-by-name, --dataset-by-name, --procedure, --action) or from each session's
    bsingest.toml. Files added later become new records when they settle; changed files
    follow --existing.

    Restart-safe: at start it catches up with what arrived while no watcher ran; the
    journal makes sure nothing is created twice. With the server down, records wait in
    the journal and are retried with back-off, without a restart. SIGTERM or Ctrl-C stops
    it after what is in flight (exit 0); sessions not yet settled are taken up at the next
    start. examples/bsingest-watch.service and examples/windows-service.md run it as a
    service.

    \b
    Examples:
      bsingest watch /data/rig1 --match 'rat*/20*' --session-by-name --procedure UUID \\
          --log /var/log/bsingest/watch.log
      bsingest watch \\\\nas\\rig2 --settle 120          (polls: a UNC share)
    """
    from bsingest.batch import session_by_name as by_name
    from bsingest.client import RetryPolicy
    from bsingest.errors import BsingestError
    from bsingest.ingest import ingest, push
    from bsingest.journal import Journal
    from bsingest.target import configured_api, configured_server, open_target
    from bsingest.watch import DEFAULT_POLL, Watcher, WatchOptions, check_match, needs_polling

    if session_by_name and dataset_by_name:
        raise click.UsageError("--session-by-name (current API) or --dataset-by-name (2023): "
                               "give one")
    if create_session and not (session_by_name and project):
        raise click.UsageError("--create-session goes with --session-by-name and --project UUID")
    check_match(match)
    log_to(log_file, rotate_bytes=_LOG_BYTES, keep=_LOG_KEEP)
    log = logging.getLogger("bsingest.watch")
    base = Path(root).resolve()
    why = needs_polling(base) if poll is None else None
    if why:
        poll = DEFAULT_POLL
        log.info("polling every %g s: %s", poll, why)
    options = WatchOptions(base, match, settle, poll, markers, not no_spikeglx_marker,
                           retry_max=retry_max)
    chosen = configured_server(server)
    stated = configured_api(api, None, chosen) or (None, None)
    # The watcher retries on its own, with back-off: the client's own retries stay short,
    # so that a stop request is not kept waiting behind them.
    retry = RetryPolicy(attempts=2, base=0.5, cap=2.0)
    with open_target(chosen, retry=retry, allow_insecure_http=allow_insecure_http,
                     api=stated[0], api_source=stated[1]) as target, Journal(journal) as jr:
        client = target.client
        checked: list[str] = []

        def ingest_session(folder: Path) -> Any:
            if not checked:  # asks the server its generation: may raise (retried)
                checked.append(check_generation(
                    client, session_by_name=session_by_name, dataset_by_name=dataset_by_name,
                    procedures=procedures, actions=actions))
            given: dict[str, Any] = {}
            if session_by_name or dataset_by_name:
                kind = "session" if session_by_name else "dataset"
                job = by_name(folder, client, kind=kind,
                              project=project if create_session else None)
                if "missing" in job.given:
                    raise BsingestError(f"{folder.name}: no {kind} named "
                                        f"{job.given['missing']!r}")
                given = dict(job.given)
            from bsingest.generations import generation

            name = generation(checked[0]).links.procedures  # --procedure or --action
            ids: dict[str, Any] = {name: {"procedures": procedures, "actions": actions}[name]}
            return ingest(folder, **given, **ids, existing=existing, client=client,
                          journal=jr, server_key=target.server_key)

        watcher = Watcher(options, ingest_session=ingest_session,
                          push=lambda: push(client=client, journal=jr,
                                            server_key=target.server_key),
                          state_dir=jr.path.parent)
        for name in ("SIGTERM", "SIGINT", "SIGBREAK"):  # SIGBREAK: Ctrl-Break on Windows
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), watcher.request_stop)
        watcher.run()
