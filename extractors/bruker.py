"""Bruker PrairieView sequences: the sequence's ``.xml`` beside its ``.ome.tif`` files.

The XML is the record (``TwoPhotonMicroscopy``) and the TIFFs are its companions
(sidecars): PrairieView writes one TIFF per frame and channel, and the XML lists every
frame, so everything is read from the XML, also when TIFFs are missing (a warning
says how many of the listed files are absent).

Reader: our own streaming pass over the XML with defusedxml (entities and external
references refused), each ``<Frame>`` dropped from memory once counted. neuroconv
(roiextractors) reads the same keys. Cost is linear in the XML (about 600 bytes per
frame: a one-hour 30 Hz series is ~65 MB and takes a few seconds); no TIFF is opened.

Values:

- ``frameRate`` = 1 / the top-level ``framePeriod`` (per frame: per plane of a
  multi-plane sequence, as ``nFrames`` counts planes); when the ``<Frame>`` elements' own
  state gives another period, a warning gives its rate (the frames' one where the top
  level gives none);
- ``horizontalResolution``/``verticalResolution`` = ``pixelsPerLine``/``linesPerFrame``;
- ``xVoxelSize``/``yVoxelSize`` = ``micronsPerPixel`` XAxis/YAxis; ``zVoxelSize`` only
  for a multi-plane sequence whose planes are evenly spaced (the ZAxis focus positions of
  its frames), never ``micronsPerPixel`` ZAxis alone (the z device's setting);
- ``nFrames`` = ``<Frame>`` elements over all ``<Sequence>`` elements (frames of one
  channel: a frame lists one file per channel);
- ``excitationWavelength`` only from a ``laserWavelength`` value (nm); ``laserPower``
  never: PrairieView writes Pockels-cell settings (0 to 1000), not mW;
- start: the ``<PVScan date>`` attribute (local time).
"""

from __future__ import annotations

import datetime
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bsingest.errors import SidecarError

from ._imaging import TWO_PHOTON, finite_number, iter_xml
from .base import Claim, Extraction, Extractor, Fields, Source

__all__ = ["BrukerExtractor"]

#: A PrairieView XML of a long T-series grows ~600 bytes a frame; refuse what no real one is.
_XML_LIMIT = 2 * 2**30


@dataclass
class _Sequence:
    type: str
    frames: int = 0
    files: list[str] = field(default_factory=list)
    channels: set[str] = field(default_factory=set)
    #: ZAxis positions of each frame (µm), by z device
    z: dict[str, list[float]] = field(default_factory=dict)
    #: The distinct framePeriod values the frames' own state shards give (s)
    periods: set[float] = field(default_factory=set)


@dataclass
class _PrairieView:
    version: str = ""
    date: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    sequences: list[_Sequence] = field(default_factory=list)


