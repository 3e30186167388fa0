"""ThorImageLS experiments: ``Experiment.xml`` beside its ``.raw`` or ``Chan*.tif`` files.

The XML is the record and the image files are its companions (sidecars). Reader: our
own, defusedxml over ``Experiment.xml`` (a few kB; entities refused); ``.raw`` files are
measured by ``os.stat``, never read. neuroconv and utils2p read the same elements.

Values:

- ``horizontalResolution``/``verticalResolution`` = ``<LSM pixelX pixelY>``;
  ``xVoxelSize``/``yVoxelSize`` = ``<LSM pixelSizeUM>``;
- ``frameRate`` = ``<LSM frameRate>``, the scanner's frame rate (with averaging on, a
  warning says how many scans make a saved frame, and the rate frames were saved at);
- ``nFrames``: ``<CaptureMode mode=0>`` (Z and T) timepoints x z steps (when the z stage
  is on); ``mode=1`` (streaming) ``<Streaming frames>``; a ``.raw`` file beside the XML
  is counted by its size (pixelX x pixelY x 2 bytes x channels a frame), and the first
  channel's ``Chan*.tif`` files by their pages (one file a frame, or one multi-page file
  when streaming); what is on disk wins over the XML, with a warning when they differ,
  and a ``.raw`` size that is not a whole number of frames is refused;
- ``zVoxelSize`` = ``<ZStage stepSizeUM>`` when the z stage is on with more than one step;
- start: ``<Date uTime>`` (Unix time), with the local offset that ``<Date date>`` implies;
- ``laserPower`` never: ``<Pockels>``/``<PowerRegulator>`` are percentages or positions.

Record type: ``TwoPhotonMicroscopy`` for the multiphoton modality (or an LSM without a
modality), ``ConfocalMicroscopy`` for confocal, ``SinglePhotonMicroscopy`` for a camera.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError, SidecarError

from ._imaging import TWO_PHOTON, WIDEFIELD, finite_number, iter_xml
from .base import Claim, Extraction, Extractor, Fields, Source, whole_frames

__all__ = ["ThorImageExtractor"]

_XML_LIMIT = 16 * 2**20
CONFOCAL = "ConfocalMicroscopy"


class ThorImageExtractor(Extractor):
    """ThorImageLS ``Experiment.xml`` (with its ``.raw`` or ``Chan*.tif`` files)."""

    name = "thorimage"
    suffixes = (".xml",)
    record_types = (TWO_PHOTON, CONFOCAL, WIDEFIELD)

    claim_endings = ("experiment.xml",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if path.name.lower() != "experiment.xml":
            return Claim.NO
        try:
            with open(path, "rb") as fh:
                head = fh.read(1024)
        except OSError:
            return Claim.NO
        return Claim.SPECIFIC if b"<ThorImageExperiment" in head else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        return sorted(p for p in path.parent.iterdir() if p.is_file() and (
            (p.name.startswith("Chan") and p.suffix.lower() in (".tif", ".tiff"))
            or (p.name.startswith("Image") and p.suffix.lower() == ".raw")))

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        xml = _read(path)
        f = Fields()
        lsm = xml.get("LSM", {})
        software = xml.get("Software", {}).get("version", "?")
        f.header("format", "ThorImageLS (Experiment.xml + TIFF)" if not self._raws(path)
                 else "ThorImageLS (Experiment.xml + RAW)", f"Experiment.xml Software {software}")
        width = _count(lsm.get("pixelX"))
        height = _count(lsm.get("pixelY"))
        if width and height:
            f.header("horizontalResolution", width, "Experiment.xml <LSM pixelX>")
            f.header("verticalResolution", height, "Experiment.xml <LSM pixelY>")
        size = _positive(lsm.get("pixelSizeUM"))
        if size:
            f.header("xVoxelSize", size, "Experiment.xml <LSM pixelSizeUM>")
            f.header("yVoxelSize", size, "Experiment.xml <LSM pixelSizeUM>")
        rate = _positive(lsm.get("frameRate"))
        if rate:
            f.header("frameRate", rate, "Experiment.xml <LSM frameRate>")
            averages = _count(lsm.get("averageNum"))
            if lsm.get("averageMode") == "1" and averages and averages > 1:
                # The scanner's rate, as ThorImage states it and its readers report it;
                # the frames as stored (each the mean of averageNum scans) come at a
                # rate averageNum times lower, which the warning gives.
                f.warn(f"averaging is on ({averages} scans a frame): frameRate is the "
                       f"scanner's <LSM frameRate>; frames were saved at "
                       f"{rate / averages:g} Hz")
        channels = len(xml.get("Wavelength", [])) or 1
        zstage = xml.get("ZStage", {})
        steps = _count(zstage.get("steps")) or 1
        z_on = zstage.get("enable") == "1" and steps > 1
        step = finite_number(zstage.get("stepSizeUM"))
        if z_on and step:
            f.header("zVoxelSize", abs(step), f"Experiment.xml <ZStage stepSizeUM> ({steps} "
                     "steps)")
        self._frames(path, xml, f, channels, width, height, steps if z_on else 1)
        when = _start(xml.get("Date", {}))
        if when is not None:
            f.started(when, Source.HEADER, "Experiment.xml <Date uTime> (local offset from "
                      "<Date date>)")
        return [self.result(path, _record_type(xml), f)]

    @staticmethod
    def _raws(path: Path) -> list[Path]:
        return sorted(p for p in path.parent.glob("Image*.raw") if p.is_file())

    def _frames(self, path: Path, xml: dict[str, Any], f: Fields, channels: int,
                width: int | None, height: int | None, zsteps: int) -> None:
        mode = xml.get("CaptureMode", {}).get("mode", "0")
        streaming = xml.get("Streaming", {})
        if mode == "1":
            frames = _count(streaming.get("frames"))
            detail = "Experiment.xml <Streaming frames> (capture mode 1, streaming)"
        else:
            timepoints = _count(xml.get("Timelapse", {}).get("timepoints")) or 1
            frames = timepoints * zsteps
            detail = (f"Experiment.xml <Timelapse timepoints> {timepoints} x <ZStage steps> "
                      f"{zsteps} (capture mode {mode})")
        raws = self._raws(path)
        if raws and width and height:
            raw = raws[0]
            on_disk = whole_frames(path, os.stat(raw).st_size, channels, "uint16",
                                   2 * width * height, member=raw,
                                   why=f"not {width}x{height} 16-bit frames of {channels} "
                                   "channels, or a truncated file")
            if frames is not None and on_disk != frames:
                f.warn(f"{raw.name} holds {on_disk} frames and Experiment.xml states {frames}: "
                       "the frames on disk are counted")
            f.computed("nFrames", on_disk, f"{raw.name} size / ({width} x {height} x 2 bytes x "
                       f"{channels} channels)")
            return
        if self._tiff_frames(path, xml, f, channels, frames):
            return
        if frames is not None:
            f.header("nFrames", frames, detail)

    def _tiff_frames(self, path: Path, xml: dict[str, Any], f: Fields, channels: int,
                     frames: int | None) -> bool:
        """``nFrames`` from the first channel's TIFFs (one a frame, or one multi-page file
        when streaming), counted by their pages; False when there are none."""
        from ._tiffwalk import scan

        waves = xml.get("Wavelength") or [{}]
        name = waves[0].get("name") or "ChanA"
        tifs = sorted(p for p in path.parent.glob(f"{_escape(name)}_*.tif*")
                      if p.is_file() and p.suffix.lower() in (".tif", ".tiff"))
        if not tifs:
            return False
        pages = 0
        for tif in tifs:
            try:
                pages += scan(tif).complete_pages
            except ExtractionError as exc:
                raise ExtractionError(path, f"{tif.name}: {exc.reason}") from exc
        where = f"pages of the {len(tifs)} {name} TIFF file{'s' if len(tifs) > 1 else ''}"
        if frames is not None and pages == frames * channels and channels > 1:
            f.computed("nFrames", frames, f"{where} / {channels} channels (interleaved)")
            return True
        if frames is not None and pages != frames:
            f.warn(f"the {name} TIFFs hold {pages} frames and Experiment.xml states {frames}: "
                   "the frames on disk are counted")
        f.computed("nFrames", pages, where)
        return True


def _escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _record_type(xml: dict[str, Any]) -> str:
    modality = xml.get("Modality", {}).get("name", "").lower()
    if "confocal" in modality:
        return CONFOCAL
    if "camera" in modality or ("LSM" not in xml and "Camera" in xml):
        return WIDEFIELD
    return TWO_PHOTON


def _count(text: Any) -> int | None:
    value = finite_number(text)
    return int(value) if value is not None and value > 0 and value.is_integer() else None


def _positive(text: Any) -> float | None:
    value = finite_number(text)
    return value if value is not None and value > 0 else None


def _start(date: dict[str, str]) -> datetime.datetime | None:
    utime = finite_number(date.get("uTime"))
    if utime is None or utime <= 0:
        return None
    try:
        utc = datetime.datetime.fromtimestamp(utime, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    try:
        local = datetime.datetime.strptime(date.get("date", ""), "%m/%d/%Y %H:%M:%S")
    except ValueError:
        return utc
    offset = local - utc.replace(tzinfo=None)
    minutes = round(offset.total_seconds() / 900) * 15  # zones are whole quarter hours
    if abs(minutes) > 14 * 60:
        return utc
    return utc.astimezone(datetime.timezone(datetime.timedelta(minutes=minutes)))


def _read(path: Path) -> dict[str, Any]:
    """Top-level elements' attributes by tag; ``Wavelength`` as a list."""
    out: dict[str, Any] = {}
    wavelengths: list[dict[str, str]] = []
    root = None
    for event, el, depth in iter_xml(path, path, _XML_LIMIT):
        if event == "start":
            if depth == 1:
                root = el.tag
                if root != "ThorImageExperiment":
                    raise SidecarError(path, f"root element <{root[:40]}>, not "
                                       "<ThorImageExperiment>: not a ThorImage Experiment.xml")
            continue
        if depth == 3 and el.tag == "Wavelength":
            wavelengths.append(dict(el.attrib))
        elif depth == 2:
            out.setdefault(el.tag, dict(el.attrib))
            el.clear()
    if root is None:
        raise SidecarError(path, "empty XML: not a ThorImage Experiment.xml")
    out["Wavelength"] = wavelengths
    return out
