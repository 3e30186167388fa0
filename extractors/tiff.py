"""Multi-page TIFF imaging files: ScanImage (2015 and later, and 3.x/4.x), OME-TIFF,
Micro-Manager, ImageJ and plain stacks.

What is read: the TIFF's IFD chain (one tag count and one offset per page, through
:mod:`extractors._tiffwalk`) and the first page's tags. Never a pixel. The first page's
metadata is parsed with tifffile's own parsers (``matlabstr2py`` for ScanImage's
``SI.`` settings, ``imagej_description_metadata``), OME-XML with defusedxml. The pages
are counted by our walk, not by ``tifffile.TiffFile.pages``: tifffile stops silently at
a damaged IFD and looks for a loop only at page 100, and it builds per-page objects for
classic ScanImage files; see :mod:`extractors._tiffwalk`. Cost: a 50,000-page file is
counted in about 30 ms with a few kB of memory (``benchmarks/bench_tiff.py``), the same
for 10 GB as for 10 MB.

Record types. ScanImage is a two-photon system: ``TwoPhotonMicroscopy``. Every other
stack (OME-TIFF, Micro-Manager, ImageJ, plain) is what a camera records, widefield
one-photon imaging: ``SinglePhotonMicroscopy`` (a lab that saves confocal or light-sheet
stacks says so with the type map).

ScanImage (``SI.`` settings in the first page's Software tag, 2016 and later; in its
ImageDescription as ``scanimage.SI.``, 2015; ``state.`` headers, 3.x/4.x):

- ``frameRate`` is ``SI.hRoiManager.scanFrameRate`` (divided by
  ``SI.hScan2D.logAverageFactor`` when stored frames are averages), the rate of frames
  (planes), also for volumes: ``nFrames`` counts frames (every page of one channel,
  flyback frames as stored), so that ``nFrames / frameRate`` is the recording's
  duration. The volume rate is said in a warning when stacks are on.
- ``nFrames`` = pages / channels saved (``SI.hChannels.channelSave``).
- ``horizontalResolution`` x ``verticalResolution`` = ``pixelsPerLine`` x
  ``linesPerFrame``; with multi-ROI imaging (``mroiEnable``), each ROI's
  ``pixelResolutionXY`` (one record per ROI when there are several: ``#roi1``...).
- ``xVoxelSize``/``yVoxelSize`` from ``SI.hRoiManager.imagingFovUm`` over the pixels
  (or, per ROI, the scanfield's size times ``SI.objectiveResolution``).
- ``zVoxelSize`` only when a stack of more than one slice is on and its z positions are
  evenly spaced by the stated step (µm); never a stage position.
- Start: the first frame's ``epoch`` (local time, naive).
- A recording split over numbered files (``name_00001_00001.tif``, ``name_00001_00002.tif``
  ...; ``SI.hScan2D.logFramesPerFile``) is one acquisition and one record, named by its
  first file, with ``nFrames`` over all files; the other files are its sidecars. A gap
  in the numbering, or a file (not the last) shorter than ``logFramesPerFile``, warns.
- ``SI.hBeams.powers`` is a percentage: never ``laserPower``.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import math
import re
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from ._imaging import TWO_PHOTON, WIDEFIELD, finite_number, parse_xml
from ._tiffwalk import TiffInfo, is_tiff, scan
from .base import Claim, Extraction, Extractor, Fields, Source

__all__ = ["TiffExtractor", "scanimage_series"]

# TIFF tag codes read from the first page.
_WIDTH, _LENGTH, _DESCRIPTION, _OFFSETS, _SOFTWARE, _ARTIST = 256, 257, 270, 273, 305, 315
_XRES, _YRES, _RESUNIT, _BITS, _SAMPLES = 282, 283, 296, 258, 277
_MICROMANAGER = 51123

# ScanImage names a split recording {stem}_{acquisition:05d}_{file:05d}.tif.
_SERIES = re.compile(r"^(?P<stem>.+_\d{5})_(?P<index>\d{5})$")
#: Micro-Manager's summary JSON at the start of the file is at most this long.
_MM_SUMMARY_LIMIT = 16 * 2**20


def scanimage_series(path: Path) -> list[Path]:
    """The files of the numbered ScanImage recording ``path`` belongs to, in order
    (just ``[path]`` when its name is not numbered so)."""
    m = _SERIES.match(path.stem)
    if not m:
        return [path]
    suffix = path.suffix
    members = [p for p in path.parent.glob(f"{_glob_escape(m['stem'])}_[0-9][0-9][0-9][0-9][0-9]"
                                           f"{suffix}") if p.is_file()]
    return sorted(members or [path])


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


class TiffExtractor(Extractor):
    """ScanImage, OME-TIFF, Micro-Manager, ImageJ and plain multi-page TIFF stacks."""

    name = "tiff"
    suffixes = (".tif", ".tiff", ".btf", ".tf8")
    record_types = (TWO_PHOTON, WIDEFIELD)

    claim_endings = (".tif", ".tiff", ".btf", ".tf8")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        # SUFFIX, not SPECIFIC: a TIFF that a PrairieView or ThorImage XML lists is that
        # XML's companion (its sidecar), and a sidecar claimed only by suffix is not
        # described on its own.
        if path.suffix.lower() not in cls.suffixes:
            return Claim.NO
        try:
            with open(path, "rb") as fh:
                head = fh.read(4)
        except OSError:
            return Claim.NO
        return Claim.SUFFIX if is_tiff(head) else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        m = _SERIES.match(path.stem)
        if not m:
            return []
        members = scanimage_series(path)
        return members[1:] if members[0] == path else []

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        info = scan(path)
        cut = ""
        if info.last_cut and info.pages > 1:
            cut = (f"the last page's pixel data runs past the end of the file ({info.size} "
                   f"bytes): a cut recording; {info.pages - 1} of {info.pages} pages counted")
            info = dataclasses.replace(info, pages=info.pages - 1, last_cut=False)
        software, description = info.text(_SOFTWARE), info.text(_DESCRIPTION)
        if (software.startswith("SI.") or "scanimage.SI" in description
                or description.startswith("state.")):
            results = self._scanimage(path, info)
        else:
            results = [self._stack(path, info)]
        if cut:
            results = [dataclasses.replace(r, warnings=(*r.warnings, cut)) for r in results]
        return results

    # --- ScanImage -------------------------------------------------------------------

    def _scanimage(self, path: Path, info: TiffInfo) -> list[Extraction]:
        software, description = info.text(_SOFTWARE), info.text(_DESCRIPTION)
        if description.startswith("state."):
            return [self._scanimage_legacy(path, info)]
        if software.startswith("SI."):
            si = _matlab(path, software, "Software tag")
            where = "Software tag"
        else:  # ScanImage 2015: the settings follow the frame data in the description
            start = description.index("scanimage.SI")
            si = {k.removeprefix("scanimage."): v
                  for k, v in _matlab(path, description[start:], "ImageDescription").items()}
            where = "ImageDescription"
        f = Fields()
        f.header("format", "ScanImage TIFF", f"{where}: SI.VERSION_MAJOR "
                 f"{si.get('SI.VERSION_MAJOR', '?')}")

        channels = _channel_count(si.get("SI.hChannels.channelSave"))
        if channels is None:
            raise ExtractionError(path, f"ScanImage {where}: SI.hChannels.channelSave "
                                  f"{str(si.get('SI.hChannels.channelSave'))[:40]!r} names no "
                                  "saved channel")
        rate = _positive(si.get("SI.hRoiManager.scanFrameRate"))
        average = _whole(si.get("SI.hScan2D.logAverageFactor")) or 1
        if rate is not None and average > 1:
            # Each stored frame is the mean of `average` scanned frames.
            rate /= average
            f.computed("frameRate", rate, f"{where}: SI.hRoiManager.scanFrameRate / "
                       f"SI.hScan2D.logAverageFactor {average} (frames as stored)")
        elif rate is not None:
            f.header("frameRate", rate, f"{where}: SI.hRoiManager.scanFrameRate (per frame)")
        self._frames(path, info, channels, f, where,
                     _whole(si.get("SI.hScan2D.logFramesPerFile")))
        self._stack_step(si, f, where, rate)
        epoch = _epoch(description)
        if epoch is not None:
            f.started(epoch, Source.HEADER, "first frame's ImageDescription: epoch "
                      "(local time)")

        rois = _rois(info.text(_ARTIST)) if si.get("SI.hRoiManager.mroiEnable") is True else []
        if len(rois) <= 1:
            if rois:
                _roi_fields(rois[0], si, f, where)
            else:
                self._frame_size(si, info, f, where)
            return [self.result(path, TWO_PHOTON, f)]
        out = []
        for i, roi in enumerate(rois, 1):
            g = Fields(dict(f.values), dict(f.provenance), list(f.warnings), f.start_time)
            _roi_fields(roi, si, g, where)
            g.warn(f"ROI {i} of {len(rois)} ({roi.get('name') or 'unnamed'}) of a multi-ROI "
                   "acquisition: frames hold every ROI")
            out.append(self.result(path, TWO_PHOTON, g, part=f"roi{i}"))
        return out

    def _frames(self, path: Path, info: TiffInfo, channels: int, f: Fields, where: str,
                per_file: int | None = None) -> None:
        """``nFrames`` over the files of a numbered recording (``path`` the first), with a
        warning for a file that holds other than ``per_file`` frames (not the last) and
        for a gap in the numbering."""
        members = scanimage_series(path)
        pages = info.complete_pages
        if members[0] == path and len(members) > 1:
            counts = [pages]
            for member in members[1:]:
                try:
                    part = scan(member)
                except ExtractionError as exc:
                    raise ExtractionError(path, f"{member.name} (file {members.index(member) + 1}"
                                          f" of the recording): {exc.reason}") from exc
                counts.append(part.complete_pages)
                if part.last_cut:
                    f.warn(f"{member.name}: the last page's pixel data runs past the end "
                           "of the file; that page is not counted")
            pages = sum(counts)
            detail = (f"pages of the {len(members)} files {members[0].name} to "
                      f"{members[-1].name} / {channels} channels saved")
            self._check_series(members, counts, channels, per_file, f)
        else:
            detail = f"{pages} pages / {channels} channels saved ({where}: channelSave)"
            if len(members) > 1:
                f.warn(f"file {members.index(path) + 1} of a recording split over "
                       f"{len(members)} files: its record is named by {members[0].name}")
        frames, rest = divmod(pages, channels)
        if rest:
            f.warn(f"{pages} pages is not a whole number of frames of {channels} channels: the "
                   f"last {rest} pages (an incomplete frame) are not counted")
        f.computed("nFrames", frames, detail)

    @staticmethod
    def _check_series(members: list[Path], counts: list[int], channels: int,
                      per_file: int | None, f: Fields) -> None:
        numbers = [int(m.stem[-5:]) for m in members]
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if numbers[0] != 1:
            missing = list(range(1, numbers[0])) + missing
        if missing:
            shown = ", ".join(f"{n:05d}" for n in missing[:5]) + (" ..." if len(missing) > 5
                                                                  else "")
            f.warn(f"the recording's numbered files skip {shown}: frames are counted over the "
                   f"{len(members)} files present")
        if per_file:
            for member, count in zip(members[:-1], counts[:-1], strict=True):
                if count != per_file * channels:
                    f.warn(f"{member.name} holds {count} pages, not the {per_file} frames x "
                           f"{channels} channels of SI.hScan2D.logFramesPerFile: a cut file")

    def _frame_size(self, si: dict[str, Any], info: TiffInfo, f: Fields, where: str) -> None:
        pixels = _whole(si.get("SI.hRoiManager.pixelsPerLine"))
        lines = _whole(si.get("SI.hRoiManager.linesPerFrame"))
        if pixels and lines:
            f.header("horizontalResolution", pixels, f"{where}: SI.hRoiManager.pixelsPerLine")
            f.header("verticalResolution", lines, f"{where}: SI.hRoiManager.linesPerFrame")
        else:
            _page_size(info, f)
            pixels, lines = f.values.get("horizontalResolution"), f.values.get("verticalResolution")
        fov = si.get("SI.hRoiManager.imagingFovUm")
        size = _fov_size(fov)
        if size and pixels and lines:
            f.header("xVoxelSize", size[0] / pixels, f"{where}: SI.hRoiManager.imagingFovUm "
                     f"width {size[0]:g} µm / {pixels} pixels")
            f.header("yVoxelSize", size[1] / lines, f"{where}: SI.hRoiManager.imagingFovUm "
                     f"height {size[1]:g} µm / {lines} lines")

    def _stack_step(self, si: dict[str, Any], f: Fields, where: str, rate: float | None) -> None:
        slices = _whole(si.get("SI.hStackManager.numSlices"))
        # SI.hStackManager.enable exists from 2020 on; before, more than one slice is a
        # stack (slow, by the motor, or fast, by SI.hFastZ).
        if not slices or slices < 2 or si.get("SI.hStackManager.enable") is False:
            return
        volume_rate = _positive(si.get("SI.hRoiManager.scanVolumeRate"))
        if volume_rate is not None and rate is not None:
            f.warn(f"a stack of {slices} slices: {volume_rate:g} volumes/s; frameRate is the "
                   "rate of frames (planes), as nFrames counts them")
        definition = str(si.get("SI.hStackManager.stackDefinition",
                                si.get("SI.hStackManager.boundedStackDefinition", "")))
        if "arbitrary" in definition.lower():
            return
        step = finite_number(si.get("SI.hStackManager.actualStackZStepSize",
                                    si.get("SI.hStackManager.stackZStepSize")))
        if step is None or step == 0:
            return
        zs = _flat(si.get("SI.hStackManager.zs"))
        if zs:
            levels = sorted(set(zs))
            steps = {round(b - a, 6) for a, b in itertools.pairwise(levels)}
            if len(levels) != slices or steps != {round(abs(step), 6)}:
                return  # positions not evenly spaced by the step: not one z step
        f.header("zVoxelSize", abs(step), f"{where}: SI.hStackManager.actualStackZStepSize "
                 f"(µm; {slices} slices)")

    def _scanimage_legacy(self, path: Path, info: TiffInfo) -> Extraction:
        state = _state_values(info.text(_DESCRIPTION))
        f = Fields()
        version = state.get("state.software.version", "3.x/4.x")
        f.header("format", "ScanImage TIFF", f"ImageDescription: state. header (version "
                 f"{version})")
        channels = _whole(state.get("state.acq.numberOfChannelsSave"))
        if not channels:
            channels = sum(1 for i in range(1, 5)
                           if state.get(f"state.acq.savingChannel{i}") == "1") or None
        if not channels:
            raise ExtractionError(path, "ScanImage state. header names no saved channel "
                                  "(state.acq.numberOfChannelsSave, savingChannel1-4)")
        rate = _positive(finite_number(state.get("state.acq.frameRate")))
        if rate is not None:
            f.header("frameRate", rate, "ImageDescription: state.acq.frameRate")
        self._frames(path, info, channels, f, "ImageDescription")
        pixels = _whole(finite_number(state.get("state.acq.pixelsPerLine")))
        lines = _whole(finite_number(state.get("state.acq.linesPerFrame")))
        if pixels and lines:
            f.header("horizontalResolution", pixels, "ImageDescription: state.acq.pixelsPerLine")
            f.header("verticalResolution", lines, "ImageDescription: state.acq.linesPerFrame")
        else:
            _page_size(info, f)
        slices = _whole(finite_number(state.get("state.acq.numberOfZSlices")))
        step = finite_number(state.get("state.acq.zStepSize"))
        if slices and slices > 1 and step:
            f.header("zVoxelSize", abs(step), f"ImageDescription: state.acq.zStepSize (µm; "
                     f"{slices} slices)")
        when = _legacy_time(state.get("state.internal.triggerTimeString", ""))
        if when is not None:
            f.started(when, Source.HEADER, "ImageDescription: state.internal."
                      "triggerTimeString (local time)")
        return self.result(path, TWO_PHOTON, f)

    # --- other stacks ----------------------------------------------------------------

    def _stack(self, path: Path, info: TiffInfo) -> Extraction:
        description = info.text(_DESCRIPTION)
        f = Fields()
        if description.lstrip().startswith("<") and description.rstrip().endswith("OME>"):
            self._ome(path, info, description, f)
        elif description.startswith(("ImageJ=", "SCIFIO=")):
            self._imagej(path, info, description, f)
        else:
            f.header("format", "TIFF", f"{info.pages} pages, no imaging metadata in the first "
                     "page's tags")
            _page_size(info, f)
            f.computed("nFrames", info.pages, "the file's pages (IFD chain)")
        if _MICROMANAGER in info.tags:
            self._micromanager(path, info, f)
        return self.result(path, WIDEFIELD, f)

    def _ome(self, path: Path, info: TiffInfo, description: str, f: Fields) -> None:
        root = parse_xml(path, description, "OME-XML in ImageDescription")
        pixels = next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)
        f.header("format", "OME-TIFF", "OME-XML in the first page's ImageDescription")
        if pixels is None:
            _page_size(info, f)
            f.computed("nFrames", info.pages, "the file's pages (IFD chain); OME-XML has no "
                       "Pixels")
            return
        a = pixels.attrib
        sx, sy = _whole(finite_number(a.get("SizeX"))), _whole(finite_number(a.get("SizeY")))
        if sx and sy:
            f.header("horizontalResolution", sx, "OME-XML Pixels SizeX")
            f.header("verticalResolution", sy, "OME-XML Pixels SizeY")
        else:
            _page_size(info, f)
        c = _whole(finite_number(a.get("SizeC"))) or 1
        z = _whole(finite_number(a.get("SizeZ"))) or 1
        t = _whole(finite_number(a.get("SizeT"))) or 1
        if info.pages == c * z * t:
            f.computed("nFrames", z * t, f"{info.pages} pages / OME-XML SizeC {c}")
        else:  # which channel each page holds is in other files' TiffData: count pages
            f.computed("nFrames", info.pages, "the file's pages (IFD chain)")
            f.warn(f"OME-XML describes {c * z * t} planes (C{c} x Z{z} x T{t}) and this file "
                   f"holds {info.pages}: one file of a dataset over several files; nFrames "
                   "counts this file's pages")
        for key, axis in (("PhysicalSizeX", "xVoxelSize"), ("PhysicalSizeY", "yVoxelSize")):
            um = _length_um(a.get(key), a.get(key + "Unit", "µm"))
            if um:
                f.header(axis, um, f"OME-XML Pixels {key} ({a.get(key + 'Unit', 'µm')})")
        dz = _length_um(a.get("PhysicalSizeZ"), a.get("PhysicalSizeZUnit", "µm"))
        if dz and z > 1:
            f.header("zVoxelSize", dz, f"OME-XML Pixels PhysicalSizeZ ({z} planes)")
        step = _seconds(a.get("TimeIncrement"), a.get("TimeIncrementUnit", "s"))
        if step and t > 1 and z > 1:
            # TimeIncrement is the time between time points (Z stacks); nFrames counts
            # planes, whose rate the XML does not state: 1 / step is not their rate.
            f.warn(f"OME-XML TimeIncrement {a.get('TimeIncrement')} "
                   f"{a.get('TimeIncrementUnit', 's')} is the time between stacks of {z} "
                   f"planes ({1 / step:g} volumes/s); the rate of the planes nFrames counts "
                   "is not stated: no frameRate")
        elif step and t > 1:
            f.header("frameRate", 1 / step, f"1 / OME-XML Pixels TimeIncrement "
                     f"({a.get('TimeIncrement')} {a.get('TimeIncrementUnit', 's')})")
        image = next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "AcquisitionDate"),
                     None)
        when = _iso_time(image.text if image is not None else None)
        if when is not None:
            f.started(when, Source.HEADER, "OME-XML Image AcquisitionDate")

    def _imagej(self, path: Path, info: TiffInfo, description: str, f: Fields) -> None:
        ij = _imagej_values(description)
        f.header("format", "ImageJ TIFF", f"ImageDescription ImageJ={ij.get('ImageJ', '')}")
        _page_size(info, f)
        images = _whole(ij.get("images")) or info.pages
        if images != info.pages:
            if info.pages != 1:
                f.warn(f"ImageJ states {images} images and the file has {info.pages} pages: "
                       "the pages are counted")
                images = info.pages
            else:  # ImageJ writes stacks past 4 GiB as one IFD and contiguous images
                images = self._contiguous_images(path, info, images, f)
        channels = _whole(ij.get("channels")) or 1
        frames, rest = divmod(images, channels)
        if rest:
            f.warn(f"{images} images is not a whole number of frames of {channels} channels")
        f.computed("nFrames", frames, f"{images} images / {channels} channels (ImageJ)")
        self._imagej_rate(ij, f, (_whole(ij.get("slices")) or 1) > 1
                          and (_whole(ij.get("frames")) or 1) > 1)
        # ImageJ's FileSaver writes ``unit`` for x, and ``yunit``/``zunit`` only where they
        # differ from it: each axis is in its own unit (a z spacing in nm is not in µm).
        unit = _ij_text(ij.get("unit", ""))
        axes = ((_XRES, "xVoxelSize", unit), (_YRES, "yVoxelSize",
                                              _ij_text(ij.get("yunit", unit))))
        for code, axis, text in axes:
            scale = _IJ_LENGTH.get(text)
            res = info.tags.get(code)
            if scale and isinstance(res, tuple) and len(res) == 2 and res[0] and res[1]:
                f.header(axis, res[1] / res[0] * scale, f"1 / {'X' if code == _XRES else 'Y'}"
                         f"Resolution (pixels per {text}, ImageJ unit) in µm")
        zunit = _ij_text(ij.get("zunit", unit))
        spacing = _positive(finite_number(ij.get("spacing")))
        if spacing and zunit in _IJ_LENGTH and (_whole(ij.get("slices")) or 1) > 1:
            f.header("zVoxelSize", spacing * _IJ_LENGTH[zunit],
                     f"ImageJ spacing ({spacing:g} {zunit}) in µm")

    @staticmethod
    def _imagej_rate(ij: dict[str, Any], f: Fields, volumes: bool) -> None:
        """frameRate from ImageJ's ``finterval``, in its ``tunit`` ("sec" when absent).

        ImageJ writes two numbers: ``finterval``, the calibrated time between frames
        (Image > Properties), and ``fps``, the animation speed (Image > Stacks > Animation
        Options), a playback setting that is not the recording's rate. Only the first
        is a frameRate, and only where frames are planes: in a hyperstack of slices and
        frames (``volumes``), finterval is the time between Z stacks while nFrames counts
        their planes.
        """
        interval = _positive(finite_number(ij.get("finterval")))
        fps = _positive(finite_number(ij.get("fps")))
        if interval is not None:
            tunit = _ij_text(ij.get("tunit", "sec"))
            scale = _IJ_SECONDS.get(tunit)
            if scale is None:
                f.warn(f"ImageJ finterval {interval:g} is in tunit {tunit!r}, not a unit of "
                       "time: no frameRate")
                return
            if volumes:
                f.warn(f"ImageJ finterval {interval:g} {tunit} is the time between stacks of "
                       f"{ij.get('slices')} slices; the rate of the planes nFrames counts is "
                       "not stated: no frameRate")
                return
            f.header("frameRate", 1 / (interval * scale),
                     f"1 / ImageJ finterval ({interval:g} {tunit})")
        elif fps is not None:
            f.warn(f"ImageJ fps {fps:g} is the animation (playback) speed, not the recording's "
                   "rate, and no finterval is stated: no frameRate")

    def _contiguous_images(self, path: Path, info: TiffInfo, images: int, f: Fields) -> int:
        width, length = info.number(_WIDTH), info.number(_LENGTH)
        bits = info.tags.get(_BITS)
        bits = bits[0] if isinstance(bits, tuple) else bits
        samples = info.number(_SAMPLES) or 1
        offsets = info.tags.get(_OFFSETS)
        first = offsets[0] if isinstance(offsets, tuple) else offsets
        if not (width and length and isinstance(bits, int) and isinstance(first, int)):
            return info.pages
        image = width * length * samples * max(bits // 8, 1)
        on_disk = (info.size - first) // image
        if on_disk < images:
            f.warn(f"ImageJ states {images} images and the file holds {on_disk}: truncated; "
                   "the images on disk are counted")
            return on_disk
        return images

    def _micromanager(self, path: Path, info: TiffInfo, f: Fields) -> None:
        summary = _mm_summary(path, info)
        if not summary:
            return
        f.header("format", "Micro-Manager TIFF", "MicroManagerMetadata tag and summary header")
        interval = _positive(finite_number(summary.get("Interval_ms")))
        slices = _whole(summary.get("Slices")) or 1
        if interval and "frameRate" not in f.values and (_whole(summary.get("Frames")) or 0) > 1:
            if slices > 1:  # the interval is between Z stacks; nFrames counts their planes
                f.warn(f"Micro-Manager Interval_ms {interval:g} is the time between stacks "
                       f"of {slices} slices; the rate of the planes nFrames counts is not "
                       "stated: no frameRate")
            else:
                f.header("frameRate", 1000 / interval, f"1000 / Micro-Manager summary "
                         f"Interval_ms ({interval:g}; the requested interval)")
        size = _positive(finite_number(summary.get("PixelSize_um")))
        if size and "xVoxelSize" not in f.values:
            f.header("xVoxelSize", size, "Micro-Manager summary PixelSize_um")
            f.header("yVoxelSize", size, "Micro-Manager summary PixelSize_um")
        dz = _positive(finite_number(summary.get("z-step_um")))
        if dz and (_whole(summary.get("Slices")) or 1) > 1 and "zVoxelSize" not in f.values:
            f.header("zVoxelSize", dz, "Micro-Manager summary z-step_um")
        when = _mm_time(summary.get("StartTime"))
        if when is not None and f.start_time is None:
            f.started(when, Source.HEADER, "Micro-Manager summary StartTime")


# --- helpers ------------------------------------------------------------------------


def _matlab(path: Path, text: str, where: str) -> dict[str, Any]:
    import tifffile

    try:
        out = tifffile.matlabstr2py(text)
    except Exception as exc:  # tifffile raises what the text makes it raise
        raise ExtractionError(path, f"ScanImage {where} cannot be read: "
                              f"{type(exc).__name__}: {' '.join(str(exc).split())[:80]}") from exc
    return out if isinstance(out, dict) else {}


def _imagej_values(description: str) -> dict[str, Any]:
    """``key=value`` lines of an ImageJ description, numbers as numbers (ImageJ's own
    ``ImageJ=1.54f\nimages=510\nfinterval=0.1`` form)."""
    out: dict[str, Any] = {}
    for line in description.splitlines():
        key, sep, text = line.partition("=")
        if not sep:
            continue
        value: Any = text.strip()
        number = finite_number(value)
        if number is not None and not value.lower().startswith(("0x", "inf", "nan")):
            value = int(number) if number.is_integer() and "." not in value else number
        out.setdefault(key.strip(), value)
    return out


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not float(value).is_integer() or value <= 0:
        return None
    return int(value)


def _positive(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


def _flat(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)] if math.isfinite(value) else []
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return []


def _channel_count(value: Any) -> int | None:
    numbers = _flat(value)
    return len(numbers) or None


def _fov_size(value: Any) -> tuple[float, float] | None:
    """Width and height in µm of ScanImage's imagingFovUm (corners, one per row)."""
    if not isinstance(value, list) or len(value) < 2:
        return None
    corners = [c for c in value if isinstance(c, list) and len(_flat(c)) == 2]
    if len(corners) != len(value):
        return None
    xs = [_flat(c)[0] for c in corners]
    ys = [_flat(c)[1] for c in corners]
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    return (w, h) if w > 0 and h > 0 else None