class BrukerExtractor(Extractor):
    """Bruker PrairieView T-series and Z-series (the sequence XML; TIFFs as companions)."""

    name = "bruker"
    suffixes = (".xml",)
    record_types = (TWO_PHOTON,)

    claim_endings = (".xml",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if path.suffix.lower() != ".xml":
            return Claim.NO
        try:
            with open(path, "rb") as fh:
                head = fh.read(1024)
        except OSError:
            return Claim.NO
        return Claim.SPECIFIC if b"<PVScan" in head else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        # PrairieView names each frame's file {sequence}_Cycle#####_Ch#_######.ome.tif;
        # its .env beside them holds the settings of the run, and References/ the
        # reference images (not recordings) of the channels.
        stem = path.stem
        out = sorted(p for p in path.parent.glob(f"{_escape(stem)}_*.tif") if p.is_file())
        env = path.with_suffix(".env")
        references = path.parent / "References"
        refs = (sorted(p for p in references.iterdir() if p.is_file())
                if references.is_dir() else [])
        return out + ([env] if env.is_file() else []) + refs

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        pv = _read(path)
        f = Fields()
        f.header("format", "Bruker PrairieView TIFF series",
                 f"{path.name}: PVScan version {pv.version or '?'}")
        state = pv.state
        self._rate(path, pv, f)
        for key, axis in (("pixelsPerLine", "horizontalResolution"),
                          ("linesPerFrame", "verticalResolution")):
            value = finite_number(state.get(key))
            if value is not None and value > 0 and value.is_integer():
                f.header(axis, int(value), f"{path.name} {key}")
        microns = state.get("micronsPerPixel")
        if isinstance(microns, dict):
            for index, axis in (("XAxis", "xVoxelSize"), ("YAxis", "yVoxelSize")):
                value = finite_number(microns.get(index, (None,))[0])
                if value is not None and value > 0:
                    f.header(axis, value, f"{path.name} micronsPerPixel {index}")
        self._wavelength(path, state, f)
        if not pv.sequences:
            raise SidecarError(path, "PrairieView XML lists no <Sequence>: no frames")
        frames = sum(s.frames for s in pv.sequences)
        kinds = sorted({s.type for s in pv.sequences})
        f.computed("nFrames", frames, f"<Frame> elements of {len(pv.sequences)} "
                   f"<Sequence> ({', '.join(kinds)}) in {path.name}")
        self._planes(path, pv, f)
        self._files(path, pv, f)
        when = _date(pv.date)
        if when is not None:
            f.started(when, Source.HEADER, f"{path.name} <PVScan date> (local time)")
        return [self.result(path, TWO_PHOTON, f)]

    def _rate(self, path: Path, pv: _PrairieView, f: Fields) -> None:
        """1 / the top-level framePeriod, the sequence's rate as PrairieView states it and
        its readers (roiextractors, the corpus' independent reader) report it.

        Each <Frame>'s own state shard may give another framePeriod (the corpus' T-series:
        0.033474224 s in every frame, its relativeTime steps, against 0.032953338 s at the
        top): a warning gives that rate, so a user who times by frames sees it. The frames'
        period serves where the top-level state gives none.
        """
        top = finite_number(pv.state.get("framePeriod"))
        periods = {p for s in pv.sequences for p in s.periods if p > 0}
        if top is None or top <= 0:
            if len(periods) == 1:
                [period] = periods
                f.header("frameRate", 1 / period, f"1 / {path.name} <Frame> framePeriod "
                         f"({period:g} s, every frame's state; no top-level one)")
            return
        f.header("frameRate", 1 / top, f"1 / {path.name} framePeriod ({top:g} s)")
        if len(periods) == 1 and not math.isclose(next(iter(periods)), top, rel_tol=1e-6):
            [period] = periods
            f.warn(f"the frames' own state says framePeriod {period:g} s ({1 / period:.6g} "
                   f"Hz); frameRate is 1 / the top-level framePeriod ({top:g} s)")
        elif len(periods) > 1:
            f.warn(f"the frames state {len(periods)} framePeriod values ({min(periods):g} to "
                   f"{max(periods):g} s): frameRate is 1 / the top-level framePeriod")

    def _wavelength(self, path: Path, state: dict[str, Any], f: Fields) -> None:
        lasers = state.get("laserWavelength")
        read = ([finite_number(v) for v, _ in lasers.values()] if isinstance(lasers, dict)
                else [finite_number(lasers)])
        values = sorted({v for v in read if v is not None and v > 0})
        if len(values) == 1:
            f.header("excitationWavelength", values[0], f"{path.name} laserWavelength (nm)")
        elif len(values) > 1:
            listed = ", ".join(f"{v:g}" for v in values)
            f.warn(f"laserWavelength lists {len(values)} lasers ({listed} nm): "
                   "excitationWavelength left out")

    def _planes(self, path: Path, pv: _PrairieView, f: Fields) -> None:
        multi = [s for s in pv.sequences if "zseries" in s.type.replace(" ", "").lower()]
        if not multi:
            return
        planes = multi[0].frames
        f.warn(f"multi-plane: {len(multi)} volumes of {planes} planes; frameRate is the rate "
               "of frames (planes), as nFrames counts them")
        # The device that moves between planes (the focus motor, or a piezo or ETL while
        # the motor stays) has one position per plane, evenly spaced.
        for device, positions in sorted(multi[0].z.items()):
            levels = sorted(set(positions))
            if len(levels) < 2 or len(levels) != planes:
                continue
            steps = {round(b - a, 6) for a, b in itertools.pairwise(levels)}
            if len(steps) == 1:
                f.header("zVoxelSize", steps.pop(), f"{path.name}: spacing of the {planes} "
                         f"planes' ZAxis positions (z device {device}, µm)")
                return

    def _files(self, path: Path, pv: _PrairieView, f: Fields) -> None:
        listed = [name for s in pv.sequences for name in s.files]
        if not listed:
            return
        present = {p.name for p in path.parent.iterdir()}  # one listing, not a stat a file
        missing = [n for n in listed if Path(n).name not in present]
        if missing:
            f.warn(f"{len(missing)} of the {len(listed)} TIFF files the XML lists are absent "
                   f"(first: {Path(missing[0]).name}); frames are counted from the XML")


def _escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _date(text: str) -> datetime.datetime | None:
    for fmt in ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S"):
        try:
            return datetime.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def _state_value(el: Any) -> Any:
    """A ``<PVStateValue>``: its value, or {index: (value, description)} of its children."""
    if "value" in el.attrib:
        return el.attrib["value"]
    out: dict[str, Any] = {}
    for child in el:
        tag = child.tag
        if tag == "IndexedValue":
            out[child.get("index", "")] = (child.get("value"), child.get("description", ""))
        elif tag == "SubindexedValues":
            subs = {s.get("subindex", ""): (s.get("value"), s.get("description", ""))
                    for s in child if s.tag == "SubindexedValue"}
            out[child.get("index", "")] = subs
    return out


def _frame_z(frame: Any) -> dict[str, float]:
    """A frame's ZAxis positions by z device (subindex: the focus motor, a piezo, an ETL)."""
    out: dict[str, float] = {}
    for shard in frame:
        if shard.tag != "PVStateShard":
            continue
        for value in shard:
            if value.tag == "PVStateValue" and value.get("key") == "positionCurrent":
                for axis in value:
                    if axis.tag == "SubindexedValues" and axis.get("index") == "ZAxis":
                        for sub in axis:
                            z = finite_number(sub.get("value"))
                            if z is not None:
                                out[sub.get("subindex", "")] = z
    return out


def _frame_period(frame: Any) -> float | None:
    """The framePeriod (s) a frame's own state shard gives, if any."""
    for shard in frame:
        if shard.tag != "PVStateShard":
            continue
        for value in shard:
            if value.tag == "PVStateValue" and value.get("key") == "framePeriod":
                return finite_number(value.get("value"))
    return None


def _read(path: Path) -> _PrairieView:
    pv = _PrairieView()
    current: _Sequence | None = None
    for event, el, depth in iter_xml(path, path, _XML_LIMIT):
        if event == "start":
            if depth == 1:
                if el.tag != "PVScan":
                    raise SidecarError(path, f"root element <{el.tag[:40]}>, not <PVScan>: not "
                                       "a PrairieView sequence XML")
                pv.version, pv.date = el.get("version", ""), el.get("date", "")
            elif depth == 2 and el.tag == "Sequence":
                current = _Sequence(el.get("type", ""))
            continue
        if depth == 3 and el.tag == "PVStateValue" and current is None:
            pv.state[el.get("key", "")] = _state_value(el)
        elif depth == 3 and el.tag == "Frame" and current is not None:
            current.frames += 1
            for child in el:
                if child.tag == "File":
                    current.channels.add(child.get("channel", ""))
                    if child.get("filename"):
                        current.files.append(child.get("filename"))
            if current.frames <= 100_000:  # a volume has far fewer planes
                for device, z in _frame_z(el).items():
                    current.z.setdefault(device, []).append(z)
            period = _frame_period(el)
            if period is not None and len(current.periods) < 64:
                current.periods.add(period)
            el.clear()
        elif depth == 2:
            if el.tag == "Sequence" and current is not None:
                pv.sequences.append(current)
                current = None
            el.clear()
    return pv
