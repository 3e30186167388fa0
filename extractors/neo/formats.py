"""The formats the neo family owns: one :class:`NeoFormat` row per format.

A row says how a file is recognised (suffix, a few head bytes, a companion beside it:
never by running neo), which ``neo.rawio`` class reads it and how that class is opened,
whether the format is a folder format (claimed once, through one anchor file), which files
beside it are companions (described with it, never records of their own), and how its
records are named. Adding a format is one row here; ``docs/formats/neo.md`` lists them.

Claims read at most :data:`HEAD_BYTES` bytes and list one folder; they never import neo.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FORMATS", "HEAD_BYTES", "NeoFormat", "format_for", "head"]

#: Bytes a claim may read from the start of a file.
HEAD_BYTES = 4096
_HDF5 = b"\x89HDF\r\n\x1a\n"


@dataclass(frozen=True)
class NeoFormat:
    """One format of the neo family (a row of :data:`FORMATS`)."""

    #: Short key (``blackrock``), used in provenance and to find the row in the worker.
    key: str
    #: The ``format`` value of its records (``Blackrock``).
    label: str
    #: Lower-case name endings that may be this format (``.ns5``, ``.raw.h5``).
    suffixes: tuple[str, ...]
    #: The ``neo.rawio`` class that reads it (None: a reader of ours, see ``reader``).
    rawio: str | None
    #: True for a folder format: one anchor file per folder is claimed (see ``anchor``).
    folder: bool = False
    #: head bytes (up to HEAD_BYTES) -> is this the format? None: the suffix suffices.
    magic: Callable[[bytes], bool] | None = None
    #: path -> True when a companion needed to call it ours is beside it.
    needs: Callable[[Path], bool] | None = None
    #: path -> files beside it that its description reads (companions).
    companions: Callable[[Path], list[Path]] = field(default=lambda p: [])
    #: For folder formats: path -> True when this file is the folder's anchor.
    anchor: Callable[[Path], bool] | None = None
    #: path -> keyword arguments of the rawio class.
    open_kwargs: Callable[[Path], dict[str, Any]] = field(
        default=lambda p: {"filename": str(p)})
    #: "always": every record is ``file#stream``; "several": only when neo lists several.
    parts: str = "several"
    #: Where neo reads more than headers (said in the docs and in the provenance).
    reads: str = "headers only"
    #: The record type of its records (current generation's name): most formats are
    #: extracellular rigs; patch-clamp programs and EEG systems are typed as such.
    record_type: str = "ExtracellularEphys"
    #: True where neo's segments are sweeps (episodes) that all start at the same time,
    #: not pieces of one recording: nSamples sums them with no gap or reset line.
    sweeps: bool = False
    #: True where the name is shared with files of other families that must never be
    #: opened to decide (Intan's ``amplifier.dat``): the row is asked only through
    #: ``Extractor.claim_content``, once no family claims the file by name or sidecar.
    by_content: bool = False
    #: Why no ``lsb`` can be given for its integer samples, where the file does not keep
    #: their scale and neo's gain is a placeholder; "" where neo's gain is the file's.
    no_scale: str = ""

    def matches_name(self, path: Path) -> bool:
        name = path.name.lower()
        return any(name.endswith(s) for s in self.suffixes)


def head(path: Path, n: int = HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of ``path`` (b"" when it cannot be read, or is no regular
    file: opening a FIFO named ``x.dat`` would block the claim for ever)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return b""
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


@functools.lru_cache(maxsize=256)
def _listing(folder: str, mtime_ns: int) -> tuple[str, ...]:
    # Cached per folder and mtime: a folder of 10,000 files is listed once, not per file.
    try:
        return tuple(sorted(e.name for e in os.scandir(folder) if e.is_file()))
    except OSError:
        return ()


def siblings(path: Path) -> list[str]:
    """File names in ``path``'s folder, sorted."""
    try:
        mtime = os.stat(path.parent).st_mtime_ns
    except OSError:
        return []
    return list(_listing(str(path.parent), mtime))


def _beside(path: Path, *suffixes: str) -> list[Path]:
    """Files named ``<stem><suffix>`` beside ``path`` (any case of the suffix)."""
    names = {n.lower(): n for n in siblings(path)}
    stem = path.name[: len(path.name) - len(path.suffix)].lower()
    return [path.parent / names[stem + s] for s in suffixes if stem + s in names]


# --- Blackrock: .ns1 - .ns6, with the .nev of the same name as a companion ---------------

def _blackrock_magic(h: bytes) -> bool:
    return h[:8] in (b"NEURALSG", b"NEURALCD", b"BRSMPGRP")


def _blackrock_kwargs(p: Path) -> dict[str, Any]:
    # load_nev=False: the .nev holds spikes and events, none of which a record states;
    # reading it would scan the whole file.
    return {"filename": str(p), "nsx_to_load": int(p.suffix[-1]), "load_nev": False}


