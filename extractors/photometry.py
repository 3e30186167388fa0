"""Fiber photometry files (``FiberPhotometry``): pyPhotometry ``.ppd``, Neurophotometrics
CSV and Doric ``.doric``. One record per recording.

``FiberPhotometry`` has ``frameRate``, ``nFrames``, ``excitationWavelength`` and
``laserPower``. A frame is one sample of every signal the system acquires together. The
last two go in only when the file states them in the schema's quantity: an LED current
(pyPhotometry, mA) or a percentage is not a power in mW, and a file that interleaves
several wavelengths has no single excitation wavelength (the provenance names them).

**pyPhotometry** ``.ppd`` (our own reader: a 2-byte little-endian header length, a JSON
header, then uint16 words, ``analog << 1 | digital``, interleaved over the analog
signals; the layout of pyPhotometry's ``data_import.py``). ``frameRate`` = the header's
``sampling_rate``; ``nFrames`` = (file size - 2 - header length) / 2 /
``n_analog_signals`` (2 in version 0.2 headers, which do not state it); the start from
``date_time`` (the acquisition computer's local time). Reads the header only.

**Neurophotometrics** CSV (FP3002/FP3001 from Bonsai: ``FrameCounter``, ``Timestamp`` or
``SystemTimestamp`` in seconds, ``Flags`` or ``LedState``, ``Region<N><G|R>`` columns).
``nFrames`` = the data rows, counted by reading the file (a CSV states no count: the cost
is a read of the file, its line ends counted in 1 MiB chunks: 0.1 s for 100 MB);
``frameRate`` = (rows - 1) / (last timestamp - first), from the first and last rows.
The LED bits of the flags (1 = 415 nm, 2 = 470 nm, 4 = 560 nm; higher bits are inputs
and outputs, per the NPM manual's flag table) of the first 1,000 rows give the
wavelengths; one wavelength is ``excitationWavelength``, several interleaved are named
in the provenance only.

**Doric** ``.doric`` (HDF5, read with h5py in the worker process of
``extractors/_isolate.py``). The newer layout (Doric Neuroscience Studio 6,
``DataAcquisition/<device>/Signals/SeriesNNNN/<signal>/Time``, ``ROISignals`` for
camera systems) gives one record per series (a series is one acquisition run): the time
base of its demodulated lock-in signals (``LockInAOUT01/{Time,AIN01}`` or
``AIN01xAOUT01-LockIn/{Time,Values}``, both spellings occur), else of its camera ROIs,
else of ``AnalogIn``, else of any signal with a ``Time`` (digital I/O and the LED
outputs last); the older layout (``Traces/<device>/``,
with a ``*time*`` dataset) gives one record per device. ``nFrames`` is the length of
the time base, ``frameRate`` = (n - 1) / (last time - first time), two values read from
the dataset, never the signals. The start: the file's root ``Created`` attribute, where
it holds a time (the acquisition computer's clock, no zone).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import Claim, Extraction, Extractor, Fields, Source

__all__ = [
    "NPM_LED_WAVELENGTHS",
    "DoricExtractor",
    "NeurophotometricsExtractor",
    "PyPhotometryExtractor",
]

_FIBER = "FiberPhotometry"
_HEADER_LIMIT = 1 << 16  # a .ppd header length is a uint16


# --- pyPhotometry ------------------------------------------------------------------------

class PyPhotometryExtractor(Extractor):
    """pyPhotometry ``.ppd``: a JSON header and uint16 samples."""

    name = "pyphotometry"
    suffixes = (".ppd",)
    record_types = (_FIBER,)

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        size = os.stat(path).st_size
        with open(path, "rb") as fh:
            head = fh.read(2)
            if len(head) < 2:
                raise ExtractionError(path, f"{len(head)} byte: too short for the 2-byte "
                                      "header length")
            (n,) = struct.unpack("<H", head)
            if 2 + n > size:
                raise ExtractionError(path, f"the header length {n} points past the end of "
                                      f"the {size}-byte file: truncated or not a .ppd file")
            raw = fh.read(n)
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ExtractionError(path, f"the {n}-byte header is not JSON ({exc}): not a "
                                  "pyPhotometry file, or a damaged one") from None
        except RecursionError:
            raise ExtractionError(path, f"the {n}-byte header is JSON nested too deeply: a "
                                  "damaged file") from None
        if not isinstance(header, dict):
            raise ExtractionError(path, "the header is JSON but not an object")
        rate = header.get("sampling_rate")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not (
                math.isfinite(rate) and rate > 0):
            raise ExtractionError(path, f"header sampling_rate {str(rate)[:20]!r} is not a "
                                  "positive number")
        n_analog = header.get("n_analog_signals", 2)
        if isinstance(n_analog, bool) or not isinstance(n_analog, int) or not 1 <= n_analog <= 64:
            raise ExtractionError(path, f"header n_analog_signals {str(n_analog)[:20]!r} is not "
                                  "a signal count")
        version = header.get("version", "")
        f = Fields()
        f.header("format", "pyPhotometry .ppd", f"a {n}-byte JSON header (version {version}, mode "
                 f"{str(header.get('mode', '?'))[:40]!r})")
        f.header("frameRate", rate, f"{path.name} header sampling_rate")
        data = size - 2 - n
        words, odd = divmod(data, 2)
        frames, rest = divmod(words, n_analog)
        analog = ("header n_analog_signals" if "n_analog_signals" in header
                  else "2 analog signals (version 0.2 headers do not state n_analog_signals)")
        f.computed("nFrames", frames, f"({size} bytes - 2 - the {n}-byte header) / 2-byte "
                   f"words / {n_analog} signals ({analog})")
        if odd or rest:
            f.warn(f"{data} data bytes are not a whole number of {n_analog}-signal frames of "
                   "uint16 words: the last frame is partial (a recording cut off)")
        # LED_current is the LEDs' drive current in mA, not a light power: no laserPower.
        started = _iso(header.get("date_time"))
        if started is not None:
            f.started(started, Source.HEADER, f"{path.name} header date_time (the "
                      "acquisition computer's local time)")
        return [self.result(path, _FIBER, f)]


def _iso(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when if when.year >= 1980 else None


# --- Neurophotometrics -------------------------------------------------------------------

#: LED bits of the NPM flag (``Flags``/``LedState``) column -> excitation wavelength, nm.
NPM_LED_WAVELENGTHS: dict[int, int] = {1: 415, 2: 470, 4: 560}
_NPM_TIME = ("SystemTimestamp", "Timestamp")
_NPM_FLAGS = ("LedState", "Flags")
_SNIFF_ROWS = 1000
_TAIL = 64 * 1024


def _npm_columns(path: Path) -> list[str] | None:
    """The header row of a Neurophotometrics CSV, or None when it is not one."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(4096)
    except OSError:
        return None
    cols = [c.strip().strip('"') for c in first.decode("latin-1").strip().split(",")]
    if "FrameCounter" not in cols or not any(c in cols for c in _NPM_FLAGS):
        return None
    if not any(c in cols for c in _NPM_TIME):
        return None
    return cols


