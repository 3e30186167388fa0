"""Raw interleaved binary ephys (``.dat``, ``.lfp``, ``.eeg``, ``.bin``), with or without
a Neuroscope session XML.

The file has no header: ``nSamples x nChannels`` values of one dtype, channel-interleaved.
Everything else comes from the Neuroscope / Buzsaki-lab XML beside it (``<base>.xml``,
else the single Neuroscope XML in the folder), else from a CellExplorer ``session.mat`` or
buzcode ``sessionInfo.mat`` beside it (:mod:`extractors.cellexplorer`), or from parameters
the user states.

Choice of reader: our own, with defusedxml. neo's ``NeuroScopeRawIO`` reports ``.lfp`` and
``.eeg`` at the wide-band ``samplingRate`` (they run at ``lfpSamplingRate``), ignores
``amplification`` and memory-maps the data file. Ours does one ``stat`` and one XML
parse: the same cost for a 1 MB and a 1 TB file (``benchmarks/bench_rawbinary.py``).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError, SidecarError

from .base import LSB_BOUNDS, Claim, Extraction, Extractor, Fields, special_file, whole_frames
from .cellexplorer import SessionMat, find_session_mat, read_session_mat
from .run import cached

__all__ = ["NeuroscopeXml", "RawBinaryExtractor", "find_neuroscope_xml", "read_neuroscope_xml"]

_LFP_SUFFIXES = (".lfp", ".eeg")
_DTYPES = {
    "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
    "float32": 4, "float64": 8,
}
_NBITS_DTYPE = {8: "int8", 16: "int16", 32: "int32"}
# Sidecar XMLs larger than this are not Neuroscope session files.
_XML_LIMIT = 64 * 1024 * 1024
_DEFAULT_LFP_RATE = 1250.0


@dataclass(frozen=True, slots=True)
class NeuroscopeXml:
    """What bsingest uses from a Neuroscope session XML."""

    path: Path
    n_channels: int | None
    n_bits: int | None
    sampling_rate: float | None
    lfp_sampling_rate: float | None
    voltage_range: float | None
    amplification: float | None
    offset: float | None  # acquisitionSystem/offset: named in lsb's provenance only
    groups: list[tuple[list[int], list[int], str | None]]  # (channels, skipped, label)
    file_rates: dict[str, float]  # extension (no dot) -> samplingRate, from <files>


class RawBinaryExtractor(Extractor):
    """Interleaved binary ephys; Neuroscope XML sidecar or stated parameters."""

    name = "rawbinary"
    suffixes = (".dat", ".lfp", ".eeg", ".bin")
    claim_endings = suffixes
    record_types = ("ExtracellularEphys", "GeneralTimeSeries", "Electroneurogram",
                    "IntracellularEphys")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if path.suffix.lower() not in cls.suffixes:
            return Claim.NO
        if find_neuroscope_xml(path) or find_session_mat(path):
            return Claim.SPECIFIC
        return Claim.SUFFIX

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        xml = find_neuroscope_xml(path)
        if xml is None:
            mat = find_session_mat(path)
            return [mat] if mat else []
        return [xml]

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        xml_path = find_neuroscope_xml(path)
        xml = None
        if xml_path is not None:
            try:
                found = xml_path  # one XML describes every .dat and .lfp beside it
                xml = cached("neuroscope-xml", found, lambda: read_neuroscope_xml(found))
            except SidecarError as exc:  # name the data file first, then its sidecar
                raise SidecarError(path, f"{xml_path.name}: {exc.reason}") from exc
        else:
            mat_path = find_session_mat(path)
            if mat_path is not None:
                try:
                    session = mat_path
                    mat = cached("session-mat", session, lambda: read_session_mat(session))
                except SidecarError as exc:
                    raise SidecarError(path, f"{mat_path.name}: {exc.reason}") from exc
                return [self._from_session_mat(path, mat, stated)]
        f = Fields()
        f.computed("format", path.suffix.lstrip(".").upper(),
                   "the file's suffix: raw interleaved binary")
        n_channels = self._n_channels(path, xml, stated, f)
        dtype = self._dtype(path, xml, stated, f)
        self._rate(path, xml, stated, f)
        self._lsb(xml, stated, dtype, f)
        size = os.stat(path).st_size
        f.computed("nSamples", n_samples(path, size, n_channels, dtype),
                   f"{size} bytes / ({n_channels} channels x {_DTYPES[dtype]} bytes)")
        if xml is not None:
            self._groups(path, xml, n_channels, f)
        return [self.result(path, "ExtracellularEphys", f)]

    def _from_session_mat(self, path: Path, mat: SessionMat,
                          stated: Mapping[str, Any]) -> Extraction:
        """The record of ``path`` from a CellExplorer / buzcode session ``.mat``."""
        f = Fields()
        name = mat.path.name
        f.computed("format", path.suffix.lstrip(".").upper(),
                   f"the file's suffix: raw interleaved binary, described by {mat.kind}")
        if "n_channels" in stated:
            n = _as_int(path, "n_channels", stated["n_channels"])
            f.stated("nChannels", n)
        elif mat.n_channels:
            n = mat.n_channels
            f.header("nChannels", n, f"{name} {mat.where['nChannels']}")
        else:
            raise SidecarError(path, f"{name} states no channel count")
        if "dtype" in stated:
            dtype = str(stated["dtype"])
            if dtype not in _DTYPES:
                raise ExtractionError(path, f"dtype {dtype!r} is not one of {', '.join(_DTYPES)}")
            f.stated("type", dtype)
        elif mat.dtype is not None:
            if mat.dtype not in _DTYPES:
                raise SidecarError(path, f"{name}: sample type {mat.dtype!r} is not one of "
                                   f"{', '.join(_DTYPES)}")
            dtype = mat.dtype
            f.header("type", dtype, f"{name} {mat.where['type']}")
        else:
            dtype = "int16"
            f.default("type", dtype, f"{name} states no sample type; int16 assumed")
        lfp = path.suffix.lower() in _LFP_SUFFIXES
        if "sr" in stated:
            f.stated("sr", _as_rate(path, stated["sr"]))
        elif lfp and mat.sr_lfp:
            f.header("sr", mat.sr_lfp, f"{name} {mat.where['srLfp']} (.{path.suffix[1:]} "
                     "files run at the LFP rate)")
        elif not lfp and mat.sr:
            f.header("sr", mat.sr, f"{name} {mat.where['sr']}")
        else:
            raise SidecarError(path, f"{name} states no {'LFP ' if lfp else ''}sampling rate")
        if "lsb" in stated:
            f.stated("lsb", float(stated["lsb"]))
        elif mat.lsb is not None and LSB_BOUNDS[0] <= mat.lsb <= LSB_BOUNDS[1]:
            if "leastSignificantBit" in mat.lsb_detail:  # stated in µV by the session
                f.header("lsb", mat.lsb, mat.lsb_detail)
            else:  # buzcode: VoltageRange / 2^nBits / Amplification
                f.computed("lsb", mat.lsb, mat.lsb_detail)
        elif mat.lsb is not None:
            f.warn(f"{name}: lsb {mat.lsb:g} µV is outside the plausible {LSB_BOUNDS[0]:g} "
                   f"to {LSB_BOUNDS[1]:g} µV: no lsb")
        size = os.stat(path).st_size
        f.computed("nSamples", n_samples(path, size, n, dtype),
                   f"{size} bytes / ({n} channels x {_DTYPES[dtype]} bytes)")
        if mat.groups:
            for channels, label in mat.groups:
                bad = [c for c in channels if c >= n]
                if bad:
                    raise SidecarError(path, f"{name}: {label} lists channels {bad}, but "
                                       f"nChannels is {n}")
            f.header("electrodeGroups",
                     [{"channels": c, "label": label} for c, label in mat.groups],
                     f"{name} {mat.where['groups']}")
        tags = [{"tag": tag, "channels": sorted(set(c))} for tag, c in mat.tags.items()
                if c and all(x < n for x in c)]
        if tags:
            f.header("channelTags", tags, f"{name} {mat.where['tags']}")
        return self.result(path, "ExtracellularEphys", f)

    # Each value: stated by the user wins over the XML (with a warning if they differ).

    def _n_channels(self, path: Path, xml: NeuroscopeXml | None, stated: Mapping[str, Any],
                    f: Fields) -> int:
        from_xml = xml.n_channels if xml else None
        if "n_channels" in stated:
            n = _as_int(path, "n_channels", stated["n_channels"])
            f.stated("nChannels", n)
            if from_xml is not None and from_xml != n:
                f.warn(f"stated nChannels {n} differs from {xml.path.name}: {from_xml}")  # type: ignore[union-attr]
        elif from_xml is not None:
            n = from_xml
            f.header("nChannels", n, f"{xml.path.name} acquisitionSystem/nChannels")  # type: ignore[union-attr]
        else:
            raise ExtractionError(
                path, _no_sidecar_reason(path, "the channel count (--n-channels)"))
        if n <= 0:
            raise ExtractionError(path, f"nChannels is {n}; a recording has at least one channel")
        return n

    def _dtype(self, path: Path, xml: NeuroscopeXml | None, stated: Mapping[str, Any],
               f: Fields) -> str:
        if "dtype" in stated:
            dtype = str(stated["dtype"])
            if dtype not in _DTYPES:
                raise ExtractionError(path, f"dtype {dtype!r} is not one of {', '.join(_DTYPES)}")
            f.stated("type", dtype)
            return dtype
        if xml is not None and xml.n_bits is not None:
            dtype = _NBITS_DTYPE.get(xml.n_bits)  # type: ignore[assignment]
            if dtype is None:
                raise SidecarError(path, f"{xml.path.name}: nBits {xml.n_bits} is not 8, 16 or 32")
            f.header("type", dtype, f"{xml.path.name} acquisitionSystem/nBits = {xml.n_bits}")
            return dtype
        f.default("type", "int16", "raw binary ephys is int16 unless stated (--dtype)")
        return "int16"

    def _rate(self, path: Path, xml: NeuroscopeXml | None, stated: Mapping[str, Any],
              f: Fields) -> None:
        if "sr" in stated:
            sr = _as_rate(path, stated["sr"])
            f.stated("sr", sr)
            return
        if xml is None:
            raise ExtractionError(path, _no_sidecar_reason(path, "the sampling rate (--sr)"))
        ext = path.suffix.lower().lstrip(".")
        if ext in xml.file_rates:
            f.header("sr", xml.file_rates[ext],
                     f"{xml.path.name} files/file[extension={ext}]/samplingRate")
        elif path.suffix.lower() in _LFP_SUFFIXES:
            if xml.lfp_sampling_rate is not None:
                f.header("sr", xml.lfp_sampling_rate,
                         f"{xml.path.name} fieldPotentials/lfpSamplingRate "
                         f"(.{ext} files run at the LFP rate)")
            else:
                f.default("sr", _DEFAULT_LFP_RATE, "Neuroscope's default lfpSamplingRate")
                f.warn(f"{xml.path.name} has no lfpSamplingRate; assumed {_DEFAULT_LFP_RATE:g} Hz")
        elif xml.sampling_rate is not None:
            f.header("sr", xml.sampling_rate, f"{xml.path.name} acquisitionSystem/samplingRate")
        else:
            raise SidecarError(path, f"{xml.path.name} has no acquisitionSystem/samplingRate")

    def _lsb(self, xml: NeuroscopeXml | None, stated: Mapping[str, Any], dtype: str,
             f: Fields) -> None:
        if "lsb" in stated:
            f.stated("lsb", float(stated["lsb"]))
            return
        if xml is None or xml.voltage_range is None or xml.n_bits is None:
            return
        amp = xml.amplification
        if amp is None:
            # The step is voltageRange / 2^nBits / amplification: without the gain it is
            # unknown. Assuming 1 made it 1000 times the usual ndManager/buzcode gain's.
            f.warn(f"{xml.path.name} has no amplification: the step in µV is unknown, no lsb")
            return
        if amp <= 0 or xml.voltage_range <= 0:
            f.warn(f"{xml.path.name}: voltageRange {xml.voltage_range} / "
                   f"amplification {amp}: no lsb")
            return
        lsb = xml.voltage_range / (2 ** xml.n_bits) / amp * 1e6
        if not LSB_BOUNDS[0] <= lsb <= LSB_BOUNDS[1]:
            f.warn(f"{xml.path.name}: voltageRange {xml.voltage_range:g} V / 2^{xml.n_bits} / "
                   f"amplification {amp:g} is {lsb:g} µV per step, outside the plausible "
                   f"{LSB_BOUNDS[0]:g} to {LSB_BOUNDS[1]:g} µV: no lsb")
            return
        detail = (f"{xml.path.name}: voltageRange {xml.voltage_range:g} V / 2^{xml.n_bits} / "
                  f"amplification {amp:g}, in µV")
        if xml.offset:  # neo ignores both amplification and offset; say what we did
            detail += (f"; acquisitionSystem/offset {xml.offset:g} shifts the zero level, "
                       "not the step")
        f.computed("lsb", lsb, detail)

    def _groups(self, path: Path, xml: NeuroscopeXml, n_channels: int, f: Fields) -> None:
        if not xml.groups:
            return
        groups, bad_channels, bad_groups = [], [], []
        for i, (channels, skipped, label) in enumerate(xml.groups):
            out_of_range = [c for c in channels if c >= n_channels]
            if out_of_range:
                raise SidecarError(path, f"{xml.path.name}: channel group {i + 1} lists "
                                   f"channels {out_of_range}, but nChannels is {n_channels}")
            groups.append({"channels": channels, "label": label or f"group{i + 1}"})
            if skipped:
                bad_channels += skipped
                bad_groups.append(i)
        where = f"{xml.path.name} anatomicalDescription/channelGroups"
        f.header("electrodeGroups", groups, where)
        if bad_channels:
            f.header("channelTags",
                     [{"tag": "bad", "channels": sorted(set(bad_channels)), "groups": bad_groups}],
                     f"{where}: channels with skip=\"1\"")


def n_samples(path: Path, size: int, n_channels: int, dtype: str) -> int:
    """Samples per channel of an interleaved file; refuse sizes that are not whole frames."""
    return whole_frames(path, size, n_channels, dtype, _DTYPES[dtype])


def find_neuroscope_xml(path: Path) -> Path | None:
    """The Neuroscope XML describing ``path``: ``<base>.xml``, else the folder's single one."""
    same = path.with_suffix(".xml")
    if same.is_file() or special_file(same):
        return same  # a FIFO or device is returned to be named as such, never opened
    try:
        folder_mtime = os.stat(path.parent).st_mtime_ns
    except OSError:
        return None
    candidates = _neuroscope_xmls(str(path.parent), folder_mtime)
    return candidates[0] if len(candidates) == 1 else None


