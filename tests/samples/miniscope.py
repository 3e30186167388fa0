"""UCLA Miniscope DAQ samples: a recording folder laid out as Miniscope-DAQ-QT-Software
writes it (the corpus' ``C6-J588_Disc5/15_07_58`` is the model).

- ``<rec>/metaData.json``: the recording (device lists, ``recordingStartTime``);
- ``<rec>/Miniscope/``: ``metaData.json`` (``deviceType`` ``Miniscope_V4_BNO``,
  ``frameRate`` ``"30FPS"``, ``framesPerFile``, ``compression`` ``FFV1``, ``led0``),
  ``0.avi``, ``1.avi``, ... and ``timeStamps.csv``;
- ``<rec>/BehavCam_1/``: a webcam without a frame rate, MJPG.

The AVIs are written as the DAQ writes them: OpenCV's VideoWriter with the device's
FourCC at a fixed 60 fps (:func:`tests.samples.video.cv2_avi`), 64x48.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.samples.video import H, W, cv2_avi

EXTRACTOR = "miniscope"


def write_device(folder: Path, frames: list[int], *, device: str = "Miniscope_V4_BNO",
                 rate: object = "30FPS", per_file: int | None = None, fourcc: str = "FFV1",
                 roi: dict[str, int] | None = None, stamps: int | None = None,
                 interval_ms: float = 1000 / 30, name: str | None = None) -> Path:
    """A device folder: ``metaData.json``, one AVI per entry of ``frames`` (its frame
    count), ``timeStamps.csv`` with ``stamps`` rows (default: one per frame). Returns the
    device's ``metaData.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    meta: dict[str, object] = {
        "compression": fourcc, "deviceDirectory": f"C:/mData/{folder.name}", "deviceID": 0,
        "deviceName": name or folder.name.replace("_", " "), "deviceType": device,
        "framesPerFile": per_file if per_file is not None else max(frames)}
    if rate is not None:
        meta["frameRate"] = rate
    if "Miniscope" in device:
        meta.update({"gain": "Low", "led0": 12, "ewl": 50})
    if roi is not None:
        meta["ROI"] = roi
    (folder / "metaData.json").write_text(json.dumps(meta, indent=4))
    for i, n in enumerate(frames):
        cv2_avi(folder / f"{i}.avi", n=n, fourcc=fourcc, fps=60)
    rows = sum(frames) if stamps is None else stamps
    lines = ["Frame Number,Time Stamp (ms),Buffer Index"]
    lines += [f"{i},{round(-20 + i * interval_ms)},0" for i in range(rows)]
    (folder / "timeStamps.csv").write_text("\n".join(lines) + "\n")
    return folder / "metaData.json"


def write_recording(rec: Path, *, scope_frames: list[int] | None = None,
                    cam_frames: list[int] | None = None, **scope: object) -> tuple[Path, Path]:
    """A recording folder with a Miniscope and a behaviour camera: their metaData.json."""
    rec.mkdir(parents=True, exist_ok=True)
    (rec / "metaData.json").write_text(json.dumps({
        "animalName": "", "baseDirectory": f"C:/mData/{rec.name}", "cameras": ["BehavCam 1"],
        "experimentName": "", "miniscopes": ["Miniscope"], "researcherName": "",
        "recordingStartTime": {"day": 7, "hour": 15, "minute": 7, "month": 10, "msec": 666,
                               "msecSinceEpoch": 1633644478666, "second": 58,
                               "year": 2021}}, indent=4))
    scope_meta = write_device(rec / "Miniscope", scope_frames or [10, 4], **scope)  # type: ignore[arg-type]
    cam_meta = write_device(rec / "BehavCam_1", cam_frames or [6], device="WebCam-1920x1080",
                            rate=None, fourcc="MJPG", roi={"height": H, "leftEdge": 0,
                                                           "topEdge": 0, "width": W})
    return scope_meta, cam_meta


def described(path: Path) -> tuple[str, str]:
    """(record path, fileName) a sample describes: its device folder, by the folder's name."""
    return str(path.parent), path.parent.name


def good(tmp: Path) -> list[Path]:
    scope, cam = write_recording(tmp / "15_07_58")
    return [scope, cam]


def bad(tmp: Path) -> list[Path]:
    out = []
    broken = write_device(tmp / "broken" / "Miniscope", [3])
    broken.write_text('{"deviceType": "Miniscope_V4_BNO", "frameRate": ')  # cut short
    out.append(broken)
    listed = write_device(tmp / "listed" / "Miniscope", [3])
    listed.write_text("[1, 2, 3]")
    out.append(listed)
    empty = tmp / "noavi" / "Miniscope"
    write_device(empty, [3])
    (empty / "0.avi").write_bytes(b"RIFF\x00\x00\x00\x00AVI LIST")  # not an AVI a reader takes
    out.append(empty / "metaData.json")
    return out
