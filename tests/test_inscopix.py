"""Inscopix ``.isxd`` movies: values from the JSON footer the test wrote, the frame bytes
checked by file-size arithmetic; bad footers refused in one line naming the file."""

from __future__ import annotations

import datetime
import os
import struct
from fractions import Fraction
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract
from extractors.base import Source
from tests.samples.inscopix import header, write_isxd


def test_a_movie_gives_its_period_count_and_size(tmp_path: Path) -> None:
    head = header(40, 29, 33, period=(179973, 1000000))
    path = write_isxd(tmp_path / "movie.isxd", head)
    (x,) = extract(path)
    assert x.type == "Miniscope"
    assert x.type_json["frameRate"] == pytest.approx(float(1 / Fraction(179973, 1000000)))
    assert x.provenance["frameRate"].source is Source.COMPUTED
    assert (x.type_json["nFrames"], x.type_json["horizontalResolution"],
            x.type_json["verticalResolution"]) == (40, 29, 33)
    # The frames' bytes are what the footer says: no warning.
    assert os.path.getsize(path) - (len(path.read_bytes()) - 40 * 29 * 33 * 2) == 40 * 29 * 33 * 2
    assert x.warnings == ()
    assert "uint16" in x.provenance["format"].detail
    assert "xVoxelSize" not in x.type_json  # pixelSize is the sensor's, not the tissue's
    assert datetime.datetime.fromisoformat(x.start_time) == datetime.datetime.fromtimestamp(
        1570465321.524186, datetime.timezone.utc)


def test_float_frames_and_a_utc_offset(tmp_path: Path) -> None:
    path = write_isxd(tmp_path / "dff.isxd", header(6, 10, 8, data_type=1, utc_offset=-25200,
                                                    period=(1, 20)))
    (x,) = extract(path)
    assert x.type_json["frameRate"] == 20
    assert x.start_time.endswith("-07:00")
    assert x.warnings == ()


def test_a_truncated_movie_warns_with_both_counts(tmp_path: Path) -> None:
    path = write_isxd(tmp_path / "cut.isxd", header(30, 8, 6), frames=21)
    (x,) = extract(path)
    assert x.type_json["nFrames"] == 30
    (w,) = x.warnings
    assert "21 whole 8x6 uint16 frames, but the footer promises 30: truncated" in w


def test_dropped_frames_are_named(tmp_path: Path) -> None:
    path = write_isxd(tmp_path / "drop.isxd", header(10, 4, 4, dropped=[3, 4]), frames=8)
    (x,) = extract(path)
    assert x.type_json["nFrames"] == 10
    assert any("2 dropped frame(s)" in w for w in x.warnings)
    assert not any("truncated" in w for w in x.warnings)


@pytest.mark.parametrize("length", [10**12, 2**64 - 1, 0])
def test_a_footer_length_past_the_end_is_one_line(tmp_path: Path, length: int) -> None:
    path = write_isxd(tmp_path / "bad.isxd", length=length)
    with pytest.raises(ExtractionError, match=r"^bad\.isxd: footer says its JSON header is "):
        extract(path)


def test_a_file_without_the_nul_or_with_a_length_off_by_one_is_refused(tmp_path: Path) -> None:
    path = write_isxd(tmp_path / "off.isxd")
    raw = bytearray(path.read_bytes())
    raw[-9] = ord("}")
    path.write_bytes(bytes(raw))
    with pytest.raises(ExtractionError, match=r"^off\.isxd: no NUL byte after the JSON"):
        extract(path)
    raw[-9] = 0
    (n,) = struct.unpack("<Q", raw[-8:])
    raw[-8:] = struct.pack("<Q", n - 1)
    path.write_bytes(bytes(raw))
    with pytest.raises(ExtractionError, match=r"^off\.isxd: JSON header is not JSON"):
        extract(path)


def test_a_header_without_a_period_is_refused(tmp_path: Path) -> None:
    head = header()
    head["timingInfo"]["period"] = {"num": 0, "den": 1000}
    with pytest.raises(ExtractionError, match=r"^p\.isxd: footer timingInfo\.period"):
        extract(write_isxd(tmp_path / "p.isxd", head))


def test_a_number_of_thousands_of_digits_is_one_line(tmp_path: Path) -> None:
    path = write_isxd(tmp_path / "big.isxd")
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[-8:])
    start = len(raw) - 9 - n
    text = raw[start:-9].replace(b'"numTimes": 12', b'"numTimes": ' + b"9" * 5000)
    path.write_bytes(raw[:start] + text + b"\0" + struct.pack("<Q", len(text)))
    with pytest.raises(ExtractionError, match=r"^big\.isxd: JSON header is not usable"):
        extract(path)
