"""SLEAP labels samples: ``.slp`` and ``.pkg.slp`` written with h5py in the layout SLEAP and
sleap-io write (read off the sleap-io.js test files in ../shared/corpus3: compound
``frames``/``instances``/``points`` tables, ``videos_json`` and ``tracks_json`` as byte
strings, ``metadata`` attributes ``format_id`` and ``json``; a package's ``video<i>/video``
with ``height``/``width`` attributes, ``frame_numbers`` and ``source_video``).

The writers are shared with ``tests/test_pose.py``; their arguments are the truth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXTRACTOR = "sleap"

FRAMES = [("frame_id", "<u8"), ("video", "<u4"), ("frame_idx", "<u8"),
          ("instance_id_start", "<u8"), ("instance_id_end", "<u8")]
INSTANCES = [("instance_id", "<i8"), ("instance_type", "u1"), ("frame_id", "<u8"),
             ("skeleton", "<u4"), ("track", "<i4"), ("from_predicted", "<i8"),
             ("score", "<f4"), ("point_id_start", "<u8"), ("point_id_end", "<u8"),
             ("tracking_score", "<f4")]
POINTS = [("x", "<f8"), ("y", "<f8"), ("visible", "?"), ("complete", "?")]
NODES = 2


def video_entry(filename: str, shape: list[int] | None = None) -> dict[str, Any]:
    """A ``videos_json`` entry as sleap-io writes it for a MediaVideo."""
    backend: dict[str, Any] = {"filename": filename, "grayscale": True, "bgr": True,
                               "dataset": "", "input_format": ""}
    if shape is not None:
        backend = {"type": "MediaVideo", "shape": shape, **backend}
    return {"filename": filename, "backend": backend}


def write_slp(path: Path, labelled: list[tuple[int, int]], videos: list[dict[str, Any]],
              *, instances_per_frame: int = 2, tracks: int = 2, format_id: float = 1.2,
              embed: dict[int, tuple[list[int], int, int, dict[str, Any]]] | None = None
              ) -> Path:
    """``labelled``: (video index, frame index) of each labelled frame. ``embed``: video
    index -> (frame numbers, height, width, source video entry) for a package."""
    import h5py
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(labelled)
    frames = np.zeros(n, FRAMES)
    frames["frame_id"] = np.arange(n)
    frames["video"] = [v for v, _ in labelled]
    frames["frame_idx"] = [i for _, i in labelled]
    frames["instance_id_start"] = np.arange(n) * instances_per_frame
    frames["instance_id_end"] = (np.arange(n) + 1) * instances_per_frame
    n_inst = n * instances_per_frame
    inst = np.zeros(n_inst, INSTANCES)
    inst["instance_id"] = np.arange(n_inst)
    inst["frame_id"] = np.repeat(np.arange(n), instances_per_frame)
    inst["track"] = np.arange(n_inst) % max(tracks, 1) if tracks else -1
    inst["point_id_start"] = np.arange(n_inst) * NODES
    inst["point_id_end"] = (np.arange(n_inst) + 1) * NODES
    points = np.zeros(n_inst * NODES, POINTS)
    points["x"] = np.arange(n_inst * NODES)
    meta = {"version": "2.0.0", "skeletons": [], "nodes": [{"name": "head", "weight": 1.0},
                                                           {"name": "tail", "weight": 1.0}],
            "videos": [], "tracks": [], "suggestions": [], "negative_anchors": {},
            "provenance": {}}
    with h5py.File(path, "w") as h5:
        m = h5.create_group("metadata")
        m.attrs["format_id"] = np.float64(format_id)
        m.attrs["json"] = np.bytes_(json.dumps(meta).encode())
        for name, data in (("frames", frames), ("instances", inst), ("points", points),
                           ("pred_points", np.zeros(0, [*POINTS, ("score", "<f8")]))):
            h5.create_dataset(name, data=data, maxshape=(None,), chunks=True)
        texts = [json.dumps(v, separators=(",", ":")).encode() for v in videos]
        h5.create_dataset("videos_json", data=np.array(texts), maxshape=(None,), chunks=True)
        track_texts = [json.dumps([0, f"track_{i}"]).encode() for i in range(tracks)]
        h5.create_dataset("tracks_json", data=np.array(track_texts) if tracks else
                          np.zeros(0), maxshape=(None,), chunks=True)
        h5.create_dataset("suggestions_json", data=np.zeros(0), maxshape=(None,), chunks=True)
        for index, (numbers, height, width, source) in (embed or {}).items():
            group = f"video{index}"
            blobs = h5.create_dataset(f"{group}/video", (len(numbers),),
                                      dtype=h5py.special_dtype(vlen=np.dtype("int8")))
            for i in range(len(numbers)):
                blobs[i] = np.frombuffer(b"\xff\xd8fake-jpeg\xff\xd9", np.int8)
            blobs.attrs["format"] = "jpg"
            blobs.attrs["frames"], blobs.attrs["height"] = len(numbers), height
            blobs.attrs["width"], blobs.attrs["channels"] = width, 1
            h5.create_dataset(f"{group}/frame_numbers", data=np.array(numbers, np.int64))
            h5.require_group(f"{group}/source_video").attrs["json"] = json.dumps(source)
    return path


def package_entry(index: int, n: int, height: int, width: int) -> dict[str, Any]:
    """The ``videos_json`` entry of an embedded video (sleap-io's HDF5Video)."""
    return {"filename": ".", "backend": {
        "type": "HDF5Video", "shape": [n, height, width, 1], "filename": ".",
        "dataset": f"video{index}/video", "input_format": "channels_last",
        "convert_range": False, "has_embedded_images": True, "grayscale": True}}


def good(tmp: Path) -> list[Path]:
    from tests.samples.video import encode

    tmp.mkdir(parents=True, exist_ok=True)
    encode(tmp / "cam0.mp4", "libx264", 20)
    labelled = write_slp(tmp / "labels.slp", [(0, i) for i in range(0, 20, 4)],
                         [video_entry("C:\\data\\cam0.mp4")])
    lone = write_slp(tmp / "elsewhere.slp", [(0, 3), (0, 9), (1, 2)],
                     [video_entry("/lab/videos/a.mp4", [100, 48, 64, 1]),
                      video_entry("/lab/videos/b.mp4", [80, 48, 64, 1])])
    pkg = write_slp(tmp / "labels.pkg.slp", [(0, 1), (0, 7)], [package_entry(0, 2, 48, 64)],
                    embed={0: ([1, 7], 48, 64, video_entry("cam0.mp4"))})
    return [labelled, lone, pkg]


def bad(tmp: Path) -> list[Path]:
    import h5py

    tmp.mkdir(parents=True, exist_ok=True)
    text = tmp / "notes.slp"
    text.write_text("not HDF5\n")
    groups = tmp / "no_frames.slp"
    with h5py.File(groups, "w") as h5:
        h5.create_group("metadata")
    json_bad = write_slp(tmp / "bad_json.slp", [(0, 1)], [video_entry("a.mp4")])
    with h5py.File(json_bad, "a") as h5:
        del h5["videos_json"]
        h5.create_dataset("videos_json", data=[b"{not json"])
    cut = tmp / "cut.slp"
    cut.write_bytes((tmp / "bad_json.slp").read_bytes()[:3000])
    return [text, groups, json_bad, cut]
