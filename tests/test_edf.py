"""EDF, EDF+ and BDF: values against the writer's own arithmetic, pyedflib and MNE."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.errors import ExtractionError, NothingToDescribe
from bsingest.extraction import extract, extract_folder
from bsingest.recordtypes import lookup
from extractors.base import Source
from extractors.edf import read_edf_header
from tests.samples.edf import (
    ANNOTATIONS,
    START,
    Signal,
    eeg_signals,
    header,
    records,
    write_edf,
)


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
    # 1.1e7 V in one digital step: an lsb no amplifier has, so that group is left out.
    sigs = [*eeg_signals(2, 100), Signal("absurd", "V", -1e7, 1e7, 0, 1, 10)]
    got = _by_part(write_edf(tmp_path / "g.edf", sigs, duration=1.0, plus=""))
    assert set(got) == {"100Hz"}
    [line] = [w for w in got["100Hz"].warnings if w.startswith("10Hz not described")]
    assert "lsb" in line and "outside the plausible" in line


def test_a_signal_whose_digital_range_is_empty_keeps_its_record(tmp_path: Path) -> None:
    # MNE and pyedflib read such a header; its layout stands, only the step is undefined.
    sigs = [*eeg_signals(2, 100), Signal("flat", "uV", 0, 1, 5, 5, 100)]
    [r] = extract(write_edf(tmp_path / "g.edf", sigs, duration=1.0, plus=""))
    assert r.type_json["nChannels"] == 3 and "lsb" not in r.type_json
    assert any("digital maximum 5 equals its minimum" in w for w in r.warnings)


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


# --- headers as real writers leave them (found comparing with MNE and pyedflib) ------------


def _signal_field(ns: int, name: str, i: int) -> tuple[int, int]:
    """(offset, width) of signal ``i``'s field ``name`` in a header of ``ns`` signals."""
    widths = (("label", 16), ("transducer", 80), ("dimension", 8), ("physmin", 8),
              ("physmax", 8), ("digmin", 8), ("digmax", 8), ("prefilter", 80),
              ("samples", 8), ("reserved", 32))
    at = 256
    for field, width in widths:
        if field == name:
            return at + i * width, width
        at += ns * width
    raise KeyError(name)


def _edit(path: Path, edits: dict[int, bytes]) -> Path:
    raw = bytearray(path.read_bytes())
    for at, value in edits.items():
        raw[at:at + len(value)] = value
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("micro", [b"\xb5V", b"\xc2\xb5V", b"\xce\xbcV", b"\x83\xcaV", b"UV"])
def test_micro_sign_outside_ascii_is_microvolts(tmp_path: Path, micro: bytes) -> None:
    # latin-1, UTF-8 micro sign, UTF-8 Greek mu, Shift-JIS mu (Nihon Kohden; MNE reads it),
    # upper case: every one a µV, whose step is the same as the ASCII 'uV' file's.
    sigs = eeg_signals(2, 64)
    ascii_file = write_edf(tmp_path / "u.edf", sigs)
    path = write_edf(tmp_path / "m.edf", sigs)
    _edit(path, {_signal_field(2, "dimension", i)[0]: micro.ljust(8) for i in range(2)})
    [want] = extract(ascii_file)
    [r] = extract(path)
    assert r.type_json["lsb"] == want.type_json["lsb"] == pytest.approx(6553.5 / 65535)
    assert not any("volts" in w for w in r.warnings)


def test_nul_padded_fields_are_read(tmp_path: Path) -> None:
    # Version, counts and numbers padded with NULs, not spaces: MNE cuts fields at the
    # first NUL and reads the file; the values are those of the space-padded twin.
    sigs = eeg_signals(2, 50)
    twin = write_edf(tmp_path / "s.edf", sigs, 4, plus="")
    path = write_edf(tmp_path / "n.edf", sigs, 4, plus="")
    edits = {0: b"0" + b"\0" * 7, 184: b"768" + b"\0" * 5, 236: b"4" + b"\0" * 7,
             244: b"1" + b"\0" * 7, 252: b"2\0\0\0"}
    for i in range(2):
        edits[_signal_field(2, "samples", i)[0]] = b"50" + b"\0" * 6
        edits[_signal_field(2, "dimension", i)[0]] = b"uV" + b"\0" * 6
    _edit(path, edits)
    [want], [r] = extract(twin), extract(path)
    for key in ("nChannels", "sr", "nSamples", "lsb"):
        assert r.type_json[key] == want.type_json[key], key
    assert r.start_time == want.start_time and r.warnings == ()
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_edf(path, preload=False, verbose="error")
    assert (raw.n_times, raw.info["sfreq"], len(raw.ch_names)) == (200, 50, 2)