@functools.lru_cache(maxsize=256)
def _neuroscope_xmls(folder: str, mtime_ns: int) -> tuple[Path, ...]:
    # Cached per folder (and its mtime): a session of 10,000 .dat files beside one XML
    # lists the folder once, not once per file.
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return ()
    return tuple(Path(e.path) for e in entries if e.name.lower().endswith(".xml")
                 and e.is_file() and _looks_neuroscope(Path(e.path)))


def _looks_neuroscope(path: Path) -> bool:
    # Other acquisition systems leave XML beside their .dat (Intan's settings.xml):
    # only a <parameters> file with an <acquisitionSystem> is a Neuroscope session.
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return b"<parameters" in head and b"<acquisitionSystem" in head


def read_neuroscope_xml(path: Path) -> NeuroscopeXml:
    """Parse a Neuroscope XML safely: entities and external references are refused.

    One streaming pass (``iterparse``), each channel group dropped from memory once read,
    so the cost is linear in the file and stops at :data:`_MAX_GROUPS` groups. Numbers
    must be finite; counts whole and bounded (``nBits`` 1 to 64).
    """
    from xml.etree.ElementTree import ParseError

    import defusedxml
    import defusedxml.ElementTree as SafeET

    kind = special_file(path)
    if kind:
        raise SidecarError(path, f"{kind}, not a file: not read")
    values: dict[str, str] = {}  # the first text of each path of interest
    groups: list[tuple[list[int], list[int], str | None]] = []
    file_rates: dict[str, float] = {}
    tags: list[str] = []
    root_tag = None
    has_acquisition = False
    try:
        if os.stat(path).st_size > _XML_LIMIT:
            raise SidecarError(path, f"larger than {_XML_LIMIT // 2**20} MiB; not a session XML")
        for event, el in SafeET.iterparse(str(path), events=("start", "end"),
                                          forbid_dtd=False, forbid_entities=True,
                                          forbid_external=True):
            if event == "start":
                tags.append(el.tag)
                if len(tags) > _MAX_DEPTH:
                    raise SidecarError(path, f"elements nested more than {_MAX_DEPTH} deep: "
                                       "not a Neuroscope session XML")
                if root_tag is None:
                    root_tag = el.tag
                    if root_tag != "parameters":
                        break
                continue
            where = "/".join(tags[1:])
            tags.pop()
            if where == "acquisitionSystem":
                has_acquisition = True
            if where in _XML_VALUES:
                values.setdefault(where, (el.text or "").strip())
            elif where == "anatomicalDescription/channelGroups/group":
                if len(groups) >= _MAX_GROUPS:
                    raise SidecarError(path, f"more than {_MAX_GROUPS} channel groups: not a "
                                       "session of a real acquisition system")
                groups.append(_group(path, el))
                el.clear()
            elif where == "files/file":
                ext = (el.findtext("extension") or "").strip().lstrip(".").lower()
                rate = (el.findtext("samplingRate") or "").strip()
                if ext and rate and ext not in file_rates:
                    file_rates[ext] = _number(path, f"files/file[{ext}]/samplingRate", rate)
                el.clear()
            elif len(tags) <= 2:
                el.clear()  # a finished top-level section: nothing of it is needed again
    except defusedxml.DefusedXmlException as exc:
        raise SidecarError(path, f"refused unsafe XML ({type(exc).__name__}: entity "
                           "declarations and external references are not allowed)") from exc
    except ParseError as exc:
        raise SidecarError(path, f"malformed XML: {exc}") from exc
    except OSError as exc:
        raise SidecarError(path, f"cannot read: {exc.strerror or exc}") from exc
    if root_tag != "parameters" or not has_acquisition:
        raise SidecarError(
            path, "not a Neuroscope session XML (no <parameters>/<acquisitionSystem>)")

    def num(xpath: str, whole: bool = False) -> Any:
        text = values.get(xpath)
        return _number(path, xpath, text, whole) if text else None

    n_bits = num("acquisitionSystem/nBits", True)
    if n_bits is not None and not 1 <= n_bits <= 64:
        raise SidecarError(path, f"acquisitionSystem/nBits is {n_bits}, not 1 to 64")
    return NeuroscopeXml(
        path=path,
        n_channels=num("acquisitionSystem/nChannels", True),
        n_bits=n_bits,
        sampling_rate=num("acquisitionSystem/samplingRate"),
        lfp_sampling_rate=num("fieldPotentials/lfpSamplingRate"),
        voltage_range=num("acquisitionSystem/voltageRange"),
        amplification=num("acquisitionSystem/amplification"),
        offset=num("acquisitionSystem/offset"),
        groups=groups,
        file_rates=file_rates,
    )


