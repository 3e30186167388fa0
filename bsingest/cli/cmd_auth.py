"""``bsingest login`` and ``bsingest logout``: a token per server, never shown.

``login`` gets a token the way the server's generation of the API offers one:

- the current generation (brainstem.org): the device flow. bsingest asks the server for a
  code, opens the approval page in a browser where there is one (``--headless``: prints
  the address and the code, for a rig or an ssh session), and polls at the interval the
  server announced until the user approves, denies, or the code expires;
- the 2023 generation: username and password (not echoed), ``POST /api-token-auth/``;
- either: ``--token-stdin`` stores a token pasted from the server's web page, once the
  server has accepted it.

The token goes to the server's token file (:func:`bsingest.settings.server_token_file`):
the file shared with the official BrainSTEM tools for brainstem.org, bsingest's own for
any other server, 0600 from creation. A server on this machine (the demo) is never
saved as the default server. Neither the password nor the token is ever printed.
"""

from __future__ import annotations

import os
import sys

import click

from bsingest import exitcodes

from .options import api_option


@click.command("login")
@click.option("--server", metavar="URL",
              help="BrainSTEM server (default: BRAINSTEM_SERVER, the config file, "
                   "https://www.brainstem.org).")
@api_option
@click.option("--headless", is_flag=True,
              help="Open no browser: print the address and the code to enter on any device "
                   "(a rig, an ssh session).")
@click.option("--token-stdin", is_flag=True,
              help="Read a token from standard input (one pasted from the server's web "
                   "page, e.g. /private/users/tokens/) instead of signing in.")
@click.option("--username", help="Your username, for a server of the 2023 API (asked when "
                                 "left out).")
@click.option("--allow-insecure-http", is_flag=True,
              help="Permit plain http:// to a host other than this machine.")
@click.pass_context
def login_cmd(ctx: click.Context, server: str | None, api: str | None, headless: bool,
              token_stdin: bool, username: str | None, allow_insecure_http: bool) -> None:
    """Sign in and store a token for later runs.

    \b
    A server of the current API (brainstem.org): approve bsingest in a browser;
      --headless prints an address and a code to enter on any device.
    A server of the 2023 API: your username and password.
    Either: --token-stdin takes a token made on the server's web page.

    The token goes to ~/.config/brainstem/token for brainstem.org (the file the
    official BrainSTEM tools use), to bsingest's own file per server for any other
    (mode 0600); it is never printed. A server on this machine (the demo) is never
    saved as the default server.
    """
    from bsingest.client import BrainstemClient
    from bsingest.errors import UsageError
    from bsingest.settings import Settings
    from bsingest.target import configured_api

    settings = Settings(server=server, allow_insecure_http=allow_insecure_http)
    stated = configured_api(api, None, settings.server)
    # Read and checked before the client asks the server anything: a pasted token with a
    # space or a newline in it was refused only after the generation probe, and named
    # as "the token from argument".
    pasted = _read_token() if token_stdin else None
    if pasted is not None:
        _check_pasted(pasted)
    with BrainstemClient(settings=settings, api=stated[0] if stated else None,
                         api_source=stated[1] if stated else None) as client:
        generation = client.generation
        if pasted is not None:
            token = pasted
            _check_token(client, token)
        elif generation.device_sign_in:
            if username is not None:
                raise UsageError(f"{client.server} speaks the {generation} API: sign-in "
                                 "happens in a "
                                 "browser, not with a password; leave --username out")
            try:
                token = _device_sign_in(client, headless)
            except KeyboardInterrupt:
                click.echo("\nsign-in stopped; nothing stored", err=True)
                ctx.exit(exitcodes.INTERRUPTED)
        else:
            token = _password_sign_in(client, username)
    _store(client.server, token)


@click.command("logout")
@click.option("--server", metavar="URL",
              help="The server whose token to remove (default: BRAINSTEM_SERVER, the config "
                   "file, https://www.brainstem.org).")
def logout_cmd(server: str | None) -> None:
    """Remove the stored token of a server."""
    from bsingest.settings import Settings, server_token_file

    settings = Settings(server=server)
    path = server_token_file(settings.server or "")
    try:
        path.unlink()
    except FileNotFoundError:
        click.echo(f"no token stored for {settings.server} ({path})", err=True)
        return
    click.echo(f"removed {path} (the token for {settings.server})", err=True)


