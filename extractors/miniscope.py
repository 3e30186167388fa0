"""UCLA Miniscope DAQ recordings (Miniscope V3/V4, behaviour cameras): one record per device.

The Miniscope DAQ software (Miniscope-DAQ-QT-Software) writes a recording as a folder
(``15_07_58/``, with the session's ``metaData.json``: devices, ``recordingStartTime``) and
one folder per device (``Miniscope/``, ``BehavCam_2/``) holding the device's
``metaData.json`` (``deviceType``, ``frameRate`` as ``"30FPS"`` or a number, ``ROI``,
``compression``, ``framesPerFile``, ``gain``, ``led0``), numbered AVI files ``0.avi``,
``1.avi``, ... of ``framesPerFile`` frames each (the last one shorter), and
``timeStamps.csv`` (one row per frame: frame number, time stamp in ms, buffer index).

**One record per device folder, named by the folder** (``15_07_58/Miniscope``): the
recording is the folder's files together, so the record counts the frames of all of them
and names none alone (naming ``0.avi`` would read as one file of ``framesPerFile``
frames). A Miniscope device (``deviceType`` ``Miniscope_V3``, ``Miniscope_V4_BNO``, ...,
or a name the session lists under ``miniscopes``) is a ``Miniscope`` record; any other
device (a behaviour camera) is ``BehavioralTracking``. The device's ``metaData.json`` is
the data file bsingest lists; the AVIs and ``timeStamps.csv`` are its sidecars, claimed
:attr:`~extractors.base.Claim.COMPANION` so that the video family does not also describe
each AVI. Given alone, an AVI or ``timeStamps.csv`` of a device folder describes the device.

Values:

- ``frameRate`` from ``metaData.json`` (``"15FPS"``, ``30``, ``"30.0"``). The AVIs'
  own rate is not used where the file states one: the DAQ writes every AVI at a fixed
  60 fps whatever the sensor ran at (the corpus' 15 FPS Miniscope says 60/1). A device
  without a rate (behaviour cameras) gets the mean rate of its ``timeStamps.csv``
  (computed; from the second row on, since the DAQ stamps the first frame before its
  clock settles: -31 ms, -10 ms in the corpus), else the AVI's rate with a warning.
- ``nFrames``: the sum of the frames of every numbered AVI, each counted from its AVI
  index by the video family (:class:`extractors.video.VideoExtractor`, called, not
  copied). A file other than the last holding fewer or more than ``framesPerFile``
  frames, and a gap in the numbering, are warnings.
- ``horizontalResolution``/``verticalResolution``: the ``ROI`` width/height where stated
  (a warning when the AVIs store another size), else the AVIs' frame size.
- ``compression``: ``metaData.json`` ``compression`` (``FFV1``, ``MJPG``, ``GREY``), else
  the AVIs' codec.
- ``timeStamps.csv`` rows against ``nFrames``: a warning when they differ.
- the start: the session ``metaData.json`` ``recordingStartTime`` (local time, as the
  DAQ's clock showed it).

Not read as schema fields: ``led0`` (an LED setting in percent, not a ``laserPower``),
``ewl`` (an electrowetting-lens setting, not an ``imagingDepth``), ``gain``. State them
with units where known (``laser_power``, ``imaging_depth``).

Cost: three small JSON/CSV reads and one AVI index read per file (milliseconds each);
``timeStamps.csv`` is read whole (one ~15-byte row per frame: 1.6 MB for an hour at 30 fps).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bsingest.errors import BsingestError, ExtractionError

from .base import Claim, Extraction, Extractor, Fields, Source

__all__ = ["MiniscopeExtractor", "parse_frame_rate"]

META = "metaData.json"
TIMESTAMPS = "timeStamps.csv"
_COMPANIONS = {TIMESTAMPS.lower(), "headorientation.csv"}
_AVI = re.compile(r"^(\d+)\.avi$", re.IGNORECASE)
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:fps)?\s*$", re.IGNORECASE)
# A metaData.json is a few hundred bytes; a big one is not the DAQ's.
_META_LIMIT = 1 << 20


def _is_device_folder(folder: Path) -> bool:
    """A DAQ device folder: its ``metaData.json`` beside ``0.avi`` or ``timeStamps.csv``.
    Two stats, no listing, no reading: claims run for every file of a session."""
    return (folder / META).is_file() and ((folder / "0.avi").is_file()
                                          or (folder / TIMESTAMPS).is_file())


class MiniscopeExtractor(Extractor):
    """UCLA Miniscope DAQ device folders: Miniscope and behaviour-camera records."""

    name = "miniscope"
    suffixes = (".json", ".avi", ".csv")
    record_types = ("Miniscope", "BehavioralTracking")

    claim_endings = (META.lower(), ".avi", *_COMPANIONS)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        name = path.name
        if name == META:
            return Claim.SPECIFIC if _is_device_folder(path.parent) else Claim.NO
        if (_AVI.match(name) or name.lower() in _COMPANIONS) and _is_device_folder(path.parent):
            return Claim.COMPANION
        return Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        if path.name != META:
            return []
        folder = path.parent
        out = [p for _, p in _avis(folder)]
        out += [folder / n for n in os.listdir(folder) if n.lower() in _COMPANIONS]
        if (folder.parent / META).is_file():
            out.append(folder.parent / META)
        return out

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        folder = path.parent
        meta_path = folder / META
        meta = _read_json(path, meta_path)
        session = _session_meta(folder)
        f = Fields()
        device = _text(meta.get("deviceType")) or _text(meta.get("deviceName")) or folder.name
        scope = _is_scope(meta, folder, session.values)
        record_type = "Miniscope" if scope else "BehavioralTracking"
        f.header("format", "UCLA Miniscope (avi + metaData.json)",
                 f"{folder.name}/{META}: deviceType {device!r}"
                 + ("" if scope else " (not a Miniscope: a camera)"))
        videos = self._videos(path, folder)
        _frames(f, meta, videos)
        stamps = _timestamps(f, folder, videos)
        _rate(f, meta, videos, stamps)
        _size(f, meta, videos)
        _compression(f, meta, videos)
        f.warnings += session.warnings
        if session.start is not None:
            f.started(session.start, Source.HEADER,
                      f"{folder.parent.name}/{META} recordingStartTime (local time)")
        return [self.result(folder, record_type, f)]

    def _videos(self, path: Path, folder: Path) -> list[_Video]:
        from .video import VideoExtractor

        avis = _avis(folder)
        if not avis:
            raise ExtractionError(path, f"no numbered .avi files (0.avi, 1.avi, ...) in "
                                  f"{folder.name}/")
        reader = VideoExtractor()
        out = []
        for number, avi in avis:
            if os.stat(avi).st_size == 0:  # opened by the DAQ, no frame written: 0 frames
                out.append(_Video(number, avi, None))
                continue
            try:
                (x,) = reader.extract(avi, verify=self.verify)[:1]
            except BsingestError as exc:
                # One unreadable AVI leaves the device's frame count unknown: no record
                # rather than a count that is not true.
                reason = getattr(exc, "reason", None) or str(exc)
                raise ExtractionError(path, f"{folder.name}/{avi.name}: {reason}") from None
            out.append(_Video(number, avi, x))
        if all(v.x is None for v in out):
            raise ExtractionError(path, f"every numbered .avi in {folder.name}/ is empty "
                                  "(0 bytes): no frames")
        return out


@dataclass
class _Video:
    number: int
    path: Path
    x: Extraction | None  # None: an empty (0-byte) file

    @property
    def frames(self) -> int:
        return int(self.x.type_json.get("nFrames", 0)) if self.x is not None else 0

    def get(self, key: str) -> Any:
        return self.x.type_json.get(key) if self.x is not None else None


@dataclass
class _Session:
    values: dict[str, Any] = field(default_factory=dict)
    start: datetime.datetime | None = None
    warnings: list[str] = field(default_factory=list)


def _first(videos: list[_Video]) -> _Video:
    """The first AVI with frames (``_videos`` refuses a device whose AVIs are all empty)."""
    return next(v for v in videos if v.x is not None)


def _avis(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for name in os.listdir(folder):
        m = _AVI.match(name)
        if m and (folder / name).is_file():
            found.append((int(m.group(1)), folder / name))
    return sorted(found)


def _read_json(path: Path, json_path: Path) -> dict[str, Any]:
    """A DAQ ``metaData.json`` as a table; a one-line error naming ``path`` otherwise (the
    reason names the JSON file by its folder: a recording has one per device)."""
    where = f"{json_path.parent.name}/{json_path.name}"
    size = os.stat(json_path).st_size
    if size > _META_LIMIT:
        raise ExtractionError(path, f"{where} is {size} bytes: too large for a Miniscope "
                              f"{META} (a few hundred bytes): not read")
    try:
        data = json.loads(json_path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ExtractionError(path, f"{where} is not UTF-8 text (byte {exc.start}): not a "
                              f"Miniscope {META}") from None
    except json.JSONDecodeError as exc:
        raise ExtractionError(path, f"{where} is not JSON ({exc.msg}, line {exc.lineno} "
                              f"column {exc.colno})") from None
    except RecursionError:
        raise ExtractionError(path, f"{where} is not JSON (nested too deeply)") from None
    except ValueError as exc:  # an integer of thousands of digits (int_max_str_digits)
        raise ExtractionError(path, f"{where} is not usable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ExtractionError(path, f"{where} is a JSON {type(data).__name__}, not the "
                              f"object a Miniscope {META} holds")
    return data


def _session_meta(folder: Path) -> _Session:
    """The recording folder's ``metaData.json``: device lists and the start. Optional: a
    device folder copied alone is still described, and a damaged one is a warning."""
    out = _Session()
    p = folder.parent / META
    if not p.is_file():
        return out
    try:
        out.values = _read_json(p, p)
    except ExtractionError as exc:
        out.warnings.append(f"the recording's {exc.reason}: no start time")
        return out
    start = out.values.get("recordingStartTime")
    if isinstance(start, Mapping):
        out.start = _start(start)
        if out.start is None:
            out.warnings.append(f"{folder.parent.name}/{META} recordingStartTime is not a "
                                "date: no start time")
    return out


def _start(t: Mapping[str, Any]) -> datetime.datetime | None:
    keys = ("year", "month", "day", "hour", "minute", "second")
    parts = [v for v in (t.get(k) for k in keys)
             if isinstance(v, int) and not isinstance(v, bool)]
    if len(parts) != len(keys):
        return None
    msec = t.get("msec", 0)
    msec = msec if isinstance(msec, int) and not isinstance(msec, bool) and 0 <= msec < 1000 \
        else 0
    try:
        year, month, day, hour, minute, second = parts
        when = datetime.datetime(year, month, day, hour, minute, second, msec * 1000)
    except (ValueError, OverflowError):
        return None
    return None if when.year < 1980 else when


def _text(v: Any) -> str:
    return v.strip() if isinstance(v, str) else ""


def _is_scope(meta: Mapping[str, Any], folder: Path, session: Mapping[str, Any]) -> bool:
    kind = _text(meta.get("deviceType")).lower()
    if kind:
        return "miniscope" in kind
    scopes = session.get("miniscopes")
    names = {_text(n).replace(" ", "_") for n in scopes} if isinstance(scopes, list) else set()
    return folder.name in names or _text(meta.get("deviceName")).replace(" ", "_") in names


def parse_frame_rate(value: Any) -> float | None:
    """A DAQ ``frameRate``: ``"30FPS"``, ``"30"``, ``30``, ``29.9``; None if not a rate."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        rate = float(value)
    elif isinstance(value, str) and (m := _RATE.match(value)):
        rate = float(m.group(1))
    else:
        return None
    return rate if math.isfinite(rate) and rate > 0 else None


