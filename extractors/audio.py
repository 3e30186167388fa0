"""Audio recordings: WAV (RIFF, RIFX, WAVE_FORMAT_EXTENSIBLE), RF64/BW64, Sony Wave64,
AIFF/AIFF-C and FLAC → type ``Audio``.

Choice of reader: small header parsers of our own, for every family. libsndfile
(``soundfile``) was the obvious reader and is wrong where it matters to a lab:

- a WAV left by a recorder streaming to disk with RIFF/data sizes of 0: it reports 0
  frames (0xFFFFFFFF it clips to the file, silently; we count the bytes and warn);
- a FLAC written to a pipe (STREAMINFO total_samples = 0): it reports 2**63 - 1 frames;
- a W64 whose fmt chunk is WAVE_FORMAT_EXTENSIBLE with a float subformat (what ffmpeg
  writes): it says PCM_32, a float file read as integers;
- it segfaults writing Ogg/Vorbis in the wheel we ship (libsndfile 1.2.2), so OGG is
  not claimed at all rather than risk the process.

What we read: the chunk headers up to the ``data``/``SSND`` chunk (a few hundred bytes,
whatever the file's length), the ``fmt``/``COMM``/``ds64`` bodies, and
``os.stat``. The sample count is what the file holds on disk, in whole frames: where
the header promises more (a truncated file) or nothing (a streaming placeholder), the
count comes from the file size and a warning gives both numbers. For FLAC we read
STREAMINFO and the frames at the end of the file (one window of at most a few frame
sizes, CRC-checked), so a streamed FLAC is counted exactly and a truncated one is
caught, without decoding. Measured in-process (``benchmarks/bench_audio.py``): 0.06 ms
per WAV/RF64/W64 file, the same for 1 MB and 8 GiB (``soundfile.info``: 0.04 ms, and
wrong in the cases above); 0.7 ms per FLAC with full 8 KB frames, the same for 0.5 MB and
64 MB: the cost is the pure-Python CRC-16 of the last frame, bounded by the frame size.

Sample types name the container as stored (``int24`` for 3-byte samples). A file that
declares fewer valid bits (12-bit samples in 2-byte words, 20-bit in 3-byte words) is
described by its container, because that is how the bytes lie on disk and what a reader
of the data must use; the valid bits are given in the provenance. Frames are
``nBlockAlign`` bytes when that agrees with the channel count; when it cannot (a block
smaller than the samples it must hold) the frame is computed from the sample width and
the disagreement is a warning.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, TypeAlias

from bsingest.errors import ExtractionError

from .base import Extraction, Extractor, Fields, Source

__all__ = ["AudioExtractor"]

# Bytes read first: a plain WAV's header (RIFF, fmt, data: 44 bytes) lies within them,
# so its chunk headers and fmt body are taken from this read, not one read each.
_HEAD = 64
# Chunks walked before giving up; a real file has a handful before its data.
_MAX_CHUNKS = 4096
# Bytes read from a fmt/COMM chunk body; the longest real one (extensible) is 40.
_FMT_READ = 256
_UNSET32 = 0xFFFFFFFF

_W64_RIFF = b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00"
_W64_WAVE = b"wave\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a"
_W64_TAIL = _W64_WAVE[4:]  # every WAVE chunk GUID in W64 is the 4CC followed by this
# KSDATAFORMAT_SUBTYPE_* GUIDs: the format tag, then one of these (as data2, data3, data4).
_KS_TAILS = {(0x0000, 0x0010, bytes.fromhex("800000aa00389b71")),
             (0x0721, 0x11D3, bytes.fromhex("8644c8c1ca000000"))}  # ambisonic B-format

_TAG_NAMES = {0x0001: "PCM", 0x0002: "MS ADPCM", 0x0003: "IEEE float", 0x0006: "A-law",
              0x0007: "µ-law", 0x0011: "IMA ADPCM", 0x0050: "MPEG", 0x0055: "MPEG layer 3",
              0xFFFE: "WAVE_FORMAT_EXTENSIBLE"}

# Magic bytes of things that are not audio, to say what a misnamed file is.
_NOT_AUDIO = [
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"), (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"), (b"\x89HDF", "an HDF5 file"), (b"OggS", "an Ogg stream"),
    (b"ID3", "an MP3 file"), (b"\x1aE\xdf\xa3", "a Matroska/WebM file"),
]
_RIFF_FORMS = {b"AVI ": "an AVI video", b"WEBP": "a WebP image", b"RMID": "a MIDI file",
               b"CDXA": "a CD-XA video", b"ACON": "an animated cursor"}


#: An open audio file as the readers below use it (seek, read).
_Reader: TypeAlias = "BinaryIO | _Fd"


class _Chunk(NamedTuple):
    # A named tuple, not a frozen dataclass: built for every chunk of every file (a
    # frozen dataclass's __init__ costs ~1 µs more, a tenth of reading a small WAV).
    id: str
    size: int | None  # declared body size; None when the field is a placeholder
    raw_size: int  # the size field as stored
    body: int  # file offset of the body


class AudioExtractor(Extractor):
    """WAV, RF64, W64, AIFF and FLAC audio: header parsers of our own, O(1) in file size."""

    name = "audio"
    suffixes = (".wav", ".wave", ".bwf", ".rf64", ".w64", ".flac", ".aif", ".aiff", ".aifc")
    record_types = ("Audio",)
    text_paths = True  # opened and named only

    def _extract(self, path: Path | str, stated: Mapping[str, Any]) -> list[Extraction]:
        f = Fields()
        if _PREAD:
            fd = os.open(path, _OPEN_FLAGS)
            try:  # fstat: the file opened, not a second path look-up
                _read(path, _Fd(fd), os.fstat(fd).st_size, f)
            finally:
                os.close(fd)
        else:
            with open(path, "rb", buffering=0) as fh:  # a few reads of the head: no buffer
                _read(path, fh, os.fstat(fh.fileno()).st_size, f)
        _check_suffix(path, str(f.values["format"]), f)
        if stated:
            _check_stated(stated, f)
        return [self.result(path, "Audio", f)]


def _read(path: Path | str, fh: _Reader, size: int, f: Fields) -> None:
    """The audio file open as ``fh``, of ``size`` bytes, described into ``f``."""
    head = fh.read(_HEAD)
    if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") or head[:16] == _W64_RIFF:
        _read_wave(path, fh, head, size, f)
    elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        _read_aiff(path, fh, head, size, f)
    elif head[:4] == b"fLaC" or (head[:3] == b"ID3" and _flac_after_id3(fh, head)):
        _read_flac(path, fh, head, size, f)
    else:
        raise ExtractionError(path, _not_audio(head))


class _Fd:
    """The ``seek`` and ``read`` the readers here ask of an open file, over its descriptor
    (``os.pread`` at the position): opening a ``FileIO`` and closing it costs about what a
    small WAV's whole parse does. Reads are few and small (headers), so none is buffered."""

    __slots__ = ("fd", "pos")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pos = 0

    def seek(self, pos: int) -> int:
        self.pos = pos
        return pos

    def read(self, n: int) -> bytes:
        data = os.pread(self.fd, n, self.pos)
        self.pos += len(data)
        return data


