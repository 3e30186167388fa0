"""CellExplorer's session sidecar: ``basename.session.mat`` (CellExplorer) or buzcode's
``basename.sessionInfo.mat``, describing the ``basename.dat`` / ``.lfp`` beside it.

:mod:`extractors.rawbinary` reads a raw ``.dat``/``.lfp`` from its Neuroscope ``.xml``;
where there is no XML but one of these ``.mat`` files, it takes the channel count, rates,
sample type, step and groups from the ``.mat`` instead (see ``docs/formats/cellexplorer.md``).

- CellExplorer (``session`` struct): ``extracellular.nChannels``, ``.sr``, ``.srLfp``,
  ``.precision``, ``.leastSignificantBit`` (µV), ``.electrodeGroups.channels`` (1-based),
  ``channelTags.<tag>.channels`` (1-based).
- buzcode (``sessionInfo`` struct, written from the Neuroscope XML): ``nChannels``,
  ``nBits``, ``rates.wideband``, ``rates.lfp`` (or ``lfpSampleRate``), ``VoltageRange``,
  ``Amplification`` and ``AnatGrps(i).Channels``/``.Skip`` (0-based).

Reader: MAT v5/v7 with our own :mod:`extractors._matv5` (scipy is not a runtime
dependency; it is the tests' second reader), MAT v7.3 (HDF5) with h5py; both in the
worker process of :mod:`extractors._isolate` (a damaged file cannot take the ingest down)
and only for files under :data:`MAT_LIMIT`.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bsingest.errors import SidecarError

from ._isolate import isolated

__all__ = ["MAT_LIMIT", "SessionMat", "find_session_mat", "read_session_mat"]

#: A session file larger than this is not a session description.
MAT_LIMIT = 64 * 2**20
_KINDS = (".session.mat", ".sessionInfo.mat")
_MAX_CHANNELS = 2**20


@dataclass(frozen=True)
class SessionMat:
    """What bsingest uses from a CellExplorer / buzcode session ``.mat``."""

    path: Path
    kind: str  # "CellExplorer session" or "buzcode sessionInfo"
    n_channels: int | None
    sr: float | None
    sr_lfp: float | None
    dtype: str | None
    lsb: float | None  # µV per step
    lsb_detail: str
    groups: list[tuple[list[int], str]] = field(default_factory=list)  # 0-based, label
    tags: dict[str, list[int]] = field(default_factory=dict)  # tag -> 0-based channels
    where: dict[str, str] = field(default_factory=dict)  # value -> the field it came from


def find_session_mat(path: Path) -> Path | None:
    """``<stem>.session.mat`` or ``<stem>.sessionInfo.mat`` beside ``path``, else the
    folder's single one of them (CellExplorer names them after the session folder)."""
    stem = path.name[: len(path.name) - len(path.suffix)]
    for kind in _KINDS:
        same = path.parent / (stem + kind)
        if same.is_file():
            return same
    try:
        mtime = os.stat(path.parent).st_mtime_ns
    except OSError:
        return None
    found = _session_mats(str(path.parent), mtime)
    return found[0] if len(found) == 1 else None


@functools.lru_cache(maxsize=256)
def _session_mats(folder: str, mtime_ns: int) -> tuple[Path, ...]:
    # Cached per folder and mtime: a folder of 10,000 per-channel .dat files (Intan) is
    # listed once, not once per file.
    try:
        return tuple(Path(e.path) for e in os.scandir(folder)
                     if e.name.endswith(_KINDS) and e.is_file())
    except OSError:
        return ()