def _frames(f: Fields, meta: Mapping[str, Any], videos: list[_Video]) -> None:
    total = sum(v.frames for v in videos)
    counts = " + ".join(f"{v.path.name} {v.frames}" for v in videos[:6])
    if len(videos) > 6:
        counts += f" + ... ({len(videos)} files)"
    f.computed("nFrames", total, f"frames of the numbered AVIs, each from its index: {counts}")
    numbers = [v.number for v in videos]
    # Counted, not listed: a file named 4000000000.avi must not build a set of that size.
    n_missing = numbers[-1] + 1 - len(numbers)
    if n_missing:
        gaps = [n for a, b in zip([-1, *numbers], numbers, strict=False) for n in
                range(a + 1, min(b, a + 6))][:5]
        shown = ", ".join(f"{n}.avi" for n in gaps) + (" ..." if n_missing > len(gaps) else "")
        f.warn(f"{n_missing} numbered AVI file(s) missing ({shown}): partial recording, "
               "its frames are not counted")
    for v in videos:
        if v.x is None:
            f.warn(f"{v.path.name} is empty (0 bytes): counted as 0 frames")
    per_file = meta.get("framesPerFile")
    if isinstance(per_file, int) and not isinstance(per_file, bool) and per_file > 0:
        for v in videos[:-1]:
            if v.frames != per_file:
                f.warn(f"{v.path.name} holds {v.frames} frames but framesPerFile is "
                       f"{per_file}: the DAQ fills every file but the last")
        if videos[-1].frames > per_file:
            f.warn(f"{videos[-1].path.name} holds {videos[-1].frames} frames but "
                   f"framesPerFile is {per_file}")
    for v in videos:
        if v.x is not None:
            f.warnings += [f"{v.path.name}: {w}" for w in v.x.warnings]


