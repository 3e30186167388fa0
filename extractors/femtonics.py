"""Femtonics MESc ``.mesc`` files (HDF5): one TwoPhotonMicroscopy record per measurement unit.

MESc (Femtonics' acquisition software) stores measurement sessions ``MSession_<i>``, each
with measurement units ``MUnit_<j>`` (one acquisition: a resonant or galvo time series, or
a z-stack), each unit's channels as datasets ``Channel_<k>`` of shape (frames, lines,
pixels). Every value comes from the unit group's attributes (h5py reads them without
touching the frames):

- ``XDim``, ``YDim``, ``ZDim``: pixels per line, lines, and frames (the third axis is time
  in a time series);
- ``X/Y/ZAxisConversionConversionLinearScale`` with ``X/Y/ZAxisConversionUnitName``: the
  step of each axis (``µm`` per pixel, ``ms`` per frame). A time axis in ms or s gives
  ``frameRate`` = 1 / step; an axis in µm gives the voxel size (``xVoxelSize``,
  ``yVoxelSize``; ``zVoxelSize`` for a z-stack, which then has no frame rate);
- ``MeasurementDatePosix`` + ``MeasurementDateNanoSecs``: the start (UTC);
- text attributes are UTF-16 code units in int16 arrays, ending in 0.

``TypeDebugString`` ``MImage3D`` units are described; any other kind of unit, or one whose
attributes cannot be used, is a :class:`~extractors.base.PartFailure`: a warning on the
file's other records (a file is refused only when no unit can be described). Channels
(``VecChannelsSize``) have no schema field: the format's provenance names them.
Pockels-cell and laser settings in ``MeasurementParamsXML`` are device settings, not
``laserPower`` in mW: state the power (``laser_power = "30 mW"``) where known.

Reader: h5py (the standard HDF5 reader), imported inside the worker process that reads
HDF5 for the NWB family (:mod:`extractors._isolate`): libhdf5 can crash or hang on a
damaged file, and that must fail this file only. Cost: attribute reads and one shape look-up
per channel, independent of the frame data's size.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from ._isolate import isolated
from .base import Extraction, Extractor, Fields, PartFailure, Source
from .nwb import _H5_ERRORS, _from_h5py, _is_hdf5, _reason

__all__ = ["FemtonicsExtractor"]

_TIMEOUT = 20.0
_SESSION = re.compile(r"^MSession_(\d+)$")
_UNIT = re.compile(r"^MUnit_(\d+)$")
_TIME_UNITS = {"ms": 1e-3, "s": 1.0, "us": 1e-6, "µs": 1e-6}
_LENGTH_UNITS = {"µm": 1.0, "um": 1.0, "nm": 1e-3, "mm": 1e3}


class _Bad(Exception):
    """A unit that cannot be described (internal; becomes a warning or an error)."""


class FemtonicsExtractor(Extractor):
    """Femtonics MESc HDF5: frame rate, size, pixel size and frames of each measurement unit."""

    name = "femtonics"
    suffixes = (".mesc",)
    record_types = ("TwoPhotonMicroscopy",)
    warm = ("h5py", __name__)  # read in the reader process (extractors._isolate)

    def _extract(self, path: Path, stated: Mapping[str, Any]
                 ) -> Sequence[Extraction | PartFailure]:
        result: list[Extraction | PartFailure] = isolated(path, _describe, str(path),
                                                          timeout=_TIMEOUT)
        return result

    def _read(self, path: Path) -> list[Extraction | PartFailure]:
        import h5py

        if not _is_hdf5(path):
            raise ExtractionError(path, "not an HDF5 file (no HDF5 signature): not a MESc file")
        try:
            h5 = h5py.File(path, "r")
        except OSError as exc:
            raise ExtractionError(path, f"HDF5 cannot open it: {_reason(exc)}") from exc
        with h5:
            try:
                return self._units(path, h5)
            except _H5_ERRORS as exc:
                if not _from_h5py(exc):
                    raise
                raise ExtractionError(path, f"HDF5 cannot read it: {_reason(exc)}") from None

    def _units(self, path: Path, h5: Any) -> list[Extraction | PartFailure]:
        import h5py

        vendor = _text(h5.attrs.get("Vendor"))
        units: list[tuple[str, Any]] = []
        for s_name in _numbered(h5, _SESSION):
            session = h5[s_name]
            if isinstance(session, h5py.Group):
                units += [(f"{s_name}/{u}", session[u]) for u in _numbered(session, _UNIT)]
        if not units:
            what = "Femtonics" if "femtonics" in vendor.lower() else "no Femtonics vendor"
            raise ExtractionError(path, f"no MSession_*/MUnit_* groups ({what}): not a MESc "
                                  "measurement file")
        out: list[Extraction | PartFailure] = []
        for part, group in units:
            try:
                if not isinstance(group, h5py.Group):
                    raise _Bad("not a group")
                out.append(self.result(path, "TwoPhotonMicroscopy", _unit(group), part=part))
            except _Bad as exc:
                out.append(PartFailure(part, str(exc)))
            except _H5_ERRORS as exc:
                if not _from_h5py(exc):
                    raise
                out.append(PartFailure(part, f"HDF5 cannot read it: {_reason(exc)}"))
        return out


def _describe(path: str) -> list[Extraction | PartFailure]:
    """The records of one MESc file (run in a child process by :func:`isolated`)."""
    return FemtonicsExtractor()._read(Path(path))


def _numbered(group: Any, pattern: re.Pattern[str]) -> list[str]:
    # A damaged name that is not UTF-8 comes back as bytes: not a session or unit name.
    found = [(int(m.group(1)), k) for k in group.keys()
             if isinstance(k, str) and (m := pattern.match(k))]
    return [k for _, k in sorted(found)]


def _text(value: Any) -> str:
    """A MESc text attribute (int16 UTF-16 code units ending in 0) or bytes, as text."""
    import numpy as np

    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        units = [int(c) & 0xFFFF for c in value.ravel()[:4096]]
        if 0 in units:
            units = units[:units.index(0)]
        return bytes(b for u in units for b in u.to_bytes(2, "little")).decode(
            "utf-16-le", "replace")
    return value if isinstance(value, str) else ""


def _number(attrs: Any, key: str) -> float:
    value = attrs.get(key)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Bad(f"{key} {value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _Bad(f"{key} is {number}, not a finite number")
    return number


def _dim(attrs: Any, key: str) -> int:
    number = _number(attrs, key)
    if not number.is_integer() or not 0 <= number <= 2**53:
        raise _Bad(f"{key} {number:g} is not a count")
    return int(number)


def _unit(group: Any) -> Fields:
    attrs = group.attrs
    kind = _text(attrs.get("TypeDebugString"))
    if kind and kind != "MImage3D":
        raise _Bad(f"a {kind} unit, not an image series")
    f = Fields()
    channels = [_text(attrs.get(f"Channel_{i}_Name")) or f"Channel_{i}"
                for i in range(min(_dim(attrs, "VecChannelsSize"), 64))] \
        if "VecChannelsSize" in attrs else []
    version = _text(attrs.get("CreatingMEScVersion"))
    f.header("format", "Femtonics MESc HDF5",
             f"unit {group.name} (MImage3D"
             + (f", {len(channels)} channels: {', '.join(channels)}" if channels else "")
             + (f"; written by {version}" if version else "") + ")")
    width, height, frames = (_dim(attrs, k) for k in ("XDim", "YDim", "ZDim"))
    f.header("horizontalResolution", width, "unit attribute XDim")
    f.header("verticalResolution", height, "unit attribute YDim")
    _frames(f, group, frames)
    for axis, key in (("X", "xVoxelSize"), ("Y", "yVoxelSize")):
        step, unit = _axis(attrs, axis)
        if step is not None and unit in _LENGTH_UNITS:
            f.header(key, step * _LENGTH_UNITS[unit],
                     f"unit attribute {axis}AxisConversionConversionLinearScale ({step:g} {unit})")
        elif step is not None:
            f.warn(f"{axis} axis step {step:g} in {unit!r}: not a length, no {key}")
    step, unit = _axis(attrs, "Z")
    where = f"unit attribute ZAxisConversionConversionLinearScale ({step:g} {unit} per frame)" \
        if step is not None else ""
    if unit in _TIME_UNITS and step:
        f.computed("frameRate", 1.0 / (step * _TIME_UNITS[unit]), f"1 / {where}")
    elif unit in _LENGTH_UNITS and step:
        f.header("zVoxelSize", abs(step) * _LENGTH_UNITS[unit], where.replace("per frame",
                                                                              "per plane"))
    else:
        f.warn(f"third axis in {unit!r}: neither time nor length, no frame rate")
    _started(f, attrs)
    return f


def _axis(attrs: Any, axis: str) -> tuple[float | None, str]:
    key = f"{axis}AxisConversionConversionLinearScale"
    if key not in attrs:
        return None, ""
    unit = _text(attrs.get(f"{axis}AxisConversionUnitName")).strip()
    return _number(attrs, key), unit


def _frames(f: Fields, group: Any, frames: int) -> None:
    import h5py

    stored = [(k, v.shape) for k, v in group.items()
              if k.startswith("Channel_") and isinstance(v, h5py.Dataset)]
    short = [(name, shape[0]) for name, shape in stored if len(shape) == 3 and shape[0] < frames]
    for name, n in short:
        f.warn(f"{name} stores {n} frames but ZDim says {frames}: truncated; nFrames counts "
               "the frames stored")
    if short:  # the frames a reader finds, as other families count what is on disk
        name, n = min(short, key=lambda item: item[1])
        f.computed("nFrames", n, f"the first axis of {name} (unit attribute ZDim says {frames})")
    else:
        f.header("nFrames", frames, "unit attribute ZDim")


def _started(f: Fields, attrs: Any) -> None:
    if "MeasurementDatePosix" not in attrs:
        return
    try:
        secs = _number(attrs, "MeasurementDatePosix")
        nanos = _number(attrs, "MeasurementDateNanoSecs") \
            if "MeasurementDateNanoSecs" in attrs else 0.0
        if secs <= 0:
            return
        when = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc)
        when += datetime.timedelta(microseconds=int(nanos) // 1000)
    except (_Bad, OverflowError, OSError, ValueError):
        return
    f.started(when, Source.HEADER, "unit attributes MeasurementDatePosix and "
              "MeasurementDateNanoSecs (UTC)")