def _rois(artist: str) -> list[dict[str, Any]]:
    """The enabled imaging ROIs of a multi-ROI acquisition (the Artist tag's JSON)."""
    if not artist.lstrip().startswith("{"):
        return []
    try:
        data = json.loads(artist)
    except (ValueError, RecursionError):
        return []
    try:
        rois = data["RoiGroups"]["imagingRoiGroup"]["rois"]
    except (KeyError, TypeError):
        return []
    rois = rois if isinstance(rois, list) else [rois]
    return [r for r in rois if isinstance(r, dict) and r.get("enable", 1) not in (0, False)
            and isinstance(r.get("scanfields"), dict | list)]


def _roi_fields(roi: dict[str, Any], si: dict[str, Any], f: Fields, where: str) -> None:
    fields = roi["scanfields"]
    field = fields[0] if isinstance(fields, list) else fields
    if not isinstance(field, dict):
        return
    res = _flat(field.get("pixelResolutionXY"))
    if len(res) != 2 or not all(_whole(v) for v in res):
        return
    px, lines = int(res[0]), int(res[1])
    f.header("horizontalResolution", px, "Artist tag: the ROI's scanfield pixelResolutionXY")
    f.header("verticalResolution", lines, "Artist tag: the ROI's scanfield pixelResolutionXY")
    size = _flat(field.get("sizeXY"))
    um_per_deg = _positive(si.get("SI.objectiveResolution"))
    if len(size) == 2 and um_per_deg and size[0] > 0 and size[1] > 0:
        f.header("xVoxelSize", size[0] * um_per_deg / px, f"Artist tag: scanfield sizeXY x "
                 f"{where} SI.objectiveResolution ({um_per_deg:g} µm/deg) / pixels")
        f.header("yVoxelSize", size[1] * um_per_deg / lines, f"Artist tag: scanfield sizeXY x "
                 f"{where} SI.objectiveResolution ({um_per_deg:g} µm/deg) / lines")