# --- Neuralynx: one record per .ncs (one channel per file) -------------------------------

def _neuralynx_magic(h: bytes) -> bool:
    return h.startswith(b"########") or b"-SamplingFrequency" in h


def _neuralynx_kwargs(p: Path) -> dict[str, Any]:
    # One file: a folder of .ncs is one record per file (as Open Ephys legacy); gaps
    # become segments instead of an error.
    return {"dirname": str(p.parent), "include_filenames": [p.name], "strict_gap_mode": False}


# --- Plexon PL2: through Plexon's DLL, which neo would download: never -----------------

def _plexon2_kwargs(p: Path) -> dict[str, Any]:
    """The PL2 reader's DLL where the user put it (``BSINGEST_PL2_DLL``, else neo's own
    folder ``~/.plexon_dlls_for_neo``). neo downloads it from the internet when it is
    missing; bsingest refuses instead (no network access while extracting)."""
    import sys

    from bsingest.errors import ExtractionError

    name = "PL2FileReader64.dll" if sys.platform == "win32" else "PL2FileReader.dll"
    dll = Path(os.environ.get("BSINGEST_PL2_DLL") or
               Path.home() / ".plexon_dlls_for_neo" / name)
    if not dll.is_file():
        raise ExtractionError(p, f"Plexon2: reading .pl2 needs Plexon's {name} (and Wine "
                              f"off Windows) at {dll} or where BSINGEST_PL2_DLL points; "
                              "bsingest does not download it")
    return {"filename": str(p), "pl2_dll_file_path": str(dll)}


# --- TDT tanks: the block's .tev (else its .tsq) is the anchor ---------------------------

_TDT_COMPANIONS = (".tsq", ".tev", ".tbk", ".tdx", ".tin", ".tnt", ".sev")


def _tdt_needs(p: Path) -> bool:
    tsq = _beside(p, ".tsq")
    return bool(tsq) and not _photometry_only(tsq[0])


def _photometry_only(tsq: Path) -> bool:
    """Whether the TDT photometry family takes this block (all its streams photometry):
    this family stands aside then. That family lives in ``extractors.tdt_photometry``
    where it is installed; without it every block is ours."""
    try:
        from ..tdt_photometry import photometry_only
    except ImportError:
        return False
    return bool(photometry_only(tsq))


def is_photometry_store(name: str) -> bool:
    """Whether a TDT store is a fiber photometry one (``465A``, ``Fi1r``), per the
    photometry family; False without it."""
    try:
        from ..tdt_photometry import is_photometry_store as check
    except ImportError:
        return False
    return bool(check(name))


def _tdt_anchor(p: Path) -> bool:
    # The event data file names the block; a block written only as .sev files has none,
    # and its index (.tsq) stands in.
    if p.suffix.lower() == ".tev":
        return True
    return p.suffix.lower() == ".tsq" and not _beside(p, ".tev")


def _tdt_companions(p: Path) -> list[Path]:
    stem = p.name[: len(p.name) - len(p.suffix)]
    out = []
    for name in siblings(p):
        low = name.lower()
        if name == p.name:
            continue
        if name.startswith(stem) and low.endswith(_TDT_COMPANIONS):
            out.append(p.parent / name)
        elif low == "storeslisting.txt":
            out.append(p.parent / name)
    return out


def _tdt_kwargs(p: Path) -> dict[str, Any]:
    # neo's single-block mode: a path to the block's .tsq (a folder path makes neo 0.14.6
    # look for sub-blocks).
    tsq = _beside(p, ".tsq")
    return {"dirname": str(tsq[0] if tsq else p)}


# --- AlphaOmega: a folder of .mpx files; the first in name order is the anchor -----------

def _alphaomega_magic(h: bytes) -> bool:
    # Every .mpx starts with the 'h' (header) block: length (u16), then its type byte.
    return len(h) > 2 and h[2:3] == b"h"


def _mpx_names(p: Path) -> list[str]:
    return [n for n in siblings(p) if n.lower().endswith(".mpx")]


def _alphaomega_anchor(p: Path) -> bool:
    names = _mpx_names(p)
    return bool(names) and names[0] == p.name


def _alphaomega_companions(p: Path) -> list[Path]:
    return [p.parent / n for n in siblings(p)
            if n != p.name and n.lower().endswith((".mpx", ".lsx"))]


# --- Axona: a raw .bin beside its .set ---------------------------------------------------

def _axona_bin_magic(h: bytes) -> bool:
    return h[:4] in (b"ADU1", b"ADU2")


def _axona_set(p: Path) -> bool:
    return bool(_beside(p, ".set"))


