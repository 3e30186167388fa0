"""Scanbox recordings: ``name.sbx`` (raw uint16 frames) with its ``name.mat`` (``info``).

Reader: :mod:`extractors._matv5`, a small reader of MATLAB v5 files of our own (the
``info`` struct is a few numbers; ``scipy.io.loadmat``, the field's usual reader, is a
large dependency for that and crashed the process on 2 of 300 damaged files in the fuzz
suite; it is the second reader of the tests). The ``.mat`` is refused above 4 MiB
before it is read (real ``info`` files are a few kB to a few hundred kB); a compressed
element inflates to 64 MiB at most. The ``.sbx`` is measured with ``os.stat`` and never
read.

Values (the rules of Scanbox's ``sbxread.m``, as roiextractors ports them):

- channels: ``info.chan.nchan`` where present, else ``info.channels`` (1: both PMTs, 2
  channels; 2 or 3: one PMT);
- ``verticalResolution`` x ``horizontalResolution`` = ``info.sz`` (lines, pixels);
- ``frameRate`` = ``info.resfreq`` / ``info.config.lines``, doubled for bidirectional
  scanning (``info.scanmode`` 0), times the folds of a folded frame (``fold_lines``);
- ``nFrames`` = the ``.sbx`` size / (lines x pixels x channels x 2 bytes); a size that
  is not a whole number of frames is refused (wrong ``info`` or a truncated file);
- with volumetric scanning (``otwave``/``volscan``), frames are planes: a warning says
  how many; the rate and count are per frame.

Scanbox writes no start time, pixel size or laser power in ``info`` in units the schema
takes, so none is given.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import SidecarError

from ._imaging import TWO_PHOTON
from .base import Extraction, Extractor, Fields, special_file, whole_frames

__all__ = ["ScanboxExtractor"]

_MAT_LIMIT = 4 * 2**20


class ScanboxExtractor(Extractor):
    """Scanbox ``.sbx`` with its ``.mat`` info file."""

    name = "scanbox"
    suffixes = (".sbx",)
    record_types = (TWO_PHOTON,)

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        mat = path.with_suffix(".mat")
        return [mat] if mat.is_file() else []

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        mat = path.with_suffix(".mat")
        info = _load_info(path, mat)
        f = Fields()
        f.header("format", "Scanbox SBX", f"{mat.name}: info (scanbox_version "
                 f"{_scalar(info.get('scanbox_version')) or '?'})")
        channels, ch_detail = _channels(path, mat, info)
        bidirectional = _scalar(info.get("scanmode")) == 0
        sz = _numbers(info.get("sz"))
        raw_config = info.get("config")
        config: dict[str, Any] = raw_config if isinstance(raw_config, dict) else {}
        if len(sz) == 2 and all(_whole(v) for v in sz):
            lines, pixels = int(sz[0]), int(sz[1])
            size_detail = f"{mat.name}: info.sz"
        else:
            records = _whole(_scalar(info.get("recordsPerBuffer")))
            if not records:
                raise SidecarError(path, f"{mat.name}: info has neither sz nor "
                                   "recordsPerBuffer: the frame size is unknown")
            lines = records * (2 if bidirectional else 1)
            pixels = 796  # sbxread.m: files without sz have 796 pixels a line
            size_detail = f"{mat.name}: info.recordsPerBuffer (no info.sz; 796 pixels a line)"
        f.header("verticalResolution", lines, size_detail)
        f.header("horizontalResolution", pixels, size_detail)
        size = os.stat(path).st_size
        frame_bytes = lines * pixels * 2
        frames = whole_frames(path, size, channels, "uint16", frame_bytes,
                              why=f"not {lines}x{pixels} uint16 frames of {channels} "
                              f"channel{'s' if channels != 1 else ''} ({ch_detail}), or a "
                              "truncated file")
        f.computed("nFrames", frames, f"{path.name} size {size} / ({lines} x {pixels} x "
                   f"{channels} channels x 2 bytes)")
        self._rate(mat, info, config, lines, bidirectional, f)
        planes = _planes(info)
        if planes > 1:
            f.warn(f"volumetric scanning: {planes} planes; frameRate and nFrames are per "
                   "frame (plane)")
        return [self.result(path, TWO_PHOTON, f)]

    def _rate(self, mat: Path, info: dict[str, Any], config: dict[str, Any], lines: int,
              bidirectional: bool, f: Fields) -> None:
        resfreq = _scalar(info.get("resfreq"))
        config_lines = _whole(_scalar(config.get("lines"))) or lines
        if not isinstance(resfreq, float | int) or not math.isfinite(resfreq) or resfreq <= 0:
            return
        folds = 1
        fold = _whole(_scalar(info.get("fold_lines")))
        if fold:
            folds = max(config_lines // fold, 1)
        rate = resfreq * (2 if bidirectional else 1) / config_lines * folds
        mode = "bidirectional" if bidirectional else "unidirectional"
        f.computed("frameRate", rate, f"{mat.name}: info.resfreq {resfreq:g} Hz x "
                   f"{2 if bidirectional else 1} ({mode}) / {config_lines} lines"
                   + (f" x {folds} folds" if folds > 1 else ""))


def _load_info(path: Path, mat: Path) -> dict[str, Any]:
    if not mat.is_file():
        kind = special_file(mat)
        raise SidecarError(path, f"{mat.name}: {kind or 'missing'}; the info file beside the "
                           ".sbx says its frame size, channels and rate")
    size = os.stat(mat).st_size
    if size > _MAT_LIMIT:
        raise SidecarError(path, f"{mat.name}: {size} bytes is larger than the "
                           f"{_MAT_LIMIT // 2**20} MiB a Scanbox info file can be")
    from ._matv5 import MatError, read_variable

    try:
        with open(mat, "rb") as fh:
            info = read_variable(fh.read(), "info")
    except MatError as exc:
        raise SidecarError(path, f"{mat.name}: {exc}") from exc
    if not isinstance(info, dict):
        raise SidecarError(path, f"{mat.name}: 'info' is not a struct: not a Scanbox info file")
    return info


def _channels(path: Path, mat: Path, info: dict[str, Any]) -> tuple[int, str]:
    chan = info.get("chan")
    if isinstance(chan, dict):
        n = _whole(_scalar(chan.get("nchan")))
        if n:
            return n, "info.chan.nchan"
    code = _scalar(info.get("channels"))
    mapping = {1: 2, 2: 1, 3: 1}
    if isinstance(code, int | float) and code in mapping:
        return mapping[int(code)], f"info.channels {int(code)}"
    raise SidecarError(path, f"{mat.name}: info.channels {str(code)[:20]!r} is not 1, 2 or 3 "
                       "and info.chan.nchan is absent: the channel count is unknown")


def _planes(info: dict[str, Any]) -> int:
    volscan = _scalar(info.get("volscan"))
    otwave = info.get("otwave")
    n = len(_numbers(otwave))
    if volscan is not None and not volscan:
        return 1
    return n if n > 1 else 1


def _scalar(value: Any) -> Any:
    """A MATLAB scalar as a Python number (loadmat gives 0-d arrays and numpy scalars)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.reshape(()).item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    return value if isinstance(value, int | float | str) else None


def _numbers(value: Any) -> list[float]:
    import numpy as np

    if value is None:
        return []
    try:
        arr = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        return []
    return [float(v) for v in arr if math.isfinite(v)]


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not float(value).is_integer() or value <= 0:
        return None
    return int(value)
