"""The extractor registry: one module per file family, one tuple that lists them.

``extractor_for(path)`` asks every family how sure it is that a path is its own
(:class:`~extractors.base.Claim`): the most specific claim wins; no claim, or a tie
between families, is a clear :class:`~bsingest.errors.UnsupportedFile` error.
``discover(folder)`` sorts a session folder into data files, their sidecars, and files
skipped with a reason. A :attr:`~extractors.base.Claim.COMPANION` claim (a file that
belongs to another file's record, such as a Miniscope device's numbered AVIs) beats every
other family's claim, so no generic reader describes it on its own.

Extractor modules import their heavy libraries (numpy, h5py, cv2, av) inside
``_extract``, so importing this package stays cheap.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bsingest.errors import BsingestError, UnsupportedFile

from .abf import AbfExtractor
from .audio import AudioExtractor
from .axona_pos import AxonaPosExtractor
from .base import Claim, Extraction, Extractor, Fields, Provenance, Source
from .brainvision import BrainVisionExtractor
from .bruker import BrukerExtractor
from .dicom import DicomExtractor
from .dlc import DlcExtractor
from .edf import EdfExtractor
from .femtonics import FemtonicsExtractor
from .fictrac import FicTracExtractor
from .inscopix import InscopixExtractor
from .intan import IntanExtractor
from .miniscope import MiniscopeExtractor
from .mri_vendor import ParaVisionExtractor, ParRecExtractor
from .neo import NeoExtractor
from .nifti import NiftiExtractor
from .nvt import NvtExtractor
from .nwb import NwbExtractor
from .openephys import OpenEphysBinaryExtractor
from .openephys_legacy import OpenEphysLegacyExtractor
from .photometry import DoricExtractor, NeurophotometricsExtractor, PyPhotometryExtractor
from .rawbinary import RawBinaryExtractor
from .run import current as current_run
from .scanbox import ScanboxExtractor
from .sleap import SleapAnalysisExtractor, SleapExtractor
from .spikeglx import SpikeGlxExtractor
from .suite2p import Suite2pExtractor
from .tdt_photometry import TdtPhotometryExtractor
from .thorimage import ThorImageExtractor
from .tiff import TiffExtractor
from .video import VideoExtractor
from .winwcp import WinWcpExtractor

__all__ = [
    "EXTRACTORS",
    "Claim",
    "Discovery",
    "Extraction",
    "Extractor",
    "Fields",
    "Provenance",
    "Source",
    "discover",
    "extractor_for",
    "prewarm_readers",
]

#: Every file family, in no particular order: the claims decide.
EXTRACTORS: tuple[type[Extractor], ...] = (
    NwbExtractor,
    WinWcpExtractor,
    AbfExtractor,
    AudioExtractor,
    RawBinaryExtractor,
    IntanExtractor,
    OpenEphysBinaryExtractor,
    OpenEphysLegacyExtractor,
    SpikeGlxExtractor,
    VideoExtractor,
    DlcExtractor,
    NeoExtractor,
    MiniscopeExtractor,
    InscopixExtractor,
    FemtonicsExtractor,
    EdfExtractor,
    BrainVisionExtractor,
    SleapExtractor,
    SleapAnalysisExtractor,
    FicTracExtractor,
    NvtExtractor,
    AxonaPosExtractor,
    TiffExtractor,
    BrukerExtractor,
    ThorImageExtractor,
    ScanboxExtractor,
    Suite2pExtractor,
    NiftiExtractor,
    DicomExtractor,
    ParRecExtractor,
    ParaVisionExtractor,
    PyPhotometryExtractor,
    NeurophotometricsExtractor,
    DoricExtractor,
    TdtPhotometryExtractor,
)

_BY_NAME = tuple(cls for cls in EXTRACTORS if not cls.sniffs)
# Asked only when no family knows a file by its name: the sniffers' claims, and the second
# look of families whose files may also go unnamed (a DeepLabCut .h5 renamed).
_BY_CONTENT = tuple(cls for cls in EXTRACTORS
                    if cls.sniffs or cls.claim_content.__func__ is not  # type: ignore[attr-defined]
                    Extractor.claim_content.__func__)  # type: ignore[attr-defined]

# Folders that never hold a session's data, and files that are bsingest's own settings.
_IGNORED_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", ".bsingest"}
_IGNORED_FILES = {"bsingest.toml"}


def extractor_for(path: str | os.PathLike[str]) -> Extractor:
    """The extractor for ``path``; raises :class:`UnsupportedFile` if none or several fit."""
    p = path if isinstance(path, Path) else Path(path)  # a Path made again is parsed again
    best, claimants = _claimants(p)
    if best == Claim.NO:
        raise UnsupportedFile(p, _companion_reason(p) or _unsupported_reason(p))
    if len(claimants) > 1:
        names = " and ".join(c.name for c in claimants)
        raise UnsupportedFile(p, f"claimed by {names} alike; move the other family's sidecars away")
    return claimants[0]()


@dataclass
class Discovery:
    """A folder sorted: data files to extract, sidecars they read, files skipped and why."""

    data: list[Path] = field(default_factory=list)
    sidecars: dict[Path, Path] = field(default_factory=dict)  # sidecar -> a file that reads it
    skipped: dict[Path, str] = field(default_factory=dict)  # file -> reason


def discover(folder: str | os.PathLike[str]) -> Discovery:
    """Sort every file under ``folder`` (recursively, in name order)."""
    root = Path(folder)
    files = _walk(root)
    claims = {p: _claimants(p) for p in files}
    found = Discovery()
    for p in files:
        best, claimants = claims[p]
        if best > Claim.NO and len(claimants) == 1:
            for s in claimants[0].sidecars(p):
                found.sidecars.setdefault(Path(s), p)
    for p in files:
        best, _ = claims[p]
        # A sidecar that another family would read alone stays a sidecar when its own
        # family says it belongs to a record (a Miniscope device's AVIs, not videos).
        if p in found.sidecars and (best < Claim.SPECIFIC or best == Claim.COMPANION):
            continue
        if best == Claim.NO and not _failed_recording(p):
            found.skipped[p] = _unsupported_reason(p)
        elif (nothing := _nothing_to_describe(p, claims[p][1])) is not None:
            found.skipped[p] = nothing
        else:
            found.data.append(p)  # an empty recording file fails, naming itself
    # A file is a sidecar only if it is not itself a data file.
    for p in found.data:
        found.sidecars.pop(p, None)
    return found


def _nothing_to_describe(p: Path, claimants: list[type[Extractor]]) -> str | None:
    """The family's reason why ``p`` is its own file but no recording (an annotations-only
    EDF, a DICOMDIR), else None. A tie between families is left to extraction to name."""
    if len(claimants) != 1:
        return None
    try:
        return claimants[0].skip_reason(p)
    except (OSError, BsingestError):  # the hook reads headers; extraction names the problem
        return None


def prewarm_readers(files: list[Path]) -> None:
    """Have the reader process start and import what the families of ``files`` read with
    (see :attr:`Extractor.warm`), while this process reads the other files."""
    # Each distinct answer once: a run's 10,000 WAVs share one (see _ask).
    outcomes = {id(found): found for found in map(_claimants, files)}
    modules = sorted({m for _, families in outcomes.values() for cls in families
                      for m in cls.warm})
    if modules:
        from ._isolate import prewarm

        prewarm(tuple(modules))


def _claimants(p: Path) -> tuple[Claim, list[type[Extractor]]]:
    # Within a run a file's claims are worked out once (listing the folder, then
    # extracting the file).
    r = current_run()
    if r is None:
        return _ask(p)
    found = r.claims.get(p)
    if found is None:
        found = r.claims[p] = _ask(p)
    return found  # type: ignore[no-any-return]


def _named(cls: type[Extractor]) -> tuple[str, ...] | None:
    """The lower-case endings of the names ``cls`` can claim, or None (ask it always)."""
    endings = cls.claim_endings
    if endings is None and cls.claim.__func__ is Extractor.claim.__func__:  # type: ignore[attr-defined]
        endings = tuple(s.lower() for s in cls.suffixes)  # the base claims by suffix alone
    return endings


_ENDINGS = tuple((cls, _named(cls)) for cls in _BY_NAME)
_ASKED: dict[str, tuple[tuple[type[Extractor], tuple[str, ...] | None], ...]] = {}


def _asked_for(suffix: str) -> tuple[tuple[type[Extractor], tuple[str, ...] | None], ...]:
    """The families (in registry order) that may claim a name whose text after its last
    dot is ``suffix``: an ending with a dot can only end such a name if its own text after
    the last dot is ``suffix``; endings without a dot and None are kept (checked per name)."""
    found = _ASKED.get(suffix)
    if found is None:
        found = _ASKED[suffix] = tuple(
            (cls, endings) for cls, endings in _ENDINGS
            if endings is None
            or any("." not in e or e.rsplit(".", 1)[1] == suffix for e in endings))
    return found


def _ask(p: Path) -> tuple[Claim, list[type[Extractor]]]:
    # A family whose claim_endings the name does not end with is not asked: a session's
    # 10,000 WAVs cost a dict look-up and a few endswith, not one claim per family.
    name = p.name.lower()
    claims = [(cls.claim(p), cls) for cls, endings in _asked_for(name.rpartition(".")[2])
              if endings is None or name.endswith(endings)]
    # Families that recognise a file by its content whatever its name (DICOM's magic at
    # byte 128, FicTrac's rows of numbers in a .dat) are asked only when no family knows
    # the file by its name and sidecars: a session's 10,000 WAVs or an Intan folder's
    # amplifier.dat are never opened to decide whose they are.
    best = max((c for c, _ in claims), default=Claim.NO)
    if best < Claim.SPECIFIC and p.is_file():  # never a FIFO or a device: opening blocks
        claims += [(cls.claim(p) if cls.sniffs else cls.claim_content(p), cls)
                   for cls in _BY_CONTENT]
        best = max((c for c, _ in claims), default=Claim.NO)
    found = (best, [cls for c, cls in claims if c == best and c > Claim.NO])
    # One shared answer per outcome: a run keeps every file's answer, and 100,000 WAVs
    # need one (SPECIFIC, [audio]), not 100,000 copies of it.
    key = (best, *found[1])
    return _OUTCOMES.setdefault(key, found)


_OUTCOMES: dict[tuple[object, ...], tuple[Claim, list[type[Extractor]]]] = {}


# Suffixes of general-purpose files (notes, tables, arrays, settings) that some family
# reads, but that are no failed recording when empty or of another kind.
_GENERAL_SUFFIXES = (".json", ".csv", ".xml", ".txt", ".npy", ".h5", ".hdf5", ".mat", "method")
# Axona dacqUSB: tetrode N's spike file is <trial>.N beside <trial>.set.
_AXONA_TETRODE = re.compile(r"\.([1-9]|[1-5][0-9]|6[0-4])$")
_SESSION_MATS = (".session.mat", ".sessioninfo.mat")


def _families_named_like(p: Path) -> list[str]:
    """Families that read files whose name ends like ``p``'s (their ``suffixes``), the
    general-purpose endings aside (a ``.json`` is anybody's; a ``.raw.h5`` is MaxWell's)."""
    name = p.name.lower()
    return [cls.name for cls in EXTRACTORS
            if any(name.endswith(s.lower()) and s.lower() not in _GENERAL_SUFFIXES
                   for s in getattr(cls, "suffixes", ()))]


# Endings that only one acquisition system writes: a file so named that its family does not
# recognise is a damaged or mislabelled recording (a WAV renamed .ns5, a .ncs of zeros), an
# error; not ".trc" (motion-capture trajectories too), ".raw", ".rec", ".eeg", ".bin".
_VENDOR_SUFFIXES = (".ns1", ".ns2", ".ns3", ".ns4", ".ns5", ".ns6", ".ncs", ".plx", ".pl2",
                    ".smr", ".smrx", ".mpx", ".brw")


def _failed_recording(p: Path) -> bool:
    """An empty file named like a recording (``x.ns5`` of 0 bytes, a crashed recorder's
    file), or a file with one system's own ending that its family does not recognise: an
    error naming it, not a skipped file nobody reads about."""
    try:
        if not p.is_file():
            return False
        empty = p.stat().st_size == 0
    except OSError:
        return False
    if p.name.lower().endswith(_VENDOR_SUFFIXES):
        return True
    return empty and bool(_families_named_like(p))


def _unsupported_reason(p: Path) -> str:
    if p.is_dir():
        return "a folder, not a recording file"
    suffix = "".join(p.suffixes[-2:]) or "no suffix"
    name = p.name.lower()
    if _AXONA_TETRODE.search(name) and p.with_suffix(".set").is_file():
        return ("an Axona tetrode spike file (spike times and waveforms, no continuous "
                "signal): not described; the trial's .bin and .eeg/.egf files are")
    if name.endswith(_SESSION_MATS):
        return ("a CellExplorer/buzcode session file with no .dat or .lfp beside it: it "
                "describes a recording only together with its binary")
    families = _families_named_like(p)
    try:
        size = p.stat().st_size
    except OSError:
        size = -1
    if families and size == 0:
        return "empty file (0 bytes)"
    if families:
        start = _head(p)
        begins = f": it begins {start!r}" if start else ""
        return (f"named like a file of the {' or '.join(families)} family ({suffix}), but "
                f"its contents are not one{begins}")
    return f"no extractor reads this kind of file ({suffix})"


def _companion_reason(p: Path, limit: int = 500) -> str | None:
    """For a file given alone: the file beside it whose record it belongs to (a TDT block's
    ``.tsq`` or ``.sev``, a Blackrock ``.nev``, an Axona ``.set``), said as such; else None.

    Only files whose name shares its first part with ``p``'s are asked (a block's files
    start with the block's name), at most ``limit`` of them.
    """
    stem = p.name.split(".")[0]
    try:
        siblings = sorted(q for q in p.parent.iterdir()
                          if q != p and q.is_file() and (q.name.startswith(stem) or
                                                         stem.startswith(q.name.split(".")[0])))
    except OSError:
        return None
    for q in siblings[:limit]:
        best, claimants = _claimants(q)
        if best == Claim.NO or len(claimants) != 1:
            continue
        try:
            owned = [Path(s) for s in claimants[0].sidecars(q)]
        except Exception:  # a sibling's trouble is not this file's reason
            continue
        if p in owned or p.resolve() in (o.resolve() for o in owned):
            return (f"a companion of {q.name}, described with it: give {q.name} or the "
                    "folder")
    return None


def _head(p: Path, n: int = 12) -> bytes:
    try:
        with open(p, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def _walk(root: Path) -> list[Path]:
    """Every file under ``root``, in the order of their paths (as ``sorted`` orders Paths:
    part by part, which sorting the text alone does not: ``a-b/x`` and ``a/y``)."""
    if root.is_file():
        return [root]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in _IGNORED_DIRS and not d.startswith("."))
        found += [os.path.join(dirpath, f) for f in filenames
                  if not f.startswith(".") and f not in _IGNORED_FILES]
    # Sorted as text split into parts, and made Paths once: 100,000 Path comparisons and
    # joins cost more than reading the files' headers.
    found.sort(key=lambda s: s.split(os.sep))
    return [Path(s) for s in found]