# --- NeuroNexus Allego: <base>_data.xdat beside <base>.xdat.json and <base>_timestamp.xdat

_XDAT_DATA, _XDAT_TIMES = "_data.xdat", "_timestamp.xdat"


def _xdat_base(p: Path) -> str | None:
    """``rec`` for ``rec_data.xdat`` or ``rec_timestamp.xdat`` (Allego's names), else None."""
    low = p.name.lower()
    for ending in (_XDAT_DATA, _XDAT_TIMES):
        if low.endswith(ending):
            return p.name[: len(p.name) - len(ending)]
    return None


def _named_beside(p: Path, *names: str) -> list[Path]:
    """Files beside ``p`` with these exact names (any case)."""
    listed = {n.lower(): n for n in siblings(p)}
    return [p.parent / listed[n.lower()] for n in names if n.lower() in listed]


def _neuronexus_needs(p: Path) -> bool:
    base = _xdat_base(p)
    return base is not None and bool(_named_beside(p, base + ".xdat.json"))


def _neuronexus_companions(p: Path) -> list[Path]:
    base = _xdat_base(p) or ""
    return _named_beside(p, base + ".xdat.json", base + _XDAT_TIMES)


def _neuronexus_kwargs(p: Path) -> dict[str, Any]:
    # neo opens the metadata file and finds the two .xdat files from its name
    meta = _named_beside(p, (_xdat_base(p) or "") + ".xdat.json")
    return {"filename": str(meta[0] if meta else p)}


# --- Elan: <name>.eeg with <name>.eeg.ent (header) and <name>.eeg.pos (events) beside ----

def _elan_needs(p: Path) -> bool:
    # .eeg is also BrainVision's, Neuroscope's and Axona's: only the pair makes it Elan's
    return len(_named_beside(p, p.name + ".ent", p.name + ".pos")) == 2


# --- BCI2000: a .dat whose first line states HeaderLen= (rawbinary, Neuroscope and Intan
# write .dat files too, without a text header) ---------------------------------------------

def _bci2000_magic(h: bytes) -> bool:
    first = h.split(b"\n", 1)[0]
    return b"HeaderLen=" in first and b"[ State Vector Definition ]" in h


# --- WinEDR: a 2,048-byte KEY=value text header (NBH), then int16 frames ---------------------

def _winedr_magic(h: bytes) -> bool:
    return all(k in h[:2048] for k in (b"NC=", b"NP=", b"NBH=", b"ADCMAX="))


# --- the table ---------------------------------------------------------------------------

