"""Neurodata Without Borders files (``.nwb``, HDF5): one record per time series.

``ElectricalSeries`` (and extension types derived from it) are ExtracellularEphys,
patch-clamp series (``PatchClampSeries`` and its subtypes) IntracellularEphys, ``ImageSeries``
BehavioralTracking, every other ``TimeSeries`` GeneralTimeSeries. Each record names the
series' path in the file as its part (``rec.nwb#acquisition/ElectricalSeries``). Types are
resolved through the file's cached specifications (``/specifications``), so extension
types count as the core type they extend; a built-in table of the core types serves
files without them. MatNWB stores ``neurodata_type`` (and other text attributes) as a
one-element array: it is read as its one element.

Choice of reader: h5py directly, no pynwb. pynwb builds every object of the file
(seconds for large files, and it refuses files with unknown extensions); neo's NWB
support loads data. h5py reads attributes, shapes and dtypes without touching the data:
about 3 ms for a five-series file, the same for a 1 MB and a 100 GB dataset
(``benchmarks/bench_spikeglx_nwb_abf.py``), plus a round trip of about 2 ms to the worker
process the HDF5 reading runs in (``extractors/_isolate.py``: libhdf5 can crash on a
damaged file). Small index tables are read where a value
needs them: an ElectricalSeries' ``electrodes`` region and the electrode table's
``group_name`` (one entry per channel), ``channel_conversion`` (one per channel), and
the first and last timestamps when a series has no ``rate``.

- ``sr``: ``starting_time``'s ``rate``; else (n - 1) / (last - first timestamp), the
  mean rate, with a warning. ``nSamples``: the data's first dimension; ``nChannels``: the
  product of the others (1 for a 1-D series).
- ``lsb`` (µV per integer step) only for integer data in volts: ``conversion`` (x the
  ``channel_conversion`` when all channels share one) x 1e6 (V), 1e3 (mV) or 1 (µV).
  Float data are stored in units, not steps: no ``lsb``.
- ImageSeries: ``nFrames`` from the data's first dimension. With ``format`` "external"
  (or empty data and ``external_file``) ``data`` is a placeholder: the frames are in the
  external files, which are described with this project's video extractor (the same
  checks as any data file: a regular file, not empty; never a FIFO or a device) for
  nFrames (summed) and resolution; the rate is the series' own (``starting_time`` rate or
  timestamps), else the video's. External files that cannot be read leave nFrames to the
  timestamps' count and the resolution to ``dimension``, with a warning. An ImageSeries
  with external files and no ``data`` dataset at all is described the same way.
- Start time: the file's ``session_start_time`` (ISO 8601, its UTC offset kept).
- Hostile files: every attribute is checked for its type and finiteness before use
  (``rate="fast"``, a rate array, ``conversion`` inf, string timestamps or electrodes are
  one line naming the series and field); an object HDF5 cannot read is one line naming
  it. An external link (or a dataset with external storage) is followed only to a regular
  file: a link to a FIFO or a device never hangs the folder. NWB 1.x files are named as
  such (their layout is not read).
- One bad part never sinks the file: a series whose values cannot be used (a field of the
  wrong type, an object HDF5 cannot read) or are implausible (timestamps that mix an epoch
  time with relative times give a mean rate of 1e-6 Hz) is left out, with one line on the
  file's other records naming it and the reason (``Extractor.extract``, ``PartFailure``).
- Series that are not continuous signals (``SpikeEventSeries`` snippets, text
  ``AnnotationSeries``, imaging ``TwoPhotonSeries``/``OnePhotonSeries``, which no
  BrainSTEM type describes) are skipped with a warning on the file's other records.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from ._isolate import isolated
from .base import Claim, Extraction, Extractor, Fields, PartFailure, Source, special_file

__all__ = ["NwbExtractor"]

# NWB core (2.x) types derived from TimeSeries: type -> parent. Cached specs extend it.
_CORE_PARENTS = {
    "ElectricalSeries": "TimeSeries", "SpikeEventSeries": "ElectricalSeries",
    "PatchClampSeries": "TimeSeries", "CurrentClampSeries": "PatchClampSeries",
    "IZeroClampSeries": "CurrentClampSeries", "CurrentClampStimulusSeries": "PatchClampSeries",
    "VoltageClampSeries": "PatchClampSeries", "VoltageClampStimulusSeries": "PatchClampSeries",
    "ImageSeries": "TimeSeries", "ImageMaskSeries": "ImageSeries", "OpticalSeries": "ImageSeries",
    "TwoPhotonSeries": "ImageSeries", "OnePhotonSeries": "ImageSeries",
    "IndexSeries": "TimeSeries", "AnnotationSeries": "TimeSeries", "IntervalSeries": "TimeSeries",
    "AbstractFeatureSeries": "TimeSeries", "SpatialSeries": "TimeSeries",
    "RoiResponseSeries": "TimeSeries", "DecompositionSeries": "TimeSeries",
    "OptogeneticSeries": "TimeSeries",
}
_SKIP = {
    "SpikeEventSeries": "spike snippets, not a continuous signal",
    "AnnotationSeries": "text annotations, not a signal",
    "TwoPhotonSeries": "imaging data: no BrainSTEM record type describes it",
    "OnePhotonSeries": "imaging data: no BrainSTEM record type describes it",
}
_TO_MICROVOLT = {"v": 1e6, "volt": 1e6, "volts": 1e6, "mv": 1e3, "millivolt": 1e3,
                 "millivolts": 1e3, "uv": 1.0, "µv": 1.0, "μv": 1.0, "microvolt": 1.0,
                 "microvolts": 1.0}
_SMALL_TABLE = 1_000_000  # index tables larger than this are not read
# Reading an NWB file's headers takes milliseconds, the same at 100 GB; libhdf5 looping in a
# damaged global heap takes for ever. 20 s leaves a thousandfold margin for a loaded machine
# or a slow network file system.
_TIMEOUT = 20.0
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# What h5py raises for an object it cannot read (a corrupted header, a bad link, a filter
# it lacks, a damaged datatype): refused in one line naming it. ValueError and TypeError
# count only when h5py raised them (see _from_h5py): from our code they are bugs.
_H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


class _Bad(Exception):
    """A value of the file that cannot be used (internal; becomes an ExtractionError)."""


@dataclass
class _File:
    """The state of one file's description: its type table and notes for every record."""

    path: Path
    parents: dict[str, str]
    notes: list[str] = field(default_factory=list)

    def lineage(self, name: str) -> list[str]:
        out = [name]
        while out[-1] in self.parents and len(out) < 50:
            out.append(self.parents[out[-1]])
        return out


