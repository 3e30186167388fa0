"""Femtonics MESc samples: HDF5 written with h5py with the groups and unit attributes of
the corpus' ``p29.mesc`` (MESc 3.3): ``MSession_0/MUnit_<j>`` groups whose attributes
give the axes (``XDim``..., ``X/Y/ZAxisConversion...`` with UTF-16 unit names in int16
arrays) and whose ``Channel_<k>`` datasets hold (frames, lines, pixels) uint16."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

EXTRACTOR = "femtonics"


def text(s: str) -> Any:
    """A MESc text attribute: UTF-16 code units in an int16 array, ending in 0."""
    return np.array([ord(c) for c in s] + [0], dtype=np.int16)


def add_unit(session: Any, name: str, *, frames: int = 5, width: int = 16, height: int = 12,
             pixel_um: float = 1.7821140546875, frame_ms: float = 32.29672617170252,
             z_unit: str = "ms", channels: int = 2, stored: int | None = None,
             kind: str = "MImage3D") -> Any:
    g = session.create_group(name)
    a = g.attrs
    a["TypeDebugString"] = np.bytes_(kind.encode())
    a["Type"] = np.uint32(4)
    a["CreatingMEScVersion"] = text("MESc 3.3")
    a["VecChannelsSize"] = np.uint64(channels)
    for axis, dim, scale, unit in (("X", width, pixel_um, "µm"), ("Y", height, pixel_um, "µm"),
                                   ("Z", frames, frame_ms, z_unit)):
        a[f"{axis}Dim"] = np.uint64(dim)
        a[f"{axis}AxisConversionConversionLinearScale"] = np.float64(scale)
        a[f"{axis}AxisConversionConversionLinearOffset"] = np.float64(scale / 2)
        a[f"{axis}AxisConversionUnitName"] = text(unit)
        a[f"{axis}AxisConversionTitle"] = text(axis.lower())
    a["ZDimUnlimited"] = np.int32(1)
    a["MeasurementDatePosix"] = np.uint64(1506671580)
    a["MeasurementDateNanoSecs"] = np.uint32(903593500)
    for k in range(channels):
        a[f"Channel_{k}_Name"] = text(("UG", "UR", "C3", "C4")[k % 4])
        g.create_dataset(f"Channel_{k}", shape=(frames if stored is None else stored,
                                                height, width), dtype="<u2")
    return g


def write_mesc(path: Path, units: list[dict[str, Any]] | None = None) -> Path:
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["Vendor"] = np.bytes_(b"Femtonics Ltd. http://femtonics.eu")
        f.attrs["FileFormatVersion"] = np.uint32(2)
        s = f.create_group("MSession_0")
        s.attrs["VecMUnitsSize"] = np.uint64(len(units or [{}, {}]))
        for j, kw in enumerate(units or [{}, {}]):
            add_unit(s, f"MUnit_{j}", **kw)
    return path


def good(tmp: Path) -> list[Path]:
    return [write_mesc(tmp / "p29.mesc"),
            write_mesc(tmp / "stack.mesc", [{"z_unit": "µm", "frame_ms": 2.0}])]


def bad(tmp: Path) -> list[Path]:
    import h5py

    tmp.mkdir(parents=True, exist_ok=True)
    plain = tmp / "plain.mesc"
    plain.write_bytes(b"MESc? no: plain text")
    empty = tmp / "empty.mesc"
    with h5py.File(empty, "w") as f:
        f.create_group("Other")
    curve = write_mesc(tmp / "curve.mesc", [{"kind": "MCurve"}])
    return [plain, empty, curve]
