"""The neo family: acquisition systems read through ``neo.rawio`` (the field's standard
reader for them), one record per signal stream.

Formats (rows of :data:`~extractors.neo.formats.FORMATS`): Blackrock ``.ns1``-``.ns6``
(the ``.nev`` beside them a companion), Neuralynx ``.ncs`` (one record per file), Plexon
``.plx``/``.pl2``, CED Spike2 ``.smr``/``.smrx``, TDT blocks (one anchor per block, one
record per continuous store), AlphaOmega ``.mpx`` folders, Axona ``.bin`` + ``.set`` and
its ``.eeg``/``.egf`` LFP files (our own reader, :mod:`.axona`), Multi Channel Systems
``.raw``, MaxWell ``.raw.h5`` (one record per recording and well), 3Brain ``.brw``,
SpikeGadgets ``.rec``, Micromed ``.trc`` and NeuroNexus Allego ``_data.xdat``; AxoGraph
``.axgx``/``.axgd`` and WinEDR ``.EDR`` (IntracellularEphys); Elan ``.eeg`` + ``.eeg.ent`` +
``.eeg.pos`` and BCI2000 ``.dat`` (Electroencephalography). Each row states its type.

- Claims look at the name, a few head bytes and the folder listing, never at neo.
- neo parses in the worker process of :mod:`extractors._isolate`: a damaged file that
  crashes, hangs or exhausts it fails alone, with one line. Only plain values cross back.
- Cost: neo reads headers only for most formats; the ``reads`` column of each row says
  where it reads more (Neuralynx record scan, AlphaOmega block walks, the TDT index).
  TDT blocks are read by :mod:`.tdt` itself (the ``.Tbk`` and one chunked pass over the
  ``.tsq``, in this process; neo in the worker only where that reader stands aside).
  Plexon ``.plx`` headers are read by :mod:`.plexon` (neo's block walk only where the
  header keeps no sample counts). ``benchmarks/bench_neo.py`` measures the slope per format.
- Values: see :mod:`.mapping` and ``docs/formats/neo.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from .._isolate import isolated
from ..base import Claim, Extraction, Extractor, Fields, Source
from .axona import LFP_SUFFIXES, is_axona_lfp, read_lfp
from .formats import FORMATS, NeoFormat, _beside, format_for, head

__all__ = ["EPHYS", "FORMATS", "NeoExtractor", "NeoFormat"]

#: The record type, by the current generation's name (``bsingest/recordtypes.py``).
EPHYS = "ExtracellularEphys"
#: Seconds neo may take over one file's header before the worker is stopped ...
TIMEOUT = 300.0
#: ... plus this many per MB for formats neo walks block by block (Plexon: 0.3 s per MB
#: measured on a loaded 2-core machine, ``benchmarks/bench_neo.py``).
SCAN_SECONDS_PER_MB = 1.0


class NeoExtractor(Extractor):
    """Acquisition systems read through neo.rawio; one record per signal stream."""

    name = "neo"
    suffixes = tuple(sorted({s for f in FORMATS for s in f.suffixes} | set(LFP_SUFFIXES)))
    # see Extractor.claim_endings; a BCI2000 .dat is asked about in claim_content only
    claim_endings = tuple(sorted({s for f in FORMATS if not f.by_content for s in f.suffixes}
                                 | set(LFP_SUFFIXES)))
    record_types = tuple(sorted({f.record_type for f in FORMATS} | {EPHYS}))

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if not path.name.lower().endswith(cls.suffixes):
            return Claim.NO
        if _axona_lfp(path):
            return Claim.SPECIFIC
        fmt, _ = format_for(path, content=False)
        return Claim.SPECIFIC if fmt is not None else Claim.NO

    @classmethod
    def claim_content(cls, path: Path) -> Claim:
        # A .dat is BCI2000's by its text header, looked at only when no family claims the
        # file by name or sidecar: Intan's amplifier.dat or a Neuroscope .dat is never
        # opened to decide.
        fmt, _ = format_for(path, content=True)
        return Claim.SPECIFIC if fmt is not None else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        if _axona_lfp(path):
            return _beside(path, ".set")
        fmt, _ = format_for(path)
        return fmt.companions(path) if fmt is not None else []

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        if _axona_lfp(path):
            f = Fields()
            read_lfp(path, f)
            return [self.result(path, EPHYS, f)]
        fmt, why = format_for(path)
        if fmt is None:
            raise ExtractionError(path, "a companion of its folder's recording, described "
                                  "with it" if why else "not a file of any neo format")
        check = _CHECKS.get(fmt.key)
        if check is not None:
            check(path)  # a header neo would misread, refused in one line first
        from . import _worker
        from .mapping import map_summary

        timeout = TIMEOUT
        if fmt.reads != "headers only":
            timeout += SCAN_SECONDS_PER_MB * _data_size(path, fmt) / 1e6
        summary = _own_summary(path, fmt)
        if summary is None:
            summary = isolated(path, _worker.summarize, fmt.key, str(path), timeout=timeout)
        records, notes = map_summary(fmt, path, summary)
        fixes = _FIXES.get(fmt.key)
        out = []
        for i, r in enumerate(records):
            if fixes is not None:
                fixes(path, r.fields)
            # Lines about the whole file (neo's warnings, streams not described) once, on
            # the file's first record: a session report lists every record's lines.
            for line in notes if i == 0 else ():
                r.fields.warn(line)
            out.append(self.result(path, fmt.record_type, r.fields, part=r.part))
        return out


def _own_summary(path: Path, fmt: NeoFormat) -> dict[str, Any] | None:
    """Our own reading of a format neo walks slowly (TDT's index, in this process: the
    photometry family's claim has read the same ``.tsq`` into the run's cache), or None
    where neo must read it."""
    if fmt.key != "tdt":
        return None
    from .tdt import block_summary

    tsq = Path(fmt.open_kwargs(path)["dirname"])
    return block_summary(tsq, path) if tsq.suffix.lower() == ".tsq" else None


def _axona_lfp(path: Path) -> bool:
    """An Axona ``.eeg``/``.egf`` LFP file (by its name and its ``trial_date`` header); an
    ``.eeg`` that is not one may still be Elan's (see formats.py)."""
    return path.name.lower().endswith(LFP_SUFFIXES) and is_axona_lfp(head(path))


