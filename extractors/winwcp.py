"""WinWCP (Strathclyde Electrophysiology Software) ``.wcp`` files: IntracellularEphys.

Layout: an ASCII header of ``NBH`` bytes (``KEY=value`` lines, decimal commas allowed),
then ``NR`` records of ``NBA`` 512-byte analysis blocks and ``NBD`` 512-byte blocks of
channel-interleaved int16 samples. All records of a file have the same length.

Choice of reader: a small parser of our own. neo's ``WinWcpRawIO.parse_header`` reads
the analysis block of every record (cost grows with the number of records) and takes
the median float32 sampling interval. Ours reads the text header and the first record's
analysis block: 0.1 ms whatever the size (``benchmarks/bench_spikeglx_nwb_abf.py``), where
neo took 0.2 ms at 1 MB, 45 ms at 1 GB and 6 to 13 s at 100 GB (200 kB records).

- ``sr`` = 1 / ``DT`` (the header's sampling interval in seconds, as written); the float32
  ``SamplingInterval`` of the first record agrees to float32 precision, else a warning.
- ``nSamples`` = records x samples per channel per record: ``NP`` when the header has it,
  else the data blocks' capacity (``NBD`` x 512 / 2 / ``NC``, as neo). The records counted
  are those whole on disk; a header ``NR`` that disagrees is a warning with both numbers.
- ``lsb`` when every channel records a voltage with one step: ``VMax`` (first record) /
  ``ADCMAX`` / ``YG``, in µV; current channels have no µV step (a warning lists each step).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .base import LSB_BOUNDS, Extraction, Extractor, Fields

__all__ = ["WinWcpExtractor", "read_wcp_header"]

_SECTOR = 512
_TO_MICROVOLT = {"v": 1e6, "mv": 1e3, "uv": 1.0, "µv": 1.0, "μv": 1.0}


class WinWcpExtractor(Extractor):
    """WinWCP ``.wcp`` files, from the text header and the first record's analysis block."""

    name = "winwcp"
    suffixes = (".wcp",)
    record_types = ("IntracellularEphys",)

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        header = read_wcp_header(path)
        size = os.stat(path).st_size
        nbh, nc, nba, nbd = (_int(path, header, k) for k in ("NBH", "NC", "NBA", "NBD"))
        if nc < 1 or nbd < 1 or nba < 0 or nbh < 1:
            raise ExtractionError(path, f"NC={nc}, NBA={nba}, NBD={nbd}, NBH={nbh}: not a "
                                  "layout of one or more channels")
        # Every length the header declares is checked against the file before it is used
        # to seek or read (a header can declare terabytes).
        record = (nba + nbd) * _SECTOR
        if nbh + record > size:
            raise ExtractionError(path, f"{size} bytes hold no whole record of {record} bytes "
                                  f"(NBA={nba}, NBD={nbd} blocks) after the {nbh}-byte header "
                                  "(NBH)")
        f = Fields()
        f.header("format", "WinWCP", f"header VER={header.get('VER', '?')}")
        f.header("type", "int16", "WinWCP stores int16 samples")
        f.header("nChannels", nc, "header NC")
        dt = _float(path, header, "DT")
        if not dt > 0:
            raise ExtractionError(path, f"DT={header['DT']!r} is not a positive sampling interval")
        f.header("sr", 1.0 / dt, f"1 / header DT {header['DT']} s")
        analysis = self._first_analysis(path, nbh, nba, nc)
        if analysis is not None:
            interval = analysis[0]
            if interval > 0 and abs(interval - dt) > dt * 1e-6:
                f.warn(f"header DT {dt:g} s differs from the first record's sampling interval "
                       f"{interval:g} s; sr follows DT")
        self._n_samples(path, header, size, nbh, record, nc, nbd, f)
        self._lsb(path, header, nc, analysis, f)
        return [self.result(path, "IntracellularEphys", f)]

    def _first_analysis(self, path: Path, nbh: int, nba: int,
                        nc: int) -> tuple[float, list[float]] | None:
        """(SamplingInterval, VMax per channel) of record 1, or None when it has no room."""
        if nba * _SECTOR < 24 + 4 * nc:
            return None
        with open(path, "rb") as fh:
            fh.seek(nbh)
            raw = fh.read(24 + 4 * nc)
        if len(raw) < 24 + 4 * nc:
            return None
        # Analysis block: RecordStatus 8s, RecordType 4s, GroupNumber f, TimeRecorded f,
        # SamplingInterval f, VMax f x channels (neo's AnalysisDescription).
        interval = struct.unpack_from("<f", raw, 20)[0]
        vmax = list(struct.unpack_from(f"<{nc}f", raw, 24))
        return interval, vmax

    def _n_samples(self, path: Path, header: dict[str, str], size: int, nbh: int, record: int,
                   nc: int, nbd: int, f: Fields) -> None:
        capacity = nbd * _SECTOR // 2 // nc
        if "NP" in header:
            per_record = _int(path, header, "NP")
            if not 0 < per_record <= capacity:
                raise ExtractionError(path, f"NP={per_record} does not fit {nbd} data blocks "
                                      f"of {nc} channels")
            how = f"header NP {per_record} samples per record"
        else:
            per_record = capacity
            how = f"{per_record} samples per record ({nbd} blocks x 512 bytes / 2 / {nc} channels)"
        on_disk = max(size - nbh, 0) // record
        declared = _int(path, header, "NR") if "NR" in header else None
        n_records = on_disk
        if declared is not None and declared != on_disk:
            f.warn(f"header NR says {declared} records but {size} bytes hold {on_disk} whole "
                   f"records of {record} bytes: nSamples counts the records on disk")
        if n_records == 0:
            raise ExtractionError(path, f"{size} bytes hold no whole record of {record} bytes "
                                  f"after the {nbh}-byte header")
        f.computed("nSamples", n_records * per_record,
                   f"{n_records} records on disk x {how}"
                   + (f"; header NR {declared}" if declared is not None else ""))

    def _lsb(self, path: Path, header: dict[str, str], nc: int,
             analysis: tuple[float, list[float]] | None, f: Fields) -> None:
        if analysis is None or "ADCMAX" not in header:
            return
        adcmax = _int(path, header, "ADCMAX")
        steps, each = [], []
        for c in range(nc):
            unit = header.get(f"YU{c}", "")
            gain = _float(path, header, f"YG{c}") if f"YG{c}" in header else 0.0
            step = analysis[1][c] / adcmax / gain if gain and adcmax else 0.0
            factor = _TO_MICROVOLT.get(unit.strip().lower())
            uv = step * factor if factor is not None else None
            steps.append(uv if uv is not None and LSB_BOUNDS[0] <= uv <= LSB_BOUNDS[1] else None)
            each.append(f"{header.get(f'YN{c}', c)} {step:.6g} {unit or '(no unit)'}")
        if steps and None not in steps and len({round(s, 9) for s in steps}) == 1:  # type: ignore[arg-type]
            f.computed("lsb", steps[0], f"VMax {analysis[1][0]:g} (record 1) / ADCMAX {adcmax} "
                       f"/ YG0 {header['YG0']}, {header.get('YU0')} in µV")
            return
        f.warn(f"no single lsb in µV: one step of each channel is {', '.join(each)}")


