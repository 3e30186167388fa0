"""EDF, EDF+ and BDF: values against the writer's own arithmetic, pyedflib and MNE."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.errors import ExtractionError
from bsingest.extraction import extract
from bsingest.recordtypes import lookup
from extractors.base import Source
from tests.samples.edf import ANNOTATIONS, START, Signal, eeg_signals, header, write_edf


def _by_part(path: Path, **kw) -> dict:  # type: ignore[no-untyped-def]
    return {r.part: r for r in extract(path, **kw)}


def test_plain_edf_values_from_the_writers_arithmetic(tmp_path: Path) -> None:
    sigs = eeg_signals(5, samples=200)
    path = write_edf(tmp_path / "a.edf", sigs, 7, duration=2.0, plus="")
    [r] = extract(path)
    tj = r.type_json
    assert r.type == "Electroencephalography" and r.part is None
    assert tj["format"] == "EDF" and tj["type"] == "int16"
    assert tj["nChannels"] == 5
    assert tj["sr"] == 200 / 2.0
    assert tj["nSamples"] == 7 * 200
    # (3276.7 - -3276.8) / (32767 - -32768) uV
    assert tj["lsb"] == pytest.approx(6553.5 / 65535)
    assert r.start_time == START.isoformat()
    assert r.provenance["startTime"].source == Source.HEADER
    assert os.path.getsize(path) == 256 * 6 + 7 * 5 * 200 * 2  # the spec's layout
    assert r.warnings == ()


def test_annotation_signals_are_not_channels_and_rates_are_parts(tmp_path: Path) -> None:
    sigs = [*eeg_signals(3, samples=100), Signal("Resp", "mV", -10, 10, -2048, 2047, 10),
            ANNOTATIONS]
    path = write_edf(tmp_path / "two.edf", sigs, 11, duration=10.0)
    got = _by_part(path)
    assert set(got) == {"10Hz", "1Hz"}
    eeg, resp = got["10Hz"].type_json, got["1Hz"].type_json
    assert eeg["fileName"] == "two.edf#10Hz"
    assert (eeg["nChannels"], eeg["sr"], eeg["nSamples"]) == (3, 10, 1100)
    assert (resp["nChannels"], resp["sr"], resp["nSamples"]) == (1, 1, 110)
    assert resp["lsb"] == pytest.approx(20 / 4095 * 1000)  # mV -> µV


def test_truth_style_part_names_for_a_fractional_rate(tmp_path: Path) -> None:
    # mne's test_uneven_samp.edf: 1000 and 128 samples per 10 s record -> 100 Hz and 12.8 Hz.
    sigs = [Signal("sine", "V", -5, 5, -1024, 1023, 1000), Signal("block", "uV", 0, 1, 0, 1100,
                                                                  128)]
    path = write_edf(tmp_path / "u.edf", sigs, 2, duration=10.0, plus="")
    got = _by_part(path)
    assert set(got) == {"100Hz", "12.8Hz"}
    assert got["100Hz"].type_json["lsb"] == pytest.approx(10e6 / 2047)
    assert got["12.8Hz"].type_json["sr"] == pytest.approx(12.8)


@pytest.mark.parametrize(("unit", "factor"), [("nV", 1e-3), ("uV", 1.0), ("µV", 1.0),
                                              ("mV", 1e3), ("V", 1e6)])
def test_lsb_in_microvolts_from_each_unit(tmp_path: Path, unit: str, factor: float) -> None:
    sigs = [Signal("C3", unit, -100, 100, -1000, 1000, 8),
            Signal("C4", unit, -50, 50, -500, 500, 8)]
    [r] = extract(write_edf(tmp_path / "u.edf", sigs, plus=""))
    assert r.type_json["lsb"] == pytest.approx(0.1 * factor)


def test_no_lsb_when_scales_or_units_differ(tmp_path: Path) -> None:
    mixed = [Signal("C3", "uV", -100, 100, -1000, 1000, 8), Signal("C4", "uV", -200, 200, -1000,
                                                                   1000, 8)]
    [r] = extract(write_edf(tmp_path / "m.edf", mixed, plus=""))
    assert "lsb" not in r.type_json
    assert any("differ in scale" in w for w in r.warnings)
    other = [Signal("C3", "uV", -100, 100, -1000, 1000, 8), Signal("T", "degC", 0, 50, 0, 500, 8)]
    [r] = extract(write_edf(tmp_path / "t.edf", other, plus=""))
    assert "lsb" not in r.type_json
    assert any("not in volts" in w and "degC" in w for w in r.warnings)


def test_bdf_is_int24(tmp_path: Path) -> None:
    sigs = [Signal(f"A{i}", "uV", -262144, 262143, -8388608, 8388607, 512) for i in range(3)]
    path = write_edf(tmp_path / "b.bdf", sigs, 4, bdf=True, plus="")
    [r] = extract(path)
    assert (r.type_json["format"], r.type_json["type"]) == ("BDF", "int24")
    assert r.type_json["nSamples"] == 4 * 512
    assert os.path.getsize(path) == 256 * 4 + 4 * 3 * 512 * 3
    assert r.type_json["lsb"] == pytest.approx(524287 / 16777215)


def test_record_count_minus_one_is_resolved_from_the_size(tmp_path: Path) -> None:
    path = write_edf(tmp_path / "open.edf", eeg_signals(2, 64), 5, header_records=-1)
    [r] = extract(path)
    assert r.type_json["nSamples"] == 5 * 64
    assert any("-1" in w and "5 records on disk" in w for w in r.warnings)


@pytest.mark.parametrize("stated", [9, 2])
def test_a_record_count_that_disagrees_with_the_size_is_resolved_from_it(tmp_path: Path,
                                                                          stated: int) -> None:
    path = write_edf(tmp_path / "c.edf", eeg_signals(2, 64), 5, header_records=stated)
    [r] = extract(path)
    on_disk = (os.path.getsize(path) - 256 * 3) // (2 * 64 * 2)
    assert r.type_json["nSamples"] == on_disk * 64 == 5 * 64
    [w] = r.warnings
    assert f"promises {stated} data records but the file holds 5" in w


def test_a_partial_last_record_is_left_out(tmp_path: Path) -> None:
    path = write_edf(tmp_path / "p.edf", eeg_signals(2, 64), 4, extra=b"\x01" * 100)
    [r] = extract(path)
    assert r.type_json["nSamples"] == 4 * 64
    assert any("100 bytes left over" in w for w in r.warnings)


def test_discontinuous_edf_plus_says_so(tmp_path: Path) -> None:
    path = write_edf(tmp_path / "d.edf", [*eeg_signals(2, 64), ANNOTATIONS], plus="D")
    [r] = extract(path)
    assert any(w.startswith("EDF+D: a discontinuous recording") for w in r.warnings)


def test_start_year_from_the_edf_plus_recording_field(tmp_path: Path) -> None:
    when = datetime.datetime(2091, 5, 6, 7, 8, 9)  # yy 91 alone would read as 1991
    [r] = extract(write_edf(tmp_path / "y.edf", eeg_signals(1, 8), start=when))
    assert r.start_time == when.isoformat()
    [r] = extract(write_edf(tmp_path / "z.edf", eeg_signals(1, 8), start=when, plus=""))
    assert r.start_time == "1991-05-06T07:08:09"  # the spec's 1985-2084 window


def test_one_bad_rate_group_never_sinks_the_file(tmp_path: Path) -> None:
    sigs = [*eeg_signals(2, 100), Signal("flat", "uV", 0, 1, 5, 5, 10)]
    got = _by_part(write_edf(tmp_path / "g.edf", sigs, duration=1.0, plus=""))
    assert set(got) == {"100Hz"}
    [line] = [w for w in got["100Hz"].warnings if w.startswith("10Hz not described")]
    assert "digital maximum 5 is not above its minimum 5" in line


def test_restated_as_extracellular(tmp_path: Path) -> None:
    path = write_edf(tmp_path / "ieeg.edf", eeg_signals(2, 64), plus="")
    [r] = extract(path, record_type="ExtracellularEphys")
    assert r.type == "ExtracellularEphys"
    assert r.type_json["nChannels"] == 2
    out = CliRunner().invoke(cli, ["extract", str(path), "--type", "ExtracellularEphys",
                                   "--json"])
    assert out.exit_code == 0, out.output
    [rec] = json.loads(out.output)
    assert lookup(rec["type"]).name == "ExtracellularEphys"  # either generation's spelling


@pytest.mark.parametrize(("change", "reason"), [
    (lambda h: h[:184] + b"99999   " + h[192:], r"99999 header bytes, but 2 signals make a 768"),
    (lambda h: h[:244] + b"1e999   " + h[252:], r"duration of a data record at byte 244 is "
                                                 r"'1e999', not a finite number"),
    (lambda h: h[:244] + b"0       " + h[252:], r"duration of a data record 0 s is not positive"),
    (lambda h: h[:244] + b"abc     " + h[252:], r"duration of a data record at byte 244 is "
                                                 r"'abc', not a number"),
    (lambda h: h[:236] + b"-7      " + h[244:], r"number of data records -7 is negative"),
    (lambda h: h[:184] + b"2560000 " + h[192:252] + b"9999" + h[256:],
     r"shorter than its 2560000-byte header \(9999 signals\): a truncated file"),
    (lambda h: h[:252] + b"0   " + h[256:], r"number of signals 0"),
    (lambda h: h[:252] + b"x2  " + h[256:], r"number of signals at byte 252 is 'x2'"),
])
def test_bad_headers_are_one_line_naming_the_file(tmp_path: Path, change, reason: str) -> None:
    raw = header(eeg_signals(2, 8), 3)
    path = tmp_path / "bad.edf"
    path.write_bytes(change(raw) + b"\x00" * (3 * 2 * 8 * 2))
    with pytest.raises(ExtractionError, match=r"^bad\.edf: .*" + reason) as info:
        extract(path)
    assert "\n" not in str(info.value)


def test_signal_fields_that_are_not_numbers(tmp_path: Path) -> None:
    raw = bytearray(header(eeg_signals(2, 8), 3))
    at = 256 + 2 * (16 + 80 + 8)  # physmin of signal 1
    raw[at:at + 8] = b"\xb5\xb5V     "
    path = tmp_path / "g.edf"
    path.write_bytes(bytes(raw) + b"\x00" * 96)
    with pytest.raises(ExtractionError, match=r"^g\.edf: header: signal 1 \(EEG 0\) physmin at "
                                              r"byte 464 is .* not ASCII text$"):
        extract(path)


def test_cost_is_the_header_not_the_data(tmp_path: Path) -> None:
    # A sparse 4 GiB of records: described from its header and its size alone.
    sigs = eeg_signals(4, 256)
    block = 4 * 256 * 2
    n = (4 << 30) // block
    path = tmp_path / "big.edf"
    with open(path, "wb") as fh:
        fh.write(header(sigs, n))
        fh.truncate(256 * 5 + n * block)
    [r] = extract(path)
    assert r.type_json["nSamples"] == n * 256


# --- second readers -----------------------------------------------------------------------


def test_values_equal_pyedflib(tmp_path: Path) -> None:
    pyedflib = pytest.importorskip("pyedflib")
    from tests.samples.edf import good

    for path in good(tmp_path):
        reader = pyedflib.EdfReader(str(path))
        try:
            rates = reader.getSampleFrequencies()
            n = reader.getNSamples()
            steps = [(reader.getPhysicalMaximum(i) - reader.getPhysicalMinimum(i))
                     / (reader.getDigitalMaximum(i) - reader.getDigitalMinimum(i))
                     for i in range(reader.signals_in_file)]
            dims = [reader.getPhysicalDimension(i) for i in range(reader.signals_in_file)]
            start = reader.getStartdatetime()
        finally:
            reader.close()
        records = extract(path)
        by_rate = {}
        for i, sr in enumerate(rates):
            by_rate.setdefault(float(sr), []).append(i)
        assert len(records) == len(by_rate)
        for r in records:
            chans = by_rate[float(r.type_json["sr"])]
            assert r.type_json["nChannels"] == len(chans)
            assert {int(n[i]) for i in chans} == {r.type_json["nSamples"]}
            scale = {"uV": 1.0, "mV": 1e3}[dims[chans[0]]]
            assert r.type_json["lsb"] == pytest.approx(steps[chans[0]] * scale)
            assert r.start_time == start.isoformat()


def test_values_equal_mne(tmp_path: Path) -> None:
    mne = pytest.importorskip("mne")
    from tests.samples.edf import good

    for path in good(tmp_path):
        read = mne.io.read_raw_bdf if path.suffix == ".bdf" else mne.io.read_raw_edf
        raw = read(str(path), preload=False, verbose="error")
        records = extract(path)
        # MNE resamples every signal to the highest rate: compare the fastest record.
        fastest = max(records, key=lambda r: r.type_json["sr"])
        assert fastest.type_json["sr"] == raw.info["sfreq"]
        assert fastest.type_json["nSamples"] == raw.n_times
        assert sum(r.type_json["nChannels"] for r in records) == len(raw.ch_names)
