"""``bsingest records``: list, show, update and delete Experiment Data records on BrainSTEM."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from bsingest.records import RECORD_TYPES

from .output import print_json, print_table

if TYPE_CHECKING:
    from bsingest.client import BrainstemClient

_MODEL = "modules/experimentdata"


def server_options(f):  # type: ignore[no-untyped-def]
    """--server, --portal and --allow-insecure-http, shared by the commands that talk HTTP."""
    f = click.option("--allow-insecure-http", is_flag=True,
                     help="Permit plain http:// to a host other than this machine "
                          "(the token then travels unencrypted).")(f)
    f = click.option("--portal", type=click.Choice(("private", "public", "super")),
                     default="private", show_default=True, help="BrainSTEM portal.")(f)
    f = click.option("--server", metavar="URL",
                     help="BrainSTEM base URL (default: BRAINSTEM_SERVER, the config file, "
                          "else the local demo server, as for `bsingest ingest`).")(f)
    return f


@contextlib.contextmanager
def make_client(server: str | None, portal: str, allow_insecure_http: bool
                ) -> Iterator[BrainstemClient]:
    """A client for the command's options: the same server `bsingest ingest` would use."""
    from bsingest.target import configured_server, open_target

    with open_target(configured_server(server), portal=portal,
                     allow_insecure_http=allow_insecure_http) as target:
        yield target.client


@click.group("records")
def records_cmd() -> None:
    """Experiment Data records on BrainSTEM: list, show, update, delete.

    The token comes from BRAINSTEM_TOKEN (or BRAINSTEM_API_TOKEN), else from the token
    file `bsingest login` writes (~/.config/brainstem/token, shared with the official
    BrainSTEM tools).
    """


@records_cmd.command("list")
@server_options
@click.option("--dataset", metavar="UUID", help="Only records of this dataset.")
@click.option("--type", "record_type", type=click.Choice(RECORD_TYPES),
              help="Only records of this type.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as a JSON list.")
def list_cmd(server: str | None, portal: str, allow_insecure_http: bool, dataset: str | None,
             record_type: str | None, as_json: bool) -> None:
    """List records (every page), optionally of one dataset and type."""
    filters = {k: v for k, v in (("dataset", dataset), ("type", record_type)) if v}
    with make_client(server, portal, allow_insecure_http) as client:
        records = client.list(_MODEL, filters=filters)
    if as_json:
        print_json(records)
        return
    rows = [(r.get("id"), r.get("type"), (r.get("type_json") or {}).get("fileName", ""),
             r.get("dataset"), r.get("description") or "") for r in records]
    if rows:
        print_table(None, ("id", "type", "file", "dataset", "description"), rows)
    click.echo(f"{len(rows)} records", err=True)


@records_cmd.command("show")
@server_options
@click.argument("record_id", metavar="ID")
def show_cmd(server: str | None, portal: str, allow_insecure_http: bool, record_id: str) -> None:
    """Print one record as JSON."""
    with make_client(server, portal, allow_insecure_http) as client:
        print_json(client.get(_MODEL, record_id))


@records_cmd.command("update")
@server_options
@click.argument("record_id", metavar="ID")
@click.option("--description", required=True, help="The new description (at most 500 characters).")
def update_cmd(server: str | None, portal: str, allow_insecure_http: bool, record_id: str,
               description: str) -> None:
    """Change a record's description (PATCH)."""
    with make_client(server, portal, allow_insecure_http) as client:
        record = client.update(_MODEL, record_id, {"description": description})
    click.echo(f"updated {record.get('id', record_id)}")


@records_cmd.command("delete")
@server_options
@click.argument("record_id", metavar="ID")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_cmd(server: str | None, portal: str, allow_insecure_http: bool, record_id: str,
               yes: bool) -> None:
    """Delete a record."""
    if not yes:
        click.confirm(f"Delete Experiment Data record {record_id}?", abort=True, err=True)
    with make_client(server, portal, allow_insecure_http) as client:
        client.delete(_MODEL, record_id)
    click.echo(f"deleted {record_id}")
