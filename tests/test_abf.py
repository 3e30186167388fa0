"""Axon ABF: values against file-size arithmetic, neo's AxonRawIO and pyabf."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract
from tests.samples.abf import BLOCK, write_abf1, write_abf2

ABF2_DATA_START = 5 * BLOCK  # the writer's layout: header, protocol, ADC, strings, synch
ABF1_DATA_START = 6144


def _neo(path: Path) -> tuple[int, float, int, list[float]]:
    from neo.rawio import AxonRawIO

    r = AxonRawIO(filename=str(path))
    r.parse_header()
    total = sum(r.get_signal_size(0, s, 0) for s in range(r.segment_count(0)))
    chans = r.header["signal_channels"]
    return len(chans), r.get_signal_sampling_rate(0), total, list(chans["gain"])


@pytest.mark.parametrize("writer, start", [(write_abf2, ABF2_DATA_START),
                                           (write_abf1, ABF1_DATA_START)])
def test_values_match_file_size_and_neo(writer, start: int, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = writer(tmp_path / "a.abf")
    [r] = extract(path)
    tj = r.type_json
    n_chans, rate, total, gains = _neo(path)
    assert r.type == "IntracellularEphys" and tj["format"] == "ABF" and tj["type"] == "int16"
    assert tj["nChannels"] == n_chans == 2
    assert tj["nSamples"] == (os.path.getsize(path) - start) // 2 // 2 == total
    assert tj["sr"] == pytest.approx(rate)
    assert tj["lsb"] == pytest.approx(gains[0] * 1000)  # neo: mV per step; ours µV


def test_lsb_matches_pyabf_scale(tmp_path: Path) -> None:
    import pyabf

    path = write_abf2(tmp_path / "a.abf", units=["V", "V"], adc_range=5.0, scale=0.1)
    abf = pyabf.ABF(str(path), loadData=False)
    assert extract(path)[0].type_json["lsb"] == pytest.approx(abf._dataGain[0] * 1e6)


def test_variable_length_sweeps_count_as_they_are(tmp_path: Path) -> None:
    path = write_abf2(tmp_path / "v.abf", sweeps=(2204, 1104), n_channels=1, mode=1)
    _, _, total, _ = _neo(path)
    assert extract(path)[0].type_json["nSamples"] == 2204 + 1104 == total


def test_exact_rate_and_float32(tmp_path: Path) -> None:
    path = write_abf2(tmp_path / "f.abf", interval_us=2480.0, float32=True)
    [r] = extract(path)
    # The stored interval is a float32: 2480 is exact, so the rate is 1e6/2480 = 403.2258... Hz.
    assert r.type_json["sr"] == pytest.approx(1e6 / 2480, rel=1e-12)
    assert r.type_json["sr"] != 403
    assert r.type_json["type"] == "float32"
    assert r.type_json["nSamples"] == (os.path.getsize(path) - ABF2_DATA_START) // 4 // 2
    assert "lsb" not in r.type_json


def test_abf1_rate_divides_the_interval_by_channels(tmp_path: Path) -> None:
    # ABF1's fADCSampleInterval runs between channels: 4 channels at 12.5 µs are 20 kHz each.
    path = write_abf1(tmp_path / "a.abf", n_channels=4, interval_us=12.5)
    assert extract(path)[0].type_json["sr"] == pytest.approx(1e6 / (12.5 * 4))


def test_current_channels_give_no_lsb_but_a_warning(tmp_path: Path) -> None:
    path = write_abf2(tmp_path / "c.abf", units=["mV", "pA"])
    [r] = extract(path)
    assert "lsb" not in r.type_json
    [warning] = r.warnings
    assert "mV" in warning and "pA" in warning


def test_truncated_copy_counts_what_is_on_disk(tmp_path: Path) -> None:
    path = write_abf2(tmp_path / "t.abf", sweeps=(100, 100))
    size = ABF2_DATA_START + 2 * 2 * 150
    os.truncate(path, size)
    [r] = extract(path)
    assert r.type_json["nSamples"] == 150
    assert any("400" in w and str(size) in w for w in r.warnings)


def test_sparse_100_gb_file_costs_its_header(tmp_path: Path) -> None:
    path = write_abf2(tmp_path / "big.abf", sweeps=(10,), n_channels=1)
    n_points = 50 * 10**9
    with open(path, "r+b") as fh:
        fh.seek(236 + 8)
        fh.write(struct.pack("<q", n_points))
    os.truncate(path, ABF2_DATA_START + 2 * n_points)
    assert extract(path)[0].type_json["nSamples"] == n_points


def test_not_abf_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.abf"
    path.write_bytes(b"ATF\x00" + b"\x00" * 100)
    with pytest.raises(ExtractionError, match=r"^x\.abf: signature .* not an Axon ABF file$"):
        extract(path)


@pytest.mark.parametrize(("offset", "value", "words"), [
    (96, 0x7FFFFFFF, "the ADC section at byte"),  # ADC entry size: 16 x 2 GB declared
    (92, 0xFFFFFF, "the ADC section at byte"),  # ADC section block far past the end
    (76, 0xFFFFFF, "the protocol section at byte"),
])
def test_section_lengths_are_checked_against_the_file_before_reading(
        tmp_path: Path, offset: int, value: int, words: str) -> None:
    path = write_abf2(tmp_path / "a.abf")
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, offset, value)
    path.write_bytes(bytes(data))
    with pytest.raises(ExtractionError, match=rf"^a\.abf: {words} .* past the end of the file"):
        extract(path)


def test_negative_sample_count_is_refused(tmp_path: Path) -> None:
    path = write_abf2(tmp_path / "a.abf")
    data = bytearray(path.read_bytes())
    struct.pack_into("<q", data, 244, -5)  # data section: block, bytes, count
    path.write_bytes(bytes(data))
    with pytest.raises(ExtractionError, match=r"places -5 samples"):
        extract(path)


def _stamp(path: Path, fmt: str, offset: int, *values: int) -> Path:
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, offset, *values)
    path.write_bytes(bytes(data))
    return path


def test_start_time_from_the_header_as_neo_reads_it(tmp_path: Path) -> None:
    from neo.rawio import AxonRawIO

    two = _stamp(write_abf2(tmp_path / "two.abf"), "<II", 16, 20261130,
                 (12 * 3600 + 5 * 60 + 7) * 1000 + 250)
    one = _stamp(_stamp(write_abf1(tmp_path / "one.abf"), "<ii", 20, 180618, 3600),
                 "<h", 366, 5)  # two-digit year, as old ABF1 files pack it
    for path in (two, one):
        (r,) = extract(path)
        neo = AxonRawIO(filename=str(path))
        neo.parse_header()
        assert r.start_time == neo._axon_info["rec_datetime"].isoformat()
        assert r.provenance["startTime"].source.value == "header"
    assert extract(two)[0].start_time == "2026-11-30T12:05:07.250000"


def test_no_or_impossible_start_date_gives_no_start_time(tmp_path: Path) -> None:
    assert extract(write_abf2(tmp_path / "none.abf"))[0].start_time is None
    bad = _stamp(write_abf2(tmp_path / "bad.abf"), "<II", 16, 20261399, 0)
    (r,) = extract(bad)
    assert r.start_time is None and any("not a date and time" in w for w in r.warnings)