FORMATS: tuple[NeoFormat, ...] = (
    NeoFormat("blackrock", "Blackrock", tuple(f".ns{i}" for i in range(1, 7)), "BlackrockRawIO",
              magic=_blackrock_magic, companions=lambda p: _beside(p, ".nev"),
              open_kwargs=_blackrock_kwargs),
    NeoFormat("neuralynx", "Neuralynx", (".ncs",), "NeuralynxRawIO",
              magic=_neuralynx_magic, open_kwargs=_neuralynx_kwargs,
              reads="the timestamps and valid-sample counts of every 512-sample record "
                    "(memory-mapped), to find gaps"),
    NeoFormat("plexon", "Plexon", (".plx",), "PlexonRawIO",
              magic=lambda h: h[:4] == b"PLEX",
              open_kwargs=lambda p: {"filename": str(p), "progress_bar": False},
              # bsingest's own header reader (plexon.py) first; neo's walk is the fallback
              reads="its headers and first 4,096 data blocks (plexon.py); every data block "
                    "header (neo's walk) when the header keeps no sample counts"),
    NeoFormat("plexon2", "Plexon2", (".pl2",), "Plexon2RawIO", open_kwargs=_plexon2_kwargs,
              reads="through Plexon's PL2 library (a Windows DLL; run under Wine elsewhere)"),
    NeoFormat("spike2", "Spike2", (".smr",), "Spike2RawIO",
              magic=lambda h: h[2:12] == b"(C) CED 87",
              reads="the block chain of every channel (a walk over block headers)"),
    NeoFormat("spike2x", "Spike2", (".smrx",), "CedRawIO",
              reads="through CED's sonpy library"),
    NeoFormat("tdt", "TDT", (".tev", ".tsq"), "TdtRawIO", folder=True, needs=_tdt_needs,
              anchor=_tdt_anchor, companions=_tdt_companions, open_kwargs=_tdt_kwargs,
              parts="always",
              # neo's TdtRawIO sets gain 1.0 "uV" on every stream channel (neo issue 1369):
              # Synapse scales integer stores by a gizmo setting the block does not keep.
              no_scale="TDT keeps no scale for integer stores (Synapse scales them by a "
                       "gizmo setting the block does not record; neo's gain 1 µV is a "
                       "placeholder)",
              # read by our own .Tbk + .tsq reader (extractors/neo/tdt.py); neo where it
              # stands aside (.sev-flagged stores, blocks it cannot take)
              reads="the whole .tsq index (one 40-byte entry per stored block), by "
                    "bsingest's reader; neo's TdtRawIO where it stands aside"),
    NeoFormat("alphaomega", "AlphaOmega", (".mpx",), "AlphaOmegaRawIO", folder=True,
              magic=_alphaomega_magic, anchor=_alphaomega_anchor,
              companions=_alphaomega_companions,
              open_kwargs=lambda p: {"dirname": str(p.parent)}, parts="always",
              reads="every block header of every .mpx file (a whole-file scan)"),
    NeoFormat("axona", "Axona", (".bin",), "AxonaRawIO", magic=_axona_bin_magic,
              needs=_axona_set, companions=lambda p: _beside(p, ".set")),
    NeoFormat("mcsraw", "MCS", (".raw",), "RawMCSRawIO",
              magic=lambda h: h.startswith(b"MC_DataTool binary conversion")),
    NeoFormat("mcsh5", "MCS", (".h5",), None, magic=lambda h: b"McsHdf5ProtocolType" in h,
              reads="its HDF5 attributes and channel tables (h5py; neo has no reader)"),
    NeoFormat("maxwell", "Maxwell", (".raw.h5",), "MaxwellRawIO",
              magic=lambda h: h.startswith(_HDF5)),
    NeoFormat("biocam", "3Brain", (".brw",), "BiocamRawIO",
              magic=lambda h: h.startswith(_HDF5)),
    NeoFormat("spikegadgets", "SpikeGadgets", (".rec",), "SpikeGadgetsRawIO",
              magic=lambda h: b"<Configuration" in h),
    NeoFormat("micromed", "Micromed", (".trc",), "MicromedRawIO",
              magic=lambda h: b"MICROMED" in h[:32]),
    NeoFormat("neuronexus", "NeuroNexus", (_XDAT_DATA, _XDAT_TIMES), "NeuroNexusRawIO",
              needs=_neuronexus_needs, anchor=lambda p: p.name.lower().endswith(_XDAT_DATA),
              companions=_neuronexus_companions, open_kwargs=_neuronexus_kwargs,
              reads="the .xdat.json metadata and the first timestamp of _timestamp.xdat"),
    NeoFormat("axograph", "AxoGraph", (".axgd", ".axgx"), "AxographRawIO",
              magic=lambda h: h[:4] in (b"AxGr", b"axgx"),
              record_type="IntracellularEphys", sweeps=True,
              reads="every column header (seeking past the data), a time column stored as "
                    "values (AxoGraph 1-2: read whole to check its spacing), then the "
                    "notes, traces and groups after the last column"),
    NeoFormat("winedr", "WinEDR", (".edr",), "WinEdrRawIO", magic=_winedr_magic,
              record_type="IntracellularEphys"),
    NeoFormat("elan", "Elan", (".eeg",), "ElanRawIO", needs=_elan_needs,
              companions=lambda p: _named_beside(p, p.name + ".ent", p.name + ".pos"),
              record_type="Electroencephalography",
              reads="the .eeg.ent text header and every line of the .eeg.pos event file"),
    NeoFormat("bci2000", "BCI2000", (".dat",), "bci2000rawio.BCI2000RawIO",
              magic=_bci2000_magic, record_type="Electroencephalography", by_content=True),
)

_BY_KEY = {f.key: f for f in FORMATS}
#: Formats whose mark lies further in: the MCS root attributes follow HDF5's superblock
#: and root object header (byte 840 in an h5py-written file).
_MAGIC_BYTES = {"mcsh5": 16384}


def format_for(path: Path, content: bool | None = None) -> tuple[NeoFormat | None, str]:
    """The row that owns ``path`` and "" or, when a row's name fits but the file does not,
    None and why (for a claim: a named file that is not its format is not ours).
    ``content``: only the rows asked by content (True) or by name (False); None: all."""
    for fmt in FORMATS:
        if content is not None and fmt.by_content != content:
            continue
        if not fmt.matches_name(path):
            continue
        if fmt.needs is not None and not fmt.needs(path):
            continue
        if fmt.anchor is not None and not fmt.anchor(path):
            return None, "companion"
        if fmt.magic is not None and not fmt.magic(head(path, _MAGIC_BYTES.get(fmt.key,
                                                                             HEAD_BYTES))):
            continue
        return fmt, ""
    return None, ""


def by_key(key: str) -> NeoFormat:
    return _BY_KEY[key]


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def part_name(stream: str) -> str:
    """A neo stream name as a record part: runs of other characters become ``_``."""
    return _UNSAFE.sub("_", stream).strip("_") or "stream"
