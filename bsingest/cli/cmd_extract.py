"""``bsingest extract``: show what bsingest reads from each file, upload nothing."""

from __future__ import annotations

import os

import click

from bsingest.records import RECORD_TYPES

from .output import fmt_number, print_json, print_table

_DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64")


@click.command("extract")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {path, type, type_json, provenance, warnings} "
                   "or {path, error}, for machines.")
@click.option("--type", "record_type", type=click.Choice(RECORD_TYPES),
              help="Restate the record type of time-series files "
                   "(e.g. GeneralTimeSeries for a .dat of analog inputs).")
@click.option("--n-channels", type=click.IntRange(min=1),
              help="Channels interleaved in raw binary files that have no sidecar.")
@click.option("--sr", type=click.FloatRange(min=0, min_open=True),
              help="Sampling rate in Hz, for raw binary files that have no sidecar.")
@click.option("--dtype", type=click.Choice(_DTYPES), help="Sample type of raw binary files.")
@click.option("--lsb", type=click.FloatRange(min=0, min_open=True),
              help="µV per integer step of raw binary files.")
@click.option("--verify", is_flag=True,
              help="Decode every video frame to check the count the container's index "
                   "gives (as slow as playing the video); when they differ, nFrames is the "
                   "decoded count and a warning gives both.")
@click.pass_context
def extract_cmd(ctx: click.Context, paths: tuple[str, ...], as_json: bool,
                record_type: str | None, n_channels: int | None, sr: float | None,
                dtype: str | None, lsb: float | None, verify: bool) -> None:
    """Describe recording files and session folders; upload nothing.

    Each PATH is a file or a folder; a folder means every recognised file under it.
    Sidecars (.xml, .meta, .oebin, ...) are read with the file they describe; other
    files are listed as skipped, with the reason.

    \b
    Examples:
      bsingest extract examples/session
      bsingest extract rec.dat --n-channels 64 --sr 30000 --dtype int16 --json

    Exit code 0 when every file was described, 1 when any failed, 2 for usage errors.
    """
    from bsingest.extraction import extract_paths

    stated = {"n_channels": n_channels, "sr": sr, "dtype": dtype, "lsb": lsb}
    report = extract_paths(paths, record_type=record_type, verify=verify, **stated)
    if as_json:
        print_json(report.to_json())
    else:
        _print_report(report)
    ctx.exit(0 if report.ok else 1)


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for e in report.extractions:
        tj = e.type_json
        if e.type == "BehavioralTracking":
            shape = f"{tj.get('horizontalResolution', '?')}x{tj.get('verticalResolution', '?')}"
            detail = (f"{tj.get('compression', '')} {shape}, "
                      f"{fmt_number(tj.get('nFrames'))} frames "
                      f"@ {fmt_number(tj.get('frameRate'))} fps")
        else:
            detail = (f"{fmt_number(tj.get('nChannels'))} ch x {fmt_number(tj.get('nSamples'))} "
                      f"{tj.get('type', '')} @ {fmt_number(tj.get('sr'))} Hz")
        name = tj.get("fileName", os.path.basename(e.path))
        rows.append((name, e.type, tj.get("format", ""), detail, "; ".join(e.warnings)))
    if rows:
        print_table(None, ("file", "type", "format", "contents", "warnings"), rows)
    for msg in report.errors.values():
        click.echo(f"error: {msg}", err=True)
    for path, reason in report.skipped.items():
        click.echo(f"skipped: {os.path.basename(path)}: {reason}", err=True)
    n_files = len({e.path for e in report.extractions})
    click.echo(f"{len(report.extractions)} records from {n_files} files, "
               f"{len(report.errors)} failed, {len(report.skipped)} skipped, "
               f"{len(report.sidecars)} sidecars", err=True)