_PREAD = hasattr(os, "pread")  # POSIX; elsewhere the file is opened as a FileIO
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


# --- WAV, RF64, W64 ---------------------------------------------------------------------


def _read_wave(path: Path | str, fh: _Reader, head: bytes, size: int, f: Fields) -> None:
    w64 = head[:16] == _W64_RIFF
    magic = "W64" if w64 else head[:4].decode("ascii")
    if w64:
        if len(head) < 40 or head[24:40] != _W64_WAVE:
            raise ExtractionError(path, "a Wave64 file whose form is not WAVE")
    else:
        if len(head) < 12:
            raise ExtractionError(path, f"{size} bytes is too short for a {magic} header")
        if head[8:12] != b"WAVE":
            raise ExtractionError(path, _riff_form(magic, head[8:12]))
    endian = ">" if magic == "RIFX" else "<"
    chunks = _walk_chunks(path, fh, size, w64, endian, head)
    by_id = {c.id: c for c in reversed(chunks)}  # the first of each id wins
    fmt = by_id.get("fmt ")
    data = by_id.get("data")
    if fmt is None or data is None:
        seen = ", ".join(c.id.strip() for c in chunks) or "none"
        if fmt is None:
            raise ExtractionError(path, f"{magic} file without a fmt chunk (chunks: {seen})")
        raise ExtractionError(path, f"{magic} file without a data chunk (chunks: {seen}); "
                              "a recording stopped before it wrote its samples?")
    want = min(fmt.size if fmt.size is not None else _FMT_READ, _FMT_READ)
    if fmt.body + want <= len(head):
        body = head[fmt.body:fmt.body + want]
    else:
        fh.seek(fmt.body)
        body = fh.read(want)
    spec = _parse_fmt(path, body, endian)
    fmt_name, detail = _WAVE_FORMS[magic]
    f.header("format", fmt_name, detail)
    described = _put_fmt(path, spec, f, "W64 fmt chunk" if w64 else "fmt chunk")
    declared, unset = _data_size(path, fh, magic, data, chunks, endian)
    _count_frames(spec, data.body, declared, unset, size, f, described)
    bext = by_id.get("bext")
    if bext is not None and bext.size is not None and bext.size >= 338:
        _bext_start(_peek(fh, bext.body + 320, 18), f)


# magic -> (format, how it was recognised)
_WAVE_FORMS = {
    "RIFF": ("WAV", "magic 'RIFF' with form 'WAVE'"),
    "RIFX": ("WAV", "magic 'RIFX' with form 'WAVE': a big-endian WAV"),
    "RF64": ("RF64", "magic 'RF64' with form 'WAVE' (EBU Tech 3306, 64-bit sizes in ds64)"),
    "BW64": ("BW64", "magic 'BW64' with form 'WAVE' (ITU-R BS.2088, 64-bit sizes in ds64)"),
    "W64": ("W64", "Sony Wave64 GUID header with form 'wave'"),
}