def _page_size(info: TiffInfo, f: Fields) -> None:
    width, length = info.number(_WIDTH), info.number(_LENGTH)
    if width and length:
        f.header("horizontalResolution", width, "first page's ImageWidth tag")
        f.header("verticalResolution", length, "first page's ImageLength tag")


def _epoch(description: str) -> datetime.datetime | None:
    """The first frame's ``epoch = [2023  9 22 12 46 9.383]`` (ScanImage 2016 and later)."""
    m = re.search(r"^epoch\s*=\s*\[([^\]]*)\]", description, re.MULTILINE)
    parts = [finite_number(v) for v in m[1].split()] if m else []
    if len(parts) != 6 or any(v is None or v < 0 for v in parts):
        return None
    y, mo, d, h, mi = (int(v) for v in parts[:5])  # type: ignore[arg-type]
    sec = float(parts[5])  # type: ignore[arg-type]
    try:
        return datetime.datetime(y, mo, d, h, mi) + datetime.timedelta(seconds=sec)
    except (ValueError, OverflowError):
        return None


def _state_values(description: str) -> dict[str, str]:
    """``state.x=value`` lines of a ScanImage 3.x/4.x header (CR or LF separated)."""
    out: dict[str, str] = {}
    for line in re.split(r"[\r\n]+", description):
        key, sep, value = line.partition("=")
        if sep and key.startswith("state."):
            out.setdefault(key.strip(), value.strip().strip("'"))
    return out