def _read_token() -> str:
    stdin = sys.stdin
    if stdin.isatty():
        return str(click.prompt("Token", hide_input=True, err=True)).strip()
    try:
        return stdin.readline().strip()
    except UnicodeDecodeError as exc:
        from bsingest.errors import UsageError

        raise UsageError("--token-stdin: the token read from standard input is not UTF-8 "
                         "text") from exc


def _check_pasted(token: str) -> None:
    """A usage error, before any request, for what cannot be a token (never quoted)."""
    from bsingest.errors import UsageError
    from bsingest.settings import check_token_text

    if not token:
        raise UsageError("--token-stdin: standard input held no token")
    check_token_text(token, "--token-stdin: the token read from standard input")


def _check_token(client: object, token: str) -> None:
    """One authenticated GET with ``token``: a token the server refuses is not stored."""
    from bsingest.client import BrainstemClient
    from bsingest.errors import AuthError, UsageError
    from bsingest.settings import Settings

    assert isinstance(client, BrainstemClient)
    if not token:
        raise UsageError("--token-stdin: standard input held no token")
    settings = Settings(server=client.server, token=token, portal="private",
                        allow_insecure_http=client.settings.allow_insecure_http)
    settings.resolved_token()  # one line of visible ASCII, or a usage error
    with BrainstemClient(settings=settings, api=client.api, retry=client.retry) as check:
        resp = check.request("GET", check.generation.probe_model, params=[("limit", "1")])
        if resp.status_code in (401, 403):
            raise AuthError("GET", str(resp.request.url), resp.status_code,
                            "the server refused this token; nothing stored")
        if resp.is_error:
            raise check.error_for(resp)


def _device_sign_in(client: object, headless: bool) -> str:
    from bsingest.client import BrainstemClient, open_browser, wait_for_device_token

    assert isinstance(client, BrainstemClient)
    device = client.start_device_authorization("bsingest")
    opened = not headless and open_browser(device.verification_uri_complete)
    if opened:
        click.echo(f"Approve bsingest in the browser window just opened (code "
                   f"{device.user_code}); if none opened, go to {device.verification_uri} "
                   "and enter that code.", err=True)
    else:
        click.echo(f"To sign in, open {device.verification_uri} on any device and enter "
                   f"the code: {device.user_code}", err=True)
    minutes = max(1, round(device.expires_in / 60))
    click.echo(f"Waiting for approval (the code expires in {minutes} min; Ctrl-C stops)...",
               err=True)
    return wait_for_device_token(client, device)


def _password_sign_in(client: object, username: str | None) -> str:
    from bsingest.client import BrainstemClient, obtain_token
    from bsingest.errors import UsageError

    assert isinstance(client, BrainstemClient)
    # A stated --api 2023 against a server without /rest/: say so before asking anything.
    client.check_stated_api()
    try:
        if username is None:
            username = click.prompt("Username", err=True)
        password = click.prompt("Password", hide_input=True, err=True)
    except click.exceptions.Abort:  # end of input: a rig, a script, ssh without a terminal
        raise UsageError(f"{client.server} speaks the 2023 API, which signs in with a name "
                         "and password, and none was given on standard input: paste a token "
                         "with `bsingest login --token-stdin`, or set BRAINSTEM_TOKEN") from None
    return obtain_token(client.server, username or "", password,
                        allow_insecure_http=client.settings.allow_insecure_http)


def _store(server: str, token: str) -> None:
    from bsingest.settings import (
        configured_server,
        is_loopback,
        save_server,
        store_token,
    )

    path = store_token(server, token)
    click.echo(f"signed in to {server}; token stored in {path} (readable by you only)",
               err=True)
    if configured_server() is None:
        if is_loopback(server):
            # A demo on this machine must not become where every later run goes.
            click.echo(f"{server} is on this machine: not saved as the default server "
                       "(give --server, or set BRAINSTEM_SERVER)", err=True)
        else:  # from now on, every command talks to this server
            config = save_server(server)
            click.echo(f"server {server} saved in {config}: bsingest ingest, batch and "
                       "records now use it (no more local demo server)", err=True)
    for name in ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN"):
        if os.environ.get(name):
            click.echo(f"note: {name} is set and takes precedence over the stored token",
                       err=True)