def _bext_start(raw: bytes, f: Fields) -> None:
    """The start from a Broadcast WAV ``bext`` chunk's OriginationDate and OriginationTime
    (EBU Tech 3285: 'yyyy-mm-dd' and 'hh:mm:ss', any of - _ : space . as separators; local
    time of the recorder, no zone). Absent or blank: no start time."""
    import datetime
    import re

    text = raw.decode("latin-1")
    m = re.fullmatch(r"(\d{4})[-_:. ](\d\d)[-_:. ](\d\d)(\d\d)[-_:. ](\d\d)[-_:. ](\d\d)", text)
    if m is None:
        if text.strip("\x00 "):
            f.warn(f"bext OriginationDate/Time {text!r} is not a date and time: no start time")
        return
    try:
        y, mo, d, h, mi, sec = (int(g) for g in m.groups())
        when = datetime.datetime(y, mo, d, h, mi, sec)
    except ValueError:
        f.warn(f"bext OriginationDate/Time {text!r} is not a date and time: no start time")
        return
    f.started(when, Source.HEADER, "bext OriginationDate and OriginationTime (local time of "
              "the recorder, no zone)")


def _walk_chunks(path: Path | str, fh: _Reader, size: int, w64: bool, endian: str,
                 head: bytes = b"") -> list[_Chunk]:
    """Chunk headers up to and including the data chunk (and past it while fmt is missing).
    Headers inside ``head`` (the file's first bytes, already read) are taken from it."""
    hdr = 24 if w64 else 8
    pos = 40 if w64 else 12
    chunks: list[_Chunk] = []
    have_fmt = False
    while pos + hdr <= size:
        if len(chunks) >= _MAX_CHUNKS:
            raise ExtractionError(path, f"more than {_MAX_CHUNKS} chunks before the samples")
        if pos + hdr <= len(head):
            raw = head[pos:pos + hdr]
        else:
            fh.seek(pos)
            raw = fh.read(hdr)
        if w64:
            cid = raw[:4].decode("latin-1") if raw[4:16] == _W64_TAIL else raw[:16].hex()
            (raw_size,) = struct.unpack("<Q", raw[16:24])
            body_size: int | None = raw_size - 24 if raw_size >= 24 else None
        else:
            ident = raw[:4]
            if len(raw) < 8 or ident.translate(None, _PRINTABLE):  # _plausible_id, inline
                where = f"after chunk {chunks[-1].id!r}" if chunks else "after the header"
                if any(c.id == "data" for c in chunks):
                    break  # junk after the samples does not matter
                raise ExtractionError(path, f"malformed chunk header at byte {pos} ({where}): "
                                      f"{ident!r}")
            cid = ident.decode("ascii")
            raw_size = _U32[endian](raw, 4)[0]
            body_size = raw_size
        chunk = _Chunk(cid, body_size, raw_size, pos + hdr)
        chunks.append(chunk)
        have_fmt = have_fmt or cid == "fmt "
        if cid == "data":
            # A placeholder or RF64 size is resolved later; without a fmt chunk yet (it may
            # follow the samples) the walk goes on past a data chunk of known size.
            if have_fmt or body_size is None or (not w64 and raw_size in (0, _UNSET32)):
                break
        if body_size is None:
            raise ExtractionError(path, f"chunk {cid!r} at byte {pos} has an invalid size")
        pos = chunk.body + body_size
        if w64:
            pos += -body_size % 8
        elif body_size & 1:
            # The pad byte after an odd chunk is a zero; some writers leave it out, and
            # then the next chunk's ID starts where the pad should be.
            nxt = _peek(fh, pos, 5)
            if not (nxt[:1] != b"\x00" and _plausible_id(nxt[:4])):
                pos += 1
    return chunks


def _data_size(path: Path | str, fh: _Reader, magic: str, data: _Chunk, chunks: list[_Chunk],
               endian: str) -> tuple[int | None, str]:
    """The data size the header declares (None: a placeholder) and why it is unset."""
    if magic in ("RF64", "BW64"):
        ds64 = next((c for c in chunks if c.id == "ds64"), None)
        if data.raw_size not in (0, _UNSET32) or (data.raw_size == 0 and ds64 is None):
            return data.raw_size, ""
        if ds64 is None:
            return None, "an RF64 data chunk of size 0xFFFFFFFF without a ds64 chunk"
        fh.seek(ds64.body)
        body = fh.read(24)
        if len(body) < 24:
            raise ExtractionError(path, "ds64 chunk cut short")
        _, data_size, _ = struct.unpack("<QQQ", body)
        if data_size in (0, 2**64 - 1):
            return None, f"ds64 data size {data_size:#x} (unset, as a recorder streaming to disk " \
                         "leaves it)"
        return data_size, ""
    if magic == "W64":
        if data.size is None:
            return None, f"W64 data chunk size {data.raw_size} (unset: less than its own header)"
        return data.size, ""
    if data.raw_size == _UNSET32:
        return None, "data chunk size 0xFFFFFFFF (unset, as a recorder streaming to disk leaves it)"
    if data.raw_size == 0:
        # An empty data chunk, or a placeholder: it is a placeholder when samples follow
        # rather than another chunk.
        nxt = _peek(fh, data.body, 8)
        if len(nxt) == 8 and _plausible_id(nxt[:4]):
            return 0, ""
        if nxt:
            return None, "data chunk size 0 (unset, as a recorder streaming to disk leaves it)"
    return data.raw_size, ""