def test_decimal_commas_in_numbers(tmp_path: Path) -> None:
    # A writer in a European locale: '-3276,8'. MNE reads it as -3276.8.
    sigs = eeg_signals(2, 32)
    path = write_edf(tmp_path / "c.edf", sigs)
    edits = {}
    for i in range(2):
        edits[_signal_field(2, "physmin", i)[0]] = b"-3276,8 "
        edits[_signal_field(2, "physmax", i)[0]] = b"3276,7  "
    _edit(path, edits)
    [r] = extract(path)
    assert r.type_json["lsb"] == pytest.approx(6553.5 / 65535)
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_edf(path, preload=False, verbose="error")
    assert raw._raw_extras[0]["physical_min"][0] == -3276.8


def test_start_time_written_with_colons(tmp_path: Path) -> None:
    # PhysioNet's ucddb files: starttime '09:01:17'. pyedflib refuses the file and MNE
    # reads midnight; the header states 09:01:17.
    path = write_edf(tmp_path / "t.edf", eeg_signals(1, 8), plus="")
    _edit(path, {168: b"04:03:21", 176: b"09:01:17"})
    [r] = extract(path)
    assert r.start_time == "2021-03-04T09:01:17"


def test_the_spec_yy_startdate_takes_the_edf_plus_date(tmp_path: Path) -> None:
    # After 2084 the spec writes 'yy' in the startdate and the date in the recording field.
    when = datetime.datetime(2090, 1, 2, 3, 4, 5)
    path = write_edf(tmp_path / "y.edf", eeg_signals(1, 8), start=when)
    _edit(path, {168: b"02.01.yy"})
    [r] = extract(path)
    assert r.start_time == when.isoformat()
    assert "date from the EDF+ recording field" in r.provenance["startTime"].detail
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_edf(path, preload=False, verbose="error")
    assert raw.info["meas_date"].replace(tzinfo=None) == when


def test_a_signal_of_zero_samples_is_not_a_channel(tmp_path: Path) -> None:
    # A disabled input kept in the header with 0 samples per record: it holds no data.
    sigs = [*eeg_signals(2, 64), Signal("off", samples=0), ANNOTATIONS]
    [r] = extract(write_edf(tmp_path / "z.edf", sigs, 5))
    assert (r.type_json["nChannels"], r.type_json["nSamples"]) == (2, 5 * 64)
    assert any("0 samples per data record (off)" in w for w in r.warnings)


def test_an_inverted_digital_range_has_the_same_step(tmp_path: Path) -> None:
    # digital max below min (an inverted signal): pyedflib and MNE read it; the step is
    # the size of one digital unit either way.
    sigs = [Signal("a"), Signal("b", digmin=32767, digmax=-32768)]
    [r] = extract(write_edf(tmp_path / "i.edf", sigs))
    assert r.type_json["lsb"] == pytest.approx(6553.5 / 65535)


def test_an_annotations_only_file_is_nothing_to_describe(tmp_path: Path) -> None:
    # A Sleep-EDF hypnogram: EDF+C, one 'EDF Annotations' signal, one record of duration 0.
    path = write_edf(tmp_path / "SC4001EC-Hypnogram.edf", [ANNOTATIONS], 1, duration=0.0)
    with pytest.raises(NothingToDescribe) as info:
        extract(path)
    assert str(info.value) == (
        "SC4001EC-Hypnogram.edf: annotations only, no signal (EDF+C, 1 signal(s) "
        "'EDF Annotations': events or a hypnogram, not a recording)")
    assert isinstance(info.value, ExtractionError)  # one exception tree
    with pytest.raises(NothingToDescribe):
        read_edf_header(path)  # the header reader says the same, whoever asks


def test_a_hypnogram_beside_its_recording_is_skipped_with_the_reason(tmp_path: Path) -> None:
    session = tmp_path / "sleep"
    psg = write_edf(session / "SC4001E0-PSG.edf", [*eeg_signals(2, 100), ANNOTATIONS], 3)
    hyp = write_edf(session / "SC4001EC-Hypnogram.edf", [ANNOTATIONS], 1, duration=0.0)
    bdf = write_edf(session / "events.bdf", [Signal("BDF Annotations", samples=30)] * 2, 2,
                    bdf=True)
    report = extract_folder(session)
    assert report.ok, report.errors
    assert [x.file_name for x in report.extractions] == [psg.name]
    assert set(report.skipped) == {str(hyp), str(bdf)}
    assert report.skipped[str(hyp)].startswith("annotations only, no signal (EDF+C")
    assert report.skipped[str(bdf)].startswith("annotations only, no signal (BDF+C, 2 "
                                               "signal(s)")
    out = CliRunner().invoke(cli, ["extract", str(session)])
    assert out.exit_code == 0, out.output
    assert "annotations only, no signal" in out.output


