"""SLEAP analysis export samples (``.analysis.h5``), written with h5py as sleap-io's
``save_analysis_h5`` lays them out (read off the sleap-io.js test files in
../shared/corpus3): ``tracks`` with a ``dims`` attribute per preset ("standard":
frame, track, node, xy; "matlab": track, xy, node, frame), none in SLEAP's older exports
(track, xy, node, frame), ``track_occupancy`` (frames x tracks), ``node_names``,
``video_path`` and root attributes.
"""

from __future__ import annotations

import json
from pathlib import Path

EXTRACTOR = "sleap_analysis"

LAYOUTS = {"standard": ["frame", "track", "node", "xy"],
           "matlab": ["track", "xy", "node", "frame"], "legacy": None}


def write_analysis(path: Path, n_frames: int, *, n_tracks: int = 2, n_nodes: int = 3,
                   preset: str = "standard", video: str = "cam0.mp4") -> Path:
    import h5py
    import numpy as np

    dims = LAYOUTS[preset]
    order = dims or ["track", "xy", "node", "frame"]
    sizes = {"frame": n_frames, "track": n_tracks, "node": n_nodes, "xy": 2}
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        h5.attrs["format"] = "analysis"
        if dims:
            h5.attrs["preset"] = preset
        else:
            h5.attrs["transpose"] = True
        h5.attrs["sleap_io_version"] = "0.7.1"
        h5.attrs["video_backend_metadata"] = "{}"
        tracks = h5.create_dataset("tracks", data=np.zeros([sizes[d] for d in order]))
        occupancy = h5.create_dataset("track_occupancy",
                                      data=np.ones((n_frames, n_tracks), np.uint8))
        if dims:
            tracks.attrs["dims"] = json.dumps(dims)
            occupancy.attrs["dims"] = json.dumps(["frame", "track"])
        h5.create_dataset("node_names", data=[f"n{i}".encode() for i in range(n_nodes)])
        h5.create_dataset("track_names", data=[f"t{i}".encode() for i in range(n_tracks)])
        h5.create_dataset("video_path", data=video, dtype=h5py.string_dtype())
        h5.create_dataset("labels_path", data="", dtype=h5py.string_dtype())
        h5.create_dataset("video_ind", data=np.int64(0))
    return path


def good(tmp: Path) -> list[Path]:
    from tests.samples.video import encode

    encode(tmp / "cam0.mp4", "libx264", 12)
    return [write_analysis(tmp / "cam0.analysis.h5", 12),
            write_analysis(tmp / "matlab.analysis.h5", 7, preset="matlab", video="x.mp4"),
            write_analysis(tmp / "old_export.h5", 5, preset="legacy", n_tracks=1)]


def bad(tmp: Path) -> list[Path]:
    import h5py

    tmp.mkdir(parents=True, exist_ok=True)
    no_tracks = tmp / "empty.analysis.h5"
    with h5py.File(no_tracks, "w") as h5:
        h5.create_dataset("node_names", data=[b"a"])
    flat = tmp / "flat.analysis.h5"
    with h5py.File(flat, "w") as h5:
        h5.create_dataset("tracks", data=[1.0, 2.0])
        h5.create_dataset("node_names", data=[b"a"])
    wrong = write_analysis(tmp / "dims.analysis.h5", 4)
    with h5py.File(wrong, "a") as h5:
        h5["tracks"].attrs["dims"] = json.dumps(["time", "track", "node", "xy"])
    cut = tmp / "cut.analysis.h5"
    cut.write_bytes(write_analysis(tmp / "src" / "whole.analysis.h5", 30).read_bytes()[:2048])
    return [no_tracks, flat, wrong, cut]
