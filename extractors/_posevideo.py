"""The video a pose file was computed from: found in the session, described with
:mod:`extractors.video`, its frame rate and size given to the pose file's record.

Pose files name their video by the path it had where the poses were computed
(``C:/sleap/data\\clip.mp4``, ``/Users/x/videos/cam0.mp4``), rarely where it is now. A
name is looked for by its path relative to the pose file, then by its file name beside the
pose file and one folder up (a ``sleap/`` or ``pose/`` folder in a session).
"""

from __future__ import annotations

import re
from pathlib import Path

from bsingest.errors import BsingestError

from .base import Fields, special_file
from .video import VIDEO_SUFFIXES, VideoExtractor

__all__ = ["describe_videos", "find_video"]


def find_video(pose: Path, name: str) -> Path | None:
    """The session's copy of the video ``name`` names, or None (not a video, not here)."""
    name = name.strip()
    if not name or name == ".":
        return None
    parts = [p for p in re.split(r"[\\/]", name) if p]
    if not parts or not parts[-1].lower().endswith(VIDEO_SUFFIXES):
        return None
    candidates = []
    absolute = name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name)
    if not absolute and ".." not in parts:
        candidates.append(pose.parent.joinpath(*parts))
    candidates += [pose.parent / parts[-1], pose.parent.parent / parts[-1]]
    for c in candidates:
        if c.is_file() or special_file(c):
            return c  # a FIFO or device is named as such by the extractor, never opened
    return None


def describe_videos(pose: Path, names: list[str], f: Fields,
                    pose_frames: int | None = None,
                    last_frames: list[int | None] | None = None) -> dict[str, int] | None:
    """Give ``f`` the frame rate and size of the videos ``names`` name, when the session
    holds them and they agree; warn otherwise, and when ``pose_frames`` (frames of poses
    that each stand for a video frame) is more than the videos hold, or when a video's
    highest labelled frame index (``last_frames``, one per name, None for none) is not a
    frame of that video. Returns the size given (for a caller that has its own), or None."""
    if not names:
        return None
    found = {n: find_video(pose, n) for n in names}
    missing = [n for n, p in found.items() if p is None]
    if missing:
        shown = ", ".join(_base(n) for n in missing[:3]) + (" ..." if len(missing) > 3 else "")
        verb = "are" if len(missing) > 1 else "is"
        f.warn(f"no frame rate: the video{'s' if len(missing) > 1 else ''} it names ({shown}) "
               f"{verb} not in the session (looked beside it and one folder up)")
        return None
    described = []
    for video in found.values():
        assert video is not None
        try:
            (v,) = VideoExtractor().extract(video)
        except BsingestError as exc:
            f.warn(f"the video it names, {video.name}, is unreadable, no frame rate: {exc}")
            return None
        described.append((video, v))
    for (video, v), last in zip(described, last_frames or [], strict=False):
        held_here = v.type_json.get("nFrames")
        if last is not None and isinstance(held_here, int) and last >= held_here:
            # Labels on frames the video does not have: another cut or copy of the video
            # (a re-encode that dropped frames), or the labels of another video.
            f.warn(f"labelled frame_idx {last} but {video.name} shows {held_here} frames "
                   f"(0 to {held_here - 1})")
    keys = ("frameRate", "horizontalResolution", "verticalResolution")
    values = {tuple(v.type_json.get(k) for k in keys) for _, v in described}
    if len(values) > 1:
        f.warn(f"its {len(described)} videos differ in frame rate or size: neither is given")
        return None
    video, v = described[0]
    where = (f"{video.name}, the video the poses were computed from" if len(described) == 1
             else f"its {len(described)} videos, all alike ({video.name} ...)")
    tj = v.type_json
    for key in keys:
        if key in tj:
            f.header(key, tj[key], f"{where}: {v.provenance[key].detail}")
    held = sum(int(x.type_json["nFrames"]) for _, x in described)
    if pose_frames is not None and pose_frames > held:
        videos = "the videos show" if len(described) > 1 else f"{video.name} shows"
        f.warn(f"{pose_frames} pose frames but {videos} {held} frames")
    return {k: tj[k] for k in keys[1:] if k in tj}


def _base(name: str) -> str:
    parts = [p for p in re.split(r"[\\/]", name) if p]
    return parts[-1] if parts else name