class NwbExtractor(Extractor):
    """NWB 2.x HDF5 files: one record per TimeSeries."""

    name = "nwb"
    suffixes = (".nwb",)
    record_types = ("ExtracellularEphys", "GeneralTimeSeries", "BehavioralTracking",
                    "IntracellularEphys")

    claim_endings = (".nwb",)
    # This module too: the worker imports it (and the record checks it needs) while this
    # process reads the files before the first NWB one, not when that file is asked for.
    warm = ("h5py", __name__)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        return Claim.SPECIFIC if path.suffix.lower() == ".nwb" else Claim.NO

    def _extract(self, path: Path, stated: Mapping[str, Any]
                 ) -> list[Extraction | PartFailure]:
        # libhdf5 can crash, or loop for ever, on a damaged file: read it in a worker process
        # (see extractors/_isolate), stopped after _TIMEOUT.
        result: list[Extraction | PartFailure] = isolated(path, _describe, str(path),
                                                          timeout=_TIMEOUT)
        return result

    def _read(self, path: Path) -> list[Extraction | PartFailure]:
        import h5py

        if not _is_hdf5(path):
            raise ExtractionError(path, "not an HDF5 file (no HDF5 signature): not an NWB file")
        try:
            h5 = h5py.File(path, "r")
        except OSError as exc:
            reason = " ".join(str(exc).split())
            raise ExtractionError(path, f"HDF5 cannot open it: {reason}") from exc
        with h5:
            try:
                return self._file(path, h5)
            except _Bad as exc:
                raise ExtractionError(path, str(exc)) from None
            except _H5_ERRORS as exc:
                if not _from_h5py(exc):
                    raise
                raise ExtractionError(path, f"HDF5 cannot read it: {_reason(exc)}") from None

    def _file(self, path: Path, h5: Any) -> list[Extraction | PartFailure]:
        import h5py

        version = h5.attrs.get("nwb_version")
        if version is None:
            old = h5.get("nwb_version", getlink=True)
            stated = h5.get("nwb_version") if isinstance(old, h5py.HardLink) else None
            if isinstance(stated, h5py.Dataset) and stated.size == 1:
                # NWB 1.x kept its version in a root dataset ("NWB-1.0.6"), not an attribute.
                raise ExtractionError(path, f"an NWB 1.x file ({_text(stated[()])[:40]}): "
                                      "bsingest reads NWB 2.x files only")
            raise ExtractionError(path, "an HDF5 file without an nwb_version attribute: "
                                  "not an NWB file")
        version = _text(version)
        try:
            state = _File(path, _type_parents(h5))
        except _H5_ERRORS as exc:
            if not _from_h5py(exc):
                raise
            raise _Bad(f"its cached specifications cannot be read: {_reason(exc)}") from None
        found: list[tuple[str, Any, list[str]]] = []

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Group) and "neurodata_type" in obj.attrs:
                lineage = state.lineage(_text(obj.attrs["neurodata_type"]))
                if "TimeSeries" in lineage:
                    found.append((name, obj, lineage))
                elif len(lineage) == 1 and _looks_like_series(obj):
                    # An extension type whose spec is not cached: it has the shape of
                    # a TimeSeries, so it is described as one, and said so.
                    state.notes.append(f"{name}: type {lineage[0]} is not in the file's "
                                       "cached specifications; described as a TimeSeries")
                    found.append((name, obj, [lineage[0], "TimeSeries"]))

        try:
            h5.visititems(visit)
        except _H5_ERRORS as exc:
            if not _from_h5py(exc):
                raise
            raise _Bad(f"the file's object tree cannot be read: {_reason(exc)}") from None
        pending = []
        failed: list[PartFailure] = []
        for name, group, lineage in found:
            skip = next((_SKIP[t] for t in lineage if t in _SKIP), None)
            if skip:
                state.notes.append(f"{name} ({lineage[0]}) skipped: {skip}")
                continue
            # One series that cannot be described (a value of the wrong type, an object
            # HDF5 cannot read) drops that series only: the file's others keep their records.
            try:
                described = self._series(state, name, group, lineage, version)
            except _Bad as exc:
                failed.append(PartFailure(name, _without(name, str(exc))))
                continue
            except _H5_ERRORS as exc:
                if not _from_h5py(exc):
                    raise
                failed.append(PartFailure(name, f"HDF5 cannot read it: {_reason(exc)}"))
                continue
            if described is not None:
                pending.append(described)
        if not pending and not failed:
            reasons = "; ".join(state.notes) or "no TimeSeries in it"
            raise ExtractionError(path, f"NWB {version}: no series to describe "
                                  f"({reasons})")
        started = _session_start(h5)
        out: list[Extraction | PartFailure] = []
        for name, record_type, f in pending:
            for note in state.notes:
                f.warn(note)
            if started is not None:
                f.started(started[0], Source.HEADER, started[1])
            out.append(self.result(path, record_type, f, part=name))
        return out + failed

    def _series(self, state: _File, name: str, group: Any, lineage: list[str],
                version: str) -> tuple[str, str, Fields] | None:
        import h5py

        data = _dataset(state, group, "data", name)
        f = Fields()
        if "ImageSeries" in lineage:
            if data is None and not isinstance(_dataset(state, group, "external_file", name),
                                               h5py.Dataset):
                state.notes.append(f"{name} ({lineage[0]}) skipped: no data dataset and no "
                                   "external_file")
                return None
            self._image(state, name, group, data, f, version)
            return name, "BehavioralTracking", f
        if data is None:
            state.notes.append(f"{name} ({lineage[0]}) skipped: no data dataset")
            return None
        if data.dtype.kind not in "iuf" or data.ndim == 0:
            state.notes.append(f"{name} ({lineage[0]}) skipped: {data.dtype} data is not a "
                               "numeric signal")
            return None
        f.header("format", "NWB", f"nwb_version {version}, {lineage[0]} at {name}")
        f.header("type", data.dtype.name, f"{name}/data dtype")
        n_channels = 1
        for d in data.shape[1:]:
            n_channels *= d
        f.header("nChannels", n_channels, f"{name}/data shape {tuple(data.shape)}: the "
                 "dimensions after time" if data.ndim > 1 else f"{name}/data is one-dimensional")
        f.header("nSamples", data.shape[0],
                 f"{name}/data shape {tuple(data.shape)}, first dimension")
        self._rate(state, name, group, data.shape[0], f, "sr")
        self._lsb(state, name, group, data, n_channels, f)
        if "ElectricalSeries" in lineage:
            self._groups(state, name, group, n_channels, f)
            return name, "ExtracellularEphys", f
        if "PatchClampSeries" in lineage:
            return name, "IntracellularEphys", f
        return name, "GeneralTimeSeries", f

    def _rate(self, state: _File, name: str, group: Any, n: int, f: Fields, key: str,
              fallback: tuple[float, str] | None = None) -> None:
        start = _dataset(state, group, "starting_time", name)
        if start is not None and "rate" in start.attrs:
            rate = _number(start.attrs["rate"], f"{name}/starting_time rate")
            if not rate > 0:
                raise _Bad(f"{name}/starting_time rate {rate:g} is not a positive rate")
            f.header(key, rate, f"{name}/starting_time rate")
            return
        stamps = _dataset(state, group, "timestamps", name, values=True)
        if stamps is not None and stamps.ndim == 1 and stamps.shape[0] >= 2:
            if stamps.dtype.kind not in "iuf":
                raise _Bad(f"{name}/timestamps are {stamps.dtype}, not numbers")
            count = stamps.shape[0]
            first = _number(stamps[0], f"{name}/timestamps[0]")  # two values, not the array
            last = _number(stamps[count - 1], f"{name}/timestamps[-1]")
            if last > first:
                f.computed(key, (count - 1) / (last - first),
                           f"{name}/timestamps: ({count} - 1) / ({last:g} - {first:g}) s, "
                           "the mean rate")
                f.warn(f"{name}: no rate; {key} is the mean rate over its {count} timestamps "
                       "(irregular sampling is not checked)")
                if count != n:
                    f.warn(f"{name}: {count} timestamps for {n} samples")
                return
        if fallback is not None:
            f.header(key, fallback[0], fallback[1])
            return
        f.warn(f"{name}: neither a starting_time rate nor two increasing timestamps: no {key}")

    def _lsb(self, state: _File, name: str, group: Any, data: Any, n_channels: int,
             f: Fields) -> None:
        if data.dtype.kind not in "iu":
            return  # floats hold values in units, not integer steps
        unit = _text(data.attrs.get("unit", "")).strip()
        factor = _TO_MICROVOLT.get(unit.lower())
        if factor is None:
            return
        conversion = _number(data.attrs.get("conversion", 1.0), f"{name}/data conversion")
        detail = f"{name}/data conversion {conversion:g} {unit}/step"
        cc = _dataset(state, group, "channel_conversion", name, values=True)
        if cc is not None and cc.ndim == 1 and cc.shape[0] <= _SMALL_TABLE:
            if cc.dtype.kind not in "iuf":
                raise _Bad(f"{name}/channel_conversion is {cc.dtype}, not numbers")
            values = {_number(v, f"{name}/channel_conversion") for v in cc[()]}
            if len(values) != 1:
                f.warn(f"{name}: channel_conversion differs between channels "
                       f"({len(values)} values): one lsb cannot describe them, so none is given")
                return
            per_channel = values.pop()
            conversion *= per_channel
            detail += f" x channel_conversion {per_channel:g}"
        if not conversion > 0:
            return
        offset = _number(data.attrs.get("offset", 0.0), f"{name}/data offset")
        if offset:
            f.warn(f"{name}: data offset {offset:g} {unit} is not part of lsb")
        f.header("lsb", conversion * factor, f"{detail}, in µV")

    def _groups(self, state: _File, name: str, group: Any, n_channels: int, f: Fields) -> None:
        """Electrode groups from the electrode table's group_name, via the series' region."""
        import h5py

        region = _dataset(state, group, "electrodes", name, values=True)
        if region is None or region.ndim != 1:
            return
        if region.dtype.kind not in "iu":
            raise _Bad(f"{name}/electrodes is {region.dtype}, not row indices")
        if region.shape[0] != n_channels:
            f.warn(f"{name}: electrodes lists {region.shape[0]} electrodes for {n_channels} "
                   "data channels: no electrode groups")
            return
        if region.shape[0] > _SMALL_TABLE or "table" not in region.attrs:
            return
        try:
            table = group.file[region.attrs["table"]]
        except (ValueError, KeyError):
            return
        if not isinstance(table, h5py.Group):
            return
        names = _dataset(state, table, "group_name", name, values=True)
        if names is None or names.ndim != 1 or names.shape[0] > _SMALL_TABLE:
            return
        rows = [int(i) for i in region[()]]
        labels = [_text(x) for x in names[()]]
        if any(not 0 <= r < len(labels) for r in rows):
            f.warn(f"{name}: electrodes refers to rows outside the electrode table: no groups")
            return
        by_label: dict[str, list[int]] = {}
        for ch, row in enumerate(rows):
            by_label.setdefault(labels[row], []).append(ch)
        f.header("electrodeGroups", [{"channels": c, "label": lab} for lab, c in by_label.items()],
                 f"{name}/electrodes rows -> {table.name}/group_name")

    def _image(self, state: _File, name: str, group: Any, data: Any, f: Fields,
               version: str) -> None:
        f.header("format", "NWB", f"nwb_version {version}, ImageSeries at {name}")
        external = _dataset(state, group, "external_file", name, values=True)
        fmt = _dataset(state, group, "format", name, values=True)
        fmt_text = _text(fmt[()]) if fmt is not None and fmt.ndim == 0 else "raw"
        placeholder = fmt_text.lower() == "external" or data is None or not data.shape \
            or data.shape[0] == 0
        if not placeholder:
            f.header("nFrames", data.shape[0],
                     f"{name}/data shape {tuple(data.shape)}, first dimension")
            if data.ndim >= 3:
                # NWB's dims are (frame, x, y): x is the width, y the height.
                f.header("horizontalResolution", data.shape[1],
                         f"{name}/data shape: x (dims frame, x, y)")
                f.header("verticalResolution", data.shape[2],
                         f"{name}/data shape: y (dims frame, x, y)")
            f.header("compression", data.compression or "raw",
                     f"{name}/data HDF5 filter" if data.compression
                     else f"{name}/data is stored unfiltered")
            self._rate(state, name, group, data.shape[0], f, "frameRate")
            return
        files = []
        if external is not None and external.ndim <= 1 and external.size <= 10_000:
            raw = external[()]
            files = [_text(x) for x in (raw if external.ndim else [raw])]
        videos, problem = self._external_videos(state.path, files)
        what = f"format {fmt_text!r}" + (", data is a placeholder" if data is not None else "")
        if videos:
            n = sum(v.type_json["nFrames"] for v in videos)
            f.computed("nFrames", n, f"{name}: {what}; frames counted in external file(s) "
                       f"{files} by bsingest's video extractor")
            first = videos[0]
            for key in ("horizontalResolution", "verticalResolution", "compression"):
                if key in first.type_json:
                    f.header(key, first.type_json[key], f"{name}: external file {files[0]!r}, "
                             f"{first.provenance[key].detail}")
            rate = first.type_json.get("frameRate")
            fallback = (rate, f"{name}: external file {files[0]!r} frame rate "
                        "(the series states none)") if rate else None
            self._rate(state, name, group, n, f, "frameRate", fallback)
            return
        stamps = _dataset(state, group, "timestamps", name)
        n = stamps.shape[0] if stamps is not None and stamps.ndim == 1 else 0
        if n:
            f.computed("nFrames", n, f"{name}/timestamps count: the frames are in external "
                       f"file(s) {files}")
        where = f"external file(s) {files}" if files else "no file named in external_file"
        f.warn(f"{name}: {what}; the frames are in {where}"
               + (f", which cannot be described ({problem})" if problem else "")
               + ": describe those files for resolution and codec")
        dims = _dataset(state, group, "dimension", name, values=True)
        if dims is not None and dims.ndim == 1 and dims.shape[0] >= 2 and dims.dtype.kind in "iu":
            x, y = (int(v) for v in dims[:2])
            if x > 0 and y > 0:
                f.header("horizontalResolution", x, f"{name}/dimension[0] (x)")
                f.header("verticalResolution", y, f"{name}/dimension[1] (y)")
        self._rate(state, name, group, n, f, "frameRate")

    def _external_videos(self, path: Path, files: list[str]) -> tuple[list[Extraction], str]:
        """Each external file described by the video extractor, or the first problem."""
        from bsingest.errors import BsingestError

        from .video import VideoExtractor

        out = []
        for name in files:
            target = path.parent / name
            try:
                out += VideoExtractor().extract(target)  # the base checks: regular, not empty
            except BsingestError as exc:
                return [], str(exc)
        return out, ""