def _data_size(path: Path, fmt: NeoFormat) -> int:
    """Bytes neo may walk: the file, and its companions for folder formats."""
    files = [path, *fmt.companions(path)] if fmt.folder else [path]
    total = 0
    for p in files:
        try:
            total += os.stat(p).st_size
        except OSError:
            pass
    return total


def _blackrock_fix(path: Path, f: Fields) -> None:
    """NSx 2.1 (``NEURALSG``): count the samples from the file size.

    neo 0.14.6 gives one sample fewer than the file's data holds (99 of 100 in a real
    file): a 2.1 file is a 32-byte header, one u32 channel id per channel, then int16
    frames to the end, so the size says the count exactly.
    """
    raw = head(path, 314)
    if raw[:8] in (b"NEURALCD", b"BRSMPGRP") and len(raw) >= 310:
        _blackrock_start(raw, f)
    if raw[:8] == b"NEURALCD" and len(raw) >= 314:
        _blackrock_cut(path, raw, f)
    if raw[:8] != b"NEURALSG" or len(raw) < 32 or "nChannels" not in f.values:
        return
    n_channels = int.from_bytes(raw[28:32], "little")
    if n_channels != f.values["nChannels"] or n_channels == 0:
        return
    start = 32 + 4 * n_channels
    size = os.stat(path).st_size
    frames, rest = divmod(max(size - start, 0), 2 * n_channels)
    before = f.values.get("nSamples")
    f.computed("nSamples", frames, f"NSx 2.1: ({size} bytes - {start} header bytes) / "
               f"({n_channels} channels x 2 bytes)")
    if rest:
        f.warn(f"{rest} bytes after the last whole frame: not counted")
    if before is not None and before != frames:
        f.warn(f"neo counts {before} samples; the file's data hold {frames}")