class _Fmt(NamedTuple):  # a named tuple, as _Chunk: one per file
    tag: int  # the effective format tag (the subformat's, for extensible)
    tag_detail: str
    n_channels: int
    rate: int
    block_align: int
    bits: int  # wBitsPerSample
    valid_bits: int | None  # extensible's wValidBitsPerSample


def _parse_fmt(path: Path | str, body: bytes, endian: str) -> _Fmt:
    if len(body) < 16:
        raise ExtractionError(path, f"fmt chunk of {len(body)} bytes; at least 16 expected")
    tag, nch, rate, _, align, bits = struct.unpack(endian + "HHIIHH", body[:16])
    tag_detail = _TAG_DETAILS.get(tag) or _tag_detail(tag)
    valid = None
    if tag == 0xFFFE:
        if len(body) < 40:
            raise ExtractionError(path, "WAVE_FORMAT_EXTENSIBLE fmt chunk shorter than 40 bytes")
        valid, _mask = struct.unpack(endian + "HI", body[18:24])
        sub = _subformat_tag(body[24:40], endian)
        if sub is None:
            raise ExtractionError(path, f"WAVE_FORMAT_EXTENSIBLE with an unknown SubFormat GUID "
                                  f"{body[24:40].hex()}")
        tag = sub
        tag_detail = (f"WAVE_FORMAT_EXTENSIBLE SubFormat {tag:#06x} "
                      f"({_TAG_NAMES.get(tag, 'unknown')}); the subformat, not wFormatTag, decides")
    if nch == 0:
        raise ExtractionError(path, "fmt chunk says 0 channels")
    if rate == 0:
        raise ExtractionError(path, "fmt chunk says a sampling rate of 0 Hz")
    if bits == 0 and tag in (1, 3):
        raise ExtractionError(path, "fmt chunk says 0 bits per sample")
    return _Fmt(tag, tag_detail, nch, rate, align, bits, valid or None)


# wFormatTag -> its provenance text ("wFormatTag 0x0001 (PCM)"), made once per tag.
_TAG_DETAILS: dict[int, str] = {}


def _tag_detail(tag: int) -> str:
    text = f"wFormatTag {tag:#06x} ({_TAG_NAMES.get(tag, 'unknown')})"
    if len(_TAG_DETAILS) < 1024:
        _TAG_DETAILS[tag] = text
    return text


def _subformat_tag(guid: bytes, endian: str) -> int | None:
    """The format tag a KSDATAFORMAT SubFormat GUID carries, or None if it is not one.

    Big-endian (RIFX) writers disagree on the GUID's byte order: scipy's files swap its
    three integer fields, sox swaps only the tag. Each layout is tried.
    """
    layouts = [(endian, guid)]
    if endian == ">":
        layouts.append(("<", guid[:2][::-1] + guid[2:]))  # sox: only the tag is big-endian
    for e, g in layouts:
        d1, d2, d3 = struct.unpack(e + "IHH", g[:8])
        if (d2, d3, g[8:16]) in _KS_TAILS and d1 <= 0xFFFF:
            return d1
    return None


def _put_fmt(path: Path | str, spec: _Fmt, f: Fields, where: str) -> tuple[str, str, int]:
    """nChannels, sr and type from the fmt chunk; returns (sample type, its provenance,
    bytes per sample)."""
    described = _DESCRIBED.get(spec)
    if described is None:
        try:
            described = (_sample_type(spec), _type_detail(spec), _container(spec))
        except _Unsupported as exc:
            raise ExtractionError(path, str(exc)) from None
        if len(_DESCRIBED) >= 1024:
            _DESCRIBED.clear()
        _DESCRIBED[spec] = described
    names = _WHERE.get(where)
    if names is None:
        names = _WHERE[where] = (f"{where} nChannels", f"{where} nSamplesPerSec")
    f.header("nChannels", spec.n_channels, names[0])
    f.header("sr", spec.rate, names[1])
    f.header("type", described[0], described[1])
    return described


# Where a fmt chunk was read ("fmt chunk") -> its nChannels and sr provenance texts.
_WHERE: dict[str, tuple[str, str]] = {}


# fmt chunk -> (sample type, its provenance, bytes per sample): a session's files share a
# handful of fmt chunks, and these are worked out once for each (bounded).
_DESCRIBED: dict[_Fmt, tuple[str, str, int]] = {}


