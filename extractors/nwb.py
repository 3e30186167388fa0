"""Neurodata Without Borders files (``.nwb``, HDF5): one record per time series.

``ElectricalSeries`` (and extension types derived from it) are Extracellular,
patch-clamp series (``PatchClampSeries`` and its subtypes) Intracellular, ``ImageSeries``
BehavioralTracking, every other ``TimeSeries`` GeneralTimeSeries. Each record's
``stream`` is the series' path in the file (``acquisition/ElectricalSeries``). Types are
resolved through the file's cached specifications (``/specifications``), so extension
types count as the core type they extend; a built-in table of the core types serves
files without them.

Choice of reader: h5py directly, no pynwb. pynwb builds every object of the file
(seconds for large files, and it refuses files with unknown extensions); neo's NWB
support loads data. h5py reads attributes, shapes and dtypes without touching the data:
about 4 ms for a five-series file, the same for a 1 MB and a 100 GB dataset
(``benchmarks/bench_spikeglx_nwb_abf.py``). Small index tables are read where a value
needs them: an ElectricalSeries' ``electrodes`` region and the electrode table's
``group_name`` (one entry per channel), ``channel_conversion`` (one per channel), and
the first and last timestamps when a series has no ``rate``.

- ``sr``: ``starting_time``'s ``rate``; else (n - 1) / (last - first timestamp), the
  mean rate, with a warning. ``nSamples``: the data's first dimension; ``nChannels``: the
  product of the others (1 for a 1-D series).
- ``lsb`` (µV per integer step) only for integer data in volts: ``conversion`` (x the
  ``channel_conversion`` when all channels share one) x 1e6 (V), 1e3 (mV) or 1 (µV).
  Float data are stored in units, not steps: no ``lsb``.
- ImageSeries: ``nFrames`` from the data's first dimension; frames kept in external
  files (``external_file``) are counted by their timestamps, with a warning, and their
  resolution is left to the external files.
- Series that are not continuous signals (``SpikeEventSeries`` snippets, text
  ``AnnotationSeries``, imaging ``TwoPhotonSeries``/``OnePhotonSeries``, which no
  BrainSTEM type describes) are skipped with a warning on the file's other records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import Claim, Extraction, Extractor, Fields

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
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


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
    record_types = ("Extracellular", "GeneralTimeSeries", "BehavioralTracking", "Intracellular")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        return Claim.SPECIFIC if path.suffix.lower() == ".nwb" else Claim.NO

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
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
                version = h5.attrs.get("nwb_version")
            except (RuntimeError, KeyError) as exc:  # a damaged attribute
                reason = " ".join(str(exc).split())
                raise ExtractionError(path, f"damaged HDF5: {reason}") from exc
            if version is None:
                raise ExtractionError(path, "an HDF5 file without an nwb_version attribute: "
                                      "not an NWB file")
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

            pending = []
            try:
                # HDF5 reports damage met while reading the file as RuntimeError/KeyError.
                state = _File(path, _type_parents(h5))
                h5.visititems(visit)
                for name, group, lineage in found:
                    skip = next((_SKIP[t] for t in lineage if t in _SKIP), None)
                    if skip:
                        state.notes.append(f"{name} ({lineage[0]}) skipped: {skip}")
                        continue
                    described = self._series(state, name, group, lineage, _text(version))
                    if described is not None:
                        pending.append(described)
            except (RuntimeError, KeyError) as exc:
                reason = " ".join(str(exc).split())
                raise ExtractionError(path, f"damaged HDF5: {reason}") from exc
            if not pending:
                reasons = "; ".join(state.notes) or "no TimeSeries in it"
                raise ExtractionError(path, f"NWB {_text(version)}: no series to describe "
                                      f"({reasons})")
            out = []
            for name, record_type, f in pending:
                for note in state.notes:
                    f.warn(note)
                out.append(self.result(path, record_type, f, part=name))
            return out

    def _series(self, state: _File, name: str, group: Any, lineage: list[str],
                version: str) -> tuple[str, str, Fields] | None:
        import h5py

        data = group.get("data")
        if not isinstance(data, h5py.Dataset):
            state.notes.append(f"{name} ({lineage[0]}) skipped: no data dataset")
            return None
        f = Fields()
        if "ImageSeries" in lineage:
            self._image(state, name, group, data, f, version)
            return name, "BehavioralTracking", f
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
        self._rate(name, group, data.shape[0], f, "sr")
        self._lsb(name, group, data, n_channels, f)
        if "ElectricalSeries" in lineage:
            self._groups(state, name, group, n_channels, f)
            return name, "Extracellular", f
        if "PatchClampSeries" in lineage:
            return name, "Intracellular", f
        return name, "GeneralTimeSeries", f

    def _rate(self, name: str, group: Any, n: int, f: Fields, key: str) -> None:
        import h5py

        start = group.get("starting_time")
        if isinstance(start, h5py.Dataset) and "rate" in start.attrs:
            rate = float(start.attrs["rate"])
            if rate > 0:
                f.header(key, rate, f"{name}/starting_time rate")
                return
        stamps = group.get("timestamps")
        if isinstance(stamps, h5py.Dataset) and stamps.ndim == 1 and stamps.shape[0] >= 2:
            count = stamps.shape[0]
            first, last = float(stamps[0]), float(stamps[count - 1])  # two values, not the array
            if last > first:
                f.computed(key, (count - 1) / (last - first),
                           f"{name}/timestamps: ({count} - 1) / ({last:g} - {first:g}) s, "
                           "the mean rate")
                f.warn(f"{name}: no rate; {key} is the mean rate over its {count} timestamps "
                       "(irregular sampling is not checked)")
                if count != n:
                    f.warn(f"{name}: {count} timestamps for {n} samples")
                return
        f.warn(f"{name}: neither a starting_time rate nor two increasing timestamps: no {key}")

    def _lsb(self, name: str, group: Any, data: Any, n_channels: int, f: Fields) -> None:
        import h5py

        if data.dtype.kind not in "iu":
            return  # floats hold values in units, not integer steps
        unit = _text(data.attrs.get("unit", "")).strip()
        factor = _TO_MICROVOLT.get(unit.lower())
        if factor is None:
            return
        conversion = float(data.attrs.get("conversion", 1.0))
        detail = f"{name}/data conversion {conversion:g} {unit}/step"
        cc = group.get("channel_conversion")
        if isinstance(cc, h5py.Dataset) and cc.ndim == 1 and cc.shape[0] <= _SMALL_TABLE:
            values = {float(v) for v in cc[()]}
            if len(values) != 1:
                f.warn(f"{name}: channel_conversion differs between channels "
                       f"({len(values)} values): one lsb cannot describe them, so none is given")
                return
            per_channel = values.pop()
            conversion *= per_channel
            detail += f" x channel_conversion {per_channel:g}"
        if not conversion > 0:
            return
        offset = float(data.attrs.get("offset", 0.0))
        if offset:
            f.warn(f"{name}: data offset {offset:g} {unit} is not part of lsb")
        f.header("lsb", conversion * factor, f"{detail}, in µV")

    def _groups(self, state: _File, name: str, group: Any, n_channels: int, f: Fields) -> None:
        """Electrode groups from the electrode table's group_name, via the series' region."""
        import h5py

        region = group.get("electrodes")
        if not isinstance(region, h5py.Dataset) or region.ndim != 1:
            return
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
        names = table.get("group_name")
        if not isinstance(names, h5py.Dataset) or names.shape[0] > _SMALL_TABLE:
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
        import h5py

        f.header("format", "NWB", f"nwb_version {version}, ImageSeries at {name}")
        external = group.get("external_file")
        fmt = group.get("format")
        fmt_text = _text(fmt[()]) if isinstance(fmt, h5py.Dataset) else "raw"
        if data.shape and data.shape[0] > 0:
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
            n = data.shape[0]
        else:
            files = [_text(x) for x in external[()]] if isinstance(external, h5py.Dataset) else []
            stamps = group.get("timestamps")
            n = stamps.shape[0] if isinstance(stamps, h5py.Dataset) and stamps.ndim == 1 else 0
            if n:
                f.computed("nFrames", n, f"{name}/timestamps count: the frames are in external "
                           f"file(s) {files}")
            where = f"external file(s) {files}" if files else "no file named in external_file"
            f.warn(f"{name}: empty data; the frames are in {where} (format {fmt_text!r}): "
                   "describe those files for resolution and codec")
            dims = group.get("dimension")
            if isinstance(dims, h5py.Dataset) and dims.ndim == 1 and dims.shape[0] >= 2:
                x, y = (int(v) for v in dims[:2])
                f.header("horizontalResolution", x, f"{name}/dimension[0] (x)")
                f.header("verticalResolution", y, f"{name}/dimension[1] (y)")
        self._rate(name, group, n, f, "frameRate")


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


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
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