def read_session_mat(path: Path) -> SessionMat:
    """Parse a session ``.mat`` in the worker process; :class:`SidecarError` names it."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise SidecarError(path, f"cannot read: {exc.strerror or exc}") from exc
    if size > MAT_LIMIT:
        raise SidecarError(path, f"larger than {MAT_LIMIT // 2**20} MiB; not a session file")
    if size == 0:
        raise SidecarError(path, "empty file (0 bytes)")
    values = isolated(path, _read, str(path), timeout=60.0)
    return _session(path, values)


def _read(path: str) -> dict[str, Any]:
    """In the worker: the session's values as plain Python (numbers, lists, strings)."""
    p = Path(path)
    with open(p, "rb") as fh:
        magic = fh.read(512)
    name = "sessionInfo" if p.name.endswith(".sessionInfo.mat") else "session"
    if magic.startswith((b"MATLAB 7.3", b"\x89HDF\r\n\x1a\n")):  # v7.3: HDF5 at byte 512
        return _read_h5(p, name)
    if not magic.startswith(b"MATLAB 5.0"):
        raise SidecarError(p, "not a MATLAB .mat file (no 'MATLAB 5.0' or 7.3 header)")
    from ._matv5 import MatError, read_variable

    try:
        with open(p, "rb") as fh:
            value = read_variable(fh.read(), name)
    except MatError as exc:
        if str(exc) == f"no variable {name!r}":
            raise SidecarError(p, f"no '{name}' variable: not a {_kind(name)} file") from None
        raise SidecarError(p, f"not a readable MAT file ({exc})") from None
    return {"kind": name, "value": _plain(value)}


def _plain(v: Any, depth: int = 0) -> Any:
    """:mod:`._matv5`'s values (dicts, lists, strings, numbers, numpy arrays) as plain
    Python: arrays as flat lists (bounded length), nesting bounded."""
    import numpy as np

    if depth > 12:
        return None
    if isinstance(v, dict):
        return {k: _plain(x, depth + 1) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x, depth + 1) for x in v[:_MAX_CHANNELS]]
    if isinstance(v, np.ndarray):
        # column-major, as MATLAB stores it (a row or column vector either way)
        return v.ravel(order="F")[:_MAX_CHANNELS].tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _read_h5(p: Path, name: str) -> dict[str, Any]:
    import h5py
    import numpy as np

    def walk(obj: Any, f: Any, depth: int) -> Any:
        if depth > 12:
            return None
        if isinstance(obj, h5py.Group):
            return {k: walk(obj[k], f, depth + 1) for k in list(obj.keys())[:4096]}
        if obj.size > _MAX_CHANNELS:
            return None
        data = obj[()]
        if obj.dtype.kind == "O":  # a cell array: references
            return [walk(f[ref], f, depth + 1) for ref in np.ravel(data)]
        if obj.attrs.get("MATLAB_class", b"") in (b"char", "char"):
            return "".join(chr(c) for c in np.ravel(data))
        flat = np.ravel(data).tolist()
        return flat[0] if len(flat) == 1 else flat

    try:
        with h5py.File(p, "r") as f:
            if name not in f:
                raise SidecarError(p, f"no '{name}' variable: not a {_kind(name)} file")
            return {"kind": name, "value": walk(f[name], f, 0)}
    except SidecarError:
        raise
    except Exception as exc:
        raise SidecarError(p, f"not a readable MAT 7.3 file ({type(exc).__name__})") from None


def _kind(name: str) -> str:
    return "buzcode sessionInfo" if name == "sessionInfo" else "CellExplorer session"


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _count(p: Path, what: str, v: Any) -> int | None:
    n = _num(p, what, v, whole=True)
    return None if n is None else int(n)


def _num(p: Path, what: str, v: Any, whole: bool = False) -> float | int | None:
    if isinstance(v, list):
        v = v[0] if len(v) == 1 else None
        if v is None:
            return None
    if v is None or isinstance(v, bool | str | dict):
        return None
    x = float(v)
    if not math.isfinite(x) or x < 0:
        raise SidecarError(p, f"{what} is {v!r}, not a finite positive number")
    if whole:
        if not x.is_integer() or x > _MAX_CHANNELS:
            raise SidecarError(p, f"{what} is {v!r}, not a whole number up to {_MAX_CHANNELS}")
        return int(x)
    return x


def _channels(p: Path, what: str, v: Any, base: int) -> list[int]:
    items = v if isinstance(v, list) else [v]
    out = []
    for x in items:
        c = _num(p, what, x, whole=True)
        if c is None or c < base:
            raise SidecarError(p, f"{what} lists {x!r}, not a channel number")
        out.append(int(c) - base)
    return out


def _session(p: Path, values: dict[str, Any]) -> SessionMat:
    v = values["value"]
    if values["kind"] == "sessionInfo":
        return _buzcode(p, v)
    return _cellexplorer(p, v)