def _describe(path: str) -> list[Extraction | PartFailure]:
    """The records of one NWB file (run in a child process by :func:`isolated`)."""
    return NwbExtractor()._read(Path(path))


def _type_parents(h5: Any) -> dict[str, str]:
    """type -> parent type, from the file's cached specifications over the core table."""
    import h5py

    parents = dict(_CORE_PARENTS)
    specs = h5.get("specifications")
    if not isinstance(specs, h5py.Group):
        return parents

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            child = node.get("neurodata_type_def")
            base = node.get("neurodata_type_inc")
            if isinstance(child, str) and isinstance(base, str) and child != base:
                parents.setdefault(child, base)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    def visit(_: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and obj.ndim == 0 and obj.dtype.kind in "OSU":
            try:
                walk(json.loads(_text(obj[()])))
            except (ValueError, RecursionError):
                pass  # a cached spec that is not JSON (YAML in old files): the core table holds

    specs.visititems(visit)
    return parents


def _looks_like_series(group: Any) -> bool:
    import h5py

    return isinstance(group.get("data"), h5py.Dataset) and (
        "timestamps" in group or "starting_time" in group)


def _without(name: str, reason: str) -> str:
    """``reason`` without a leading ``name: `` (the part is named beside it)."""
    return reason[len(name) + 2:] if reason.startswith(f"{name}: ") else reason


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
        while isinstance(value, list) and len(value) == 1:  # MatNWB: a one-element array
            value = value[0]
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
    return str(value)


def _is_hdf5(path: Path) -> bool:
    # The signature sits at 0, 512, 1024, 2048, ... when a user block precedes it.
    size = os.stat(path).st_size
    with open(path, "rb") as fh:
        offset = 0
        while offset + 8 <= size and offset <= 1 << 20:
            fh.seek(offset)
            if fh.read(8) == _HDF5_MAGIC:
                return True
            offset = 512 if offset == 0 else offset * 2
    return False


def _from_h5py(exc: BaseException) -> bool:
    """Whether h5py raised ``exc`` (its innermost frame is h5py's), not our own code."""
    if isinstance(exc, OSError | RuntimeError):
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and "h5py" in tb.tb_frame.f_code.co_filename


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _number(value: Any, what: str) -> float:
    """One finite number from an attribute or a dataset element, or a one-line refusal."""
    if hasattr(value, "shape") and getattr(value, "size", 1) == 1 and value.shape:
        value = value.reshape(-1)[0]  # a one-element array (MatNWB)
    if isinstance(value, bytes | str) or (hasattr(value, "shape") and value.shape):
        raise _Bad(f"{what} is {_text(value)[:40]!r}, not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Bad(f"{what} is {_text(value)[:40]!r}, not a number") from None
    if not math.isfinite(number):
        raise _Bad(f"{what} is {number}, not a finite number")
    return number


def _dataset(state: _File, group: Any, key: str, name: str, values: bool = False) -> Any:
    """``group[key]`` if it is a dataset this file may read; None if absent.

    An external link is followed only to a regular file (a FIFO or a device would hang the
    read); ``values``: its elements will be read, so external raw storage must be regular
    files too.
    """
    import h5py

    link = group.get(key, getlink=True)
    if link is None:
        return None
    if isinstance(link, h5py.ExternalLink):
        target = Path(link.filename)
        target = target if target.is_absolute() else state.path.parent / target
        if not target.is_file():
            raise _Bad(f"{name}/{key} is an external link to {link.filename[:80]!r}, which is "
                       f"{_what(target)}: not followed")
    obj = group.get(key)
    if not isinstance(obj, h5py.Dataset):
        return None
    if values and obj.external:
        for file_name, _offset, _size in obj.external:
            raw = file_name.decode("utf-8", "replace") if isinstance(file_name, bytes) \
                else str(file_name)
            target = Path(raw) if Path(raw).is_absolute() else state.path.parent / raw
            if not target.is_file():
                raise _Bad(f"{name}/{key} is stored in {raw[:80]!r}, which is "
                           f"{_what(target)}: not read")
    return obj


def _what(target: Path) -> str:
    """Why a file named by the NWB file is not read: what it is instead."""
    if not target.exists():
        return "absent"
    return special_file(target) or "not a regular file"


def _session_start(h5: Any) -> tuple[datetime.datetime, str] | None:
    import h5py

    ds = h5.get("session_start_time", getlink=True)
    if not isinstance(ds, h5py.HardLink):
        return None
    ds = h5.get("session_start_time")
    if not isinstance(ds, h5py.Dataset) or ds.size != 1 or ds.dtype.kind not in "OSU":
        return None
    raw = _text(ds[()]).strip()
    try:
        when = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when, f"session_start_time {raw[:40]!r}"
