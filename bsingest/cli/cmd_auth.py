"""``bsingest login`` and ``bsingest logout``: the token file shared with the BrainSTEM tools.

``login`` asks for the username and the password (not echoed), POSTs them to
``{server}/api-token-auth/`` and writes the token to ``~/.config/brainstem/token``
(``BRAINSTEM_TOKEN_FILE`` overrides), created with mode 0600 from the start. Neither the
password nor the token is ever printed.
"""

from __future__ import annotations

import os

import click


@click.command("login")
@click.option("--server", metavar="URL",
              help="BrainSTEM server (default: BRAINSTEM_SERVER, the config file, "
                   "https://www.brainstem.org).")
@click.option("--username", help="Your BrainSTEM username (asked when left out).")
@click.option("--allow-insecure-http", is_flag=True,
              help="Permit plain http:// to a host other than this machine.")
def login_cmd(server: str | None, username: str | None, allow_insecure_http: bool) -> None:
    """Get an API token with your username and password, and store it for later runs."""
    from bsingest.client import obtain_token
    from bsingest.settings import (
        Settings,
        configured_server,
        save_server,
        token_file,
        write_token_file,
    )

    settings = Settings(server=server, allow_insecure_http=allow_insecure_http)
    if username is None:
        username = click.prompt("Username", err=True)
    password = click.prompt("Password", hide_input=True, err=True)
    token = obtain_token(settings.server or "", username, password,
                         allow_insecure_http=allow_insecure_http)
    path = write_token_file(token, token_file())
    click.echo(f"logged in to {settings.server} as {username}; token stored in {path} "
               "(readable by you only)", err=True)
    if configured_server() is None:  # from now on, every command talks to this server
        config = save_server(settings.server or "")
        click.echo(f"server {settings.server} saved in {config}: bsingest ingest, batch and "
                   "records now use it (no more local demo server)", err=True)
    for name in ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN"):
        if os.environ.get(name):
            click.echo(f"note: {name} is set and takes precedence over the stored token",
                       err=True)


@click.command("logout")
def logout_cmd() -> None:
    """Remove the stored token file."""
    from bsingest.settings import token_file

    path = token_file()
    try:
        path.unlink()
    except FileNotFoundError:
        click.echo(f"no token stored in {path}", err=True)
        return
    click.echo(f"removed {path}", err=True)
