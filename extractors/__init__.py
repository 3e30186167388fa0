"""The extractor registry: one module per file family, one table that lists them.

``extractor_for(path)`` asks every family how sure it is that a path is its own
(:class:`~extractors.base.Claim`): the most specific claim wins; no claim, or a tie
between families, is a clear :class:`~bsingest.errors.UnsupportedFile` error.
``discover(folder)`` sorts a session folder into data files, their sidecars, and files
skipped with a reason. A :attr:`~extractors.base.Claim.COMPANION` claim (a file that
belongs to another file's record, such as a Miniscope device's numbered AVIs) beats every
other family's claim, so no generic reader describes it on its own.

Extractor modules import their heavy libraries (numpy, h5py, cv2, av) inside
``_extract``, and this package imports a family's module only when a name it may claim
is met (:data:`FAMILIES`), so importing it stays cheap.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bsingest.errors import BsingestError, UnsupportedFile

from .base import Claim, Extraction, Extractor, Fields, Provenance, Source
from .run import current as current_run

__all__ = [
    "EXTRACTORS",
    "FAMILIES",
    "Claim",
    "Discovery",
    "Extraction",
    "Extractor",
    "Fields",
    "Provenance",
    "Source",
    "discover",
    "extractor_for",
]

_NEO_EEG = tuple(f".{kind}{n}" for kind in ("eeg", "egf") for n in range(2, 65))

#: Every file family, in no particular order (the claims decide): its module, its class,
#: the lower-case endings of the names its claim can say yes to (``claim_endings``, or its
#: ``suffixes`` when it claims by suffix alone; None for a family that knows its files by
#: content), whether it ``sniffs``, and whether it is asked about a file no family knows by
#: its name (a sniffer, or a family with a ``claim_content``). A family's module is
#: imported when a name it may claim is met: a folder of WAVs imports the audio family
#: alone. ``tests/test_registry.py`` holds this table to what the classes say.
FAMILIES: tuple[tuple[str, str, tuple[str, ...] | None, bool, bool], ...] = (
    ("nwb", "NwbExtractor", (".nwb",), False, False),
    ("winwcp", "WinWcpExtractor", (".wcp",), False, False),
    ("abf", "AbfExtractor", (".abf",), False, False),
    ("audio", "AudioExtractor", (".wav", ".wave", ".bwf", ".rf64", ".w64", ".flac", ".aif",
                                 ".aiff", ".aifc"), False, False),
    ("rawbinary", "RawBinaryExtractor", (".dat", ".lfp", ".eeg", ".bin"), False, False),
    ("intan", "IntanExtractor", (".rhd", ".rhs", ".dat"), False, False),
    ("openephys", "OpenEphysBinaryExtractor", ("structure.oebin", "continuous.dat"), False,
     False),
    ("openephys_legacy", "OpenEphysLegacyExtractor", (".continuous",), False, False),
    ("spikeglx", "SpikeGlxExtractor", (".bin", ".meta"), False, False),
    ("video", "VideoExtractor", (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".ts", ".mts",
                                 ".m2ts", ".mpg", ".mpeg", ".flv", ".wmv", ".asf", ".3gp"),
     False, False),
    ("dlc", "DlcExtractor", (".h5", ".hdf5", ".csv"), False, True),
    ("neo", "NeoExtractor", (".axgd", ".axgx", ".bin", ".brw", ".edr", ".eeg", ".egf",
                             *_NEO_EEG, ".h5", ".mpx", ".ncs", ".ns1", ".ns2", ".ns3", ".ns4",
                             ".ns5", ".ns6", ".pl2", ".plx", ".raw", ".raw.h5", ".rec", ".smr",
                             ".smrx", ".tev", ".trc", ".tsq", "_data.xdat", "_timestamp.xdat"),
     False, True),
    ("miniscope", "MiniscopeExtractor", ("metadata.json", ".avi", "timestamps.csv",
                                         "headorientation.csv"), False, False),
    ("inscopix", "InscopixExtractor", (".isxd",), False, False),
    ("femtonics", "FemtonicsExtractor", (".mesc",), False, False),
    ("edf", "EdfExtractor", (".edf", ".bdf"), False, False),
    ("brainvision", "BrainVisionExtractor", (".vhdr", ".eeg"), False, False),
    ("sleap", "SleapExtractor", (".slp",), False, False),
    ("sleap", "SleapAnalysisExtractor", (".h5", ".hdf5"), False, True),
    ("fictrac", "FicTracExtractor", None, True, True),
    ("nvt", "NvtExtractor", (".nvt",), False, False),
    ("axona_pos", "AxonaPosExtractor", (".pos",), False, False),
    ("tiff", "TiffExtractor", (".tif", ".tiff", ".btf", ".tf8"), False, False),
    ("bruker", "BrukerExtractor", (".xml",), False, False),
    ("thorimage", "ThorImageExtractor", ("experiment.xml",), False, False),
    ("scanbox", "ScanboxExtractor", (".sbx",), False, False),
    ("suite2p", "Suite2pExtractor", ("ops.npy",), False, False),
    ("nifti", "NiftiExtractor", (".nii", ".nii.gz"), False, False),
    ("dicom", "DicomExtractor", None, True, True),
    ("mri_vendor", "ParRecExtractor", (".rec", ".par"), False, False),
    ("mri_vendor", "ParaVisionExtractor", ("method",), False, False),
    ("photometry", "PyPhotometryExtractor", (".ppd",), False, False),
    ("photometry", "NeurophotometricsExtractor", (".csv",), False, False),
    ("photometry", "DoricExtractor", (".doric",), False, False),
    ("tdt_photometry", "TdtPhotometryExtractor", (".tev", ".tsq"), False, False),
)

_LOADED: dict[int, type[Extractor]] = {}


def _family(i: int) -> type[Extractor]:
    """The class of ``FAMILIES[i]``, its module imported on first use."""
    found = _LOADED.get(i)
    if found is None:
        import importlib

        module, name = FAMILIES[i][:2]
        found = _LOADED[i] = getattr(importlib.import_module(f".{module}", __name__), name)
    return found


def _all() -> tuple[type[Extractor], ...]:
    """Every family, all imported (for what needs them all: an unknown file's reason)."""
    return tuple(_family(i) for i in range(len(FAMILIES)))


def _content() -> tuple[type[Extractor], ...]:
    """The families asked about a file no family knows by its name: the sniffers' claims,
    and the second look of families whose files may also go unnamed (a DeepLabCut .h5
    renamed)."""
    return tuple(_family(i) for i, f in enumerate(FAMILIES) if f[4])


def __getattr__(name: str) -> object:
    # EXTRACTORS and the family classes by name import every family, on first use only.
    if name == "EXTRACTORS":
        return _all()
    if name == "_BY_NAME":
        return tuple(_family(i) for i, f in enumerate(FAMILIES) if not f[3])
    if name == "_BY_CONTENT":
        return _content()
    for i, f in enumerate(FAMILIES):
        if f[1] == name:
            return _family(i)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Folders that never hold a session's data, and files that are bsingest's own settings.
_IGNORED_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", ".bsingest"}
_IGNORED_FILES = {"bsingest.toml"}


def extractor_for(path: str | os.PathLike[str]) -> Extractor:
    """The extractor for ``path``; raises :class:`UnsupportedFile` if none or several fit."""
    best, claimants = _claimants(path)  # by the path's text: no Path made for a claim
    if best == Claim.NO or len(claimants) > 1:
        p = path if isinstance(path, Path) else Path(path)
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
    data, sidecars, skipped = _sort(folder)
    return Discovery([Path(p) for p in data], {Path(k): Path(v) for k, v in sidecars.items()},
                     {Path(k): v for k, v in skipped.items()})


def _sort(folder: str | os.PathLike[str]
          ) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """:func:`discover` with paths as text (``str(Path)``'s): data files, sidecar -> a file
    that reads it, skipped file -> reason. A ``Path`` is made only for a family hook that
    takes one: 100,000 of them cost more time and memory than the files' headers."""
    data, _, sidecars, skipped = _sort_owned(folder)
    return data, sidecars, skipped


def _sort_owned(folder: str | os.PathLike[str], warm: bool = False
                ) -> tuple[list[str], list[type[Extractor] | None], dict[str, str],
                           dict[str, str]]:
    """:func:`_sort`, with each data file's family beside it (None where the claims name
    none or several: :func:`extractor_for` says why when the file is read). Whose a file
    is gets decided here, once: extracting does not ask again. ``warm``: the files are
    about to be read; see :func:`_claims`."""
    files = _walk(Path(folder))
    claims = _claims(files, warm)
    # Answers are shared (see _ask): a folder of 10,000 WAVs holds one. When no answer
    # asks for a look at its files (no claim, a tie, sidecars, a skip reason), every file
    # is data read by its answer's family, as the loops below would find one by one.
    distinct = {id(found): found for found in claims}
    if not any(_looks(found) for found in distinct.values()):
        owner = {key: found[1][0] for key, found in distinct.items()}
        return files, [owner[id(found)] for found in claims], {}, {}
    sidecars: dict[str, str] = {}
    keys: dict[str, str] = {}  # os.path.normcase(sidecar) -> sidecar, as Paths compare
    for p, (best, claimants) in zip(files, claims, strict=True):
        if best > Claim.NO and len(claimants) == 1 and _hooks(claimants[0])[1]:
            for s in claimants[0].sidecars(Path(p)):
                text = os.fspath(s) if isinstance(s, Path) else str(Path(s))
                if os.path.normcase(text) not in keys:
                    keys[os.path.normcase(text)] = text
                    sidecars[text] = p
    data: list[str] = []
    owners: list[type[Extractor] | None] = []
    skipped: dict[str, str] = {}
    for p, (best, claimants) in zip(files, claims, strict=True):
        # A sidecar that another family would read alone stays a sidecar when its own
        # family says it belongs to a record (a Miniscope device's AVIs, not videos).
        if keys and os.path.normcase(p) in keys and (best < Claim.SPECIFIC
                                                     or best == Claim.COMPANION):
            continue
        if best == Claim.NO and not _failed_recording(Path(p)):
            skipped[p] = _unsupported_reason(Path(p))
        elif (nothing := _nothing_to_describe(p, claimants)) is not None:
            skipped[p] = nothing
        else:
            data.append(p)  # an empty recording file fails, naming itself
            owners.append(claimants[0] if best > Claim.NO and len(claimants) == 1 else None)
    # A file is a sidecar only if it is not itself a data file.
    if keys:
        for p in data:
            if (text := keys.pop(os.path.normcase(p), "")):
                del sidecars[text]
    return data, owners, sidecars, skipped


def _looks(found: tuple[Claim, list[type[Extractor]]]) -> bool:
    """Whether sorting a file of this answer asks more than its answer: it has no single
    family, or its family has sidecars or a skip reason to ask about."""
    best, claimants = found
    if best == Claim.NO or len(claimants) != 1:
        return True
    hooks = _hooks(claimants[0])
    return hooks[1] or hooks[2]


def _nothing_to_describe(p: str, claimants: list[type[Extractor]]) -> str | None:
    """The family's reason why ``p`` is its own file but no recording (an annotations-only
    EDF, a DICOMDIR), else None. A tie between families is left to extraction to name."""
    if len(claimants) != 1 or not _hooks(claimants[0])[2]:
        return None
    try:
        return claimants[0].skip_reason(Path(p))
    except (OSError, BsingestError):  # the hook reads headers; extraction names the problem
        return None


def _claims(files: list[str], warm: bool
            ) -> list[tuple[Claim, list[type[Extractor]]]]:
    """Each file's answer (:func:`_claimants`), in a list: 100,000 files need no dict.

    With ``warm``, the first file whose family reads in the reader process
    (:attr:`Extractor.warm`, :meth:`Extractor.warms`) has that process start and import
    what the family reads with, there and then: h5py's import (~110 ms) happens on
    another core while this one sorts the other files and reads those before it.
    """
    if not warm:
        return [_claimants(p) for p in files]
    claims = []
    warmed: set[str] = set()
    last: object = None
    warmers: list[type[Extractor]] = []
    for p in files:
        found = _claimants(p)
        claims.append(found)
        if found is not last:  # answers are shared: a folder of WAVs holds one
            last = found
            warmers = [cls for cls in found[1] if cls.warm] if found[0] > Claim.NO else []
        for cls in warmers:
            modules = [m for m in cls.warms(p) if m not in warmed]
            if modules:
                from ._isolate import prewarm

                warmed.update(modules)
                prewarm(tuple(modules))
    return claims


def _claimants(p: str | os.PathLike[str]) -> tuple[Claim, list[type[Extractor]]]:
    # Within a run a file's claims are worked out once (listing the folder, then
    # extracting the file), keyed by the path's text.
    key = p if type(p) is str else os.fspath(p)
    known = _by_ext(key)
    if known is not None:  # decided by the suffix: nothing to keep per file
        return known
    r = current_run()
    if r is None:
        return _ask(p)
    found = r.claims.get(key)
    if found is None:
        found = r.claims[key] = _ask(p)
    return found  # type: ignore[no-any-return]


def _overrides(cls: type[Extractor], hook: str) -> bool:
    """Whether ``cls`` has its own ``hook`` (a classmethod of :class:`Extractor`)."""
    # A hook replaced by a plain function (a test's watch) has no __func__: its own too.
    own = getattr(getattr(cls, hook), "__func__", None)
    return own is not getattr(Extractor, hook).__func__  # type: ignore[no-any-return]


def _named(cls: type[Extractor]) -> tuple[str, ...] | None:
    """The lower-case endings of the names ``cls`` can claim, or None (ask it always)."""
    endings = cls.claim_endings
    if endings is None and not _overrides(cls, "claim"):
        endings = tuple(s.lower() for s in cls.suffixes)  # the base claims by suffix alone
    return endings


_ASKED: dict[str, tuple[tuple[type[Extractor], tuple[str, ...] | None], ...]] = {}
# Per family: (claims by suffix alone, has sidecars, has a skip reason): the answers of a
# family without its own hook are known without a Path.
_HOOKS: dict[type[Extractor], tuple[bool, bool, bool]] = {}


def _hooks(cls: type[Extractor]) -> tuple[bool, bool, bool]:
    found = _HOOKS.get(cls)
    if found is None:
        found = _HOOKS[cls] = (not _overrides(cls, "claim"), _overrides(cls, "sidecars"),
                               _overrides(cls, "skip_reason"))
    return found


def _asked_for(suffix: str) -> tuple[tuple[type[Extractor], tuple[str, ...] | None], ...]:
    """The families (in registry order) that may claim a name whose text after its last
    dot (all of it, without a dot) is ``suffix``, imported: an ending with a dot can only
    end such a name if its own text after the last dot is ``suffix``, one without a dot
    if ``suffix`` ends with it; None is kept (asked always)."""
    found = _ASKED.get(suffix)
    if found is None:
        found = _ASKED[suffix] = tuple(
            (_family(i), endings) for i, (_, _, endings, sniffs, _) in enumerate(FAMILIES)
            if not sniffs and (endings is None or any(
                suffix.endswith(e) if "." not in e else e.rsplit(".", 1)[1] == suffix
                for e in endings)))
    return found


def _suffix(name: str) -> str:
    """``Path(name).suffix`` of a base name, from its text."""
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def _ask(given: str | os.PathLike[str]) -> tuple[Claim, list[type[Extractor]]]:
    # A family whose claim_endings the name does not end with is not asked: a session's
    # 10,000 WAVs cost a dict look-up and a few endswith, not one claim per family. A family
    # that claims by suffix alone is answered from the text; a Path is made for the others.
    key = given if type(given) is str else os.fspath(given)
    known = _by_ext(key)
    if known is not None:
        return known
    base = os.path.basename(key)
    name = base.lower()
    i = name.rfind(".")
    ext = name[i + 1:]
    p = given if isinstance(given, Path) else None
    claims = []
    for cls, endings in _asked_for(name.rpartition(".")[2]):
        if endings is not None and not name.endswith(endings):
            continue
        if _hooks(cls)[0]:
            claim = Claim.SPECIFIC if _suffix(base).lower() in cls.suffixes else Claim.NO
        else:
            if p is None:
                p = Path(key)
            claim = cls.claim(p)
        claims.append((claim, cls))
    # Families that recognise a file by its content whatever its name (DICOM's magic at
    # byte 128, FicTrac's rows of numbers in a .dat) are asked only when no family knows
    # the file by its name and sidecars: a session's 10,000 WAVs or an Intan folder's
    # amplifier.dat are never opened to decide whose they are.
    best = max((c for c, _ in claims), default=Claim.NO)
    if best < Claim.SPECIFIC and os.path.isfile(key):  # never a FIFO or a device: opening blocks
        if p is None:
            p = Path(key)
        claims += [(cls.claim(p) if cls.sniffs else cls.claim_content(p), cls)
                   for cls in _content()]
        best = max((c for c, _ in claims), default=Claim.NO)
    found = (best, [cls for c, cls in claims if c == best and c > Claim.NO])
    # One shared answer per outcome: a run keeps every file's answer, and 100,000 WAVs
    # need one (SPECIFIC, [audio]), not 100,000 copies of it.
    outcome = (best, *found[1])
    found = _OUTCOMES.setdefault(outcome, found)
    if i > 0 and ext and best >= Claim.SPECIFIC and _suffix_decides(ext):
        _BY_EXT[ext] = found
    return found


# Suffix (lower case, no dot) -> the answer for every name with it, for suffixes whose
# families all claim by suffix alone, when that answer needs no look at the content.
_BY_EXT: dict[str, tuple[Claim, list[type[Extractor]]]] = {}


def _by_ext(key: str) -> tuple[Claim, list[type[Extractor]]] | None:
    """The answer for a name whose suffix alone decides it (see :data:`_BY_EXT`), else None."""
    name = key[key.rfind(os.sep) + 1:]
    if os.altsep:
        name = name[name.rfind(os.altsep) + 1:]
    i = name.rfind(".")
    if i <= 0 or i == len(name) - 1:
        return None
    return _BY_EXT.get(name[i + 1:].lower())


def _suffix_decides(ext: str) -> bool:
    """Whether every family that may claim a name ending ``.ext`` answers from its suffix
    alone: each claims by suffix (the base claim) and knows its names by one-dot endings,
    so ``name.endswith(ending)`` and the claim depend on ``ext`` only."""
    return all(_hooks(cls)[0] and endings is not None
               and all(e.startswith(".") and e.count(".") == 1 for e in endings)
               for cls, endings in _asked_for(ext))


_OUTCOMES: dict[tuple[object, ...], tuple[Claim, list[type[Extractor]]]] = {}


# Suffixes of general-purpose files (notes, tables, arrays, settings) that some family
# reads, but that are no failed recording when empty or of another kind.
_GENERAL_SUFFIXES = (".json", ".csv", ".xml", ".txt", ".npy", ".h5", ".hdf5", ".mat", "method")
# Axona dacqUSB: tetrode N's spike file is <trial>.N beside <trial>.set.
_AXONA_TETRODE = re.compile(r"\.([1-9]|[1-5][0-9]|6[0-4])$")
_SESSION_MATS = (".session.mat", ".sessioninfo.mat")


def _families_named_like(p: Path) -> list[str]:
    """Families that read files whose name ends like ``p``'s (their ``suffixes``), the
    general-purpose endings aside (a ``.json`` is anybody's; a ``.raw.h5`` is MaxWell's).

    Only the families that may claim such a name are looked at (:func:`_named_candidates`):
    a skipped file's reason imports no family its name was not already asked of."""
    name = p.name.lower()
    return [cls.name for cls in _named_candidates(name.rpartition(".")[2])
            if name.endswith(_own_suffixes(cls))]


def _named_candidates(ext: str) -> tuple[type[Extractor], ...]:
    """The families whose ``suffixes`` a name whose text after its last dot is ``ext`` may
    end with, in registry order: those asked about such a name, and those asked about
    any file by content (``tests/test_registry.py`` holds every family's suffixes to it)."""
    found = _CANDIDATES.get(ext)
    if found is None:
        named = {cls for cls, _ in _asked_for(ext)} | set(_content())
        # both are imported by now: in registry order without importing the others
        found = _CANDIDATES[ext] = tuple(cls for _, cls in sorted(_LOADED.items())
                                         if cls in named)
    return found


_CANDIDATES: dict[str, tuple[type[Extractor], ...]] = {}
_OWN: dict[type[Extractor], tuple[str, ...]] = {}


def _own_suffixes(cls: type[Extractor]) -> tuple[str, ...]:
    """``cls``'s suffixes in lower case, the general-purpose ones aside."""
    found = _OWN.get(cls)
    if found is None:
        found = _OWN[cls] = tuple(s.lower() for s in getattr(cls, "suffixes", ())
                                  if s.lower() not in _GENERAL_SUFFIXES)
    return found


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


def _walk(root: Path) -> list[str]:
    """Every file under ``root``, in the order of their paths (as ``sorted`` orders Paths:
    part by part, which sorting the text alone does not: ``a-b/x`` and ``a/y``), as the
    text ``str(Path)`` gives (no leading ``./``).

    Each folder's names are sorted on their own and its subfolders' files put in their
    place among them, which is that order: no sort key per file is made (100,000 files,
    100,000 keys). As ``os.walk``: a link to a folder is not followed, nor listed; an
    unreadable folder is passed over.
    """
    top = str(root)
    if root.is_file():
        return [top]
    found: list[str] = []
    _visit(top, "" if top == "." else top if top.endswith(os.sep) else top + os.sep, found)
    return found


def _visit(folder: str, prefix: str, found: list[str]) -> None:
    files: list[str] = []
    folders: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    if name not in _IGNORED_DIRS and not entry.is_symlink():
                        folders.append(name)
                elif name not in _IGNORED_FILES:
                    files.append(name)
    except OSError:
        return
    files.sort()
    if not folders:
        found += [prefix + name for name in files]
        return
    folders.sort()
    i = 0
    for sub in folders:  # the files named before each subfolder, then the subfolder
        j = i
        while j < len(files) and files[j] < sub:
            j += 1
        found += [prefix + name for name in files[i:j]]
        i = j
        _visit(prefix + sub if prefix else sub, prefix + sub + os.sep, found)
    found += [prefix + name for name in files[i:]]