_XML_VALUES = frozenset({
    "acquisitionSystem/nChannels", "acquisitionSystem/nBits", "acquisitionSystem/samplingRate",
    "acquisitionSystem/voltageRange", "acquisitionSystem/amplification",
    "acquisitionSystem/offset", "fieldPotentials/lfpSamplingRate",
})
#: Neuroscope's deepest path is 5 elements; nesting far deeper is not a session file.
_MAX_DEPTH = 64
#: Channel groups read at most: more than any acquisition system has channels.
_MAX_GROUPS = 16384
#: Channel numbers (and counts) at most this: 2**31, far beyond any probe.
_MAX_CHANNEL = 2**31


def _shown(text: str) -> str:
    """A value from a file as a message shows it: cut to 40 characters."""
    return repr(text if len(text) <= 40 else text[:40] + f"... ({len(text)} characters)")


def _number(path: Path, xpath: str, text: str, whole: bool = False) -> Any:
    try:
        value = float(text) if len(text) <= 100 else math.inf
    except ValueError:
        raise SidecarError(path, f"{xpath} is {_shown(text)}, not a number") from None
    if not math.isfinite(value):
        raise SidecarError(path, f"{xpath} is {_shown(text)}, not a finite number")
    if whole:
        if not value.is_integer() or not 0 <= value <= _MAX_CHANNEL:
            raise SidecarError(path, f"{xpath} is {_shown(text)}, not a whole number from 0 to "
                               f"{_MAX_CHANNEL}")
        return int(value)
    return value


