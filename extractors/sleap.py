"""SLEAP pose files as BehavioralTracking records: labels (``.slp``, ``.pkg.slp``) and
analysis exports (``.analysis.h5``).

**Labels** (``.slp``, HDF5, as SLEAP and sleap-io write them): ``/frames`` (one compound
row per labelled frame: frame_id, video, frame_idx, instance range), ``/instances``,
``/points`` and ``/pred_points``, ``/videos_json`` (one JSON text per video),
``/tracks_json``, and ``/metadata`` (``format_id``, the skeletons as JSON). A package
(``.pkg.slp``) embeds the labelled images: ``/video<i>/video`` (encoded frames, with
``height``/``width`` attributes) and ``/video<i>/frame_numbers``, the original video
described in ``/video<i>/source_video``'s ``json`` attribute.

- ``nFrames``: labelled frames, the rows of ``/frames`` (its shape); the detail says so,
  and that it is not the video's length. The ``video`` and ``frame_idx`` columns are read
  (16 bytes a row) to check each video's highest labelled frame against its length when
  the session holds it: a ``frame_idx`` past the video's last frame is a warning (the
  labels of another cut or copy of the video), which the session report lists.
- ``frameRate``, ``horizontalResolution``, ``verticalResolution``: from the video it names
  (``videos_json`` backend ``filename``; for a package, the source video), described with
  :mod:`extractors.video` when the session holds it (:mod:`extractors._posevideo`).
  Without it, only the size the file states: sleap-io's backend ``shape`` (frames,
  height, width, channels), SLEAP's ``height_``/``width_``, or an embedded video's
  ``height``/``width``. SLEAP stores no frame rate.

**Analysis export** (``.analysis.h5``, SLEAP's "Export Analysis HDF5" and sleap-io's
``save_analysis_h5``): ``/tracks`` (coordinates per frame, track, node, x/y), with a
``dims`` attribute naming its axes (``["frame", "track", "node", "xy"]`` for the standard
preset, ``["track", "xy", "node", "frame"]`` for the MATLAB one); without it (SLEAP's own,
older exports) the layout is ``(track, xy, node, frame)``, checked against
``/track_occupancy`` (frames x tracks). ``nFrames``: the frame axis of ``/tracks``: video
frames from frame 0 to the last frame with poses. The video is ``/video_path``.

Choice of reader: h5py (the field's HDF5 reader; sleap-io is not needed for shapes and a
few attributes), run in the worker process NWB uses (``extractors/_isolate.py``): a
damaged HDF5 file can crash or hang libhdf5. Reads: dataset shapes, the ``videos_json``
strings (one per video), a few attributes; never the points. Cost: ~5 ms per file
whatever the number of frames, plus describing the named video.

Claims never open HDF5: ``.slp`` is SLEAP's own suffix; an ``.h5`` is a SLEAP analysis
export when it has the HDF5 signature and its name ends in ``.analysis.h5``, or, for an
``.h5`` no family knows by its name (``claim_content``), when the names ``track_occupancy``
and ``node_names`` appear in its first or last 64 KiB (where HDF5 keeps a small file's link
names).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from ._isolate import isolated
from ._posevideo import describe_videos
from .base import Claim, Extraction, Extractor, Fields

__all__ = ["SleapAnalysisExtractor", "SleapExtractor"]

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_TIMEOUT = 20.0
# What h5py raises on a damaged object (see extractors/nwb.py).
_H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)
_MAX_VIDEOS = 10_000  # videos_json entries read; more is not a labels file we can describe
_MAX_JSON = 1 << 20  # bytes of one video's JSON
_PROBE = 64 * 1024


def _hdf5_head(path: Path) -> bool:
    """An .h5/.hdf5 regular file that begins with the HDF5 signature (8 bytes read)."""
    if path.suffix.lower() not in (".h5", ".hdf5") or not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == _HDF5_MAGIC
    except OSError:
        return False


class SleapExtractor(Extractor):
    """SLEAP labels and predictions, ``.slp`` and ``.pkg.slp`` (HDF5)."""

    name = "sleap"
    suffixes = (".slp",)
    claim_endings = suffixes  # see Extractor.claim_endings
    record_types = ("BehavioralTracking",)
    warm = ("h5py", __name__)  # read in the reader process (extractors._isolate)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        # SLEAP's own suffix: a damaged one is ours too, to say what is wrong with it.
        return Claim.SPECIFIC if path.suffix.lower() == ".slp" else Claim.NO

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        _hdf5_or_refuse(path, "a SLEAP labels file")
        info: dict[str, Any] = isolated(path, _read_slp, str(path), timeout=_TIMEOUT)
        pkg = path.name.lower().endswith(".pkg.slp")
        f = Fields()
        f.header("format", "SLEAP .pkg.slp" if pkg else "SLEAP .slp",
                 f"HDF5 with /frames, /videos_json and /metadata (format_id "
                 f"{info['format_id']})" + (", labelled images embedded" if pkg else ""))
        n_videos = len(info["videos"])
        f.computed("nFrames", info["n_frames"],
                   f"labelled frames: the rows of /frames ({info['n_instances']} instances "
                   f"in {n_videos} video{'s' if n_videos != 1 else ''}, "
                   f"{info['n_tracks']} tracks); not the length of the video")
        names = [v["name"] for v in info["videos"] if v["name"]]
        last = [v["last_frame"] for v in info["videos"]]
        given = describe_videos(path, names, f, info["n_frames"], last) \
            if len(names) == n_videos else None
        if len(names) < n_videos:
            f.warn("no frame rate: a video it labels is an image sequence or embedded only")
        if given is None:
            _stated_size(info["videos"], f)
        return [self.result(path, "BehavioralTracking", f)]


class SleapAnalysisExtractor(Extractor):
    """SLEAP analysis exports (``.analysis.h5``): tracks per video frame."""

    name = "sleap_analysis"
    suffixes = (".h5", ".hdf5")
    claim_endings = suffixes  # see Extractor.claim_endings
    record_types = ("BehavioralTracking",)
    warm = ("h5py", __name__)  # read in the reader process (extractors._isolate)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        # Name and signature only: the link-name probe below reads a file's last 64 KiB,
        # asked only of an .h5 no family knows by its name (not of every DeepLabCut .h5).
        named = path.name.lower().endswith(".analysis" + path.suffix.lower())
        return Claim.SPECIFIC if named and _hdf5_head(path) else Claim.NO

    @classmethod
    def claim_content(cls, path: Path) -> Claim:
        if not _hdf5_head(path):
            return Claim.NO
        try:
            with open(path, "rb") as fh:
                head = fh.read(_PROBE)
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - _PROBE))
                tail = fh.read(_PROBE)
        except OSError:
            return Claim.NO
        found = all(name in head or name in tail for name in (b"track_occupancy",
                                                              b"node_names"))
        return Claim.SPECIFIC if found else Claim.NO

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        _hdf5_or_refuse(path, "a SLEAP analysis file")
        info: dict[str, Any] = isolated(path, _read_analysis, str(path), timeout=_TIMEOUT)
        f = Fields()
        f.header("format", "SLEAP analysis .h5",
                 f"HDF5 with /tracks and /node_names; {info['layout']}")
        f.computed("nFrames", info["n_frames"],
                   f"video frames: the frame axis of /tracks {tuple(info['shape'])} "
                   f"({info['n_tracks']} tracks, {info['n_nodes']} nodes), from frame 0 to "
                   "the last frame with poses")
        if info["video"]:
            describe_videos(path, [info["video"]], f, info["n_frames"])
        else:
            f.warn("no frame rate: /video_path names no video")
        return [self.result(path, "BehavioralTracking", f)]


def _hdf5_or_refuse(path: Path, what: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head != _HDF5_MAGIC:
        raise ExtractionError(path, f"not an HDF5 file (first bytes {head.hex(' ')}): not {what}")


def _stated_size(videos: list[dict[str, Any]], f: Fields) -> None:
    """The frame size the file states for its videos, when they all state the same."""
    sizes = {(v["width"], v["height"]) for v in videos}
    if len(sizes) != 1:
        return
    (width, height), = sizes
    if width and height:
        where = videos[0]["size_from"]
        f.header("horizontalResolution", width, f"{where} (the video's frame width)")
        f.header("verticalResolution", height, f"{where} (the video's frame height)")


# --- read in the worker process -------------------------------------------------------


def _read_slp(name: str) -> dict[str, Any]:
    """Shapes, videos and metadata of a ``.slp`` (runs in the worker)."""
    import h5py

    path = Path(name)
    try:
        with h5py.File(path, "r") as h5:
            return _slp(path, h5)
    except ExtractionError:
        raise
    except _H5_ERRORS as exc:
        if not _from_h5py(exc):
            raise  # a bug of ours keeps its traceback
        raise ExtractionError(path, f"HDF5 cannot read it: {_reason(exc)}") from None


def _slp(path: Path, h5: Any) -> dict[str, Any]:
    import h5py

    missing = [k for k in ("frames", "videos_json", "metadata") if k not in h5]
    if missing:
        raise ExtractionError(path, "not a SLEAP labels file: no "
                              + ", ".join(f"/{k}" for k in missing))
    frames = h5["frames"]
    if not isinstance(frames, h5py.Dataset) or frames.ndim != 1 or \
            not {"video", "frame_idx"} <= set(frames.dtype.names or ()):
        raise ExtractionError(path, "/frames is not SLEAP's table of labelled frames "
                              "(expected rows with video and frame_idx)")
    videos_json = h5["videos_json"]
    if not isinstance(videos_json, h5py.Dataset) or videos_json.ndim != 1:
        raise ExtractionError(path, "/videos_json is not a list of JSON texts")
    if videos_json.shape[0] > _MAX_VIDEOS:
        raise ExtractionError(path, f"/videos_json lists {videos_json.shape[0]} videos, more "
                              f"than the {_MAX_VIDEOS} a labels file plausibly holds")
    videos = []
    for i, raw in enumerate(videos_json[()] if videos_json.shape[0] else []):
        videos.append(_video(path, h5, i, raw))
    # The labelled frames are read only to check them against a video the session holds:
    # a predictions file of a long video has a row per frame, so reading them otherwise
    # would make the file's cost grow with its rows for nothing.
    from ._posevideo import find_video

    if any(v["name"] and find_video(path, v["name"]) for v in videos):
        for i, last in enumerate(_last_frames(frames, len(videos))):
            videos[i]["last_frame"] = last
    fmt = h5["metadata"].attrs.get("format_id")
    instances = h5.get("instances")
    tracks = h5.get("tracks_json")
    return {
        "n_frames": int(frames.shape[0]),
        "n_instances": int(instances.shape[0]) if isinstance(instances, h5py.Dataset) else 0,
        "n_tracks": int(tracks.shape[0]) if isinstance(tracks, h5py.Dataset) and
        tracks.ndim == 1 and tracks.dtype.kind in "SUO" else 0,
        "format_id": _number_text(fmt),
        "videos": videos,
    }


#: Rows of /frames read at once by :func:`_last_frames` (a whole row is up to 32 bytes).
_ROWS_AT_ONCE = 1 << 20


def _last_frames(frames: Any, n_videos: int) -> list[int | None]:
    """Each video's highest labelled ``frame_idx`` (None: no frame labelled), to check
    against the video's length. Reads two integer columns of /frames (16 bytes a row)."""
    import numpy as np

    out: list[int | None] = [None] * n_videos
    for start in range(0, frames.shape[0] if n_videos else 0, _ROWS_AT_ONCE):
        rows = frames[start:start + _ROWS_AT_ONCE]
        video = np.asarray(rows["video"], dtype=np.int64)
        index = np.asarray(rows["frame_idx"], dtype=np.int64)
        for v in np.unique(video):
            if 0 <= v < n_videos:
                top = int(index[video == v].max())
                seen = out[int(v)]
                out[int(v)] = top if seen is None else max(seen, top)
    return out


