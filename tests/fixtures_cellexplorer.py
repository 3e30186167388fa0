"""CellExplorer ``basename.session.mat`` and buzcode ``basename.sessionInfo.mat`` writers,
laid out as CellExplorer's ``sessionTemplate.m`` and buzcode's ``bz_getSessionInfo.m``
save them (MAT v5 through scipy, MAT v7.3 through h5py with MATLAB's class attributes)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_session_mat(path: Path, *, n_channels: int = 8, sr: float = 30000,
                      sr_lfp: float = 1250, lsb: float = 0.195, precision: str = "int16",
                      groups: Sequence[Sequence[int]] = ((1, 2, 3, 4), (5, 6, 7, 8)),
                      bad: Sequence[int] = (3,)) -> Path:
    """A CellExplorer session (channels 1-based, as MATLAB writes them), MAT v5."""
    import scipy.io

    path.parent.mkdir(parents=True, exist_ok=True)
    cells = np.empty((1, len(groups)), dtype=object)
    for i, g in enumerate(groups):
        cells[0, i] = np.array(g, dtype=float)
    session = {
        "general": {"name": path.name.split(".")[0], "date": "2024-03-12"},
        "extracellular": {"nChannels": float(n_channels), "sr": float(sr),
                          "srLfp": float(sr_lfp), "leastSignificantBit": float(lsb),
                          "precision": precision, "nElectrodeGroups": float(len(groups)),
                          "electrodeGroups": {"channels": cells}},
        "channelTags": {"Bad": {"channels": np.array(bad, dtype=float)}},
    }
    scipy.io.savemat(str(path), {"session": session}, format="5")
    return path


def write_sessioninfo_v73(path: Path, *, n_channels: int = 4, wideband: float = 20000,
                          lfp: float = 1250, n_bits: int = 16, voltage_range: float = 20,
                          amplification: float = 1000) -> Path:
    """A buzcode sessionInfo saved with ``-v7.3``: HDF5 behind MATLAB's 512-byte header."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", userblock_size=512) as f:
        s = f.create_group("sessionInfo")
        s.attrs["MATLAB_class"] = np.bytes_("struct")

        def number(group, name, value):
            d = group.create_dataset(name, data=np.array([[value]], dtype=float))
            d.attrs["MATLAB_class"] = np.bytes_("double")

        number(s, "nChannels", n_channels)
        number(s, "nBits", n_bits)
        number(s, "VoltageRange", voltage_range)
        number(s, "Amplification", amplification)
        rates = s.create_group("rates")
        rates.attrs["MATLAB_class"] = np.bytes_("struct")
        number(rates, "wideband", wideband)
        number(rates, "lfp", lfp)
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Tue Mar 12 2024 "
                 b"HDF5 schema 1.00 .".ljust(116, b" "))
    return path


def write_sessioninfo_v7(path: Path, *, n_channels: int = 6, wideband: float = 20000,
                         lfp: float = 1250, n_bits: int = 16, voltage_range: float = 20,
                         amplification: float = 1000,
                         groups: Sequence[tuple[Sequence[int], Sequence[int]]] = (
                             ((0, 1, 2), (0, 1, 0)), ((3, 4, 5), (0, 0, 1)))) -> Path:
    """A buzcode sessionInfo saved with ``-v7`` (MAT v5, compressed elements): AnatGrps a
    1xN struct array of ``Channels`` (0-based) and ``Skip``, as bz_getSessionInfo writes."""
    import scipy.io

    path.parent.mkdir(parents=True, exist_ok=True)
    anat = np.zeros((1, len(groups)), dtype=[("Channels", object), ("Skip", object)])
    for i, (chans, skip) in enumerate(groups):
        anat[0, i] = (np.array([chans], dtype=float), np.array([skip], dtype=float))
    info = {"nChannels": float(n_channels), "nBits": float(n_bits),
            "VoltageRange": float(voltage_range), "Amplification": float(amplification),
            "rates": {"wideband": float(wideband), "lfp": float(lfp)},
            "FileName": path.name.split(".")[0], "AnatGrps": anat}
    scipy.io.savemat(str(path), {"sessionInfo": info}, format="5", do_compression=True)
    return path