def _legacy_time(text: str) -> datetime.datetime | None:
    for fmt in ("%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S"):
        try:
            return datetime.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def _iso_time(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _mm_time(text: Any) -> datetime.datetime | None:
    if not isinstance(text, str):
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S.%f %z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S.%f",
                "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


_UM = {"m": 1e6, "cm": 1e4, "mm": 1e3, "µm": 1.0, "um": 1.0, "nm": 1e-3, "pm": 1e-6}


# ImageJ's spatial and time units as its Properties dialog and FileSaver write them
# (``unit=micron``, ``\\u00B5m``; ``tunit`` absent means "sec"), in µm and in seconds.
_IJ_LENGTH = {"micron": 1.0, "microns": 1.0, "µm": 1.0, "um": 1.0, "nm": 1e-3,
              "mm": 1e3, "cm": 1e4, "m": 1e6, "meter": 1e6}
_IJ_SECONDS = {"sec": 1.0, "s": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3,
               "msec": 1e-3, "µs": 1e-6, "us": 1e-6, "usec": 1e-6, "min": 60.0,
               "hour": 3600.0, "hr": 3600.0, "h": 3600.0}


def _ij_text(value: Any) -> str:
    """An ImageJ unit as a key of the tables above (``\\u00B5m`` and ``μm`` are ``µm``)."""
    return str(value).replace("\\u00B5", "µ").replace("\u03bc", "µ").strip().lower()


def _length_um(value: Any, unit: Any) -> float | None:
    number = _positive(finite_number(value))
    scale = _UM.get(str(unit).replace("\u03bc", "µ"))
    return number * scale if number and scale else None


_SECONDS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "min": 60.0, "h": 3600.0}


def _seconds(value: Any, unit: Any) -> float | None:
    number = _positive(finite_number(value))
    scale = _SECONDS.get(str(unit).replace("\u03bc", "µ"))
    return number * scale if number and scale else None


def _mm_summary(path: Path, info: TiffInfo) -> dict[str, Any]:
    """Micro-Manager's summary JSON, stored after the TIFF header (offset 32: header
    2355492, length, JSON); its length is checked against the file and a limit."""
    bo = info.layout.byteorder
    with open(path, "rb") as fh:
        fh.seek(32)
        head = fh.read(8)
        if len(head) < 8:
            return {}
        magic, length = struct.unpack(bo + "II", head)
        if magic != 2355492:
            return {}
        if length > _MM_SUMMARY_LIMIT or 40 + length > info.size:
            raise ExtractionError(path, f"Micro-Manager summary declares {length} bytes, past "
                                  f"the end of the file ({info.size} bytes) or over "
                                  f"{_MM_SUMMARY_LIMIT // 2**20} MiB")
        raw = fh.read(length)
    try:
        data = json.loads(raw.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return {}
    summary = data.get("Summary", data) if isinstance(data, dict) else {}
    return summary if isinstance(summary, dict) else {}
