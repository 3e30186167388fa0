"""DeepLabCut samples: ``.h5`` in both pandas layouts (written with h5py as PyTables lays
them out; pandas is not a dependency) and ``.csv`` as DeepLabCut's ``to_csv`` writes it.

The writers are shared with ``tests/test_dlc.py``; each takes the number of rows, which
is the truth the tests compare with.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from tests.samples.video import encode

EXTRACTOR = "dlc"

SCORER = "DLC_resnet50_openfieldOct30shuffle1_1000"
BODYPARTS = ("snout", "leftear", "rightear", "tailbase")
COORDS = ("x", "y", "likelihood")


def _columns(individuals: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if individuals:
        return [(SCORER, i, b, c) for i in individuals for b in BODYPARTS for c in COORDS]
    return [(SCORER, b, c) for b in BODYPARTS for c in COORDS]


def write_h5_table(path: Path, n_rows: int, key: str = "df_with_missing") -> Path:
    """pandas ``to_hdf(format='table')``: what DeepLabCut's analyze_videos writes.

    PyTables stores some attributes as protocol-0 pickles; we write them (pickling is
    safe), the extractor never reads them as pickles.
    """
    import h5py
    import numpy as np

    cols = _columns()
    levels = ["scorer", "bodyparts", "coords"]
    path.parent.mkdir(parents=True, exist_ok=True)
    dtype = np.dtype([("index", "<i8"), ("values_block_0", "<f8", (len(cols),))])
    data = np.zeros(n_rows, dtype)
    data["index"] = np.arange(n_rows)
    data["values_block_0"] = np.random.default_rng(0).random((n_rows, len(cols)))
    with h5py.File(path, "w") as h5:
        h5.attrs["CLASS"] = np.bytes_(b"GROUP")
        h5.attrs["PYTABLES_FORMAT_VERSION"] = np.bytes_(b"2.1")
        g = h5.create_group(key)
        g.attrs["pandas_type"] = np.bytes_(b"frame_table")
        g.attrs["table_type"] = np.bytes_(b"appendable_frame")
        g.attrs["info"] = np.bytes_(pickle.dumps(
            {1: {"names": levels, "type": "MultiIndex"}, "index": {}}, protocol=0))
        g.attrs["non_index_axes"] = np.bytes_(pickle.dumps([(1, cols)], protocol=0))
        t = g.create_dataset("table", data=data)
        t.attrs["CLASS"] = np.bytes_(b"TABLE")
        t.attrs["NROWS"] = np.int64(n_rows)
    return path


def write_h5_fixed(path: Path, n_rows: int, individuals: tuple[str, ...] = ("rat 1", "rat 2"),
                   key: str = "tracks") -> Path:
    """pandas ``to_hdf(format='fixed')``: DeepLabCut's multi-animal ``tracks`` layout."""
    import h5py
    import numpy as np

    cols = _columns(individuals)
    names = ["scorer", "individuals", "bodyparts", "coords"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        g = h5.create_group(key)
        g.attrs["pandas_type"] = np.bytes_(b"frame")
        for i, name in enumerate(names):
            uniq = sorted({c[i] for c in cols})
            lvl = g.create_dataset(f"axis0_level{i}", data=np.array(uniq, dtype="S"))
            lvl.attrs["name"] = np.bytes_(name.encode())
            g.create_dataset(f"axis0_label{i}",
                             data=np.array([uniq.index(c[i]) for c in cols], np.int8))
        g.create_dataset("axis1", data=np.arange(n_rows, dtype=np.int64))
        g.create_dataset("block0_values", data=np.zeros((n_rows, len(cols))))
    return path


def write_csv(path: Path, n_rows: int, individuals: tuple[str, ...] = (),
              newline: str = "\n") -> Path:
    """A DeepLabCut ``.csv``: header rows scorer, [individuals,] bodyparts, coords."""
    cols = _columns(individuals)
    names = ["scorer", "individuals", "bodyparts", "coords"] if individuals else \
        ["scorer", "bodyparts", "coords"]
    rows = [",".join([name, *(c[i] for c in cols)]) for i, name in enumerate(names)]
    rows += [",".join([str(r), *(f"{(r * 7 + k) % 500 + 0.5}" for k in range(len(cols)))])
             for r in range(n_rows)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(newline.join(rows) + newline)
    return path


def with_video(folder: Path, n_frames: int, stem: str = "mouse1") -> tuple[Path, Path]:
    """A video and the DeepLabCut output computed from it (same stem before 'DLC_')."""
    video = encode(folder / f"{stem}.mp4", "libx264", n_frames)
    pose = write_h5_table(folder / f"{stem}{SCORER}.h5", n_frames)
    (folder / f"{stem}{SCORER}_meta.pickle").write_bytes(b"not to be opened")
    return video, pose


def good(tmp: Path) -> list[Path]:
    return [
        write_h5_table(tmp / f"m1{SCORER}.h5", 50),
        write_h5_fixed(tmp / f"m2{SCORER}_el.h5", 40),
        write_csv(tmp / f"m3{SCORER}.csv", 30),
        write_csv(tmp / f"m4{SCORER}_el.csv", 20, individuals=("a", "b")),
    ]


def bad(tmp: Path) -> list[Path]:
    out = [write_h5_table(tmp / f"none{SCORER}.h5", 0), write_csv(tmp / "header_only.csv", 0)]
    fixed_without_index = write_h5_fixed(tmp / f"broken{SCORER}.h5", 10)
    import h5py

    with h5py.File(fixed_without_index, "a") as h5:
        del h5["tracks/axis1"]
    out.append(fixed_without_index)
    return out