def read_wcp_header(path: Path) -> dict[str, str]:
    """The KEY=value pairs of a WinWCP header; refuse files that do not start with one."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    text = head.decode("latin-1")
    values: dict[str, str] = {}
    for line in text.replace("\r", "\n").split("\n"):
        key, sep, value = line.partition("=")
        if sep and key.strip():
            values[key.strip().upper()] = value.strip()
    if not text.startswith("VER=") or not {"NC", "NBH", "NBD", "DT"} <= set(values):
        raise ExtractionError(path, "no WinWCP header (VER=, NC=, NBH=, NBD=, DT= lines) at "
                              "the start: not a WinWCP file")
    nbh = _int(path, values, "NBH")
    if nbh > 1024:  # longer headers: read the rest (still O(1), a few kB at most)
        with open(path, "rb") as fh:
            more = fh.read(min(nbh, 1 << 20)).decode("latin-1")
        for line in more.replace("\r", "\n").split("\n"):
            key, sep, value = line.partition("=")
            if sep and key.strip():
                values.setdefault(key.strip().upper(), value.strip())
    return values


def _float(path: Path, header: dict[str, str], key: str) -> float:
    raw = header[key]
    try:
        return float(raw.replace(",", "."))  # WinWCP writes the locale's decimal comma
    except ValueError:
        raise ExtractionError(path, f"header {key}={raw!r} is not a number") from None


def _int(path: Path, header: dict[str, str], key: str) -> int:
    if key not in header:
        raise ExtractionError(path, f"the header has no {key}")
    value = _float(path, header, key)
    if not value.is_integer():
        raise ExtractionError(path, f"header {key}={header[key]!r} is not a whole number")
    return int(value)
