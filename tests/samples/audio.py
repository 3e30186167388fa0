"""Audio samples (WAV, RF64, W64, AIFF, FLAC) and the byte-level WAV builders the audio
tests share. Files come from real writers (stdlib ``wave``, libsndfile through
soundfile) or are built chunk by chunk where a writer cannot make the edge case.
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np

EXTRACTOR = "audio"

W64_RIFF = b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00"
W64_TAIL = b"\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a"
KS_TAIL = bytes.fromhex("000000001000800000aa00389b71")  # KSDATAFORMAT GUID after the tag


def chunk(cid: bytes, body: bytes, *, size: int | None = None, endian: str = "<") -> bytes:
    """A RIFF chunk, with its pad byte when the body is odd-sized."""
    declared = len(body) if size is None else size
    return cid + struct.pack(endian + "I", declared) + body + b"\x00" * (len(body) & 1)


def fmt_body(tag: int, n_channels: int, rate: int, bits: int, *, block_align: int | None = None,
             subformat: int | None = None, valid_bits: int | None = None,
             endian: str = "<") -> bytes:
    """A fmt chunk body: WAVEFORMATEX, or WAVE_FORMAT_EXTENSIBLE when ``subformat`` is set."""
    align = n_channels * -(-bits // 8) if block_align is None else block_align
    head = struct.pack(endian + "HHIIHH", 0xFFFE if subformat is not None else tag,
                       n_channels, rate, rate * align, align, bits)
    if subformat is None:
        return head
    guid = struct.pack(endian + "IHH", subformat, 0, 0x10) + KS_TAIL[6:]
    return head + struct.pack(endian + "HHI", 22, valid_bits or bits, 0) + guid


def riff(chunks: bytes, *, magic: bytes = b"RIFF", form: bytes = b"WAVE",
         riff_size: int | None = None, endian: str = "<") -> bytes:
    size = 4 + len(chunks) if riff_size is None else riff_size
    return magic + struct.pack(endian + "I", size) + form + chunks


def write_wav_bytes(path: Path, fmt: bytes, data: bytes, *, before: bytes = b"",
                    data_size: int | None = None, riff_size: int | None = None,
                    magic: bytes = b"RIFF", endian: str = "<") -> Path:
    """A WAV built from parts: ``before`` holds chunks placed between fmt and data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = chunk(b"fmt ", fmt, endian=endian) + before + \
        chunk(b"data", data, size=data_size, endian=endian)
    path.write_bytes(riff(body, magic=magic, riff_size=riff_size, endian=endian))
    return path


def w64_chunk(name: bytes, body: bytes, *, size: int | None = None) -> bytes:
    declared = 24 + len(body) if size is None else size
    return name + W64_TAIL + struct.pack("<Q", declared) + body + b"\x00" * (-len(body) % 8)


def write_w64_header(path: Path, fmt: bytes, data_bytes: int) -> Path:
    """A Wave64 file whose data chunk declares ``data_bytes``; the samples are not written
    (the caller extends the file with ``os.truncate``, sparse)."""
    body = (b"wave" + W64_TAIL + w64_chunk(b"fmt ", fmt)
            + b"data" + W64_TAIL + struct.pack("<Q", 24 + data_bytes))
    path.write_bytes(W64_RIFF + struct.pack("<Q", 24 + len(body) + data_bytes) + body)
    return path


def write_rf64_header(path: Path, fmt: bytes, data_bytes: int, frames: int) -> Path:
    """An RF64 header (ds64 carries the sizes; the 32-bit fields are 0xFFFFFFFF)."""
    def body(riff_total: int) -> bytes:
        ds64 = struct.pack("<QQQI", riff_total, data_bytes, frames, 0)
        return b"WAVE" + chunk(b"ds64", ds64) + chunk(b"fmt ", fmt) + b"data\xff\xff\xff\xff"

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RF64\xff\xff\xff\xff" + body(len(body(0)) + data_bytes))
    return path


def write_stdlib_wav(path: Path, *, n_channels: int = 1, rate: int = 250_000, width: int = 2,
                     n_frames: int = 1000) -> Path:
    """A WAV written by the stdlib ``wave`` module (PCM)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    values = (np.arange(n_frames * n_channels) % 200).astype("<i4")
    data = values.view("u1").reshape(-1, 4)[:, :width]  # the low bytes: little-endian PCM
    with wave.open(str(path), "wb") as w:
        w.setnchannels(n_channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data.tobytes())
    return path


def write_soundfile(path: Path, *, fmt: str, subtype: str, n_channels: int = 2,
                    rate: int = 48_000, n_frames: int = 500) -> Path:
    """A file written by libsndfile through soundfile."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(n_frames)[:, None] / rate
    data = (0.5 * np.sin(2 * np.pi * 440 * t * np.arange(1, n_channels + 1))).astype("float32")
    sf.write(str(path), data, rate, format=fmt, subtype=subtype)
    return path


def good(tmp: Path) -> list[Path]:
    return [
        write_stdlib_wav(tmp / "mic.wav"),
        write_stdlib_wav(tmp / "UPPER.WAV", n_channels=2, rate=384_000, width=3),
        write_soundfile(tmp / "big.rf64", fmt="RF64", subtype="PCM_24"),
        write_soundfile(tmp / "float.w64", fmt="W64", subtype="FLOAT"),
        write_soundfile(tmp / "x.flac", fmt="FLAC", subtype="PCM_16"),
        write_soundfile(tmp / "x.aiff", fmt="AIFF", subtype="PCM_16"),
        write_wav_bytes(tmp / "streamed.wav", fmt_body(1, 1, 8000, 16), b"\x01\x02" * 50,
                        data_size=0xFFFFFFFF, riff_size=0xFFFFFFFF),
    ]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    out = []
    for name, content in [
        ("empty.wav", b""),
        ("notes.wav", b"these are my notes about the session, not audio\n"),
        ("picture.wav", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("movie.wav", riff(chunk(b"LIST", b"hdrlavih" + b"\x00" * 56), form=b"AVI ")),
        ("nofmt.wav", riff(chunk(b"data", b"\x00" * 16))),
        ("nodata.wav", riff(chunk(b"fmt ", fmt_body(1, 1, 8000, 16)))),
        ("short.wav", b"RIFF\x24\x00"),
        ("nochannels.wav", riff(chunk(b"fmt ", fmt_body(1, 0, 8000, 16))
                                + chunk(b"data", b"\x00" * 4))),
        ("adpcm.wav", riff(chunk(b"fmt ", fmt_body(0x11, 1, 8000, 4, block_align=256))
                           + chunk(b"data", b"\x00" * 512))),
        ("empty.flac", b"fLaC"),
    ]:
        p = tmp / name
        p.write_bytes(content)
        out.append(p)
    return out
