"""The options several commands share, and the helpers that read them back.

One home for them, so that no ``cmd_*`` module imports another (``tests/test_import_graph.py``
checks): the server and its API generation (``ingest``, ``push``, ``batch``, ``watch``,
``records``, ``login``), the journal, ``--existing``, the IDs of a ROOT folder's sessions
(``batch``, ``watch``), and what a file without a sidecar needs said (``extract``,
``ingest``, ``batch``). Like the commands, this module imports only click, the standard
library and what the options' choices need at import time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click

from bsingest.sessionconfig import DTYPES, WAIT_LIMIT, record_type, type_names

__all__ = ["API_CHOICES", "EXISTING", "WAIT", "WAIT_LIMIT", "PositiveFinite", "StatedQuantity",
           "api_option", "check_generation", "id_options", "journal_option", "server_option",
           "stated_arguments", "stated_options", "stated_values", "verify_asked"]

API_CHOICES = ("2023", "2026")
EXISTING = click.Choice(["skip", "update", "error"])  # the --existing policies


def api_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--api 2023|2026``, for every command that talks to a server."""
    return click.option(
        "--api", type=click.Choice(API_CHOICES),
        help="The generation of the BrainSTEM API the server speaks: 2023 (/rest/, "
             "Experiment Data) or 2026 (/api/, Data Acquisition). Default: the config "
             "file's, else found out once per server (brainstem.org: 2026).")(f)


def server_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--server URL, --api and --allow-insecure-http."""
    f = api_option(f)
    f = click.option("--allow-insecure-http", is_flag=True,
                     help="Permit plain http:// to a host other than this machine "
                          "(the token then travels unencrypted).")(f)
    return click.option(
        "--server", metavar="URL",
        help="BrainSTEM base URL (default: BRAINSTEM_SERVER, the config file, else the "
             "local demo server). 'local' names the local demo server.")(f)


def journal_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--journal FILE, the outbox."""
    return click.option(
        "--journal", type=click.Path(dir_okay=False), metavar="FILE",
        help="The outbox (SQLite). Default: BSINGEST_JOURNAL, else journal.sqlite in the "
             "user data folder.")(f)


def id_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The IDs of a ROOT folder's sessions, and defaults: shared by batch and watch."""
    for option in reversed((
        click.option("--session-by-name", is_flag=True,
                     help="With a ROOT folder: each folder's records go to the session named "
                          "like it (current API)."),
        click.option("--create-session", is_flag=True,
                     help="With --session-by-name: a folder with no session of its name gets "
                          "one, created in --project."),
        click.option("--project", metavar="UUID", help="The project --create-session creates in."),
        click.option("--procedure", "procedures", multiple=True, metavar="UUID",
                     help="Procedure for sessions whose manifest row names none (repeatable)."),
        click.option("--dataset-by-name", is_flag=True,
                     help="2023 API, with a ROOT folder: each session goes to the dataset named "
                          "like its folder."),
        click.option("--action", "actions", multiple=True, metavar="UUID",
                     help="2023 API: action for sessions whose manifest row names none "
                          "(repeatable)."),
        click.option("--existing", type=EXISTING,
                     help="A record the session (2023: dataset) already holds with other "
                          "values (default skip)."),
    )):
        f = option(f)
    return f


#: The option that gives each link for a batch (by name for the containers).
_BATCH_OPTIONS = {"procedures": "--procedure", "actions": "--action",
                  "session": "--session-by-name", "dataset": "--dataset-by-name"}


def check_generation(client: Any, *, session_by_name: bool, dataset_by_name: bool,
                     procedures: tuple[str, ...], actions: tuple[str, ...]) -> str:
    """The API generation ``client``'s server speaks; a usage error for the other's options."""
    gen = client.generation
    other = gen.other()
    given = {"session": session_by_name, "procedures": procedures,
             "dataset": dataset_by_name, "actions": actions}
    for link, value in given.items():
        if value and link not in gen.links.all:
            right = gen.links.all[other.links.all.index(link)]
            raise click.UsageError(f"{_BATCH_OPTIONS[link]}: {client.server} speaks "
                                   f"{gen.speaks}; use {_BATCH_OPTIONS[right]}")
    return str(gen.name)


_STATED = "bsingest.stated"  # ctx.meta: what --type, --n-channels, ... said