def _video(path: Path, h5: Any, i: int, raw: Any) -> dict[str, Any]:
    """One ``videos_json`` entry: the name of its video and the size it states."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if len(text) > _MAX_JSON:
        raise ExtractionError(path, f"/videos_json entry {i} is {len(text)} bytes long")
    try:
        entry = json.loads(text)
    except ValueError as exc:
        raise ExtractionError(path, f"/videos_json entry {i} is not JSON ({exc})") from None
    if not isinstance(entry, dict):
        raise ExtractionError(path, f"/videos_json entry {i} is not a JSON object")
    backend: dict[str, Any] = entry["backend"] if isinstance(entry.get("backend"), dict) \
        else {}
    name = backend.get("filename") or entry.get("filename") or ""
    out: dict[str, Any] = {"name": "", "width": None, "height": None, "size_from": "",
                           "last_frame": None}
    dataset = backend.get("dataset") or ""
    embedded = isinstance(dataset, str) and dataset in h5 and (
        name == "." or backend.get("has_embedded_images"))
    if embedded:
        ds = h5[dataset]
        out["width"] = _whole(ds.attrs.get("width"))
        out["height"] = _whole(ds.attrs.get("height"))
        out["size_from"] = f"/{dataset} height and width attributes"
        source = _source_video(h5, dataset)
        if source:
            out["name"] = source
        return out
    if isinstance(name, str) and "filenames" not in backend:
        out["name"] = name
    shape = backend.get("shape")
    if isinstance(shape, list) and len(shape) == 4:
        out["height"], out["width"] = _whole(shape[1]), _whole(shape[2])
        out["size_from"] = f"videos_json entry {i}, backend shape {shape}"
    elif "height_" in backend or "width_" in backend:
        out["height"], out["width"] = _whole(backend.get("height_")), _whole(backend.get("width_"))
        out["size_from"] = f"videos_json entry {i}, backend height_ and width_"
    return out


def _source_video(h5: Any, dataset: str) -> str:
    """The original video of an embedded one (sleap-io: the ``json`` attribute of
    ``<group>/original_video`` or ``<group>/source_video``; SLEAP: the group's
    ``source_video`` attribute)."""
    group = dataset.rsplit("/", 1)[0] if "/" in dataset else ""
    if not group or group not in h5:
        return ""
    g = h5[group]
    text = None
    # sleap-io 0.5+: original_video is the media file when source_video is another package.
    for name in ("original_video", "source_video"):
        if text is None and name in g:
            text = g[name].attrs.get("json")
    if text is None:
        text = g.attrs.get("source_video")
    if text is None:
        return ""
    try:
        entry = json.loads(text.decode() if isinstance(text, bytes) else str(text))
    except ValueError:
        return ""
    if not isinstance(entry, dict):
        return ""
    backend: dict[str, Any] = entry["backend"] if isinstance(entry.get("backend"), dict) \
        else {}
    name = backend.get("filename") or entry.get("filename") or ""
    return name if isinstance(name, str) else ""


def _read_analysis(name: str) -> dict[str, Any]:
    """The frame axis of ``/tracks`` and the video of an analysis export (in the worker)."""
    import h5py

    path = Path(name)
    try:
        with h5py.File(path, "r") as h5:
            return _analysis(path, h5)
    except ExtractionError:
        raise
    except _H5_ERRORS as exc:
        if not _from_h5py(exc):
            raise  # a bug of ours keeps its traceback
        raise ExtractionError(path, f"HDF5 cannot read it: {_reason(exc)}") from None


def _analysis(path: Path, h5: Any) -> dict[str, Any]:
    import h5py

    missing = [k for k in ("tracks", "node_names") if not isinstance(h5.get(k), h5py.Dataset)]
    if missing:
        raise ExtractionError(path, "not a SLEAP analysis file: no "
                              + " or ".join(f"/{k} dataset" for k in missing))
    tracks = h5["tracks"]
    if tracks.ndim != 4:
        raise ExtractionError(path, f"/tracks has {tracks.ndim} axes, SLEAP writes 4 "
                              "(frame, track, node, xy in some order)")
    shape = [int(n) for n in tracks.shape]
    dims = _dims(tracks.attrs.get("dims"))
    occupancy = h5.get("track_occupancy")
    occ = [int(n) for n in occupancy.shape] if isinstance(occupancy, h5py.Dataset) else None
    if dims is not None:
        if sorted(dims) != ["frame", "node", "track", "xy"]:
            raise ExtractionError(path, f"/tracks dims attribute {dims} does not name the "
                                  "axes frame, track, node and xy")
        layout = f"dims attribute {dims}"
    else:
        dims = ["track", "xy", "node", "frame"]
        layout = "no dims attribute: SLEAP's layout (track, xy, node, frame)"
        if occ and occ[0] != shape[3] and occ[0] == shape[0]:
            dims = ["frame", "node", "xy", "track"]
            layout = ("no dims attribute; /track_occupancy's frames match the first axis: "
                      "(frame, node, xy, track)")
    n = {d: shape[dims.index(d)] for d in dims}
    if n["xy"] not in (2, 3):
        raise ExtractionError(path, f"/tracks axis 'xy' holds {n['xy']} coordinates "
                              f"(shape {tuple(shape)}, {layout})")
    video = h5.get("video_path")
    video_name = ""
    if isinstance(video, h5py.Dataset) and video.shape == ():
        raw = video[()]
        video_name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return {"n_frames": n["frame"], "n_tracks": n["track"], "n_nodes": n["node"],
            "shape": shape, "layout": layout, "video": video_name[:4096]}


def _dims(value: Any) -> list[str] | None:
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    try:
        dims = json.loads(text)
    except ValueError:
        return None
    if isinstance(dims, list) and all(isinstance(d, str) for d in dims):
        return dims
    return None


def _whole(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number > 0 and number.is_integer() \
        and number < 2**31 else None


def _number_text(value: Any) -> str:
    if value is None:
        return "not stated"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")[:20]
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)[:20]


def _from_h5py(exc: BaseException) -> bool:
    """Whether h5py raised ``exc`` (its innermost frame is h5py's), not our own code."""
    if isinstance(exc, OSError | RuntimeError):
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and "h5py" in tb.tb_frame.f_code.co_filename


def _reason(exc: Exception) -> str:
    reason = str(exc.args[0]) if exc.args else type(exc).__name__
    return " ".join(reason.split())