def _cellexplorer(p: Path, s: Any) -> SessionMat:
    ex = _get(s, "extracellular")
    if not isinstance(ex, dict):
        raise SidecarError(p, "no session.extracellular: not a CellExplorer session file")
    n = _count(p, "extracellular.nChannels", ex.get("nChannels"))
    lsb = _num(p, "extracellular.leastSignificantBit", ex.get("leastSignificantBit"))
    precision = ex.get("precision")
    groups = []
    eg = _get(ex, "electrodeGroups", "channels")
    if eg is not None:
        cells = eg if isinstance(eg, list) and eg and isinstance(eg[0], list) else [eg]
        for i, cell in enumerate(cells):
            groups.append((_channels(p, f"electrodeGroups.channels{{{i + 1}}}", cell, 1),
                           f"group{i + 1}"))
    tags = {}
    ct = _get(s, "channelTags")
    if isinstance(ct, dict):
        for tag, spec in ct.items():
            chans = _get(spec, "channels")
            if chans is not None and chans != []:
                tags[tag] = _channels(p, f"channelTags.{tag}.channels", chans, 1)
    return SessionMat(
        path=p, kind="CellExplorer session", n_channels=n,
        sr=_num(p, "extracellular.sr", ex.get("sr")),
        sr_lfp=_num(p, "extracellular.srLfp", ex.get("srLfp")),
        dtype=precision if isinstance(precision, str) and precision else None,
        lsb=lsb or None,
        lsb_detail=f"{p.name}: session.extracellular.leastSignificantBit (µV)",
        groups=groups, tags=tags, where={
            "nChannels": "session.extracellular.nChannels", "sr": "session.extracellular.sr",
            "srLfp": "session.extracellular.srLfp", "type": "session.extracellular.precision",
            "groups": "session.extracellular.electrodeGroups.channels (1-based)",
            "tags": "session.channelTags"})


def _buzcode(p: Path, s: Any) -> SessionMat:
    if not isinstance(s, dict) or "nChannels" not in s:
        raise SidecarError(p, "no sessionInfo.nChannels: not a buzcode sessionInfo file")
    n_bits = _num(p, "nBits", s.get("nBits"), whole=True)
    if n_bits is not None and n_bits not in (8, 16, 32):
        raise SidecarError(p, f"nBits {n_bits} is not 8, 16 or 32")
    vr = _num(p, "VoltageRange", s.get("VoltageRange"))
    amp = _num(p, "Amplification", s.get("Amplification"))
    lsb = vr / 2**n_bits / amp * 1e6 if vr and amp and n_bits else None
    sr_lfp = _num(p, "rates.lfp", _get(s, "rates", "lfp"))
    lfp_where = "sessionInfo.rates.lfp"
    if not sr_lfp:
        sr_lfp, lfp_where = _num(p, "lfpSampleRate", s.get("lfpSampleRate")), (
            "sessionInfo.lfpSampleRate")
    groups, bad = [], []
    anat = s.get("AnatGrps")
    anat = anat if isinstance(anat, list) else [anat] if isinstance(anat, dict) else []
    for i, g in enumerate(anat):
        chans = _channels(p, f"AnatGrps({i + 1}).Channels", _get(g, "Channels"), 0)
        skip = _get(g, "Skip")
        skip = skip if isinstance(skip, list) else [skip]
        bad += [c for c, k in zip(chans, skip, strict=False) if k == 1]
        groups.append((chans, f"group{i + 1}"))
    return SessionMat(
        path=p, kind="buzcode sessionInfo",
        n_channels=_count(p, "nChannels", s.get("nChannels")),
        sr=_num(p, "rates.wideband", _get(s, "rates", "wideband")), sr_lfp=sr_lfp,
        dtype=f"int{n_bits}" if n_bits else None, lsb=lsb,
        lsb_detail=(f"{p.name}: sessionInfo.VoltageRange {vr:g} V / 2^{n_bits} / "
                    f"Amplification {amp:g}, in µV") if lsb else "",
        groups=groups, tags={"bad": sorted(set(bad))} if bad else {},
        where={"nChannels": "sessionInfo.nChannels", "sr": "sessionInfo.rates.wideband",
               "srLfp": lfp_where, "type": "sessionInfo.nBits",
               "groups": "sessionInfo.AnatGrps(i).Channels (0-based)",
               "tags": "sessionInfo.AnatGrps(i).Skip"})
