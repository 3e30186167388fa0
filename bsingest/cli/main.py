"""The ``bsingest`` command: one click group, one module per subcommand.

Each subcommand's module is imported only when that command runs (or ``--help`` lists
it): ``bsingest extract`` loads the extraction's modules, not the client's. Subcommand
modules import only click and the standard library at module level; everything heavy is
imported inside the command, so ``bsingest --help`` stays fast.

Errors derived from :class:`~bsingest.errors.BsingestError` become one line on stderr
and exit code 1; usage errors exit 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib

import click

from bsingest import __version__, exitcodes
from bsingest.errors import BsingestError, UsageError

from .output import VERBOSITY, echo_err, set_verbosity, verbosity_options

#: Every subcommand: name -> (its module in this package, the command's name there). A
#: module is imported when its command is run, or listed by ``--help``: ``bsingest
#: extract`` does not pay for the client, the journal or the server's modules (~20 ms of
#: CPU at start-up: benchmarks/RESULTS.md).
COMMANDS: dict[str, tuple[str, str]] = {
    "batch": ("cmd_batch", "batch_cmd"),
    "extract": ("cmd_extract", "extract_cmd"),
    "ingest": ("cmd_ingest", "ingest_cmd"),
    "login": ("cmd_auth", "login_cmd"),
    "logout": ("cmd_auth", "logout_cmd"),
    "push": ("cmd_ingest", "push_cmd"),
    "records": ("cmd_records", "records_cmd"),
    "report": ("cmd_report", "report_cmd"),
    "server": ("cmd_server", "server_cmd"),
    "status": ("cmd_ingest", "status_cmd"),
    "watch": ("cmd_watch", "watch_cmd"),
}

#: The libraries that read files, whose versions decide what a record says (a bug report
#: needs them). Asked of the installed metadata, never imported: --version stays instant.
READERS = ("numpy", "h5py", "av", "defusedxml", "neo", "tifffile", "nibabel", "pydicom")


def version_text() -> str:
    """``bsingest X (Python Y)`` and a line per file-reading library with its version."""
    import platform
    from importlib import metadata

    lines = [f"%(prog)s %(version)s (Python {platform.python_version()})"]
    for name in READERS:
        try:
            lines.append(f"  {name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(f"  {name} not installed")
    return "\n".join(lines)


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--version``: what ``click.version_option`` prints, its text made only when asked
    (the libraries' versions are looked up in the installed metadata, ~10 ms)."""
    if not value or ctx.resilient_parsing:
        return
    text = version_text() % {"prog": "bsingest", "package": "bsingest",
                             "version": __version__}
    click.echo(text, color=ctx.color)
    ctx.exit()


class _Group(click.Group):
    """Loads each subcommand's module when the command is asked for (:data:`COMMANDS`),
    and turns our own errors into one line on stderr at the command boundary."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = self.commands.get(cmd_name)
        if found is None and cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name]
            found = getattr(importlib.import_module(f"{__package__}.{module}"), attr)
            _with_verbosity(found)
            self.add_command(found, cmd_name)  # loaded once
        return found

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            echo_err(f"bsingest: error: {exc}")
            ctx.exit(exitcodes.USAGE)
        except BsingestError as exc:
            echo_err(f"bsingest: error: {exc}")
            ctx.exit(exitcodes.FAILED)
        except KeyboardInterrupt:  # commands with work to resume say how themselves
            click.echo("\ninterrupted", err=True)
            ctx.exit(exitcodes.INTERRUPTED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"],
                                          "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version, help="Show the version and exit.")
@verbosity_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Describe a recording session's raw files as BrainSTEM records (Data Acquisition;
    Experiment Data on a server of the 2023 API), and upload them exactly once.

    \b
    Typical use:
      bsingest extract SESSION_DIR            what bsingest reads from each file
      bsingest report SESSION_DIR -o report.html
                                              check the files against each other
      bsingest login                          sign in to brainstem.org (once)
      bsingest ingest SESSION_DIR --session UUID --procedure UUID
                                              create the records on BrainSTEM
                                              (2023 API: --dataset UUID --action UUID)

    Exit codes: 0 all done, 1 some files or records failed, 2 usage error,
    3 records queued for later (run `bsingest push`), 130 interrupted.
    """
    set_verbosity(ctx.meta.get(VERBOSITY, 0))  # -v/-q after the subcommand change it again


def _with_verbosity(command: click.Command) -> None:
    """-v/-q after any subcommand as well (``bsingest ingest DIR -v``)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_verbosity(sub)
    if not any(p.name == "verbose" for p in command.params):
        verbosity_options(command)


def main() -> None:
    """Console entry point."""
    cli()


if __name__ == "__main__":
    main()