#: Data packets of an NSx 2.2/2.3 file checked against its size (a packet is a pause or a
#: clock reset: real files hold a few).
_NSX_PACKETS = 10_000


def _blackrock_cut(path: Path, raw: bytes, f: Fields) -> None:
    """NSx 2.2/2.3: a last data packet promising more samples than the file holds (a
    recording cut short, a copy not finished) counts the samples on disk, with a warning.

    neo 0.14.6 takes each packet's sample count as the header states it: a 257 KB file cut
    to 100 KB still gave 4,020 samples. A packet is 0x01, a u32 timestamp, a u32 count, then
    count x channels int16 values; only the packet headers are read.
    """
    import struct

    header_bytes, = struct.unpack_from("<I", raw, 10)
    n_channels, = struct.unpack_from("<I", raw, 310)
    if "nSamples" not in f.values or n_channels == 0 or n_channels != f.values.get("nChannels"):
        return
    frame = 2 * n_channels
    size = os.stat(path).st_size
    pos, total = header_bytes, 0
    with open(path, "rb") as fh:
        for _ in range(_NSX_PACKETS):
            if pos + 9 > size:
                return  # no further packet: the packets fit the file
            fh.seek(pos)
            packet = fh.read(9)
            if len(packet) < 9 or packet[0] != 1:
                return  # not a packet header: neo's reading stands
            count, = struct.unpack_from("<I", packet, 5)
            held = (size - pos - 9) // frame
            if count > held:
                break
            total += count
            pos += 9 + count * frame
        else:
            return
    f.computed("nSamples", total + held, f"NSx data packets' sample counts, the last cut at "
               f"the file's end ({size} bytes)")
    f.warn(f"truncated: a data packet promises {count} samples but the file holds {held} of "
           "them; nSamples counts the samples on disk")


def _blackrock_start(raw: bytes, f: Fields) -> None:
    """NSx 2.2+: ``TimeOrigin`` (a Windows SYSTEMTIME, UTC) at byte 294 of the header;
    neo keeps it out of its raw annotations."""
    import datetime
    import struct

    year, month, _, day, hour, minute, second, ms = struct.unpack_from("<8H", raw, 294)
    try:
        when = datetime.datetime(year, month, day, hour, minute, second, ms * 1000,
                                 tzinfo=datetime.timezone.utc)
    except ValueError:
        f.warn(f"TimeOrigin {year}-{month}-{day} {hour}:{minute}:{second} is not a date: "
               "no start time")
        return
    if year > 1970:
        f.started(when, Source.HEADER, "the NSx header's TimeOrigin (UTC)")


#: A Neuralynx ``.ncs``: a 16 KiB text header, then 1044-byte records of 512 samples.
_NCS_HEADER, _NCS_RECORD = 16384, 1044


def _neuralynx_fix(path: Path, f: Fields) -> None:
    """A ``.ncs`` holds one continuous channel: where neo lists none (a file cut inside
    its header, or a header without records), the file is refused saying so, rather than
    made a record of 0 channels "of spikes only" (a Plexon file's case)."""
    if f.values.get("nChannels") != 0:
        return
    size = os.stat(path).st_size
    if size < _NCS_HEADER:
        raise ExtractionError(path, f"truncated: {size} bytes, cut inside the {_NCS_HEADER}-"
                              "byte text header of a .ncs file")
    records = (size - _NCS_HEADER) // _NCS_RECORD
    if records == 0:
        raise ExtractionError(path, f"a header and no data records ({size - _NCS_HEADER} "
                              f"bytes after the {_NCS_HEADER}-byte header; a record is "
                              f"{_NCS_RECORD} bytes): nothing recorded, or a truncated file")
    raise ExtractionError(path, f"neo lists no signal in its {records} records: a damaged "
                          ".ncs file")