def _group(path: Path, g: Any) -> tuple[list[int], list[int], str | None]:
    channels, skipped = [], []
    for ch in g.findall("channel"):
        text = (ch.text or "").strip()
        if not (text.isdigit() and len(text) <= 10 and int(text) < _MAX_CHANNEL):
            raise SidecarError(path, f"channel {_shown(text)} is not a channel number")
        c = int(text)
        channels.append(c)
        if ch.get("skip", "0").strip() == "1":
            skipped.append(c)
    return channels, skipped, g.get("label")


# The same values, as a session's bsingest.toml states them per glob.
_TOML_KEYS = {"the channel count (--n-channels)": "n_channels",
              "the sampling rate (--sr)": "sr"}


def _no_sidecar_reason(path: Path, what: str) -> str:
    return (f"no Neuroscope XML beside it ({path.with_suffix('.xml').name} or a single .xml "
            f"in the folder) and {what} was not stated (or {_TOML_KEYS[what]} in a [[files]] "
            "table of bsingest.toml)")


def _as_int(path: Path, name: str, value: Any) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ExtractionError(path, f"{name} {value!r} is not a whole number") from None
    if n != float(value):
        raise ExtractionError(path, f"{name} {value!r} is not a whole number")
    return n


def _as_rate(path: Path, value: Any) -> float:
    try:
        sr = float(value)
    except (TypeError, ValueError):
        raise ExtractionError(path, f"sampling rate {value!r} is not a number") from None
    if not sr > 0:
        raise ExtractionError(path, f"sampling rate {value!r} is not positive")
    return sr
