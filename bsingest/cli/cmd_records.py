"""``bsingest records``: list, show, update and delete data records on BrainSTEM.

The records are Experiment Data on a server of the 2023 generation, Data Acquisition on
one of the current generation (``--api``, else found out once per server).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from .options import api_option
from .output import print_json, print_table

if TYPE_CHECKING:
    from bsingest.client import BrainstemClient


def _uuid(_ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A click callback: the value if it is a UUID (or None), else a usage error (exit 2)."""
    from bsingest.client import check_id
    from bsingest.errors import UsageError

    if value is None:
        return None
    try:
        return check_id(value, param.human_readable_name)
    except UsageError as exc:
        shown = value if len(value) <= 80 else value[:80] + "..."
        raise click.BadParameter(f"{shown!r} is not a UUID (like "
                                 "1f7f103b-e949-405a-9b01-ddda3b2f10cf)", param=param) from exc


def server_options(f):  # type: ignore[no-untyped-def]
    """--server, --portal, --api and --allow-insecure-http, for the commands that talk HTTP."""
    f = click.option("--allow-insecure-http", is_flag=True,
                     help="Permit plain http:// to a host other than this machine "
                          "(the token then travels unencrypted).")(f)
    f = click.option("--portal", type=click.Choice(("private", "public", "super")),
                     default="private", show_default=True, help="BrainSTEM portal.")(f)
    f = api_option(f)
    f = click.option("--server", metavar="URL",
                     help="BrainSTEM base URL (default: BRAINSTEM_SERVER, the config file, "
                          "else the local demo server, as for `bsingest ingest`).")(f)
    return f


@contextlib.contextmanager
def make_client(server: str | None, portal: str, allow_insecure_http: bool,
                api: str | None = None) -> Iterator[BrainstemClient]:
    """A client for the command's options: the same server `bsingest ingest` would use."""
    from bsingest.target import configured_api, configured_server, open_target

    chosen = configured_server(server)
    stated = configured_api(api, None, chosen)
    with open_target(chosen, portal=portal, allow_insecure_http=allow_insecure_http,
                     api=stated[0] if stated else None,
                     api_source=stated[1] if stated else None) as target:
        yield target.client


@click.group("records")
def records_cmd() -> None:
    """Data records on BrainSTEM (Experiment Data, Data Acquisition): list, show, update,
    delete.

    The token comes from BRAINSTEM_TOKEN (or BRAINSTEM_API_TOKEN), else from the server's
    token file, written by `bsingest login` (for brainstem.org the file shared with the
    official BrainSTEM tools, ~/.config/brainstem/token).
    """


@records_cmd.command("list")
@server_options
@click.option("--session", metavar="UUID", callback=_uuid,
              help="Only records of this session (2026).")
@click.option("--dataset", metavar="UUID", callback=_uuid,
              help="Only records of this dataset (2023).")
@click.option("--type", "record_type", metavar="TYPE",
              help="Only records of this type (either generation's name: Extracellular or "
                   "ExtracellularEphys).")
@click.option("--json", "as_json", is_flag=True, help="Print the records as a JSON list.")
def list_cmd(server: str | None, portal: str, allow_insecure_http: bool, api: str | None,
             session: str | None, dataset: str | None, record_type: str | None,
             as_json: bool) -> None:
    """List records (every page), optionally of one session (dataset) and type."""
    with make_client(server, portal, allow_insecure_http, api) as client:
        gen = client.generation
        container = _one_of(gen, ("--session", session), ("--dataset", dataset))
        if record_type:  # either generation's name, as this server's generation names it
            from bsingest.recordtypes import lookup

            if lookup(record_type) is not None:
                record_type = gen.wire.wire_type(record_type)
        filters = {k: v for k, v in ((gen.container_field, container),
                                     ("type", record_type)) if v}
        records = client.list(gen.record_model, filters=filters)
    if as_json:
        print_json(records)
        return
    described = gen.links.notes
    rows = [(r.get("id"), r.get("type"),
             (r.get("details") or r.get("type_json") or {}).get("fileName", ""),
             r.get(gen.container_field), r.get(described) or "") for r in records]
    if rows:
        print_table(None, ("id", "type", "file", gen.container_field, described), rows)
    click.echo(f"{len(rows)} records", err=True)


@records_cmd.command("show")
@server_options
@click.argument("record_id", metavar="ID", callback=_uuid)
def show_cmd(server: str | None, portal: str, allow_insecure_http: bool, api: str | None,
             record_id: str) -> None:
    """Print one record as JSON."""
    with make_client(server, portal, allow_insecure_http, api) as client:
        print_json(client.get(client.generation.record_model, record_id))


@records_cmd.command("update")
@server_options
@click.argument("record_id", metavar="ID", callback=_uuid)
@click.option("--notes", help="The new notes (2026; at most 500 characters).")
@click.option("--description", help="The new description (2023; at most 500 characters).")
def update_cmd(server: str | None, portal: str, allow_insecure_http: bool, api: str | None,
               record_id: str, notes: str | None, description: str | None) -> None:
    """Change a record's notes (description on a 2023 server) (PATCH)."""
    with make_client(server, portal, allow_insecure_http, api) as client:
        gen = client.generation
        text = _one_of(gen, ("--notes", notes), ("--description", description))
        if text is None:
            raise click.UsageError("give the new text: --notes (2026) or --description (2023)")
        record = client.update(gen.record_model, record_id, {gen.links.notes: text})
    click.echo(f"updated {record.get('id', record_id)}")


@records_cmd.command("delete")
@server_options
@click.argument("record_id", metavar="ID", callback=_uuid)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_cmd(server: str | None, portal: str, allow_insecure_http: bool, api: str | None,
               record_id: str, yes: bool) -> None:
    """Delete a record."""
    if not yes:
        click.confirm(f"Delete record {record_id}?", abort=True, err=True)
    with make_client(server, portal, allow_insecure_http, api) as client:
        client.delete(client.generation.record_model, record_id)
    click.echo(f"deleted {record_id}")


def _one_of(gen: Any, current: tuple[str, str | None], older: tuple[str, str | None]
            ) -> str | None:
    """The value of the option of ``gen``'s generation (the current generation's option
    is named first); the other one's is a usage error."""
    from bsingest.errors import UsageError
    from bsingest.generations import CURRENT

    mine, theirs = (current, older) if gen.name == CURRENT else (older, current)
    if theirs[1] is not None:
        other = gen.other().name
        raise UsageError(f"{theirs[0]} is for servers of the {other} API; this one speaks "
                         f"{gen.name}: use {mine[0]}")
    return mine[1]