def _blackrock_check(path: Path) -> None:
    """A sampling period of 0 (rate = 30 kHz / period): neo divides by it and lists a
    stream at an infinite rate; the header is damaged."""
    import struct

    raw = head(path, 314)
    at = {b"NEURALSG": 24, b"NEURALCD": 286, b"BRSMPGRP": 286}.get(raw[:8])
    if at is None or len(raw) < at + 4:
        return
    period, = struct.unpack_from("<I", raw, at)
    if period == 0:
        raise ExtractionError(path, "Blackrock: the header's sampling period is 0 (the rate "
                              "is 30 kHz / period): a damaged header")


#: Spike2 ``.smr``: a 512-byte file header, then 140 bytes per channel from byte 512.
_SMR_HEADER, _SMR_CHANNEL = 512, 140


def _spike2_check(path: Path) -> None:
    """A ``.smr`` cut short: a channel whose first or last data block lies past the end of
    the file (neo fails with an IndexError deep in its block walk)."""
    import struct

    size = os.stat(path).st_size
    raw = head(path, _SMR_HEADER)
    if len(raw) < 34:
        raise ExtractionError(path, f"Spike2: truncated: {size} bytes, cut inside the "
                              f"{_SMR_HEADER}-byte file header")
    system_id, = struct.unpack_from("<h", raw, 0)
    channels, = struct.unpack_from("<h", raw, 30)
    end = _SMR_HEADER + _SMR_CHANNEL * max(channels, 0)
    if size < end:
        raise ExtractionError(path, f"Spike2: truncated: {size} bytes, cut inside the "
                              f"headers of its {channels} channels ({end} bytes)")
    unit = 512 if system_id == 9 else 1  # version 9 counts blocks in 512-byte units
    with open(path, "rb") as fh:
        fh.seek(_SMR_HEADER)
        table = fh.read(_SMR_CHANNEL * max(channels, 0))
    for c in range(max(channels, 0)):
        first, last, blocks = struct.unpack_from("<iih", table, c * _SMR_CHANNEL + 6)
        if blocks <= 0:
            continue
        # a block header is 20 bytes; the last block must at least hold its header
        reach = max(first, last) * unit + 20
        if first < 0 or last < 0 or reach > size:
            raise ExtractionError(path, f"Spike2: truncated: channel {c + 1}'s data blocks "
                                  f"reach byte {reach:,}; the file holds {size:,} bytes")


#: A TDT ``.tsq`` entry: 40 bytes; the second is the block's start mark (code 1) with its
#: time (POSIX seconds, f8 at byte 16 of the entry).
_TSQ_ENTRY = 40


def _tdt_fix(path: Path, f: Fields) -> None:
    """The block's start time from its ``.tsq`` (neo keeps it as a segment offset only)."""
    import datetime
    import struct

    tsq = _beside(path, ".tsq") if path.suffix.lower() != ".tsq" else [path]
    if not tsq or f.start_time:
        return
    raw = head(tsq[0], 2 * _TSQ_ENTRY)
    if len(raw) < 2 * _TSQ_ENTRY or raw[_TSQ_ENTRY + 8:_TSQ_ENTRY + 12] != b"\x01\0\0\0":
        return  # no start mark: no start time
    when, = struct.unpack_from("<d", raw, _TSQ_ENTRY + 16)
    if not (86400 < when < 4102444800):  # after 1970-01-02, before 2100
        f.warn(f"the .tsq's start mark holds {when!r}, not a time: no start time")
        return
    f.started(datetime.datetime.fromtimestamp(when, datetime.timezone.utc), Source.HEADER,
              f"{tsq[0].name}: the block's start mark (the .tsq's second entry), POSIX "
              "seconds (UTC)")


