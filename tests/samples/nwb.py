"""NWB samples: NWB-shaped HDF5 files written with h5py (the groups, attributes and
datasets of NWB 2.x that bsingest reads); no pynwb needed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

EXTRACTOR = "nwb"


def _series(parent, name: str, neurodata_type: str, data, *, rate: float | None = 1000.0,
            unit: str = "volts", conversion: float = 1.0, timestamps=None, namespace: str = "core"):
    g = parent.create_group(name)
    g.attrs["neurodata_type"] = neurodata_type
    g.attrs["namespace"] = namespace
    if isinstance(data, tuple):  # a shape: never written, HDF5 allocates chunks lazily
        d = g.create_dataset("data", shape=data, dtype="<i2",
                             chunks=(min(data[0], 1 << 16), *data[1:]))
    else:
        d = g.create_dataset("data", data=data)
    d.attrs["unit"] = unit
    d.attrs["conversion"] = conversion
    d.attrs["offset"] = 0.0
    d.attrs["resolution"] = -1.0
    if rate is not None:
        st = g.create_dataset("starting_time", data=0.0)
        st.attrs["rate"] = rate
        st.attrs["unit"] = "seconds"
    if timestamps is not None:
        g.create_dataset("timestamps", data=np.asarray(timestamps, dtype="<f8"))
    return g


def write_nwb(path: Path, *, n_channels: int = 4, n_samples: int = 100, rate: float = 30000.0,
              conversion: float = 1.95e-7, shanks: tuple[int, ...] = (2, 2),
              huge: int | None = None, extension: bool = False) -> Path:
    """An NWB file with an int16 ElectricalSeries (electrode table with group names), a
    timestamped float TimeSeries, a CurrentClampSeries, an RGB ImageSeries and a
    SpikeEventSeries. ``huge`` makes the ElectricalSeries that many samples long, unwritten."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["nwb_version"] = "2.5.0"
        f.attrs["neurodata_type"] = "NWBFile"
        f.attrs["namespace"] = "core"
        acq = f.create_group("acquisition")
        table = f.create_group("general/extracellular_ephys/electrodes")
        table.attrs["neurodata_type"] = "DynamicTable"
        labels = [f"shank{i}" for i, n in enumerate(shanks) for _ in range(n)]
        table.create_dataset("group_name", data=np.array(labels, dtype=object),
                             dtype=h5py.string_dtype())
        table.create_dataset("id", data=np.arange(len(labels)))
        data = (huge, n_channels) if huge else (np.arange(n_samples * n_channels) % 500).astype(
            "<i2").reshape(n_samples, n_channels)
        kind = "MyProbeSeries" if extension else "ElectricalSeries"
        es = _series(acq, "ElectricalSeries", kind, data, rate=rate, conversion=conversion,
                     namespace="ndx-probe" if extension else "core")
        region = es.create_dataset("electrodes", data=np.arange(n_channels))
        region.attrs["table"] = table.ref
        region.attrs["neurodata_type"] = "DynamicTableRegion"
        _series(acq, "Position", "SpatialSeries", np.zeros((50, 2), dtype="<f4"), rate=None,
                unit="meters", timestamps=np.arange(50) / 60.0)
        _series(acq, "Vm", "CurrentClampSeries", np.zeros(400, dtype="<i2"), rate=20000.0,
                conversion=1e-5)
        _series(acq, "Camera", "ImageSeries", np.zeros((6, 32, 24, 3), dtype="u1"), rate=30.0,
                unit="n/a")
        _series(acq, "Snippets", "SpikeEventSeries", np.zeros((10, 4, 32), dtype="<i2"),
                rate=None, timestamps=np.arange(10.0))
        if extension:
            spec = {"groups": [{"neurodata_type_def": "MyProbeSeries",
                                "neurodata_type_inc": "ElectricalSeries", "doc": "test"}]}
            f.create_dataset("specifications/ndx-probe/0.1.0/ndx-probe.extensions",
                             data=json.dumps(spec))
    return path


def good(tmp: Path) -> list[Path]:
    return [write_nwb(tmp / "session.nwb"), write_nwb(tmp / "ext.nwb", extension=True)]


def bad(tmp: Path) -> list[Path]:
    import h5py

    tmp.mkdir(parents=True, exist_ok=True)
    text = tmp / "notes.nwb"
    text.write_text("not hdf5")
    plain = tmp / "plain.nwb"
    with h5py.File(plain, "w") as f:
        f.create_dataset("x", data=[1, 2, 3])
    empty = tmp / "empty.nwb"
    with h5py.File(empty, "w") as f:
        f.attrs["nwb_version"] = "2.5.0"
    cut = write_nwb(tmp / "cut.nwb")
    with open(cut, "r+b") as fh:
        fh.truncate(600)
    return [text, plain, empty, cut]