def test_an_annotations_only_file_written_by_edflib_is_skipped(tmp_path: Path) -> None:
    # EDFlib (pyedflib) writes a scored hypnogram as an EDF+C file of 0 data signals: its
    # one 'EDF Annotations' signal holds the stages.
    pyedflib = pytest.importorskip("pyedflib")
    path = tmp_path / "s" / "SC4002EC-Hypnogram.edf"
    path.parent.mkdir()
    w = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    w.writeAnnotation(0, 30, "Sleep stage W")
    w.writeAnnotation(30, 30, "Sleep stage 1")
    w.close()
    with pyedflib.EdfReader(str(path)) as r:  # EDFlib's own reading: no signals
        assert r.signals_in_file == 0 and len(r.readAnnotations()[0]) == 2
    psg = write_edf(path.parent / "SC4002E0-PSG.edf", eeg_signals(2, 100))
    report = extract_folder(path.parent)
    assert report.ok and [x.file_name for x in report.extractions] == [psg.name]
    assert report.skipped == {str(path): "annotations only, no signal (EDF+C, 1 signal(s) "
                              "'EDF Annotations': events or a hypnogram, not a recording)"}


def test_a_bad_scaling_field_drops_only_its_rate_group(tmp_path: Path) -> None:
    sigs = [*eeg_signals(2, 100), Signal("Resp", "mV", -10, 10, -2048, 2047, 10)]
    raw = bytearray(header(sigs, 3, plus=""))
    ns = len(sigs)
    at = 256 + ns * (16 + 80 + 8) + 2 * 8  # physmin of signal 3 (Resp)
    raw[at:at + 8] = b"n/a     "
    path = tmp_path / "g.edf"
    path.write_bytes(bytes(raw) + records(sigs, 3))
    got = _by_part(path)
    assert set(got) == {"100Hz"}
    tj = got["100Hz"].type_json
    assert (tj["nChannels"], tj["nSamples"]) == (2, 300)
    [line] = [w for w in got["100Hz"].warnings if w.startswith("10Hz not described")]
    assert line == f"10Hz not described: header: signal 3 (Resp) physmin at byte {at} is " \
        "'n/a', not a number"
    # The same field in the only rate group: the file is refused, naming it once.
    one = eeg_signals(2, 100)
    raw = bytearray(header(one, 3, plus=""))
    at = 256 + 2 * (16 + 80 + 8) + 8  # physmin of signal 2
    raw[at:at + 8] = b"n/a     "
    path.write_bytes(bytes(raw) + records(one, 3))
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert str(info.value) == f"g.edf: header: signal 2 (EEG 1) physmin at byte {at} is " \
        "'n/a', not a number"


@pytest.mark.parametrize("bad", [b"-5      ", b"2.5     "])
def test_a_bad_samples_per_record_refuses_the_file_naming_the_field(tmp_path: Path,
                                                                   bad: bytes) -> None:
    # Unlike a scaling field, it lays out every data record: no group can be trusted.
    sigs = [*eeg_signals(2, 100), Signal("Resp", "mV", -10, 10, -2048, 2047, 10)]
    raw = bytearray(header(sigs, 3, plus=""))
    at = 256 + 3 * (16 + 80 + 8 + 4 * 8 + 80) + 2 * 8  # samples of signal 3
    raw[at:at + 8] = bad
    path = tmp_path / "s.edf"
    path.write_bytes(bytes(raw) + records(sigs, 3))
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert str(info.value) == (
        f"s.edf: header: signal 3 (Resp) has {float(bad):g} samples per data record, not a "
        "whole number of 0 or more: the layout of every data record depends on it")


def test_an_implausible_rate_drops_only_its_rate_group(tmp_path: Path) -> None:
    # 1 sample per 2000 s record: 0.0005 Hz, below any recording's rate.
    sigs = [*eeg_signals(2, 20000), Signal("slow", "uV", samples=1)]
    got = _by_part(write_edf(tmp_path / "r.edf", sigs, 1, duration=2000.0, plus=""))
    assert set(got) == {"10Hz"}
    [line] = [w for w in got["10Hz"].warnings if w.startswith("0.0005Hz not described")]
    assert "sr 0.0005 Hz is outside the plausible" in line


def test_a_record_larger_than_the_file_is_one_line(tmp_path: Path) -> None:
    sigs = [*eeg_signals(2, 8), Signal("huge", samples=99999999)]
    path = tmp_path / "big.edf"
    path.write_bytes(header(sigs, 3, plus="") + bytes(3 * 2 * 8 * 2))
    size = path.stat().st_size
    record = (8 + 8 + 99999999) * 2
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert str(info.value) == (
        f"big.edf: header: a data record of {record} bytes ((8 + 8 + 99999999) samples x 2 "
        f"bytes) is larger than the {size}-byte file")
    assert str(info.value).count("big.edf") == 1
