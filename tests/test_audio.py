"""Audio values, checked against byte counts and second readers (stdlib wave, libsndfile,
PyAV decoding, sox), never against our own parser."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from bsingest.errors import ExtractionError
from bsingest.extraction import extract, extract_folder
from extractors import extractor_for
from tests.samples.audio import (
    chunk,
    fmt_body,
    write_rf64_header,
    write_soundfile,
    write_stdlib_wav,
    write_w64_header,
    write_wav_bytes,
)


def _tool(name: str) -> str | None:
    """An encoder some fixtures need: None (skip) where missing, except under CI, which
    installs it (.ci/run): there its name is returned, and running it fails loudly."""
    return shutil.which(name) or (name if os.environ.get("CI") else None)


FFMPEG = _tool("ffmpeg")
SOX = _tool("sox")

# soundfile's subtype names, mapped to the stored sample type the issue asks for.
SUBTYPE_TYPE = {"PCM_U8": "uint8", "PCM_S8": "int8", "PCM_16": "int16", "PCM_24": "int24",
                "PCM_32": "int32", "FLOAT": "float32", "DOUBLE": "float64", "ULAW": "mulaw",
                "ALAW": "alaw"}


def one(path: Path):  # type: ignore[no-untyped-def]
    results = extract(path)
    assert len(results) == 1
    return results[0]


def data_offset(path: Path) -> int:
    """Where the samples start: the byte after the 'data' chunk header (found by search)."""
    raw = path.read_bytes()
    return raw.index(b"data") + 8


def decoded_frames(path: Path) -> int:
    """Samples per channel a decoder (FFmpeg through PyAV) yields, up to any damage."""
    n = 0
    with av.open(str(path)) as container:
        try:
            for frame in container.decode(audio=0):
                n += frame.samples
        except av.error.InvalidDataError:
            pass  # a truncated stream: count what decoded
    return n


# --- values against libsndfile / the stdlib, for files every reader agrees on ----------


@pytest.mark.parametrize(("fmt", "subtype", "suffix", "expect_format"), [
    ("WAV", "PCM_U8", ".wav", "WAV"),
    ("WAV", "PCM_16", ".wav", "WAV"),
    ("WAV", "PCM_24", ".wav", "WAV"),
    ("WAV", "PCM_32", ".wav", "WAV"),
    ("WAV", "FLOAT", ".wav", "WAV"),
    ("WAV", "DOUBLE", ".wav", "WAV"),
    ("WAV", "ULAW", ".wav", "WAV"),
    ("WAV", "ALAW", ".wav", "WAV"),
    ("WAVEX", "PCM_24", ".wav", "WAV"),
    ("WAVEX", "FLOAT", ".wav", "WAV"),
    ("RF64", "PCM_16", ".wav", "RF64"),
    ("RF64", "DOUBLE", ".rf64", "RF64"),
    ("W64", "PCM_24", ".w64", "W64"),
    ("W64", "FLOAT", ".w64", "W64"),
    ("AIFF", "PCM_16", ".aiff", "AIFF"),
    ("AIFF", "PCM_24", ".aif", "AIFF"),
    ("AIFF", "FLOAT", ".aiff", "AIFF-C"),
    ("AIFF", "PCM_S8", ".aiff", "AIFF"),
    ("FLAC", "PCM_16", ".flac", "FLAC"),
    ("FLAC", "PCM_24", ".flac", "FLAC"),
])
def test_values_match_libsndfile(fmt: str, subtype: str, suffix: str, expect_format: str,
                                 tmp_path: Path) -> None:
    path = write_soundfile(tmp_path / f"x{suffix}", fmt=fmt, subtype=subtype, n_channels=3,
                           rate=250_000, n_frames=1234)
    info = sf.info(str(path))
    tj = one(path).type_json
    assert (tj["nChannels"], tj["sr"], tj["nSamples"]) == (info.channels, info.samplerate,
                                                           info.frames)
    assert tj["nSamples"] == 1234
    assert tj["type"] == SUBTYPE_TYPE[subtype]
    assert tj["format"] == expect_format


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_stdlib_wave_pcm_widths(width: int, tmp_path: Path) -> None:
    path = write_stdlib_wav(tmp_path / "a.wav", n_channels=2, rate=500_000, width=width,
                            n_frames=777)
    with wave.open(str(path)) as w:
        expect = (w.getnchannels(), w.getframerate(), w.getnframes())
    tj = one(path).type_json
    assert (tj["nChannels"], tj["sr"], tj["nSamples"]) == expect
    assert tj["type"] == {1: "uint8", 2: "int16", 3: "int24", 4: "int32"}[width]


def test_upper_case_suffix_is_audio(tmp_path: Path) -> None:
    path = write_stdlib_wav(tmp_path / "REC0001.WAV")
    assert extractor_for(path).name == "audio"
    assert one(path).type == "Audio"


def test_extensible_multichannel_subformat_decides(tmp_path: Path) -> None:
    path = write_soundfile(tmp_path / "x.wav", fmt="WAVEX", subtype="FLOAT", n_channels=8,
                           n_frames=100)
    raw = path.read_bytes()
    assert struct.unpack("<H", raw[20:22])[0] == 0xFFFE  # wFormatTag says "extensible"
    tj = one(path).type_json
    assert (tj["nChannels"], tj["type"], tj["nSamples"]) == (8, "float32", 100)


# --- streaming placeholders and truncation: the byte count decides -------------------------


@pytest.mark.parametrize("placeholder", [0xFFFFFFFF, 0])
def test_streaming_placeholder_sizes_count_the_bytes_present(placeholder: int,
                                                            tmp_path: Path) -> None:
    good = write_soundfile(tmp_path / "good.wav", fmt="WAV", subtype="PCM_16", n_channels=2,
                           n_frames=4321)
    raw = bytearray(good.read_bytes())
    off = data_offset(good)
    raw[4:8] = struct.pack("<I", placeholder)
    raw[off - 4:off] = struct.pack("<I", placeholder)
    path = tmp_path / "streamed.wav"
    path.write_bytes(raw)
    r = one(path)
    assert r.type_json["nSamples"] == (len(raw) - off) // 4 == 4321
    # The warning names the size the header holds and the bytes counted instead.
    said = f"data chunk size {'0xFFFFFFFF' if placeholder else '0'} "
    (warning,) = r.warnings
    assert said in warning and f"{len(raw) - off} bytes present" in warning
    assert "streaming" in warning


def test_empty_data_chunk_followed_by_another_chunk_is_empty(tmp_path: Path) -> None:
    path = write_wav_bytes(tmp_path / "e.wav", fmt_body(1, 1, 8000, 16), b"")
    with open(path, "ab") as fh:
        fh.write(chunk(b"LIST", b"INFOISFT" + struct.pack("<I", 4) + b"abc\x00"))
    r = one(path)
    assert r.type_json["nSamples"] == 0
    assert r.warnings == ()


def test_rf64_streaming_with_ds64_data_size_zero(tmp_path: Path) -> None:
    path = write_rf64_header(tmp_path / "live.wav", fmt_body(1, 2, 384_000, 16), 0, 0)
    samples = np.zeros(2 * 3000, dtype="<i2").tobytes()
    with open(path, "ab") as fh:
        fh.write(samples)
    r = one(path)
    assert r.type_json["nSamples"] == len(samples) // 4 == 3000
    assert any("ds64 data size" in w for w in r.warnings)


def test_truncated_wav_counts_whole_frames_and_warns_with_both_numbers(tmp_path: Path) -> None:
    full = write_soundfile(tmp_path / "full.wav", fmt="WAV", subtype="PCM_24", n_channels=2,
                           n_frames=1000)
    off = data_offset(full)
    raw = full.read_bytes()
    cut = raw[: off + 6 * 400 + 4]  # 400 whole frames and 4 bytes of the next
    path = tmp_path / "cut.wav"
    path.write_bytes(cut)
    r = one(path)
    assert r.type_json["nSamples"] == (len(cut) - off) // 6 == 400
    (warning,) = r.warnings
    assert "1000" in warning and "400" in warning and "truncated" in warning


def test_truncated_rf64_from_the_corpus_kind(tmp_path: Path) -> None:
    full = write_soundfile(tmp_path / "full.wav", fmt="RF64", subtype="PCM_16", n_channels=1,
                           n_frames=1000)
    raw = full.read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(raw[:-101])  # 50 whole frames and half of one less
    r = one(path)
    assert r.type_json["nSamples"] == (len(raw) - 101 - data_offset(full)) // 2 == 949
    assert "truncated" in r.warnings[0]


# --- files over 4 GiB (sparse): headers decide, in O(1) --------------------------------


def _sparse(path: Path, size: int) -> None:
    try:
        os.truncate(path, size)
    except OSError as exc:  # a filesystem without sparse files or large-file support
        pytest.skip(f"cannot make a sparse {size}-byte file: {exc}")


def test_rf64_over_4gib_reads_ds64(tmp_path: Path) -> None:
    frames = 5 * 2**30 // 4 + 3  # 2-channel int16: beyond what 32 bits can hold
    path = write_rf64_header(tmp_path / "long.wav", fmt_body(1, 2, 384_000, 16), 4 * frames,
                             frames)
    _sparse(path, path.stat().st_size + 4 * frames)
    tj = one(path).type_json
    assert tj["format"] == "RF64"
    assert tj["nSamples"] == frames == sf.info(str(path)).frames


def test_w64_over_4gib(tmp_path: Path) -> None:
    frames = 5 * 2**30 // 8 + 1
    fmt = fmt_body(3, 2, 250_000, 32)
    path = write_w64_header(tmp_path / "long.w64", fmt, 8 * frames)
    _sparse(path, path.stat().st_size + 8 * frames)
    tj = one(path).type_json
    assert (tj["format"], tj["type"], tj["nSamples"]) == ("W64", "float32", frames)
    assert sf.info(str(path)).frames == frames


def test_wav_data_size_wrapped_past_4gib(tmp_path: Path) -> None:
    data_bytes = 2**32 + 2 * 1000
    path = write_wav_bytes(tmp_path / "wrapped.wav", fmt_body(1, 1, 250_000, 16), b"",
                           data_size=data_bytes % 2**32)
    _sparse(path, path.stat().st_size + data_bytes)
    r = one(path)
    assert r.type_json["nSamples"] == data_bytes // 2
    assert any("4 GiB" in w for w in r.warnings)


# --- W64 float that libsndfile calls PCM_32: the format tag decides -------------------------


@pytest.mark.skipif(FFMPEG is None, reason="ffmpeg not installed (.ci/run installs it)")
def test_w64_extensible_float_from_ffmpeg_is_float32(tmp_path: Path) -> None:
    path = tmp_path / "ff.w64"
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=f=1000:r=48000:d=0.05", "-ac", "2", "-c:a", "pcm_f32le", "-f", "w64",
                    str(path)], check=True)
    raw = path.read_bytes()
    fmt_at = raw.index(b"fmt ") + 24
    # The fmt chunk is extensible with the IEEE-float SubFormat (tag 3): asked for pcm_f32le.
    assert struct.unpack("<H", raw[fmt_at:fmt_at + 2])[0] == 0xFFFE
    assert struct.unpack("<I", raw[fmt_at + 24:fmt_at + 28])[0] == 3
    tj = one(path).type_json
    assert (tj["type"], tj["nChannels"], tj["sr"]) == ("float32", 2, 48000)
    assert tj["nSamples"] == decoded_frames(path) == 2400


# --- RIFX, chunks before data, pad bytes, narrow samples in wide containers -----------------


def test_rifx_big_endian(tmp_path: Path) -> None:
    samples = np.arange(30, dtype=">i2").tobytes()
    path = write_wav_bytes(tmp_path / "be.wav", fmt_body(1, 3, 8000, 16, endian=">"), samples,
                           magic=b"RIFX", endian=">")
    info = sf.info(str(path))
    assert info.endian == "BIG"
    tj = one(path).type_json
    assert (tj["nChannels"], tj["sr"], tj["nSamples"], tj["type"]) == (3, 8000, 10, "int16")
    assert tj["nSamples"] == info.frames


@pytest.mark.skipif(SOX is None, reason="sox not installed (.ci/run installs it)")
def test_rifx_extensible_from_sox(tmp_path: Path) -> None:
    path = tmp_path / "be.wav"
    subprocess.run([SOX, "-n", "-B", "-r", "8000", "-b", "24", "-c", "3", str(path),
                    "synth", "0.01", "sine", "100"], check=True)
    assert path.read_bytes()[:4] == b"RIFX"
    tj = one(path).type_json
    assert (tj["nChannels"], tj["type"], tj["nSamples"]) == (3, "int24", 80)


def test_list_bext_guan_and_odd_chunks_before_data(tmp_path: Path) -> None:
    before = (chunk(b"LIST", b"INFOICMT" + struct.pack("<I", 5) + b"hello")  # odd: padded
              + chunk(b"bext", b"\x00" * 603)  # odd-sized bext
              + chunk(b"guan", b"GUANO|Version: 1.0\nMake: AudioMoth\n")
              + chunk(b"JUNK", b"\x00" * 27))
    samples = np.zeros(2 * 999, dtype="<i2").tobytes()
    path = write_wav_bytes(tmp_path / "meta.wav", fmt_body(1, 2, 250_000, 16), samples,
                           before=before)
    tj = one(path).type_json
    assert tj["nSamples"] == len(samples) // 4 == sf.info(str(path)).frames == 999
    with wave.open(str(path)) as w:
        assert w.getnframes() == 999


def test_fmt_after_data(tmp_path: Path) -> None:
    samples = np.zeros(64, dtype="<i2").tobytes()
    body = chunk(b"data", samples) + chunk(b"fmt ", fmt_body(1, 1, 8000, 16))
    path = tmp_path / "late.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
    assert one(path).type_json["nSamples"] == len(samples) // 2 == 64


@pytest.mark.parametrize(("bits", "container", "type_"), [(12, 2, "int16"), (20, 3, "int24"),
                                                          (24, 4, "int32")])
def test_narrow_samples_are_described_by_their_container(bits: int, container: int, type_: str,
                                                         tmp_path: Path) -> None:
    n_ch, frames = 4, 9
    samples = b"\x00" * (n_ch * container * frames)
    path = write_wav_bytes(tmp_path / "narrow.wav",
                           fmt_body(1, n_ch, 8000, bits, block_align=n_ch * container), samples)
    r = one(path)
    assert r.type_json["type"] == type_
    assert r.type_json["nSamples"] == len(samples) // (n_ch * container) == frames
    assert f"{bits} valid bits" in r.provenance["type"].detail


def test_extensible_valid_bits_below_container(tmp_path: Path) -> None:
    samples = b"\x00" * (2 * 4 * 50)
    path = write_wav_bytes(tmp_path / "x.wav",
                           fmt_body(1, 2, 96_000, 32, subformat=1, valid_bits=24), samples)
    r = one(path)
    assert (r.type_json["type"], r.type_json["nSamples"]) == ("int32", 50)
    assert "24 valid bits" in r.provenance["type"].detail


def test_block_align_that_cannot_hold_the_samples_is_a_warning(tmp_path: Path) -> None:
    samples = b"\x00" * (3 * 3 * 5)  # 3 channels x 24 bits x 5 frames, as in scipy's file
    path = write_wav_bytes(tmp_path / "bad_align.wav", fmt_body(1, 3, 8000, 24, block_align=4),
                           samples)
    r = one(path)
    assert r.type_json["nSamples"] == 5
    assert any("nBlockAlign 4" in w for w in r.warnings)


# --- FLAC: streamed (total_samples 0), truncated ----------------------------------------


def _zero_streaminfo_total(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    assert raw[:4] == b"fLaC" and raw[4] & 0x7F == 0  # STREAMINFO comes first
    # STREAMINFO body starts at byte 8; the 36-bit total is the low bits of bytes 18..26.
    packed = int.from_bytes(raw[18:26], "big") & ~((1 << 36) - 1)
    raw[18:26] = packed.to_bytes(8, "big")
    path.write_bytes(raw)


def test_flac_values_match_a_decode(tmp_path: Path) -> None:
    path = write_soundfile(tmp_path / "a.flac", fmt="FLAC", subtype="PCM_24", n_channels=2,
                           rate=192_000, n_frames=20_001)
    tj = one(path).type_json
    assert tj["nSamples"] == decoded_frames(path) == 20_001
    assert (tj["type"], tj["nChannels"], tj["sr"]) == ("int24", 2, 192_000)


def test_streamed_flac_with_total_zero_is_counted(tmp_path: Path) -> None:
    path = write_soundfile(tmp_path / "s.flac", fmt="FLAC", subtype="PCM_16", n_channels=1,
                           rate=250_000, n_frames=50_000)
    _zero_streaminfo_total(path)
    assert sf.info(str(path)).frames != 50_000  # why soundfile is not the reader here
    r = one(path)
    assert r.type_json["nSamples"] == decoded_frames(path) == 50_000
    assert any("total_samples is 0" in w for w in r.warnings)


@pytest.mark.skipif(FFMPEG is None, reason="ffmpeg not installed (.ci/run installs it)")
def test_flac_written_to_a_pipe_by_ffmpeg(tmp_path: Path) -> None:
    out = subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                          "sine=f=1000:r=48000:d=1.3", "-ac", "2", "-c:a", "flac", "-f", "flac",
                          "pipe:"], check=True, capture_output=True).stdout
    path = tmp_path / "piped.flac"
    path.write_bytes(out)
    r = one(path)
    assert r.type_json["nSamples"] == decoded_frames(path) == 62_400
    assert any("total_samples is 0" in w for w in r.warnings)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_flac_counts_whole_frames(keep: float, tmp_path: Path) -> None:
    full = write_soundfile(tmp_path / "full.flac", fmt="FLAC", subtype="PCM_16", n_channels=2,
                           n_frames=48_000)
    raw = full.read_bytes()
    path = tmp_path / "cut.flac"
    path.write_bytes(raw[: int(len(raw) * keep)])
    r = one(path)
    assert r.type_json["nSamples"] == decoded_frames(path) < 48_000
    assert any("truncated" in w and "48000" in w for w in r.warnings)


def test_streamed_flac_cut_inside_its_first_frame_has_no_samples(tmp_path: Path) -> None:
    path = write_soundfile(tmp_path / "s.flac", fmt="FLAC", subtype="PCM_16", n_frames=100)
    _zero_streaminfo_total(path)
    raw = path.read_bytes()
    first = raw.index(b"\xff\xf8", 42)
    path.write_bytes(raw[: first + 3])
    r = one(path)
    assert r.type_json["nSamples"] == decoded_frames(path) == 0
    assert any("ends inside a frame" in w for w in r.warnings)


def test_streamed_flac_with_unreadable_tail_is_refused(tmp_path: Path) -> None:
    path = write_soundfile(tmp_path / "s.flac", fmt="FLAC", subtype="PCM_16", n_frames=10_000)
    _zero_streaminfo_total(path)
    with open(path, "ab") as fh:
        fh.write(b"\x00" * 200_000)  # far more than the last frames' window
    with pytest.raises(ExtractionError, match=r"^s\.flac: STREAMINFO total_samples is 0"):
        extract(path)


def test_stated_parameters_for_raw_files_do_not_override_the_header(tmp_path: Path) -> None:
    path = write_stdlib_wav(tmp_path / "mic.wav", rate=250_000)
    r = extract(path, sr=30000, n_channels=64, dtype="int16")[0]
    assert (r.type_json["sr"], r.type_json["nChannels"]) == (250_000, 1)
    assert any("stated sr 30000 ignored" in w for w in r.warnings)


def test_missing_pad_byte_after_odd_chunk_is_tolerated(tmp_path: Path) -> None:
    odd = b"LIST" + struct.pack("<I", 5) + b"INFOx"  # odd body, pad byte left out
    samples = np.zeros(40, dtype="<i2").tobytes()
    body = chunk(b"fmt ", fmt_body(1, 2, 8000, 16)) + odd + chunk(b"data", samples)
    path = tmp_path / "nopad.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
    assert one(path).type_json["nSamples"] == len(samples) // 4 == 20


def test_flac_named_wav_is_read_as_flac_with_a_warning(tmp_path: Path) -> None:
    src = write_soundfile(tmp_path / "a.flac", fmt="FLAC", subtype="PCM_16", n_frames=300)
    path = tmp_path / "a.wav"
    path.write_bytes(src.read_bytes())
    r = one(path)
    assert (r.type_json["format"], r.type_json["nSamples"]) == ("FLAC", 300)
    assert any("named .wav but holds FLAC" in w for w in r.warnings)


# --- AIFF truncation --------------------------------------------------------------------


def test_truncated_aiff(tmp_path: Path) -> None:
    full = write_soundfile(tmp_path / "full.aiff", fmt="AIFF", subtype="PCM_16", n_channels=2,
                           n_frames=1000)
    raw = full.read_bytes()
    path = tmp_path / "cut.aiff"
    path.write_bytes(raw[:-1001])
    start = raw.index(b"SSND") + 16  # chunk header, offset and blockSize fields (offset 0)
    r = one(path)
    assert r.type_json["nSamples"] == (len(raw) - 1001 - start) // 4
    assert "truncated" in r.warnings[0]


# --- refusals and the CLI ---------------------------------------------------------------


@pytest.mark.parametrize(("content", "words"), [
    (b"", "empty file"),
    (b"just some words in a text file\n", "text file"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "PNG image"),
    (b"RIFF\x10\x00\x00\x00AVI LIST\x04\x00\x00\x00hdrl", "AVI video"),
])
def test_not_audio_is_refused_in_one_line(content: bytes, words: str, tmp_path: Path) -> None:
    path = tmp_path / "rec.wav"
    path.write_bytes(content)
    with pytest.raises(ExtractionError) as info:
        extract(path)
    message = str(info.value)
    assert message.startswith("rec.wav: ") and words in message and "\n" not in message


def test_session_folder_with_audio(tmp_path: Path) -> None:
    write_stdlib_wav(tmp_path / "mic.wav", rate=250_000, n_frames=2500)
    report = extract_folder(tmp_path)
    assert report.errors == {}
    (e,) = report.extractions
    assert e.type == "Audio" and e.type_json["nSamples"] == 2500


def test_cost_does_not_grow_with_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes read, not seconds: an 8 GiB RF64 and a 1 kB one cost the same reads."""
    import builtins

    import extractors.audio as audio

    read_sizes: list[int] = []
    real_open = builtins.open

    class Counting:
        def __init__(self, fh) -> None:  # type: ignore[no-untyped-def]
            self._fh = fh

        def read(self, n: int = -1) -> bytes:
            data = self._fh.read(n)
            read_sizes.append(len(data))
            return data

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self._fh, name)

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
            self._fh.close()

    monkeypatch.setattr(audio, "open", lambda *a, **k: Counting(real_open(*a, **k)),
                        raising=False)
    if hasattr(os, "pread"):  # where the family reads by descriptor (POSIX)
        real_pread = os.pread

        def pread(fd: int, n: int, pos: int) -> bytes:
            data = real_pread(fd, n, pos)
            read_sizes.append(len(data))
            return data

        monkeypatch.setattr(os, "pread", pread)
    totals = []
    for data_bytes in (1000, 8 * 2**30):
        path = write_rf64_header(tmp_path / f"r{data_bytes}.wav", fmt_body(1, 2, 384_000, 16),
                                 data_bytes, data_bytes // 4)
        _sparse(path, path.stat().st_size + data_bytes)
        read_sizes.clear()
        assert one(path).type_json["nSamples"] == data_bytes // 4
        totals.append(sum(read_sizes))
    assert 0 < totals[0] == totals[1] < 1024  # > 0: the reads were seen


def _bext(date: bytes, time: bytes) -> bytes:
    body = b"a description".ljust(256, b"\x00") + b"rig 3".ljust(32, b"\x00") + \
        b"ref".ljust(32, b"\x00") + date + time + b"\x00" * 8 + b"\x01\x00" + b"\x00" * 254
    return chunk(b"bext", body)


def test_bext_origination_date_and_time_is_the_start(tmp_path: Path) -> None:
    path = write_wav_bytes(tmp_path / "bwf.wav", fmt_body(1, 1, 48000, 16), b"\x00\x01" * 100,
                           before=_bext(b"2026-11-30", b"09:15:02"))
    (r,) = extract(path)
    assert r.start_time == "2026-11-30T09:15:02"
    assert "bext OriginationDate" in r.provenance["startTime"].detail
    assert r.type_json["nSamples"] == 100


def test_blank_or_broken_bext_date_gives_no_start_time(tmp_path: Path) -> None:
    blank = write_wav_bytes(tmp_path / "b.wav", fmt_body(1, 1, 48000, 16), b"\x00" * 20,
                            before=_bext(b"\x00" * 10, b"\x00" * 8))
    assert extract(blank)[0].start_time is None and extract(blank)[0].warnings == ()
    broken = write_wav_bytes(tmp_path / "x.wav", fmt_body(1, 1, 48000, 16), b"\x00" * 20,
                             before=_bext(b"2026-13-45", b"99:00:00"))
    (r,) = extract(broken)
    assert r.start_time is None and "not a date and time" in r.warnings[0]


def test_read_by_descriptor_or_by_file_object_alike(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # POSIX reads by descriptor (os.pread); elsewhere through a FileIO: the same records.
    import extractors.audio as audio

    rate, n = 8000, 300
    samples = (np.arange(n * 2, dtype=np.int16) % 97).reshape(n, 2)
    paths = []
    for name, fmt, subtype in (("a.wav", "WAV", "PCM_16"), ("b.flac", "FLAC", "PCM_16"),
                               ("c.aiff", "AIFF", "PCM_24"), ("d.w64", "W64", "FLOAT")):
        sf.write(str(tmp_path / name), samples, rate, format=fmt, subtype=subtype)
        paths.append(tmp_path / name)
    by_fd = [one(p) for p in paths]
    monkeypatch.setattr(audio, "_PREAD", False)
    by_file = [one(p) for p in paths]
    assert by_fd == by_file
    assert [r.type_json["nSamples"] for r in by_fd] == [n] * 4
