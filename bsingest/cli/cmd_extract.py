"""``bsingest extract``: show what bsingest reads from each file, upload nothing."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import click

from .jsonstream import JsonListWriter, dumps_extraction
from .options import stated_options, stated_values, verify_asked
from .output import echo_err, echo_skipped, fmt_number, print_table

if TYPE_CHECKING:
    from bsingest.extraction import ExtractReport
    from extractors.base import Extraction


@click.command("extract")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {path, type, type_json, provenance, warnings} "
                   "or {path, error}, for machines.")
@stated_options
@click.pass_context
def extract_cmd(ctx: click.Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Describe recording files and session folders; upload nothing.

    Each PATH is a file or a folder; a folder means every recognised file under it.
    Sidecars (.xml, .meta, .oebin, ...) are read with the file they describe; other
    files are listed as skipped, with the reason. Files are read as `bsingest ingest`
    reads them: with the [[files]] rules of the session's bsingest.toml (the nearest
    folder at or above PATH that holds one), then the values given here, which win.

    \b
    Examples:
      bsingest extract examples/session
      bsingest extract rec.dat --n-channels 64 --sr 30000 --dtype int16 --json

    Exit code 0 when every file was described, 1 when any failed, 2 for usage errors.
    """
    from bsingest.extraction import ExtractReport, extract_paths, iter_rendered

    record_type, stated = stated_values(ctx)
    if as_json:
        # Streamed: records are printed as their files are read (64 KiB at a time), none kept
        # (100,000 files must not mean 100,000 records in memory); the errors follow, as
        # ExtractReport.to_json orders them. A large folder's files are shared with forked
        # workers, whose text comes back in its place (bsingest.extraction.iter_rendered).
        report = ExtractReport()
        found = iter_rendered(paths, report, _item_text, JsonListWriter.SEP,
                              record_type=record_type, verify=verify_asked(ctx), **stated)
        with JsonListWriter(_stdout_bytes()) as out:
            for item in found:
                if isinstance(item, str):
                    out.write_text(item)
                else:
                    out.write_pieces(item.pieces(), item.count)
            for path, msg in report.errors.items():
                out.write({"path": path, "error": msg})
        _print_notes(report)
        ctx.exit(0 if report.ok else 1)
    report = extract_paths(paths, record_type=record_type, verify=verify_asked(ctx), **stated)
    _print_report(report, [p for p in paths if os.path.isdir(p)])
    _print_notes(report)
    ctx.exit(0 if report.ok else 1)


#: One record's text in the list (a partial: no Python call between it and the writer).
_item_text: Callable[[Extraction], str] = functools.partial(dumps_extraction, pad="  ")


def _print_notes(report: ExtractReport) -> None:
    """The run's notes on stderr, once per run, not on every record (stdout may be JSON)."""
    for note in report.notes:
        echo_err(f"note: {note}")


def _stdout_bytes() -> Callable[[bytes], Any]:
    """Where the JSON bytes go: stdout's binary buffer, written to directly (a call per
    record through click.echo costs more than describing a small file); click.echo when
    stdout has no buffer."""
    import sys

    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        sys.stdout.flush()
        return buffer.write  # type: ignore[no-any-return]
    return lambda data: click.echo(data, nl=False)


def _in_folder(path: str, folders: list[str]) -> str:
    """``path`` relative to the folder given that holds it: the session-relative path."""
    for folder in folders:
        rel = os.path.relpath(path, folder)
        if not rel.startswith(os.pardir):
            return rel.replace(os.sep, "/")
    return path


def _contents(record_type: str, tj: Mapping[str, Any]) -> str:
    """One line of what a record holds; only what it states (no '?' or empty units)."""
    from bsingest.recordtypes import lookup

    found = lookup(record_type)
    if (found.family == "imaging") if found is not None else "nFrames" in tj:
        shape = (f"{tj['horizontalResolution']}x{tj['verticalResolution']}"
                 if "horizontalResolution" in tj and "verticalResolution" in tj else "")
        head = " ".join(str(v) for v in (tj.get("compression", ""), shape) if v)
        parts = [head] if head else []
        if "nFrames" in tj:
            parts.append(f"{fmt_number(tj['nFrames'])} frames"
                         + (f" @ {fmt_number(tj['frameRate'])} fps" if "frameRate" in tj else ""))
        elif "frameRate" in tj:
            parts.append(f"{fmt_number(tj['frameRate'])} fps")
        voxel = [fmt_number(tj[k]) for k in ("xVoxelSize", "yVoxelSize", "zVoxelSize") if k in tj]
        if voxel:
            parts.append(f"{'x'.join(voxel)} µm voxels")
        for key, unit in (("excitationWavelength", "nm"), ("magneticFieldStrength", "T"),
                          ("laserPower", "mW"), ("imagingDepth", "µm deep")):
            if key in tj:
                parts.append(f"{fmt_number(tj[key])} {unit}")
        return ", ".join(parts)
    shape = f"{fmt_number(tj['nChannels'])} ch" if "nChannels" in tj else ""
    if "nSamples" in tj:
        samples = " ".join(str(v) for v in (fmt_number(tj["nSamples"]), tj.get("type")) if v)
        shape = f"{shape} x {samples}" if shape else f"{samples} samples"
    rate = f"{fmt_number(tj['sr'])} Hz" if "sr" in tj else ""
    return " @ ".join(v for v in (shape, rate) if v)


def _print_report(report, folders: list[str]) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for e in report.extractions:
        tj = e.type_json
        detail = _contents(e.type, tj)
        name = tj.get("fileName", os.path.basename(e.path))
        rows.append((name, e.type, tj.get("format", ""), detail, "; ".join(e.warnings)))
    if rows:
        print_table(None, ("file", "type", "format", "contents", "warnings"), rows)
    for msg in report.errors.values():
        echo_err(f"error: {msg}")
    echo_skipped({_in_folder(path, folders): reason for path, reason in report.skipped.items()})
    n_files = len({e.path for e in report.extractions})
    click.echo(f"{len(report.extractions)} records from {n_files} files, "
               f"{len(report.errors)} failed, {len(report.skipped)} skipped, "
               f"{len(report.sidecars)} sidecars", err=True)
