"""BrainVision: values against file-size arithmetic, MNE and neo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract, extract_folder
from extractors import extractor_for
from extractors.base import Source
from tests.samples.brainvision import START, write_brainvision

_ITEMSIZE = {"INT_16": 2, "UINT_16": 2, "INT_32": 4, "IEEE_FLOAT_32": 4}


@pytest.mark.parametrize("binary", ["INT_16", "UINT_16", "INT_32", "IEEE_FLOAT_32"])
@pytest.mark.parametrize("orientation", ["MULTIPLEXED", "VECTORIZED"])
def test_values_from_the_header_and_the_data_size(tmp_path: Path, binary: str,
                                                  orientation: str) -> None:
    data = write_brainvision(tmp_path, n_channels=7, n_samples=333, interval_us=500,
                             binary=binary, orientation=orientation)
    [r] = extract(data)
    tj = r.type_json
    assert r.type == "Electroencephalography"
    assert tj["fileName"] == "rec.eeg"
    assert tj["format"] == "BrainVision"
    assert tj["type"] == {"INT_16": "int16", "UINT_16": "uint16", "INT_32": "int32",
                          "IEEE_FLOAT_32": "float32"}[binary]
    assert tj["nChannels"] == 7
    assert tj["sr"] == 1e6 / 500
    assert tj["nSamples"] == os.path.getsize(data) // (7 * _ITEMSIZE[binary]) == 333
    if binary == "IEEE_FLOAT_32":
        assert "lsb" not in tj  # floats are stored in units, not steps
    else:
        assert tj["lsb"] == pytest.approx(0.1)
    assert r.start_time == START.isoformat()
    assert r.provenance["startTime"].source == Source.HEADER
    assert r.warnings == ()


def test_the_header_given_describes_the_data_file(tmp_path: Path) -> None:
    data = write_brainvision(tmp_path)
    assert extract(data.with_suffix(".vhdr")) == extract(data)


def test_folder_listing_gives_one_record_and_two_sidecars(tmp_path: Path) -> None:
    data = write_brainvision(tmp_path)
    report = extract_folder(tmp_path)
    assert [x.type_json["fileName"] for x in report.extractions] == ["rec.eeg"]
    assert set(report.sidecars) == {str(data.with_suffix(".vhdr")),
                                    str(data.with_suffix(".vmrk"))}
    assert not report.errors


def test_a_second_header_naming_the_same_data_file(tmp_path: Path) -> None:
    data = write_brainvision(tmp_path)
    copy = tmp_path / "rec_renamed.vhdr"
    copy.write_bytes(data.with_suffix(".vhdr").read_bytes().replace(b"Fp1", b"Fp1 renamed"))
    report = extract_folder(tmp_path)
    assert [x.type_json["fileName"] for x in report.extractions] == ["rec.eeg"]
    assert str(copy) in report.sidecars
    assert any("2 headers name this data file" in w for w in report.extractions[0].warnings)
    [r] = extract(copy)  # given by name, it describes the file it names
    assert r.type_json["fileName"] == "rec.eeg"


@pytest.mark.parametrize("case", ["lower", "upper"])
def test_section_names_in_any_case(tmp_path: Path, case: str) -> None:
    [r] = extract(write_brainvision(tmp_path, section_case=case))
    assert (r.type_json["nChannels"], r.type_json["sr"], r.type_json["lsb"]) == (4, 1000, 0.1)


@pytest.mark.parametrize("codepage", ["latin-1", "utf-8"])
def test_latin1_and_utf8_headers(tmp_path: Path, codepage: str) -> None:
    data = write_brainvision(tmp_path, codepage=codepage, units=["µV"] * 4)
    raw = data.with_suffix(".vhdr").read_bytes()
    assert (b"\xc2\xb5V" in raw) == (codepage == "utf-8")  # 'µ' as the writer stores it
    [r] = extract(data)
    assert r.type_json["lsb"] == pytest.approx(0.1)


@pytest.mark.parametrize(("unit", "factor"), [("nV", 1e-3), ("uV", 1.0), ("µV", 1.0),
                                              ("mV", 1e3), ("V", 1e6), ("", 1.0)])
def test_lsb_from_resolution_and_unit(tmp_path: Path, unit: str, factor: float) -> None:
    [r] = extract(write_brainvision(tmp_path, units=[unit] * 4, resolutions=["0.5"] * 4))
    assert r.type_json["lsb"] == pytest.approx(0.5 * factor)


def test_no_lsb_when_resolutions_or_units_differ(tmp_path: Path) -> None:
    [r] = extract(write_brainvision(tmp_path / "a", resolutions=["0.1", "0.1", "0.5", "0.1"]))
    assert "lsb" not in r.type_json
    assert any("differ in resolution" in w for w in r.warnings)
    [r] = extract(write_brainvision(tmp_path / "b", units=["µV", "µV", "µV", "C"]))
    assert "lsb" not in r.type_json
    assert any("units other than volts" in w for w in r.warnings)


def test_data_points_that_disagree_warn(tmp_path: Path) -> None:
    [r] = extract(write_brainvision(tmp_path, n_samples=2, data_points=64))
    assert r.type_json["nSamples"] == 2
    assert any("DataPoints=64 but the data file holds 2" in w for w in r.warnings)


def test_no_start_time_when_the_marker_date_is_zero(tmp_path: Path) -> None:
    [r] = extract(write_brainvision(tmp_path, start=None))
    assert r.start_time is None


def test_neuroscope_eeg_is_not_claimed(tmp_path: Path) -> None:
    lone = tmp_path / "lfp.eeg"
    lone.write_bytes(b"\x00" * 64)
    assert extractor_for(write_brainvision(tmp_path / "bv")).name == "brainvision"
    with pytest.raises(ExtractionError, match=r"^lfp\.eeg: no Neuroscope XML"):
        extract(lone)


@pytest.mark.parametrize(("edit", "reason"), [
    ((b"NumberOfChannels=4", b"NumberOfChannels=0"), r"NumberOfChannels '0' is not a whole"),
    ((b"NumberOfChannels=4", b"NumberOfChannels=x"), r"numberofchannels 'x' is not a number"),
    ((b"SamplingInterval=1000", b"SamplingInterval=nan"), r"'nan' is not a finite number"),
    ((b"SamplingInterval=1000", b"SamplingInterval=0"), r"SamplingInterval '0' is not a "
                                                        r"positive number of µs"),
    ((b"BinaryFormat=INT_16", b"BinaryFormat=INT_12"), r"BinaryFormat 'INT_12' is not one of"),
    ((b"DataFormat=BINARY", b"DataFormat=ASCII"), r"DataFormat ASCII: only binary data files"),
    ((b"Brain Vision Data Exchange", b"Something Else Data Exchange"),
     r"not a BrainVision header"),
])
def test_bad_headers_are_one_line_naming_the_file(tmp_path: Path, edit: tuple[bytes, bytes],
                                                  reason: str) -> None:
    data = write_brainvision(tmp_path)
    vhdr = data.with_suffix(".vhdr")
    vhdr.write_bytes(vhdr.read_bytes().replace(*edit))
    for path in (data, vhdr):
        if not extractor_for(path).name == "brainvision":
            continue  # a header that is no longer one names no data file
        with pytest.raises(ExtractionError, match=rf"^{path.name}: .*{reason}") as info:
            extract(path)
        assert "\n" not in str(info.value)


def test_absent_data_file_is_one_line(tmp_path: Path) -> None:
    data = write_brainvision(tmp_path)
    data.unlink()
    with pytest.raises(ExtractionError, match=r"^rec\.vhdr: its data file rec\.eeg .* absent$"):
        extract(tmp_path / "rec.vhdr")


def test_cost_is_the_header_not_the_data(tmp_path: Path) -> None:
    data = write_brainvision(tmp_path, n_channels=64)
    with open(data, "r+b") as fh:
        fh.truncate(64 * 2 * (1 << 26))  # a sparse 8 GiB: described by its size alone
    [r] = extract(data)
    assert r.type_json["nSamples"] == 1 << 26


# --- second readers -----------------------------------------------------------------------


@pytest.mark.parametrize("binary", ["INT_16", "INT_32", "IEEE_FLOAT_32"])
@pytest.mark.parametrize("codepage", ["latin-1", "utf-8"])
def test_values_equal_mne(tmp_path: Path, binary: str, codepage: str) -> None:
    mne = pytest.importorskip("mne")
    data = write_brainvision(tmp_path, n_channels=5, n_samples=77, interval_us=2000,
                             binary=binary, codepage=codepage)
    raw = mne.io.read_raw_brainvision(str(data.with_suffix(".vhdr")), preload=False,
                                      verbose="error")
    [r] = extract(data)
    assert r.type_json["sr"] == raw.info["sfreq"]
    assert r.type_json["nSamples"] == raw.n_times
    assert r.type_json["nChannels"] == len(raw.ch_names)
    # MNE's meas_date is the New Segment date, read as UTC; ours keeps it as local time.
    assert r.start_time == raw.info["meas_date"].replace(tzinfo=None).isoformat()


@pytest.mark.parametrize("binary", ["INT_16", "INT_32"])
def test_lsb_equals_neo_gain(tmp_path: Path, binary: str) -> None:
    rawio = pytest.importorskip("neo.rawio")
    data = write_brainvision(tmp_path, binary=binary, codepage="utf-8", units=["µV"] * 4,
                             resolutions=["0.0022621781"] * 4)
    reader = rawio.BrainVisionRawIO(str(data.with_suffix(".vhdr")))
    reader.parse_header()
    chans = reader.header["signal_channels"]
    assert {str(u) for u in chans["units"]} <= {"uV", "µV"}
    [r] = extract(data)
    assert [float(g) for g in chans["gain"]] == pytest.approx([r.type_json["lsb"]] * 4)
    assert r.type_json["nSamples"] == reader.get_signal_size(0, 0, 0)


def test_big_endian_is_named_in_the_provenance(tmp_path: Path) -> None:
    data = write_brainvision(tmp_path)
    vhdr = data.with_suffix(".vhdr")
    vhdr.write_bytes(vhdr.read_bytes().replace(b"BinaryFormat=INT_16",
                                               b"BinaryFormat=INT_16\r\nUseBigEndianOrder=YES"))
    [r] = extract(data)
    assert r.type_json["type"] == "int16"
    assert "big-endian" in r.provenance["type"].detail


# --- headers as real writers leave them (found comparing with MNE) -------------------------


@pytest.mark.parametrize("first", [b"Brain Vision V-Amp Data Header File Version 1.0",
                                   b"BrainVision Core Data Header File Version 1.0"])
def test_v_amp_and_core_headers_are_brainvision(tmp_path: Path, first: bytes) -> None:
    # V-Amp Recorder's first line, and the Core Data Format's: MNE reads both.
    data = write_brainvision(tmp_path)
    vhdr = data.with_suffix(".vhdr")
    raw = vhdr.read_bytes()
    vhdr.write_bytes(first + raw[raw.index(b"\r\n"):])
    assert extractor_for(data).name == "brainvision"
    [r] = extract(vhdr)
    assert (r.type_json["nChannels"], r.type_json["nSamples"]) == (4, 100)
    mne = pytest.importorskip("mne")
    assert mne.io.read_raw_brainvision(vhdr, preload=False, verbose="error").n_times == 100


def test_a_utf8_micro_sign_in_a_latin1_header(tmp_path: Path) -> None:
    # 'µV' written in UTF-8 in a header that is otherwise latin-1 (or says Codepage=ANSI):
    # read as latin-1 it is 'Âµv'. MNE drops the 0xC2; the unit is µV.
    data = write_brainvision(tmp_path, resolutions=["0.5"] * 4)
    vhdr = data.with_suffix(".vhdr")
    vhdr.write_bytes(vhdr.read_bytes().replace(b",0.5,\xb5V", b",0.5,\xc2\xb5V"))
    assert b"\xc2\xb5V" in vhdr.read_bytes() and b"[\xb5S]" in vhdr.read_bytes()
    [r] = extract(data)
    assert r.type_json["lsb"] == pytest.approx(0.5)
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_brainvision(vhdr, preload=False, verbose="error")
    assert raw._cals * 1e6 == pytest.approx([0.5] * 4)


def test_a_stale_marker_file_name_falls_back_to_the_headers_own(tmp_path: Path) -> None:
    # A recording renamed after it was written (a BIDS conversion): MarkerFile names the
    # old .vmrk; the one of the header's own name beside it holds the start, as MNE reads.
    data = write_brainvision(tmp_path)
    vhdr = data.with_suffix(".vhdr")
    vhdr.write_bytes(vhdr.read_bytes().replace(b"MarkerFile=rec.vmrk",
                                               b"MarkerFile=old_name.vmrk"))
    [r] = extract(data)
    assert r.start_time == START.isoformat()
    assert any("old_name.vmrk, which is absent; read rec.vmrk" in w for w in r.warnings)
    report = extract_folder(tmp_path)
    assert set(report.sidecars) == {str(vhdr), str(data.with_suffix(".vmrk"))}
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_brainvision(vhdr, preload=False, verbose="error")
    assert r.start_time == raw.info["meas_date"].replace(tzinfo=None).isoformat()


def test_a_renamed_recording_whose_header_names_the_old_files(tmp_path: Path) -> None:
    # rec.* renamed to sub-01_eeg.* without editing the header (DataFile=rec.eeg,
    # MarkerFile=rec.vmrk): neo reads the files of the header's own name; so do we.
    write_brainvision(tmp_path, codepage="utf-8")  # neo reads UTF-8 headers only
    for suffix in (".vhdr", ".eeg", ".vmrk"):
        (tmp_path / f"rec{suffix}").rename(tmp_path / f"sub-01_eeg{suffix}")
    data, vhdr = tmp_path / "sub-01_eeg.eeg", tmp_path / "sub-01_eeg.vhdr"
    assert extract(vhdr) == extract(data)
    [r] = extract(data)
    assert r.type_json["fileName"] == "sub-01_eeg.eeg"
    assert (r.type_json["nChannels"], r.type_json["nSamples"]) == (4, 100)
    assert r.start_time == START.isoformat()
    assert any("names data file rec.eeg, which is absent" in w for w in r.warnings)
    report = extract_folder(tmp_path)
    assert [x.type_json["fileName"] for x in report.extractions] == ["sub-01_eeg.eeg"]
    assert set(report.sidecars) == {str(vhdr), str(tmp_path / "sub-01_eeg.vmrk")}
    assert not report.errors
    rawio = pytest.importorskip("neo.rawio")
    reader = rawio.BrainVisionRawIO(str(vhdr))
    reader.parse_header()
    assert reader.get_signal_size(0, 0, 0) == r.type_json["nSamples"]
    assert reader.header["signal_channels"].size == r.type_json["nChannels"]