class NeurophotometricsExtractor(Extractor):
    """Neurophotometrics FP3002 CSV: frames counted by their rows."""

    name = "neurophotometrics"
    suffixes = (".csv",)
    record_types = (_FIBER,)

    claim_endings = (".csv",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if path.suffix.lower() != ".csv":
            return Claim.NO
        return Claim.SPECIFIC if _npm_columns(path) else Claim.NO

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        cols = _npm_columns(path)
        if cols is None:
            raise ExtractionError(path, "no FrameCounter, timestamp and LED flag columns in "
                                  "the first line: not a Neurophotometrics CSV")
        t_col = next(c for c in _NPM_TIME if c in cols)
        flag_col = next(c for c in _NPM_FLAGS if c in cols)
        ti, fi = cols.index(t_col), cols.index(flag_col)
        rows, first, flags, last = self._scan(path, len(cols), ti, fi)
        f = Fields()
        f.header("format", "Neurophotometrics CSV", f"columns FrameCounter, {t_col}, {flag_col}")
        if rows == 0:
            raise ExtractionError(path, "a header row and no data rows")
        lights = sorted({NPM_LED_WAVELENGTHS[b] for v in flags for b in NPM_LED_WAVELENGTHS
                         if v & b})
        shown = ", ".join(f"{w} nm" for w in lights) or "no LED on"
        f.computed("nFrames", rows, f"the data rows of {path.name} (one per camera frame; "
                   f"the LEDs in the first rows' {flag_col}: {shown})")
        if rows > 1 and first is not None and last is not None and last > first:
            f.computed("frameRate", (rows - 1) / (last - first),
                       f"({rows} rows - 1) / ({t_col} {last:.6g} - {first:.6g} s), the last "
                       "and first rows")
        else:
            f.warn(f"{t_col} of the first and last rows give no time span: no frameRate")
        if len(lights) == 1:
            bit = next(b for b, w in NPM_LED_WAVELENGTHS.items() if w == lights[0])
            f.header("excitationWavelength", lights[0],
                     f"{flag_col} LED bit {bit} = {lights[0]} nm in every one of the first "
                     f"{min(rows, _SNIFF_ROWS)} rows (NPM flag table)")
        return [self.result(path, _FIBER, f)]

    @staticmethod
    def _scan(path: Path, n_cols: int, ti: int, fi: int
              ) -> tuple[int, float | None, set[int], float | None]:
        """Data rows, the first row's time, the flags of the first rows, the last row's time.

        The rows are the line ends after the header, counted in 1 MiB chunks (bytes.count:
        ~0.1 ms a MB), less the empty lines at the end (a line in the middle is a row:
        Bonsai writes no empty ones); the first 1,000 rows and the last one are parsed.
        """
        first: float | None = None
        flags: set[int] = set()
        with open(path, "rb") as fh:
            header = fh.readline()
            start = len(header)
            for _ in range(_SNIFF_ROWS):
                line = fh.readline()
                if not line:
                    break
                if not line.strip():
                    continue
                cells = line.decode("latin-1").split(",")
                if first is None:
                    first = _float(cells, ti)
                flag = _float(cells, fi)
                if flag is not None and flag.is_integer() and flag >= 0:
                    flags.add(int(flag))
            fh.seek(start)
            ends = 0
            while chunk := fh.read(1 << 20):
                ends += chunk.count(b"\n")
            size = fh.tell()
            fh.seek(max(start, size - _TAIL))
            tail = fh.read()
        *ended, after = tail.split(b"\n")
        # Each line end closes a row; what follows the last one is a row without its
        # newline, or nothing. Empty lines at the end are no rows.
        rows = ends + (1 if after.strip() else 0)
        last_line = after if after.strip() else b""
        for piece in reversed(ended):
            if last_line:
                break
            if piece.strip():
                last_line = piece
            else:
                rows -= 1
        rows = max(rows, 0)
        last = _float(last_line.decode("latin-1").split(","), ti) if last_line else None
        return rows, first, flags, last


def _float(cells: list[str], i: int) -> float | None:
    if i >= len(cells):
        return None
    try:
        v = float(cells[i].strip().strip('"'))
    except ValueError:
        return None
    return v if math.isfinite(v) else None


# --- Doric -------------------------------------------------------------------------------

def _is_hdf5(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False


class DoricExtractor(Extractor):
    """Doric ``.doric`` (HDF5): one record per series (newer files) or device (older)."""

    name = "doric"
    suffixes = (".doric",)
    record_types = (_FIBER,)
    warm = ("h5py", __name__)  # read in the reader process (extractors._isolate)

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        if not _is_hdf5(path):
            raise ExtractionError(path, "not an HDF5 file (no HDF5 signature): not a .doric "
                                  "file, or a damaged one")
        from ._isolate import isolated

        parts, notes, created = isolated(path, doric_parts, str(path), timeout=60.0)
        started = _doric_created(created) if created else None
        if not parts:
            raise ExtractionError(path, "neither DataAcquisition/<device>/Signals/<series> nor "
                                  "Traces/<device> with a time base: no recording found"
                                  + (f" ({notes[0]})" if notes else ""))
        out = []
        for part, layout, where, n, t0, t1, warn in parts:
            f = Fields()
            f.header("format", "Doric", f"HDF5, {layout} layout")
            f.header("nFrames", n, f"the length of {where}")
            if n > 1 and t1 > t0:
                f.computed("frameRate", (n - 1) / (t1 - t0),
                           f"({n} - 1) / ({where}[-1] {t1:.6g} - [0] {t0:.6g} s)")
            else:
                f.warn(f"{where} gives no time span: no frameRate")
            for w in (*notes, *warn):
                f.warn(w)
            if started is not None:
                f.started(started, Source.HEADER, f"{path.name} root attribute Created "
                          f"{created!r} (the acquisition computer's clock)")
            out.append(self.result(path, _FIBER, f, part=part if len(parts) > 1 else None))
        return out


def doric_parts(path: str) -> tuple[list[tuple[str, str, str, int, float, float, list[str]]],
                                    list[str], str]:
    """(part, layout, time dataset, length, first time, last time, warnings) per recording,
    notes, and the root's ``Created`` attribute ("" if none). Runs in the worker (h5py)."""
    import h5py

    parts: list[tuple[str, str, str, int, float, float, list[str]]] = []
    notes: list[str] = []
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ExtractionError(path, f"HDF5 cannot open it: {exc}") from None
    created = ""
    try:
        with fh:
            _walk_doric(fh, parts, notes)
            value = fh.attrs.get("Created")
            if isinstance(value, bytes):
                value = value.decode("utf-8", errors="replace")
            created = value[:64] if isinstance(value, str) else ""
    except (KeyError, ValueError, RuntimeError, TypeError, IndexError, OSError) as exc:
        # h5py's errors on a damaged file come in these kinds; the file is at fault.
        raise ExtractionError(path, f"HDF5 cannot read its layout ({type(exc).__name__}: "
                              f"{str(exc)[:160]})") from None
    return parts, notes, created


_CREATED_FORMATS = ("%a %b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p")


def _doric_created(text: str) -> datetime.datetime | None:
    """The root ``Created`` attribute as a time (ISO 8601 or a C ``asctime``), or None."""
    text = " ".join(text.split())
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        when = None
        for fmt in _CREATED_FORMATS:
            try:
                when = datetime.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    return when if when is not None and when.year >= 1980 else None


def _walk_doric(fh: Any, parts: list[Any], notes: list[str]) -> None:
    import h5py

    acq = fh.get("DataAcquisition")
    if isinstance(acq, h5py.Group):
        # DataAcquisition/<device>/<Signals|ROISignals|...>/<SeriesNNNN>/...
        found: list[tuple[str, str, str, Any]] = []
        for device in sorted(acq):
            dev = acq[device]
            if not isinstance(dev, h5py.Group):
                continue
            for kind in sorted(dev):
                group = dev[kind]
                if not isinstance(group, h5py.Group):
                    continue
                for series in sorted(group):
                    if isinstance(group[series], h5py.Group) and series.lower().startswith(
                            "series"):
                        found.append((device, kind, series, group[series]))
        plain = len({(d, k) for d, k, _, _ in found}) == 1
        for device, kind, series, grp in found:
            where = f"DataAcquisition/{device}/{kind}/{series}"
            described = _doric_series(grp)
            if described is None:
                notes.append(f"{where}: no signal with a Time dataset, left out")
                continue
            parts.append((series if plain else f"{device}/{kind}/{series}", "DataAcquisition",
                          *described))
    traces = fh.get("Traces")
    if not parts and isinstance(traces, h5py.Group):
        for device in sorted(traces):
            grp = traces[device]
            if not isinstance(grp, h5py.Group):
                continue
            time = _find_time(grp)
            if time is None:
                notes.append(f"Traces/{device}: no time dataset, left out")
                continue
            parts.append((device, "Traces", *_span(time), []))


def _signal_rank(name: str) -> int:
    """Which time base describes a series: demodulated lock-in signals (``LockInAOUT01``,
    ``AIN01xAOUT01-LockIn``) first, then camera ROIs, then analog inputs, then the rest;
    digital I/O and analog outputs (the LED drive) last."""
    low = name.lower()
    if "lockin" in low:
        return 0
    if "cam" in low or "roi" in low:
        return 1
    if "analogin" in low:
        return 2
    if "digital" in low or "analogout" in low:
        return 4
    return 3


def _doric_series(grp: Any) -> tuple[str, int, float, float, list[str]] | None:
    import h5py

    signals: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Group) and isinstance(obj.get("Time"), h5py.Dataset):
            signals.append(name)

    grp.visititems(visit)
    if not signals:
        return None
    best = min(_signal_rank(k) for k in signals)
    chosen = sorted(k for k in signals if _signal_rank(k) == best)
    spans = [_span(grp[k]["Time"]) for k in chosen]
    warn: list[str] = []
    lengths = {s[1] for s in spans}
    if len(lengths) > 1:
        warn.append(f"the signals {', '.join(chosen)} have time bases of {sorted(lengths)} "
                    f"samples: {chosen[0]}'s is used")
    return (*spans[0], warn)


def _find_time(grp: Any) -> Any:
    import h5py

    found: list[Any] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and "time" in name.rsplit("/", 1)[-1].lower():
            found.append(obj)

    grp.visititems(visit)
    return found[0] if found else None


def _span(ds: Any) -> tuple[str, int, float, float]:
    """(dataset name, length, first value, last value) of a 1-D time dataset."""
    n = int(ds.shape[0]) if len(ds.shape) == 1 else 0
    if n == 0:
        return ds.name.lstrip("/"), 0, 0.0, 0.0
    t0, t1 = float(ds[0]), float(ds[n - 1])
    if not (math.isfinite(t0) and math.isfinite(t1)):
        t0 = t1 = 0.0
    return ds.name.lstrip("/"), n, t0, t1
