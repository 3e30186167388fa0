"""The ``bsingest`` command: one click group, one module per subcommand.

Subcommand modules import only click and the standard library at module level;
everything heavy is imported inside the command, so ``bsingest --help`` stays fast.
Errors derived from :class:`~bsingest.errors.BsingestError` become one line on stderr
and exit code 1; usage errors exit 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import click

from bsingest import __version__, exitcodes
from bsingest.errors import BsingestError, UsageError

from .cmd_auth import login_cmd, logout_cmd
from .cmd_batch import batch_cmd
from .cmd_extract import extract_cmd
from .cmd_ingest import ingest_cmd, push_cmd, status_cmd
from .cmd_records import records_cmd
from .cmd_report import report_cmd
from .cmd_server import server_cmd
from .cmd_watch import watch_cmd
from .output import VERBOSITY, echo_err, set_verbosity, verbosity_options

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


class _Group(click.Group):
    """Turns our own errors into one line on stderr at the command boundary."""

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
@click.version_option(__version__, prog_name="bsingest", message=version_text())
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


cli.add_command(extract_cmd)
cli.add_command(ingest_cmd)
cli.add_command(push_cmd)
cli.add_command(status_cmd)
cli.add_command(batch_cmd)
cli.add_command(records_cmd)
cli.add_command(report_cmd)
cli.add_command(login_cmd)
cli.add_command(logout_cmd)
cli.add_command(server_cmd)
cli.add_command(watch_cmd)


def _with_verbosity(command: click.Command) -> None:
    """-v/-q after any subcommand as well (``bsingest ingest DIR -v``)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_verbosity(sub)
    if not any(p.name == "verbose" for p in command.params):
        verbosity_options(command)


for _command in cli.commands.values():
    _with_verbosity(_command)


def main() -> None:
    """Console entry point."""
    cli()


if __name__ == "__main__":
    main()
