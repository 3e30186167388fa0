"""What runs in the worker process: open a file with its neo rawio class, parse its header,
and hand back plain values (no neo objects cross the pipe).

This is the only module of the family that imports neo. It runs under
:func:`extractors._isolate.isolated`, so a damaged file that crashes, hangs or exhausts
the worker fails alone with one line.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .formats import by_key

__all__ = ["summarize"]

#: Characters of a neo error message kept in our one-line error.
_MESSAGE_LIMIT = 200


def summarize(key: str, path: str) -> dict[str, Any]:
    """neo's header of ``path`` (format row ``key``), as plain values; what neo prints,
    logs or warns on the way is caught (never the user's terminal) and handed back in
    ``warnings`` where it says something about the file (see :func:`_quiet`)."""
    said: list[str] = []
    with _quiet(said):
        summary = _summarize(key, path)
    summary["warnings"] = _unique(_kept([*summary["warnings"], *said]))
    return summary


#: neo's lines that say nothing about the file's values, or what a record already says:
#: dropped. Everything else neo says reaches the record's warnings, never stderr.
_NOISE = (
    re.compile(r"^Cannot rescale to voltage"),  # NSx 2.1 states no units: "no lsb" says so
    re.compile(r"deprecat", re.IGNORECASE),
    re.compile(r"^\**$"),  # MaxWell frames its messages in asterisks
    re.compile(r"already located in"),  # MaxWell's compression plug-in, not the file
    re.compile(r"cache file"),
)


def _kept(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        text = " ".join(line.split())
        if text and not any(p.search(text) for p in _NOISE):
            out.append(_cut(text))
    return out


class _Lines(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.INFO)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage().splitlines()[0] if record.getMessage() else "")


@contextlib.contextmanager
def _quiet(said: list[str]) -> Iterator[None]:
    """neo's prints (TDT, MaxWell), its logger (its own handler writes to stderr:
    SpikeGadgets, AlphaOmega) and warnings raised outside ``parse_header`` go to ``said``
    instead of the worker's stderr, which is the user's terminal."""
    printed = io.StringIO()
    logger = logging.getLogger("neo")
    handlers, propagate = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [_Lines(said)], False
    try:
        with warnings.catch_warnings(record=True) as seen, \
                contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            warnings.simplefilter("always")
            yield
    finally:
        logger.handlers, logger.propagate = handlers, propagate
        said += [str(w.message).splitlines()[0] for w in seen if str(w.message)
                 and not issubclass(w.category, DeprecationWarning | FutureWarning
                                    | ResourceWarning)]
        said += printed.getvalue().splitlines()


def _summarize(key: str, path: str) -> dict[str, Any]:
    """neo's header of ``path`` (format row ``key``), as plain values.

    Returns ``{"rawio", "variants": [{"label", "streams", "n_spike_channels",
    "n_event_channels", "rec_datetime", "extra"}], "warnings"}``: one variant per opening
    (a MaxWell file with several recordings is opened once per recording).
    """
    fmt = by_key(key)
    p = Path(path)
    if fmt.rawio is None:
        return _OWN[fmt.key](p)
    if fmt.key == "plexon":
        from .plexon import summarize as plexon_headers

        # The headers state the counts; neo's walk of every block only when they cannot
        # be trusted (see extractors/neo/plexon.py).
        own = plexon_headers(p)
        if own is not None:
            return own
    variants = []
    caught: list[str] = []
    for label, kwargs in _openings(fmt.key, p, fmt.open_kwargs(p)):
        reader = _parse(p, fmt.rawio or "", fmt.label, kwargs, caught)
        variants.append({"label": label, **_header(fmt.key, p, reader)})
    return {"rawio": fmt.rawio, "variants": variants, "warnings": _unique(caught)}


def _parse(p: Path, rawio: str, label: str, kwargs: dict[str, Any], caught: list[str]) -> Any:
    try:
        import neo.rawio
    except ImportError:
        raise ExtractionError(p, f"{label}: reading it needs neo (pip install neo), which "
                              "is not installed") from None
    if "." in rawio:  # a reader neo ships but does not list (bci2000rawio.BCI2000RawIO)
        import importlib

        module, _, name = rawio.rpartition(".")
        cls = getattr(importlib.import_module(f"neo.rawio.{module}"), name)
    else:
        cls = getattr(neo.rawio, rawio)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            reader = cls(**kwargs)
            reader.parse_header()
    except MemoryError:
        raise ExtractionError(p, f"{label}: neo {rawio} ran out of memory on its header: "
                              "a damaged file") from None
    except ImportError as exc:
        what = exc.name or " ".join(str(exc).split())[:_MESSAGE_LIMIT] or "a library"
        raise ExtractionError(p, f"{label}: neo {rawio} needs a library that is not "
                              f"installed ({what})") from None
    except Exception as exc:  # neo raises every kind of error on a damaged file
        raise ExtractionError(p, f"{label}: neo {rawio} could not read its header "
                              f"({_short(exc)})") from None
    caught += [_cut(str(w.message).splitlines()[0] if str(w.message) else "") for w in seen
               if not issubclass(w.category, DeprecationWarning | FutureWarning | ResourceWarning)
               and "deprecated" not in str(w.message)]
    return reader


def _openings(key: str, p: Path, kwargs: dict[str, Any]) -> list[tuple[str | None,
                                                                       dict[str, Any]]]:
    """(label, kwargs) per opening: MaxWell needs one per recording (``rec_name``)."""
    if key != "maxwell":
        return [(None, kwargs)]
    import h5py

    try:
        with h5py.File(p, "r") as h5:
            wells = h5.get("wells")
            names = sorted({r for w in wells.values() for r in w.keys()}) if wells else []
    except Exception as exc:
        raise ExtractionError(p, f"MaxWell: not a readable HDF5 file ({_short(exc)})") from None
    if len(names) <= 1:
        return [(None, kwargs)]
    return [(name, {**kwargs, "rec_name": name}) for name in names]


def _header(key: str, p: Path, reader: Any) -> dict[str, Any]:
    h = reader.header
    channels = h["signal_channels"]
    streams: list[dict[str, Any]] = []
    for si, stream in enumerate(h["signal_streams"]):
        mine = channels[channels["stream_id"] == stream["id"]]
        segments = []
        for b in range(int(h["nb_block"])):
            for s in range(int(h["nb_segment"][b])):
                size = int(reader.get_signal_size(b, s, si))
                t0 = float(reader.get_signal_t_start(b, s, si))
                segments.append((size, t0))
        streams.append({
            "name": str(stream["name"]),
            "id": str(stream["id"]),
            "n_channels": len(mine),
            "rates": sorted({float(x) for x in mine["sampling_rate"]}),
            "dtypes": sorted({str(x) for x in mine["dtype"]}),
            "units": sorted({str(x) for x in mine["units"]}),
            "gains": sorted({float(x) for x in mine["gain"]}),
            "offsets": sorted({float(x) for x in mine["offset"]}),
            "names": [str(x) for x in mine["name"]],
            "segments": segments,
        })
    ann = reader.raw_annotations["blocks"][0] if reader.raw_annotations["blocks"] else {}
    seg_anns: list[dict[str, Any]] = ann.get("segments") or [{}]
    when = ann.get("rec_datetime") or seg_anns[0].get("rec_datetime")
    signals = seg_anns[0].get("signals") or []
    for si, stream in enumerate(streams):
        # Channel groups neo states as an array annotation (Axona: each channel's tetrode)
        arrays = signals[si].get("__array_annotations__", {}) if si < len(signals) else {}
        for by, label in _GROUP_ANNOTATIONS.items():
            values = arrays.get(by)
            if values is not None and len(values) == stream["n_channels"]:
                stream["groups"] = {"by": by, "label": label,
                                    "values": [str(v) for v in values]}
                break
        kinds = arrays.get("kind")  # Elan: each channel's kind (EEG, EOG, ...)
        if kinds is not None and len(kinds) == stream["n_channels"]:
            stream["kinds"] = [str(v) for v in kinds]
    if key == "bci2000" and len(streams) == 1:
        _bci2000_gains(p, streams[0])
    return {
        "streams": streams,
        "n_spike_channels": len(h["spike_channels"]),
        "n_event_channels": len(h["event_channels"]),
        "rec_datetime": when.isoformat() if isinstance(when, datetime.datetime) else None,
        "extra": _extra(key, p, reader),
    }


#: Array annotations that group a stream's channels, and the label of a group.
_GROUP_ANNOTATIONS = {"tetrode_id": "tetrode"}


def _extra(key: str, p: Path, reader: Any) -> dict[str, Any]:
    """Format-specific header values neo keeps outside its common header."""
    out: dict[str, Any] = {}
    if key == "bci2000":
        # neo keeps the StorageTime parameter only as a number of local seconds
        params = reader.raw_annotations["blocks"][0].get("param_defs") or {}
        stored = params.get("StorageTime", {}).get("value")
        if isinstance(stored, str) and stored.strip():
            out["storage_time"] = stored.strip()[:64]
    if key == "neuralynx":
        headers = getattr(reader, "file_headers", {}) or {}
        for hdr in headers.values():
            opened = hdr.get("recording_opened") if hasattr(hdr, "get") else None
            if isinstance(opened, datetime.datetime):
                out["recording_opened"] = opened.isoformat()
            inverted = hdr.get("InputInverted") if hasattr(hdr, "get") else None
            if inverted is not None:
                out["input_inverted"] = bool(inverted)
    return out


#: BCI2000 gain units, in µV (the parameter's default unit is µV: "A/D units -> muV").
_BCI2000_UNITS = {"": 1.0, "muv": 1.0, "uv": 1.0, "µv": 1.0, "nv": 1e-3, "mv": 1e3, "v": 1e6}
_BCI2000_GAIN = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)([A-Za-zµ]*)$")


def _bci2000_gains(p: Path, stream: dict[str, Any]) -> None:
    """The ``SourceChGain`` list read again from the header text, in µV.

    neo 0.14.6 parses each gain with ``(-*\\d+)(\\w*)``: a decimal gain such as
    ``0.003`` becomes 0 (the digits before the point), so its gains cannot be used.
    """
    with open(p, "rb") as fh:
        first = fh.readline(4096).decode("latin-1")
        m = re.search(r"HeaderLen=\s*(\d+)", first)
        text = fh.read(min(int(m.group(1)) if m else 0, 4 << 20)).decode("latin-1")
    line = next((ln for ln in text.splitlines() if " SourceChGain=" in ln), None)
    if line is None:
        return
    words = line.split("//", 1)[0].split("SourceChGain=", 1)[1].split()
    if words and words[0] == "{":  # labelled list: { labels } values
        words = words[words.index("}") + 1:] if "}" in words else []
        count = stream["n_channels"]
    else:
        count = int(words.pop(0)) if words and words[0].isdigit() else 0
    gains = []
    for word in words[:count]:
        g = _BCI2000_GAIN.match(word)
        unit = _BCI2000_UNITS.get(g.group(2).lower()) if g else None
        if g is None or unit is None:
            return  # a gain we cannot read: neo's stand, and the record says why
        gains.append(float(g.group(1)) * unit)
    if len(gains) == stream["n_channels"] and gains:
        stream["gains"] = sorted(set(gains))
        stream["units"] = ["uV"]
        stream["gain_source"] = ("the header's SourceChGain, read by bsingest: neo reads a "
                                 "decimal gain as its integer part")


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) > _MESSAGE_LIMIT:
        text = text[:_MESSAGE_LIMIT] + "..."
    return f"{type(exc).__name__}: {text}"


def _cut(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _mcs_h5(p: Path) -> dict[str, Any]:
    """Multi Channel Systems' HDF5 (MC_DataManager / Multi Channel Experimenter export,
    protocol ``RawData``): ``/Data/Recording_N/AnalogStream/Stream_M`` with ``ChannelData``
    (channels x samples) and its ``InfoChannel`` table (``Tick`` in µs, ``ConversionFactor``
    x 10^``Exponent`` in ``Unit`` per step). One variant per recording."""
    import h5py

    try:
        f = h5py.File(p, "r")
    except Exception as exc:
        raise ExtractionError(p, f"MCS: not a readable HDF5 file ({_short(exc)})") from None
    try:
        with f:
            return _mcs_file(p, f)
    except ExtractionError:
        raise
    except Exception as exc:  # h5py raises every kind of error on a damaged file
        raise ExtractionError(p, f"MCS: a damaged HDF5 file ({_short(exc)})") from None


def _mcs_file(p: Path, f: Any) -> dict[str, Any]:
    import h5py

    kind = f.attrs.get("McsHdf5ProtocolType")
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    if kind != "RawData":
        raise ExtractionError(p, f"MCS: protocol {kind[:40]!r}, not RawData: not read")
    data = f.get("Data")
    if not isinstance(data, h5py.Group):
        raise ExtractionError(p, "MCS: no /Data group")
    when = _dotnet_ticks(data.attrs.get("DateInTicks"))
    names = sorted(k for k in data.keys() if k.startswith("Recording_"))
    several = len(names) > 1
    variants: list[dict[str, Any]] = []
    for rec in names:
        streams = []
        analog = data[rec].get("AnalogStream")
        for sname in sorted(analog.keys()) if isinstance(analog, h5py.Group) else []:
            streams.append(_mcs_stream(p, analog[sname], sname))
        variants.append({"label": rec if several else None, "streams": streams,
                         "n_spike_channels": 0, "n_event_channels": 0,
                         "rec_datetime": when, "extra": {}})
    if not variants:
        raise ExtractionError(p, "MCS: no /Data/Recording_N group")
    return {"rawio": "h5py (MCS HDF5)", "variants": variants, "warnings": []}


def _mcs_stream(p: Path, g: Any, sname: str) -> dict[str, Any]:
    import numpy as np

    label = g.attrs.get("Label", b"")
    label = (label.decode(errors="replace") if isinstance(label, bytes) else str(label)).strip()
    data, info = g.get("ChannelData"), g.get("InfoChannel")
    if data is None or info is None or data.ndim != 2 or len(info) != data.shape[0]:
        raise ExtractionError(p, f"MCS: {sname} has no ChannelData of one row per "
                              "InfoChannel entry")
    if len(info) > 65536:
        raise ExtractionError(p, f"MCS: {sname} lists {len(info)} channels")
    table = info[()]
    fields = table.dtype.names or ()
    for need in ("Tick", "ConversionFactor", "Exponent", "Unit"):
        if need not in fields:
            raise ExtractionError(p, f"MCS: {sname}/InfoChannel has no {need} column")
    ticks = {int(t) for t in table["Tick"]}
    rates = sorted(1e6 / t for t in ticks if t > 0)
    if len(rates) != len(ticks):
        raise ExtractionError(p, f"MCS: {sname}: Tick {sorted(ticks)} µs is not a sampling "
                              "interval")
    gains = sorted({float(c) * 10.0 ** int(e) for c, e in zip(table["ConversionFactor"],
                                                               table["Exponent"], strict=True)})
    units = sorted({u.decode(errors="replace") if isinstance(u, bytes) else str(u)
                    for u in table["Unit"]})
    names = [x.decode(errors="replace") if isinstance(x, bytes) else str(x)
             for x in (table["Label"] if "Label" in fields else [""] * len(table))]
    return {"name": label or sname, "id": sname, "n_channels": int(data.shape[0]),
            "rates": rates, "dtypes": [np.dtype(data.dtype).name], "units": units,
            "gains": gains, "offsets": [0.0], "names": names,
            "segments": [(int(data.shape[1]), 0.0)]}


def _dotnet_ticks(value: Any) -> str | None:
    """.NET DateTime ticks (100 ns since 0001-01-01) as ISO text; None for none."""
    try:
        ticks = int(value)
    except (TypeError, ValueError):
        return None
    if ticks <= 0 or ticks > 3155378975999999999:
        return None
    return (datetime.datetime(1, 1, 1) + datetime.timedelta(microseconds=ticks // 10)).isoformat()


_OWN = {"mcsh5": _mcs_h5}
