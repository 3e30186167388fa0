"""Suite2p output: one record per plane folder, described by its ``ops.npy``.

Suite2p's output is processed data (registration, cell detection, traces), not an
acquisition. A lab that keeps only Suite2p's folders for a session still wants the
recording on the timeline, and ``ops.npy`` states the recording it was computed from:
its per-plane rate ``fs``, frame count ``nframes`` and frame size ``Ly`` x ``Lx``. So each
``plane<N>/ops.npy`` is a ``TwoPhotonMicroscopy`` record (the type map restates it, e.g.
for a one-photon endoscope), with a warning saying it is processed output. The
``combined/`` folder (planes stitched side by side) is not a recording and is not
claimed; the other files of a plane folder (``F.npy``, ``stat.npy``, ``data.bin``...)
are its sidecars. A session that also holds the raw files gets a record for those too:
leave ``suite2p/`` out of such a session, or map it away.

Reader: ``ops.npy`` is a pickled dict inside a ``.npy``. ``numpy.load(...,
allow_pickle=True)`` would run whatever a pickle names, so it is read here through an
unpickler that admits only numpy arrays, dtypes and scalars and plain Python values,
and refuses anything else in one line. The whole pickle is read (it holds reference
images and per-frame offsets: ~1 MB for a 128x128, 250-frame plane, growing ~30 bytes a
frame); files above 512 MiB are refused before reading.
"""

from __future__ import annotations

import io
import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import SidecarError

from ._imaging import TWO_PHOTON
from .base import Claim, Extraction, Extractor, Fields

__all__ = ["Suite2pExtractor"]

_OPS_LIMIT = 512 * 2**20
_PLANE = re.compile(r"^plane\d+$")
#: What a Suite2p ops pickle may name: numpy's array, dtype and scalar reconstructors
#: (numpy 1.x and 2.x module names) and the bytes decoder protocol 2 uses. Nothing that
#: runs code.
_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"), ("collections", "OrderedDict"),
    # Suite2p stores when it ran (date_proc) and, in some versions, paths.
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "timedelta"),
    ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"), ("pathlib", "PurePosixPath"),
    ("pathlib", "PureWindowsPath"),
}
#: Concrete paths of the other OS cannot be made here; their pure forms hold the same text.
_PURE = {"PosixPath": "PurePosixPath", "WindowsPath": "PureWindowsPath"}


class _DataOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"names {module}.{name}, which is not data")
        if module == "pathlib":
            name = _PURE.get(name, name)
        return super().find_class(module, name)


class Suite2pExtractor(Extractor):
    """Suite2p ``plane<N>/ops.npy`` (the recording the plane was computed from)."""

    name = "suite2p"
    suffixes = (".npy",)
    record_types = (TWO_PHOTON,)

    claim_endings = ("ops.npy",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if path.name != "ops.npy" or not _PLANE.match(path.parent.name):
            return Claim.NO
        return Claim.SPECIFIC

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        return sorted(p for p in path.parent.iterdir() if p.is_file() and p != path)

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        ops = _load_ops(path)
        f = Fields()
        f.header("format", "Suite2p output folder", f"{path.parent.name}/{path.name}")
        fs = _number(ops.get("fs"))
        if fs is not None and fs > 0:
            f.header("frameRate", fs, "ops.npy fs (the per-plane rate)")
        frames = _count(ops.get("nframes"))
        if frames is not None:
            f.header("nFrames", frames, "ops.npy nframes")
        lx, ly = _count(ops.get("Lx")), _count(ops.get("Ly"))
        if lx and ly:
            f.header("horizontalResolution", lx, "ops.npy Lx")
            f.header("verticalResolution", ly, "ops.npy Ly")
        inputs = ops.get("filelist") or ops.get("tiff_list") or []
        first = str(inputs[0]).replace("\\", "/").rsplit("/", 1)[-1] if isinstance(
            inputs, list | tuple) and inputs else "its input files"
        f.warn(f"processed output (Suite2p): this record describes the recording it was "
               f"computed from ({first})")
        return [self.result(path, TWO_PHOTON, f)]


def _load_ops(path: Path) -> dict[str, Any]:
    import numpy as np

    size = os.stat(path).st_size
    if size > _OPS_LIMIT:
        raise SidecarError(path, f"{size} bytes is larger than the {_OPS_LIMIT // 2**20} MiB "
                           "a Suite2p ops.npy can be")
    with open(path, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        except Exception as exc:  # numpy's header parser raises ValueError, SyntaxError,
            # tokenize errors...: whatever the bytes make it raise
            raise SidecarError(path, f"not a .npy file ({type(exc).__name__}: "
                               f"{' '.join(str(exc).split())[:80]})") from exc
        if dtype != np.dtype(object) or shape != ():
            raise SidecarError(path, f"holds a {dtype} array of shape {shape}, not Suite2p's "
                               "pickled ops dict")
        body = fh.read()
    try:
        ops = _DataOnly(io.BytesIO(body), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        reason = " ".join(str(exc).split())[:200]
        if "which is not data" in reason:
            raise SidecarError(path, f"refused: the pickle {reason}") from exc
        raise SidecarError(path, f"damaged pickle ({reason})") from exc
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            OverflowError, MemoryError) as exc:
        reason = " ".join(str(exc).split())[:80]
        raise SidecarError(path, f"damaged pickle ({type(exc).__name__}: {reason})") from exc
    if isinstance(ops, np.ndarray) and ops.shape == () and ops.dtype == object:
        ops = ops.item()  # numpy pickles the 0-d object array that holds the dict
    if not isinstance(ops, dict):
        raise SidecarError(path, f"holds a {type(ops).__name__}, not Suite2p's ops dict")
    return ops


def _number(value: Any) -> float | None:
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None


def _count(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number > 0 and number.is_integer() else None
