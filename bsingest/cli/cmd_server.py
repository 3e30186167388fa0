"""``bsingest server``: run the local BrainSTEM-compatible server for demos and dry runs."""

from __future__ import annotations

import click

_MODES = ("error_before", "unavailable", "throttle", "error_after", "drop_after")


@click.command("server")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="TCP port on 127.0.0.1 (0: any free port).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=str),
              help="SQLite file to keep the records in (seeded when new); default: a "
                   "temporary one, gone when the server stops.")
@click.option("--fault-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of POST/PATCH/DELETE requests that suffer a fault.")
@click.option("--fault-mode", "fault_modes", multiple=True, type=click.Choice(_MODES),
              help="Fault to inject (repeat for several); default: all of them.")
@click.option("--fault-seed", type=int, default=0, show_default=True,
              help="Seed that makes the faults reproducible.")
@click.option("--latency", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Seconds added to every request.")
@click.option("--legacy-envelope", is_flag=True,
              help="Answer Data Acquisition lists and details under 'dataacquisition', as "
                   "earlier deployments of the current API did.")
@click.option("--device-auto-approve", type=click.IntRange(min=0), default=None,
              metavar="POLLS",
              help="Approve device sign-ins (bsingest login) by themselves after POLLS "
                   "pending polls, as the main demo user; default: approve on the page.")
@click.option("--device-interval", type=click.FloatRange(min=0), default=5.0,
              show_default=True, help="Seconds a device sign-in waits between polls.")
@click.option("--serve-api", "serve_api", type=click.Choice(["both", "2023", "2026"]),
              default="both", show_default=True,
              help="The API generations to serve: 2026 alone behaves like brainstem.org (no "
                   "/rest/), 2023 alone like an older instance.")
def server_cmd(port: int, db_path: str | None, fault_rate: float, fault_modes: tuple[str, ...],
               fault_seed: int, latency: float, legacy_envelope: bool,
               device_auto_approve: int | None, device_interval: float,
               serve_api: str) -> None:
    """Serve a local BrainSTEM-compatible API on 127.0.0.1 until interrupted.

    \b
    Then, in another shell:
      export BRAINSTEM_SERVER=http://127.0.0.1:8000
      bsingest login --headless     # approve at http://127.0.0.1:8000/device/ as a demo
                                    # user of the seed file, e.g. alice (or start
                                    # the server with --device-auto-approve 0)
      bsingest login --api 2023     # or the 2023 API: that user's name and password
      bsingest records list
    """
    from importlib import resources
    from pathlib import Path

    from bsingest.server import DeviceAuth, Faults, LocalServer

    faults = Faults(latency=latency, rate=fault_rate, modes=fault_modes or _MODES,
                    seed=fault_seed)
    device = DeviceAuth(interval=device_interval, auto_approve=device_auto_approve)
    srv = LocalServer(db_path=Path(db_path) if db_path else None, faults=faults, port=port,
                      legacy_envelope=legacy_envelope, device_auth=device,
                      apis=("2023", "2026") if serve_api == "both" else (serve_api,))
    seed_file = resources.files("bsingest.data").joinpath("seed.json")
    click.echo(f"BrainSTEM-compatible server on {srv.url}", err=True)
    click.echo(f"database: {srv.db_path}", err=True)
    click.echo(f"demo users, passwords and tokens: {seed_file} (main user: "
               f"{srv.seed.main_user})", err=True)
    served = {"2026": f"{srv.url}/api/ (current; device sign-in page {srv.url}/device/)",
              "2023": f"{srv.url}/rest/ (2023)"}
    click.echo("APIs: " + " and ".join(served[a] for a in srv.app.apis[::-1]), err=True)
    if fault_rate:
        click.echo(f"faults: {fault_rate:.0%} of writes ({', '.join(faults.modes)}), "
                   f"seed {fault_seed}", err=True)
    click.echo("Ctrl-C stops it.", err=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
