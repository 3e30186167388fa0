"""Extraction as the rest of bsingest uses it: one path, or a whole session folder.

A bad file never stops the others: :func:`extract_paths` records each file's error
(one line, naming the file) and goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import BsingestError
from .quantities import STATED

if TYPE_CHECKING:
    from extractors.base import Extraction

    from .sessionconfig import FileSettings, IngestOptions

__all__ = ["ExtractReport", "extract", "extract_folder", "extract_or_error", "extract_paths",
           "iter_extract", "unapplied_groups", "unapplied_notes"]

log = logging.getLogger(__name__)


@dataclass
class ExtractReport:
    """What came of extracting a set of paths."""

    extractions: list[Extraction] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # path -> one-line message
    skipped: dict[str, str] = field(default_factory=dict)  # path -> reason
    sidecars: dict[str, str] = field(default_factory=dict)  # sidecar path -> data file
    #: Records that left a stated value out (kept apart: a streamed run keeps no extractions).
    unapplied: list[Extraction] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def notes(self) -> list[str]:
        """Lines to tell the user once for the whole run (stated values not applied)."""
        return unapplied_notes(self.unapplied)

    def to_json(self) -> list[dict[str, Any]]:
        """The ``--json`` list: one entry per extraction, then one per error."""
        out: list[dict[str, Any]] = [e.to_json() for e in self.extractions]
        out += [{"path": p, "error": msg} for p, msg in self.errors.items()]
        return out


def extract(path: str | os.PathLike[str], *, record_type: str | None = None,
            verify: bool = False, **stated: Any) -> list[Extraction]:
    """Describe one file: its records, with provenance. Raises on a bad file.

    Parameters
    ----------
    path
        A recording file (``.dat``, ``.wav``, ``.mp4``, ...).
    record_type
        Restate the record type of a time-series file (e.g. ``"GeneralTimeSeries"``).
    verify
        Check what a container's index promises against the data: a video is decoded in
        full and, where the counts differ, ``nFrames`` is the decoded count with a warning
        giving both. As slow as playing the video; the default counts what the container
        stores, without decoding.
    **stated
        ``n_channels``, ``sr``, ``dtype``, ``lsb`` for files without a sidecar;
        ``excitation_wavelength``, ``laser_power``, ``imaging_depth`` with units
        (``"920 nm"``, ``"30 mW"``, ``"250 um"``) for imaging records.
    """
    from extractors import extractor_for

    return extractor_for(path).extract(path, record_type=record_type, verify=verify, **stated)


def extract_folder(path: str | os.PathLike[str], *, record_type: str | None = None,
                   verify: bool = False, **stated: Any) -> ExtractReport:
    """Describe every recognised file under a session folder; see :func:`extract_paths`."""
    return extract_paths([path], record_type=record_type, verify=verify, **stated)


def extract_paths(paths: Iterable[str | os.PathLike[str]], *, record_type: str | None = None,
                  verify: bool = False, **stated: Any) -> ExtractReport:
    """Describe files and folders. A folder means every recognised file in it.

    Files given by name are always tried (an unknown one is an error); files found in a
    folder that no extractor reads are listed in ``skipped`` with the reason. Each file
    is read with what ``ingest`` would state for it: its session's ``bsingest.toml``
    ``[[files]]`` rules (the session: the nearest folder at or above the path given that
    holds one), then ``record_type`` and ``stated``, which win.
    """
    report = ExtractReport()
    for found in iter_extract(paths, report, record_type=record_type, verify=verify, **stated):
        report.extractions += found
    return report


def iter_extract(paths: Iterable[str | os.PathLike[str]], report: ExtractReport, *,
                 record_type: str | None = None, verify: bool = False, **stated: Any
                 ) -> Iterator[list[Extraction]]:
    """:func:`extract_paths` file by file: yields each file's extractions as soon as they
    are known, and fills ``report``'s errors, skipped files and sidecars (not its
    extractions: a caller that streams them keeps no list of 100,000 records).

    One :class:`extractors.run.Run` spans the call: a sidecar many files share is read
    once, and a file's claims are worked out once.
    """
    given = [Path(raw) for raw in paths]
    # Every bsingest.toml is read (and a bad one said) here, before the first record is
    # given: a --json list must not stop half way.
    stated_for = _session_rules(given, record_type, stated)
    return _iter_extract(given, report, stated_for, verify)


def _iter_extract(paths: Sequence[Path], report: ExtractReport,
                  stated_for: Callable[[Path, str], FileSettings], verify: bool
                  ) -> Iterator[list[Extraction]]:
    from extractors import _sort, prewarm_readers
    from extractors.run import run

    with run() as r:
        for p in paths:
            if not p.exists():
                report.errors[str(p)] = f"{p.name or p}: no such file or folder"
                continue
            data: list[str]
            if p.is_dir():
                # The listing as text: a Path per file is made only where a family needs
                # one (100,000 Paths held for a run cost more than their headers' reading).
                data, sidecars, skipped = _sort(p)
                report.skipped.update(skipped)
                report.sidecars.update(sidecars)
                root = str(p)
                prewarm_readers(data)
                if not data:  # a folder named like a file (x.dat) must not pass for one
                    report.errors[str(p)] = (f"{p.name or p}: is a folder, and no file in it "
                                             "is a recording bsingest reads")
            else:
                data, root = [str(p)], str(p.parent)
            data.reverse()  # taken from the end: each file's path is let go once read
            while data:
                f = data.pop()
                per_file = stated_for(p, f)
                extracted, error = extract_or_error(f, record_type=per_file.record_type,
                                                    verify=verify, **per_file.stated)
                r.claims.pop(f, None)  # asked once when listing, once when extracting: done
                if error is not None:
                    report.errors[f] = error
                if extracted:
                    named = [x.relative_to(root) for x in extracted]
                    report.unapplied += [x for x in named if x.unapplied]
                    yield named


def _session_rules(paths: Sequence[Path], record_type: str | None, stated: Mapping[str, Any]
                   ) -> Callable[[Path, str], FileSettings]:
    """What each file is read with, as ``ingest`` of its session reads it: the ``[[files]]``
    rules of the session's ``bsingest.toml`` (and of the user's config file), then the
    values of the call for every file, which win as ``ingest``'s command line does.

    A path's session is the nearest folder at or above it that holds a ``bsingest.toml``
    (a file's own folder when none does); rules match paths relative to it.
    """
    from .sessionconfig import SESSION_FILE, load_options, stated_rules

    call = stated_rules(record_type, stated)
    sessions: dict[Path, tuple[Path, IngestOptions, FileSettings | None]] = {}
    for p in paths:
        if p.exists() and p not in sessions:
            start = p if p.is_dir() else p.parent
            root = next((d for d in (start, *start.parents) if (d / SESSION_FILE).is_file()),
                        start)
            options = load_options(root)
            options = replace(options, rules=options.rules + call)
            # Without rules every file is read alike: the answer is worked out once.
            sessions[p] = (root, options, None if options.rules else options.for_file(""))

    def settings(given: Path, path: str) -> FileSettings:
        root, options, alike = sessions[given]
        if alike is not None:
            return alike
        file = Path(path)
        try:
            rel = file.relative_to(root).as_posix()
        except ValueError:
            rel = file.name
        return options.for_file(rel)

    return settings


def extract_or_error(path: str | os.PathLike[str], *, record_type: str | None = None, verify: bool = False,
                     **stated: Any) -> tuple[list[Extraction], str | None]:
    """:func:`extract`, with a failure returned as its one-line message instead of raised.

    For runs over many files, where one bad file must not stop the others: our own errors
    become their message; anything else is a bug, logged with its traceback and reported
    in one line too.
    """
    try:
        return extract(path, record_type=record_type, verify=verify, **stated), None
    except BsingestError as exc:
        return [], str(exc)
    except Exception as exc:
        log.exception("unexpected error while extracting %s", path)
        return [], (f"{os.path.basename(path)}: unexpected {type(exc).__name__}: {exc} "
                    "(a bug in bsingest; please report it)")


#: Files named in a note; more are counted.
_NOTE_FILES = 5


class Declines(Protocol):
    """A record that may have left stated values out: an :class:`Extraction`, or the
    session report's view of one."""

    @property
    def file_name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def unapplied(self) -> Sequence[str]: ...


def unapplied_groups(records: Iterable[Declines]) -> list[tuple[str, list[str], list[str]]]:
    """(stated value, the files that did not take it, their types) per stated value, in
    the order first met; a file named once however many of its parts declined."""
    files: dict[str, list[str]] = {}
    types: dict[str, list[str]] = {}
    for x in records:
        name = x.file_name.split("#", 1)[0]
        for stated in x.unapplied:
            if name not in files.setdefault(stated, []):
                files[stated].append(name)
            if x.type not in types.setdefault(stated, []):
                types[stated].append(x.type)
    return [(stated, names, types[stated]) for stated, names in files.items()]


def unapplied_notes(extractions: Iterable[Declines]) -> list[str]:
    """One line per stated optical quantity that some records did not take, naming those
    files once (not a warning on each of a hundred MRI records): their type is a scanner's
    (MRI, CT, PET...), or has no field for it. Not an error: the value was meant for the
    session's imaging files."""
    out = []
    for stated, names, types in unapplied_groups(extractions):
        shown = ", ".join(names[:_NOTE_FILES])
        if len(names) > _NOTE_FILES:
            shown += f" and {len(names) - _NOTE_FILES} more"
        n = f"{len(names)} file{'s' if len(names) != 1 else ''}"
        field_name = STATED[stated.split(" = ", 1)[0]].field
        out.append(f"stated {stated} not applied to {n} ({shown}): not an optical record, or "
                   f"no {field_name} in its type ({', '.join(types)})")
    return out