def _container(spec: _Fmt) -> int:
    """Bytes per sample as stored: nBlockAlign / nChannels when that can hold the samples."""
    natural = max(1, -(-spec.bits // 8))
    if spec.tag in (6, 7):
        natural = 1
    if spec.block_align and spec.block_align % spec.n_channels == 0:
        per = spec.block_align // spec.n_channels
        if per >= natural:
            return per
    return natural


def _sample_type(spec: _Fmt) -> str:
    c = _container(spec)
    if spec.tag == 1:
        if c == 1:
            return "uint8"  # 8-bit WAV PCM is unsigned
        if c in (2, 3, 4, 8):
            return f"int{8 * c}"
    elif spec.tag == 3 and c in (4, 8):
        return f"float{8 * c}"
    elif spec.tag == 6:
        return "alaw"
    elif spec.tag == 7:
        return "mulaw"
    raise _Unsupported(spec)


class _Unsupported(Exception):
    """A fmt chunk bsingest cannot describe (turned into an ExtractionError by the caller)."""

    def __init__(self, spec: _Fmt) -> None:
        if spec.tag in (1, 3):
            what = (f"{spec.tag_detail} with {spec.bits}-bit samples in "
                    f"{_container(spec)}-byte containers")
        else:
            what = f"{spec.tag_detail}: a compressed encoding"
        super().__init__(f"{what} is not supported (PCM, IEEE float, A-law and µ-law are)")


def _type_detail(spec: _Fmt) -> str:
    c = _container(spec)
    valid = spec.valid_bits or spec.bits
    detail = f"{spec.tag_detail}, wBitsPerSample {spec.bits}, nBlockAlign {spec.block_align}"
    if spec.tag in (1, 3) and valid < 8 * c:
        detail += (f"; {valid} valid bits stored in {c}-byte containers: the type names the "
                   "container, as the bytes lie on disk (a reader that packs the samples "
                   "tighter, as soxi does, miscounts them)")
    return detail


def _count_frames(spec: _Fmt, offset: int, declared: int | None, unset: str, size: int,
                  f: Fields, described: tuple[str, str, int] | None = None) -> None:
    if described is None:
        described = _DESCRIBED.get(spec)
    c = described[2] if described is not None else _container(spec)
    frame = spec.n_channels * c
    if spec.block_align != frame:
        f.warn(f"nBlockAlign {spec.block_align} cannot hold {spec.n_channels} channels of "
               f"{spec.bits}-bit samples; frames taken as {frame} bytes")
    present = max(0, size - offset)
    if declared is not None and present >= declared and (
            present - declared < 2**32 or (present - declared) % 2**32) and not declared % frame:
        # The usual file: the data chunk's size holds, in whole frames.
        f.computed("nSamples", declared // frame, f"data chunk size {declared} bytes / "
                   f"{frame}-byte frames ({spec.n_channels} channels x {c} bytes)")
        return
    from_size = f"{present} data bytes present (file size {size} - data offset {offset})"
    if declared is None:
        used, how = present, from_size
        f.warn(f"{unset}: nSamples counted from the {present} bytes present after the header")
    elif declared > present:
        used, how = present, from_size
        whole, cut = divmod(present, frame)
        f.warn(f"truncated: the header promises {declared // frame} frames ({declared} data "
               f"bytes) but the file holds {whole} whole frames ({present} bytes"
               + (f", the last frame cut after {cut} bytes" if cut else "") + ")")
    elif present - declared >= 2**32 and (present - declared) % 2**32 == 0:
        # A writer that let a 32-bit data size wrap past 4 GiB: the samples run to the end.
        used, how = present, from_size
        f.warn(f"data chunk size {declared} wrapped at 4 GiB; nSamples counted from the "
               f"{present} bytes present")
    else:
        used, how = declared, f"data chunk size {declared} bytes"
        if declared % frame:
            f.warn(f"data chunk size {declared} is not a whole number of {frame}-byte frames; "
                   f"the last {declared % frame} bytes are ignored")
    f.computed("nSamples", used // frame, f"{how} / {frame}-byte frames "
               f"({spec.n_channels} channels x {c} bytes)")


def _peek(fh: _Reader, pos: int, n: int) -> bytes:
    fh.seek(pos)
    return fh.read(n)


def _plausible_id(b: bytes) -> bool:
    # Four printable ASCII bytes: nothing is left when they are deleted.
    return len(b) == 4 and not b.translate(None, _PRINTABLE)


_PRINTABLE = bytes(range(0x20, 0x7F))
# A chunk's 32-bit size, by byte order ("<" RIFF, ">" RIFX).
_U32 = {e: struct.Struct(e + "I").unpack_from for e in "<>"}


def _riff_form(magic: str, form: bytes) -> str:
    what = _RIFF_FORMS.get(form)
    shown = form.decode("latin-1")
    if what:
        return f"{what} ({magic} form {shown!r}), not WAVE audio"
    return f"{magic} form {shown!r} is not WAVE audio"


# --- AIFF, AIFF-C -----------------------------------------------------------------------

_AIFC_TYPES = {b"NONE": None, b"twos": None, b"sowt": None, b"raw ": "uint8",
               b"in24": "int24", b"in32": "int32", b"fl32": "float32", b"FL32": "float32",
               b"fl64": "float64", b"FL64": "float64", b"ulaw": "mulaw", b"ULAW": "mulaw",
               b"alaw": "alaw", b"ALAW": "alaw"}


def _read_aiff(path: Path | str, fh: _Reader, head: bytes, size: int, f: Fields) -> None:
    aifc = head[8:12] == b"AIFC"
    comm = ssnd = None
    pos, n = 12, 0
    while pos + 8 <= size and (comm is None or ssnd is None):
        n += 1
        if n > _MAX_CHUNKS:
            raise ExtractionError(path, f"more than {_MAX_CHUNKS} chunks before the samples")
        raw = _peek(fh, pos, 8)
        if not _plausible_id(raw[:4]):
            raise ExtractionError(path, f"malformed AIFF chunk header at byte {pos}: {raw[:4]!r}")
        (csize,) = struct.unpack(">I", raw[4:8])
        if raw[:4] == b"COMM":
            comm = _peek(fh, pos + 8, min(csize, _FMT_READ))
        elif raw[:4] == b"SSND":
            ssnd = (pos + 8, csize)
        pos += 8 + csize + (csize & 1)
    if comm is None or len(comm) < 18:
        raise ExtractionError(path, "AIFF file without a complete COMM chunk")
    if ssnd is None:
        raise ExtractionError(path, "AIFF file without an SSND (sound data) chunk")
    nch, frames, bits = struct.unpack(">hIh", comm[:8])
    rate = _extended(comm[8:18])
    kind = comm[18:22] if aifc and len(comm) >= 22 else b"NONE"
    if kind not in _AIFC_TYPES:
        raise ExtractionError(path, f"AIFF-C compression {kind.decode('latin-1')!r} "
                              "is not supported")
    if nch <= 0 or not 0 < rate < math.inf or bits <= 0:
        raise ExtractionError(path, f"COMM chunk says {nch} channels, {bits} bits, {rate} Hz")
    stype = _AIFC_TYPES[kind]
    c = 1 if stype in ("mulaw", "alaw", "uint8") else -(-bits // 8)
    if stype is None:
        # Big-endian (or 'sowt' little-endian) signed PCM in whole bytes.
        stype = f"int{8 * c}" if c in (1, 2, 3, 4) else None
        if stype is None:
            raise ExtractionError(path, f"{bits}-bit AIFF samples are not supported")
    elif stype.startswith(("float", "int")):
        c = int(stype.lstrip("floatin")) // 8
    f.header("format", "AIFF-C" if aifc else "AIFF", f"magic 'FORM' with form "
             f"'{head[8:12].decode()}'")
    f.header("nChannels", nch, "COMM numChannels")
    f.header("sr", rate, "COMM sampleRate (80-bit extended)")
    detail = f"COMM sampleSize {bits}" + (f", compression {kind.decode('latin-1')!r}"
                                          if aifc else "")
    if 8 * c > bits and stype.startswith("int"):
        detail += f"; {bits} valid bits in {c}-byte containers: the type names the container"
    f.header("type", stype, detail)
    body, csize = ssnd
    offset = struct.unpack(">I", _peek(fh, body, 4))[0] if body + 8 <= size else 0
    start = body + 8 + offset
    frame = nch * c
    present = max(0, min(size, body + csize) - start) if csize else max(0, size - start)
    whole = present // frame
    if frames == 0 and max(0, size - start) >= frame:
        whole = max(0, size - start) // frame
        f.warn(f"COMM numSampleFrames is 0 (unset, as a recorder streaming to disk leaves it): "
               f"nSamples counted from the {size - start} bytes present")
        f.computed("nSamples", whole, f"{size - start} sound bytes present / {frame}-byte frames")
    elif whole < frames:
        f.warn(f"truncated: COMM promises {frames} frames but the file holds {whole} whole "
               f"frames ({present} sound bytes)")
        f.computed("nSamples", whole, f"{present} sound bytes present / {frame}-byte frames")
    else:
        f.header("nSamples", frames, "COMM numSampleFrames (the SSND chunk holds them all)")


def _extended(b: bytes) -> float:
    """An IEEE 754 80-bit extended float (AIFF's sampleRate)."""
    exp, mant = struct.unpack(">HQ", b)
    sign = -1.0 if exp & 0x8000 else 1.0
    exp &= 0x7FFF
    if exp == 0 and mant == 0:
        return 0.0
    if exp == 0x7FFF or exp - 16383 > 1023:
        return float("nan") if exp == 0x7FFF else sign * float("inf")  # refused by the caller
    return sign * math.ldexp(mant, exp - 16383 - 63)


# --- FLAC -------------------------------------------------------------------------------

# The end of a FLAC file is searched for frames in a window of this many frame sizes
# (STREAMINFO max_framesize), or _FLAC_WINDOW bytes when the encoder left it unknown.
_FLAC_WINDOW = 1 << 20
_FLAC_BITS = {1: 8, 2: 12, 4: 16, 5: 20, 6: 24, 7: 32}


@dataclass(frozen=True, slots=True)
class _StreamInfo:
    min_block: int
    max_block: int
    max_frame: int
    rate: int
    n_channels: int
    bits: int
    total: int
    audio_start: int  # offset of the first frame


def _read_flac(path: Path | str, fh: _Reader, head: bytes, size: int, f: Fields) -> None:
    si = _streaminfo(path, fh, _id3_end(head) or 0, size)
    f.header("format", "FLAC", "magic 'fLaC'")
    f.header("nChannels", si.n_channels, "STREAMINFO channels")
    f.header("sr", si.rate, "STREAMINFO sample rate")
    c = -(-si.bits // 8)
    stype = f"int{8 * c}" if c in (1, 2, 3, 4) else f"int{si.bits}"
    detail = f"STREAMINFO bits per sample {si.bits}"
    if 8 * c != si.bits:
        detail += f"; {si.bits}-bit samples decode into {c}-byte integers: the type names those"
    f.header("type", stype, detail)
    last = _flac_tail(fh, si, size)
    if last is None and size - si.audio_start <= _tail_window(si):
        # The window covered every byte after the metadata: not one whole frame is there.
        last = (0, f"no whole frame in the {size - si.audio_start} bytes after the metadata",
                size == si.audio_start)
    if last is None:
        if si.total == 0:
            raise ExtractionError(path, "STREAMINFO total_samples is 0 (unknown, a streamed "
                                  "FLAC) and no whole FLAC frame was found in the last "
                                  f"{_tail_window(si)} bytes to count from: the file is damaged")
        f.header("nSamples", si.total, "STREAMINFO total_samples")
        f.warn(f"no whole FLAC frame found in the last {_tail_window(si)} bytes: "
               "STREAMINFO total_samples taken unverified; the file may be damaged")
        return
    on_disk, how, complete = last
    cut = "" if complete else "; the file ends inside a frame, whose samples are not counted"
    if si.total == 0:
        f.warn(f"STREAMINFO total_samples is 0 (unknown, as an encoder writing to a pipe "
               f"leaves it): nSamples counted from the frames on disk{cut}")
        f.computed("nSamples", on_disk, how)
    elif on_disk != si.total:
        what = "truncated: " if on_disk < si.total else ""
        f.warn(f"{what}STREAMINFO promises {si.total} samples but the whole frames on disk "
               f"hold {on_disk}{cut}")
        f.computed("nSamples", on_disk, how)
    else:
        f.header("nSamples", si.total, f"STREAMINFO total_samples, checked against the frames "
                 f"on disk ({how})")
        if cut:
            f.warn(f"bytes after the last whole frame{cut}")


def _streaminfo(path: Path | str, fh: _Reader, start: int, size: int) -> _StreamInfo:
    fh.seek(start + 4)
    hdr = fh.read(4)
    if len(hdr) < 4 or hdr[0] & 0x7F != 0:
        raise ExtractionError(path, "FLAC file without a STREAMINFO block")
    body = fh.read(34)
    if len(body) < 34:
        raise ExtractionError(path, "STREAMINFO block cut short")
    min_block, max_block = struct.unpack(">HH", body[:4])
    max_frame = int.from_bytes(body[7:10], "big")
    packed = int.from_bytes(body[10:18], "big")
    rate = packed >> 44
    nch = ((packed >> 41) & 0x7) + 1
    bits = ((packed >> 36) & 0x1F) + 1
    total = packed & ((1 << 36) - 1)
    if rate == 0:
        raise ExtractionError(path, "STREAMINFO says a sampling rate of 0 Hz")
    # Walk the other metadata blocks (headers only) to where the frames start.
    pos, last = start + 4, bool(hdr[0] & 0x80)
    pos += 4 + int.from_bytes(hdr[1:4], "big")
    n = 0
    while not last:
        n += 1
        b = _peek(fh, pos, 4)
        if len(b) < 4 or n > _MAX_CHUNKS:
            raise ExtractionError(path, f"FLAC metadata blocks run past the end of the file "
                                  f"(byte {pos} of {size})")
        last = bool(b[0] & 0x80)
        pos += 4 + int.from_bytes(b[1:4], "big")
    if pos > size:
        raise ExtractionError(path, f"FLAC metadata blocks run past the end of the file "
                              f"(byte {pos} of {size})")
    return _StreamInfo(min_block, max_block, max_frame, rate, nch, bits, total, pos)


def _tail_window(si: _StreamInfo) -> int:
    # Bounded: the frame search is pure Python, and STREAMINFO's max_framesize (up to
    # 16 MiB) is the file's word; beyond the bound the count is STREAMINFO's, with a warning.
    return min(3 * si.max_frame + 64, _FLAC_WINDOW) if si.max_frame else _FLAC_WINDOW


def _flac_tail(fh: _Reader, si: _StreamInfo, size: int) -> tuple[int, str, bool] | None:
    """Samples in whole frames on disk, from the frames at the end of the file.

    Candidate frame headers (sync code, valid fields, CRC-8) in the last window are
    checked with the frame's CRC-16: a frame whose CRC-16 holds ends where the next
    begins (or at the end of the file). The last such frame's first sample plus its
    block size is what a decoder yields.
    """
    lo = max(si.audio_start, size - _tail_window(si))
    fh.seek(lo)
    buf = fh.read(size - lo)
    heads = []
    i = buf.find(b"\xff")
    while i != -1:
        if i + 1 < len(buf) and buf[i + 1] in (0xF8, 0xF9):
            parsed = _frame_header(buf, i, si)
            if parsed is not None:
                heads.append((i, *parsed))
        i = buf.find(b"\xff", i + 1)
    ends = [h[0] for h in heads[1:]] + [len(buf)] if heads else []
    for (start, first, block), end in reversed(list(zip(heads, ends, strict=True))):
        if end - start < 4:
            continue
        if _crc16(buf, start, end - 2) == int.from_bytes(buf[end - 2:end], "big"):
            complete = end == len(buf)
            frame_no = "sample" if buf[start + 1] == 0xF9 else "frame"
            how = (f"the last whole frame, at byte {lo + start}, starts at sample {first} "
                   f"({frame_no} number in its header) and holds {block}")
            return first + block, how, complete
    return None


def _frame_header(buf: bytes, i: int, si: _StreamInfo) -> tuple[int, int] | None:
    """(first sample, block size) of a FLAC frame header at ``buf[i]``, if it is one."""
    if i + 6 > len(buf):
        return None
    b2, b3 = buf[i + 2], buf[i + 3]
    bs_code, sr_code = b2 >> 4, b2 & 0xF
    if bs_code == 0 or sr_code == 0xF or (b3 >> 4) > 10 or b3 & 1 or (b3 >> 1) & 7 == 3:
        return None
    j = i + 4
    first = buf[j]
    n_extra = 0
    if first < 0x80:
        num = first
    elif 0xC0 <= first < 0xFE:
        n_extra = 1
        while first & (0x40 >> n_extra):
            n_extra += 1
        num = first & (0x3F >> n_extra)
        if j + 1 + n_extra > len(buf):
            return None
        for k in range(1, n_extra + 1):
            cont = buf[j + k]
            if cont & 0xC0 != 0x80:
                return None
            num = (num << 6) | (cont & 0x3F)
    else:
        return None
    j += 1 + n_extra
    if bs_code == 1:
        block = 192
    elif bs_code <= 5:
        block = 576 << (bs_code - 2)
    elif bs_code == 6:
        if j + 1 > len(buf):
            return None
        block, j = buf[j] + 1, j + 1
    elif bs_code == 7:
        if j + 2 > len(buf):
            return None
        block, j = int.from_bytes(buf[j:j + 2], "big") + 1, j + 2
    else:
        block = 256 << (bs_code - 8)
    j += {12: 1, 13: 2, 14: 2}.get(sr_code, 0)
    if j + 1 > len(buf) or _crc8(buf, i, j) != buf[j]:
        return None
    variable = buf[i + 1] == 0xF9
    return (num if variable else num * si.max_block), block


@cache
def _crc_tables() -> tuple[list[int], list[int]]:
    t8, t16 = [], []
    for n in range(256):
        c = n
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
        t8.append(c)
        c = n << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x8005) & 0xFFFF if c & 0x8000 else (c << 1) & 0xFFFF
        t16.append(c)
    return t8, t16


def _crc8(buf: bytes, start: int, end: int) -> int:
    c, t = 0, _crc_tables()[0]
    for x in buf[start:end]:
        c = t[c ^ x]
    return c


def _crc16(buf: bytes, start: int, end: int) -> int:
    c, t = 0, _crc_tables()[1]
    for x in buf[start:end]:
        c = ((c << 8) & 0xFFFF) ^ t[(c >> 8) ^ x]
    return c


# --- helpers shared by the families -------------------------------------------------------


def _flac_after_id3(fh: _Reader, head: bytes) -> bool:
    return _id3_end(head) is not None and _peek(fh, _id3_end(head) or 0, 4) == b"fLaC"


def _id3_end(head: bytes) -> int | None:
    if len(head) < 10 or head[:3] != b"ID3":
        return None
    s = head[6:10]
    if any(x & 0x80 for x in s):
        return None
    return 10 + ((s[0] << 21) | (s[1] << 14) | (s[2] << 7) | s[3])


def _not_audio(head: bytes) -> str:
    if head[4:8] == b"ftyp":
        return "an MP4/QuickTime file, not audio that bsingest reads (WAV, RF64, W64, AIFF, FLAC)"
    for magic, what in _NOT_AUDIO:
        if head.startswith(magic):
            return f"{what}, not audio that bsingest reads (WAV, RF64, W64, AIFF, FLAC)"
    sample = head[:32]
    if all(32 <= x < 127 or x in (9, 10, 13) for x in sample):
        shown = sample[:16].decode("ascii").replace("\n", " ").replace("\r", " ")
        return f"a text file (starts {shown!r}), not audio"
    return f"unknown content (starts with bytes {head[:8].hex(' ')}), not WAV, RF64, W64, AIFF " \
           "or FLAC audio"


_SUFFIX_FORMATS = {".wav": {"WAV", "RF64", "BW64", "W64"}, ".wave": {"WAV", "RF64", "BW64", "W64"},
                   ".bwf": {"WAV", "RF64", "BW64"}, ".rf64": {"RF64", "BW64"}, ".w64": {"W64"},
                   ".flac": {"FLAC"}, ".aif": {"AIFF", "AIFF-C"}, ".aiff": {"AIFF", "AIFF-C"},
                   ".aifc": {"AIFF", "AIFF-C"}}


def _check_suffix(path: Path | str, fmt: str, f: Fields) -> None:
    suffix = path.suffix if isinstance(path, Path) else _suffix(path)
    allowed = _SUFFIX_FORMATS.get(suffix.lower())
    if allowed is not None and fmt not in allowed:
        f.warn(f"named {suffix} but holds {fmt} audio; described as {fmt}")


def _suffix(path: str) -> str:
    """``Path(path).suffix``, from the text (a path as ``str(Path)`` writes it)."""
    name = path.rpartition(os.sep)[2]
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def _check_stated(stated: Mapping[str, Any], f: Fields) -> None:
    # Parameters stated for a folder's raw binary files do not apply to self-describing
    # audio; say so only where they disagree with the header.
    for key, field in (("sr", "sr"), ("n_channels", "nChannels")):
        if key in stated and float(stated[key]) != float(f.values[field]):
            f.warn(f"stated {key} {stated[key]} ignored: the header says {f.values[field]}")