class PositiveFinite(click.ParamType):
    """A number above ``low`` (0) that is finite: click's FloatRange lets 'nan' and 'inf'
    through. ``high``: at most that (a time to wait: ``--settle 1e308`` was an
    OverflowError traceback from time.sleep)."""

    name = "number"

    def __init__(self, *, zero: bool = False, low: float = 0.0, high: float = math.inf
                 ) -> None:
        self.zero = zero  # ``low`` allowed (durations: 0)
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        low = self.low
        if (not math.isfinite(number) or number < low or (number == low and not self.zero)
                or number > self.high):
            if math.isfinite(self.high):
                said = f"from {low:g} to {self.high:g}"
            else:
                said = f"of {low:g} or more" if self.zero else f"above {low:g}"
            self.fail(f"{value!r} is not a finite number {said}", param, ctx)
        return number


#: A time to wait (--settle, --poll, --retry-max), in seconds.
WAIT = PositiveFinite(zero=True, high=WAIT_LIMIT)


class StatedQuantity(click.ParamType):
    """A quantity with its unit (``920nm``, ``"30 mW"``), checked by
    :func:`bsingest.quantities.parse`; passed on as given, converted by the extractor base."""

    name = "quantity"

    def __init__(self, key: str) -> None:
        self.key = key

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> str:
        from bsingest.quantities import QuantityError, parse

        try:
            parse(self.key, value)
        except QuantityError as exc:
            self.fail(str(exc), param, ctx)
        return str(value)


def stated_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """What a file without a sidecar needs said (extract, ingest, batch); read them back
    with :func:`stated_values`."""
    kept: dict[str, Any] = {"expose_value": False, "callback": _remember}
    options = [
        click.option("--type", "record_type", type=click.Choice(type_names()), **kept,
                     help="Restate the record type of time-series files, in either API "
                          "generation's names (e.g. GeneralTimeSeries for a .dat of analog "
                          "inputs; ExtracellularEphys or Extracellular)."),
        click.option("--n-channels", type=click.IntRange(min=1), **kept,
                     help="Channels interleaved in raw binary files that have no sidecar."),
        click.option("--sr", type=PositiveFinite(), **kept,
                     help="Sampling rate in Hz, for raw binary files that have no sidecar."),
        click.option("--dtype", type=click.Choice(DTYPES), **kept,
                     help="Sample type of raw binary files."),
        click.option("--lsb", type=PositiveFinite(), **kept,
                     help="µV per integer step of raw binary files."),
        click.option("--excitation-wavelength", type=StatedQuantity("excitation_wavelength"),
                     **kept, help="Excitation wavelength with its unit (920nm), for imaging "
                                  "records whose type has one and whose files do not say."),
        click.option("--laser-power", type=StatedQuantity("laser_power"), **kept,
                     help="Laser power at the sample with its unit (30mW; a percentage is "
                          "not a power), for imaging records whose type has one."),
        click.option("--imaging-depth", type=StatedQuantity("imaging_depth"), **kept,
                     help="Imaging depth below the surface with its unit (250um), for "
                          "imaging records whose type has one."),
        click.option("--verify", is_flag=True, **kept,
                     help="Decode every video frame to check the count the container's index "
                          "gives (as slow as playing the video); when they differ, nFrames is "
                          "the decoded count and a warning gives both."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and param.name:
        ctx.meta.setdefault(_STATED, {})[param.name] = value
    return value


def stated_values(ctx: click.Context) -> tuple[str | None, dict[str, Any]]:
    """(--type, {n_channels, sr, dtype, lsb, excitation_wavelength, laser_power,
    imaging_depth} as given) of the command being run."""
    given = dict(ctx.meta.get(_STATED, {}))
    given.pop("verify", None)
    # A type named in either generation's terms becomes the current name extractors use.
    return record_type(given.pop("record_type", None)), given


def verify_asked(ctx: click.Context) -> bool:
    """Whether the command being run was given ``--verify`` (see :func:`stated_options`)."""
    return bool(ctx.meta.get(_STATED, {}).get("verify"))


def stated_arguments(ctx: click.Context) -> dict[str, Any]:
    """--type, --n-channels, ..., --verify as ingest()'s and batch()'s keyword arguments."""
    record_type, stated = stated_values(ctx)
    return {"record_type": record_type, "stated": stated, "verify": verify_asked(ctx)}