def _stated_data(path: Path, what: str, stated: int, per: int, offset: int, unit: str) -> None:
    """Refuse a file whose header promises more samples than its data hold (neo maps
    the promised size and would describe samples that are not there)."""
    held = max(os.stat(path).st_size - offset, 0)
    if stated < 0 or stated * per > held:
        raise ExtractionError(path, f"{what}: truncated: the header states {stated:,} {unit} "
                              f"({stated * per:,} bytes) but the file holds {held:,} bytes of "
                              "data")


def _header_number(path: Path, what: str, text: str, key: str) -> int:
    import re

    m = re.search(rf"(?:^|\s){key}=\s*(-?\d+)", text)
    if m is None:
        raise ExtractionError(path, f"{what}: no {key}= in the header")
    return int(m.group(1))


def _winedr_check(path: Path) -> None:
    """``NP`` (samples of all channels) against the data after the ``NBH``-byte header."""
    text = head(path, 2048).decode("latin-1").replace("\r\n", "\n").replace("\n", " ")
    nbh = _header_number(path, "WinEDR", text, "NBH")
    points = _header_number(path, "WinEDR", text, "NP")
    channels = _header_number(path, "WinEDR", text, "NC")
    if channels < 1 or nbh < 0:
        raise ExtractionError(path, f"WinEDR: NC={channels}, NBH={nbh}: not a layout of one "
                              "or more channels")
    _stated_data(path, "WinEDR", points, 2, nbh, "samples (NP, all channels, int16)")


def _bci2000_check(path: Path) -> None:
    """The first line's ``HeaderLen`` against the file: neo's header loop never ends on a
    file cut inside its header (it reads lines until the stated length)."""
    first = head(path, 1024).split(b"\n", 1)[0].decode("latin-1")
    length = _header_number(path, "BCI2000", first, "HeaderLen")
    channels = _header_number(path, "BCI2000", first, "SourceCh")
    states = _header_number(path, "BCI2000", first, "StatevectorLen")
    size = os.stat(path).st_size
    if length > size or length < len(first):
        raise ExtractionError(path, f"BCI2000: truncated: HeaderLen {length:,} bytes, the "
                              f"file holds {size:,}")
    import re

    stated = re.search(r"DataFormat=\s*(\S*)", first)
    kind = stated.group(1) if stated else "int16"  # format 1.0 states none: int16
    width = {"int16": 2, "int32": 4, "float32": 4}.get(kind)
    if width is None or channels < 1 or states < 0:
        raise ExtractionError(path, f"BCI2000: SourceCh {channels}, StatevectorLen {states}, "
                              f"DataFormat {kind[:20]!r}: not a layout neo reads")
    frame = channels * width + states
    over = (size - length) % frame
    if over:
        raise ExtractionError(path, f"BCI2000: truncated: {over} bytes after the last whole "
                              f"{frame}-byte sample (neo reads whole samples only)")


def _neuronexus_check(path: Path) -> None:
    """The metadata's ``status.shape`` (samples, channels) against the float32 data file."""
    import json

    from .formats import _neuronexus_companions

    meta = [p for p in _neuronexus_companions(path) if p.name.lower().endswith(".json")]
    try:
        status = json.loads(meta[0].read_text(encoding="utf-8"))["status"]
        samples, channels = (int(x) for x in status["shape"])
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise ExtractionError(path, "NeuroNexus: its .xdat.json states no status.shape "
                              f"[samples, channels] ({type(exc).__name__})") from None
    if channels < 1:
        raise ExtractionError(path, f"NeuroNexus: status.shape states {channels} channels")
    _stated_data(path, "NeuroNexus", samples, 4 * channels, 0,
                 f"samples of {channels} float32 channels")


_CHECKS = {"blackrock": _blackrock_check, "spike2": _spike2_check, "winedr": _winedr_check,
           "bci2000": _bci2000_check, "neuronexus": _neuronexus_check}
_FIXES = {"blackrock": _blackrock_fix, "neuralynx": _neuralynx_fix, "tdt": _tdt_fix}