@dataclass
class _Stamps:
    """What ``timeStamps.csv`` says: its rows, and the times (ms) of the second and last."""

    rows: int = 0
    timed: int = 0  # rows with a finite time
    second: float | None = None
    last: float | None = None


def _timestamps(f: Fields, folder: Path, videos: list[_Video]) -> _Stamps | None:
    """``timeStamps.csv`` summed up (None without one); its rows against the frames.

    Streamed in lines of at most 256 bytes (a row is ~15): a damaged file of one endless
    line is not held in memory, and no time is kept but the two the rate needs."""
    p = folder / TIMESTAMPS
    if not p.is_file():
        f.warn(f"no {TIMESTAMPS} in {folder.name}/: frame times not checked")
        return None
    out = _Stamps()
    with open(p, "rb") as fh:
        if not fh.readline(256).lower().startswith(b"frame number"):
            f.warn(f"{TIMESTAMPS} does not start with the DAQ's 'Frame Number' header: "
                   "not read")
            return None
        while line := fh.readline(256):
            if not line.strip():
                continue
            out.rows += 1
            cells = line.split(b",")
            try:
                t = float(cells[1])
            except (IndexError, ValueError):
                continue
            if not math.isfinite(t):
                continue
            out.timed += 1
            if out.timed == 2:
                out.second = t
            out.last = t
    total = sum(v.frames for v in videos)
    if out.rows != total:
        f.warn(f"{TIMESTAMPS} lists {out.rows} frames but the AVIs hold {total}: "
               f"{abs(out.rows - total)} frame(s) "
               f"{'without a time' if out.rows < total else 'not saved'}")
    if out.timed < out.rows:
        f.warn(f"{TIMESTAMPS}: {out.rows - out.timed} row(s) without a time stamp in ms")
    return out


def _rate(f: Fields, meta: Mapping[str, Any], videos: list[_Video],
          stamps: _Stamps | None) -> None:
    first = _first(videos)
    container = first.get("frameRate")
    said = f" (the AVIs declare {container:g} fps, the DAQ's fixed writer rate)" \
        if isinstance(container, int | float) else ""
    raw = meta.get("frameRate")
    rate = parse_frame_rate(raw)
    if rate is not None:
        f.header("frameRate", rate, f"{META} frameRate {raw!r}{said}")
        return
    if raw is not None:
        f.warn(f"{META} frameRate {raw!r} is not a rate: not used")
    mean = _mean_rate(stamps)
    if mean is not None:
        rate, n, span = mean
        f.computed("frameRate", rate, f"{TIMESTAMPS}: {n} frame intervals over {span:g} ms "
                   f"(from the second row){said}")
        return
    if isinstance(container, int | float):
        f.header("frameRate", container, f"the AVI header of {first.path.name}")
        f.warn(f"no frameRate in {META} and too few time stamps: frameRate is the AVI's "
               f"{container:g} fps, which the DAQ writes whatever the camera ran at")


def _mean_rate(stamps: _Stamps | None) -> tuple[float, int, float] | None:
    """(frames per second, intervals, span in ms) from the second time stamp to the last."""
    if stamps is None or stamps.timed < 3 or stamps.second is None or stamps.last is None:
        return None
    span = stamps.last - stamps.second
    n = stamps.timed - 2
    if span <= 0:  # time stamps that do not increase: no rate
        return None
    return 1000.0 * n / span, n, span


def _size(f: Fields, meta: Mapping[str, Any], videos: list[_Video]) -> None:
    first = _first(videos)
    width, height = first.get("horizontalResolution"), first.get("verticalResolution")
    sizes = {(v.get("horizontalResolution"), v.get("verticalResolution")) for v in videos
             if v.x is not None}
    if len(sizes) > 1:
        f.warn(f"the AVIs store frames of {len(sizes)} sizes: "
               + ", ".join(f"{w}x{h}" for w, h in sorted(sizes, key=str)))
    roi = meta.get("ROI")
    rw = roi.get("width") if isinstance(roi, Mapping) else None
    rh = roi.get("height") if isinstance(roi, Mapping) else None
    if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (rw, rh)):
        f.header("horizontalResolution", rw, f"{META} ROI width")
        f.header("verticalResolution", rh, f"{META} ROI height")
        if (rw, rh) != (width, height):
            f.warn(f"{META} ROI is {rw}x{rh} but {first.path.name} stores {width}x{height}")
        return
    if width is not None and height is not None:
        f.header("horizontalResolution", width, f"stored frame width of {first.path.name}")
        f.header("verticalResolution", height, f"stored frame height of {first.path.name}")


def _compression(f: Fields, meta: Mapping[str, Any], videos: list[_Video]) -> None:
    stated = _text(meta.get("compression"))
    if stated:
        f.header("compression", stated, f"{META} compression")
        return
    first = _first(videos)
    codec = first.get("compression")
    if codec:
        f.header("compression", codec, f"codec of {first.path.name}")
