"""Intan RHD/RHS: values against size arithmetic and neo's IntanRawIO as a second reader."""

from __future__ import annotations

import builtins
import os
import struct
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract, extract_folder
from extractors import Source, discover
from tests.fixtures_intan_oe import IntanSpec, write_intan_rhx, write_intan_traditional


def _by_stream(results):  # type: ignore[no-untyped-def]
    return {r.part or r.type_json["fileName"]: r for r in results}


def _neo_streams(path: Path) -> dict[str, tuple[int, float, int]]:
    """neo's view: stream name -> (channels, rate, samples)."""
    from neo.rawio import IntanRawIO

    io = IntanRawIO(filename=str(path))
    io.parse_header()
    return {s["name"]: (io.signal_channels_count(i), io.get_signal_sampling_rate(i),
                        io.get_signal_size(0, 0, i))
            for i, s in enumerate(io.header["signal_streams"])}


@pytest.mark.parametrize("version", [(3, 0), (1, 3)])
def test_traditional_rhd_matches_block_arithmetic_and_neo(tmp_path: Path, version) -> None:
    spec = IntanSpec(version=version, eval_board_mode=0)
    n_blocks = 3
    path = write_intan_traditional(tmp_path / "rec.rhd", spec, n_blocks)
    spb = 128 if version >= (2, 0) else 60
    # Size arithmetic, from the application note: the file is header + whole blocks.
    assert (path.stat().st_size - len(spec.header())) == n_blocks * spec.block_bytes()
    got = _by_stream(extract(path))
    assert set(got) == {"amplifier", "auxiliary", "analogin", "digitalin"}
    amp = got["amplifier"]
    assert amp.type == "ExtracellularEphys"
    assert amp.type_json["nSamples"] == n_blocks * spb
    assert amp.type_json["nChannels"] == 6
    assert amp.type_json["type"] == "uint16"
    assert amp.type_json["lsb"] == 0.195
    assert got["auxiliary"].type_json["sr"] == 7500
    assert got["auxiliary"].type_json["nSamples"] == n_blocks * spb // 4
    assert got["analogin"].type_json["lsb"] == pytest.approx(50.354)  # eval board mode 0
    assert got["digitalin"].type == "GeneralTimeSeries"
    assert got["digitalin"].type_json["nChannels"] == 1  # one word carries both lines
    neo = _neo_streams(path)
    for key, name in [("amplifier", "RHD2000 amplifier channel"),
                      ("auxiliary", "RHD2000 auxiliary input channel"),
                      ("analogin", "USB board ADC input channel")]:
        n_ch, rate, n = neo[name]
        tj = got[key].type_json
        assert (tj["nChannels"], tj["sr"], tj["nSamples"]) == (n_ch, rate, n)
    assert neo["USB board digital input channel"][2] == got["digitalin"].type_json["nSamples"]


def test_traditional_rhd_with_temperature_sensors_counts_their_bytes(tmp_path: Path) -> None:
    # neo cannot read files with temperature sensors; size arithmetic is the check here.
    spec = IntanSpec(version=(1, 1), n_temp=2, eval_board_mode=0)
    path = write_intan_traditional(tmp_path / "old.rhd", spec, 5)
    data = path.stat().st_size - len(spec.header())
    assert data % spec.block_bytes() == 0
    got = _by_stream(extract(path))
    assert got["amplifier"].type_json["nSamples"] == data // spec.block_bytes() * 60


def test_traditional_rhs_matches_neo(tmp_path: Path) -> None:
    spec = IntanSpec(kind="rhs", dc_amp_saved=True, n_dig_out=1)
    path = write_intan_traditional(tmp_path / "stim.rhs", spec, 2)
    got = _by_stream(extract(path))
    neo = _neo_streams(path)
    pairs = [("amplifier", "RHS2000 amplifier channel"), ("dcamplifier", "DC Amplifier channel"),
             ("stim", "Stim channel"), ("analogin", "USB board ADC input channel")]
    for key, name in pairs:
        tj = got[key].type_json
        assert (tj["nChannels"], tj["sr"], tj["nSamples"]) == neo[name], key
    assert got["amplifier"].type_json["nSamples"] == 2 * 128
    assert got["dcamplifier"].type == "GeneralTimeSeries"


def test_truncated_traditional_file_states_size_block_and_remainder(tmp_path: Path) -> None:
    spec = IntanSpec()
    path = write_intan_traditional(tmp_path / "rec.rhd", spec, 2, extra_bytes=10)
    size = path.stat().st_size
    with pytest.raises(ExtractionError) as info:
        extract(path)
    msg = str(info.value)
    assert msg.startswith("rec.rhd: ")
    assert f"{size} bytes" in msg and f"{spec.block_bytes()}-byte" in msg and "10 bytes left" in msg


def test_header_only_traditional_file_gives_zero_samples_with_a_warning(tmp_path: Path) -> None:
    path = write_intan_traditional(tmp_path / "empty.rhd", IntanSpec(), 0)
    got = _by_stream(extract(path))
    assert got["amplifier"].type_json["nSamples"] == 0
    assert got["amplifier"].warnings


def test_rhx_per_signal_folder_matches_sizes_and_neo(tmp_path: Path) -> None:
    spec = IntanSpec(ports={"A": 3, "B": 2}, disabled=frozenset({"A-001"}))
    folder = write_intan_rhx(tmp_path / "s", spec, 500, "signal")
    report = extract_folder(folder)
    assert report.errors == {} and report.skipped == {}
    amp = next(e for e in report.extractions if e.type == "ExtracellularEphys")
    assert amp.type_json["nChannels"] == 4  # 5 amplifier channels, one disabled
    assert amp.type_json["nSamples"] == 500
    # nChannels is what the file interleaves: its size is whole frames of that many.
    assert (folder / "amplifier.dat").stat().st_size == 500 * 4 * 2
    assert amp.type_json["type"] == "int16"
    assert amp.type_json["electrodeGroups"] == [
        {"channels": [0, 1], "label": "Port A"}, {"channels": [2, 3], "label": "Port B"}]
    neo = _neo_streams(folder / "info.rhd")
    assert neo["RHD2000 amplifier channel"][0] == 4
    assert neo["RHD2000 amplifier channel"][2] == amp.type_json["nSamples"]
    # amplifier, aux, adc, digital in: one record each
    assert len(report.extractions) == 4


def test_rhx_per_channel_folder_gives_one_record_per_file(tmp_path: Path) -> None:
    spec = IntanSpec(ports={"A": 3, "B": 2}, disabled=frozenset({"A-001"}))
    folder = write_intan_rhx(tmp_path / "s", spec, 500, "channel")
    report = extract_folder(folder)
    assert report.errors == {} and report.skipped == {}
    by_name = {e.file_name: e for e in report.extractions}
    data_files = sorted(p.name for p in folder.glob("*-*.dat"))
    assert sorted(by_name) == data_files  # every channel file is a record of its own
    neo = _neo_streams(folder / "info.rhd")
    amps = [e for e in report.extractions if e.type == "ExtracellularEphys"]
    assert len(amps) == neo["RHD2000 amplifier channel"][0] == 4
    for e in report.extractions:
        size = (folder / e.file_name).stat().st_size
        assert e.type_json["nChannels"] == 1
        assert e.type_json["nSamples"] == size // 2 == 500
    assert by_name["amp-B-001.dat"].type_json["electrodeGroups"] == [
        {"channels": [0], "label": "Port B"}]
    assert "A-001" not in by_name["amp-A-002.dat"].provenance["nChannels"].detail
    assert by_name["board-DIGITAL-IN-02.dat"].type == "GeneralTimeSeries"
    assert by_name["aux-A-AUX2.dat"].type_json["sr"] == 30000


def test_rhx_aux_rate_is_the_rate_in_the_file_with_the_reason(tmp_path: Path) -> None:
    folder = write_intan_rhx(tmp_path / "s", IntanSpec(), 400, "signal")
    aux = extract(folder / "auxiliary.dat")[0]
    # One value per time.dat tick (size / 2 / 6 channels == time.dat size / 4).
    ticks = (folder / "time.dat").stat().st_size // 4
    assert (folder / "auxiliary.dat").stat().st_size // 12 == ticks
    assert aux.type_json["sr"] == 30000
    assert "7500" in aux.provenance["sr"].detail
    quarter = write_intan_rhx(tmp_path / "q", IntanSpec(), 400, "signal", aux_divisor=4)
    assert extract(quarter / "auxiliary.dat")[0].type_json["sr"] == 7500


def test_folder_listing_shows_info_time_settings_as_sidecars(tmp_path: Path) -> None:
    spec = IntanSpec(ports={"A": 3})
    folder = write_intan_rhx(tmp_path / "s", spec, 100, "channel")
    found = discover(folder)
    assert found.skipped == {}
    assert sorted(p.name for p in found.data) == sorted(
        ["amp-A-000.dat", "amp-A-001.dat", "amp-A-002.dat", "aux-A-AUX1.dat",
         "aux-A-AUX2.dat", "aux-A-AUX3.dat", "board-ANALOG-IN-1.dat",
         "board-DIGITAL-IN-01.dat", "board-DIGITAL-IN-02.dat"])
    assert {p.name for p in found.sidecars} == {"info.rhd", "time.dat", "settings.xml"}
    assert len(found.data) + len(found.sidecars) == len(os.listdir(folder))


def test_a_channel_file_alone_gets_the_record_it_gets_in_its_folder(tmp_path: Path) -> None:
    folder = write_intan_rhx(tmp_path / "s", IntanSpec(), 100, "channel")
    in_folder = {e.file_name: e for e in extract_folder(folder).extractions}
    for name in ("amp-A-002.dat", "aux-B-AUX3.dat", "board-DIGITAL-IN-02.dat"):
        [alone] = extract(folder / name)
        assert alone.type_json == in_folder[name].type_json
        assert alone.type == in_folder[name].type


def test_a_cut_channel_file_is_refused_alone(tmp_path: Path) -> None:
    folder = write_intan_rhx(tmp_path / "s", IntanSpec(), 100, "channel")
    with open(folder / "amp-B-001.dat", "ab") as fh:
        fh.write(b"\x00")
    report = extract_folder(folder)
    assert list(report.errors) == [str(folder / "amp-B-001.dat")]
    assert "201 bytes is not a whole number" in report.errors[str(folder / "amp-B-001.dat")]


def test_start_time_from_the_rhx_folder_and_file_name_stamps(tmp_path: Path) -> None:
    folder = write_intan_rhx(tmp_path / "mouse1_231117_052630", IntanSpec(), 100, "signal")
    [amp] = extract(folder / "amplifier.dat")
    assert amp.start_time == "2023-11-17T05:26:30"
    prov = amp.provenance["startTime"]
    assert prov.source == Source.COMPUTED and "mouse1_231117_052630" in prov.detail
    rhd = write_intan_traditional(tmp_path / "rec_240229_235959.rhd", IntanSpec(), 1)
    assert {r.start_time for r in extract(rhd)} == {"2024-02-29T23:59:59"}
    plain = write_intan_traditional(tmp_path / "rec.rhd", IntanSpec(), 1)
    assert {r.start_time for r in extract(plain)} == {None}
    not_a_date = write_intan_traditional(tmp_path / "rec_999999_999999.rhd", IntanSpec(), 1)
    assert {r.start_time for r in extract(not_a_date)} == {None}


@pytest.mark.parametrize("rate", [float("inf"), float("nan"), 1e-7, 1e9, -30000.0])
def test_implausible_header_rate_is_one_line_naming_the_file(tmp_path: Path, rate: float) -> None:
    path = write_intan_traditional(tmp_path / "rec.rhd", IntanSpec(sample_rate=rate), 1)
    with pytest.raises(ExtractionError, match=r"^rec\.rhd: Intan header: sample rate .* is not a "
                                              r"rate an Intan system records at \(900 to 33000"):
        extract(path)


def test_a_string_length_past_the_end_of_the_header_is_refused(tmp_path: Path) -> None:
    header = bytearray(IntanSpec().header())
    # The first note's QString length (after magic, version, rate and the RHD floats).
    at = 4 + 4 + 4 + struct.calcsize("<h6f") + struct.calcsize("<hff")
    header[at:at + 4] = struct.pack("<I", 2**20)
    path = tmp_path / "rec.rhd"
    path.write_bytes(bytes(header))
    with pytest.raises(ExtractionError, match=r"^rec\.rhd: Intan header ends early"):
        extract(path)


def test_reads_no_sample_data_and_a_100_gb_file_costs_a_stat(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = IntanSpec()
    folder = write_intan_rhx(tmp_path / "s", spec, 10, "signal")
    frame = 2 * len(spec.enabled(0))
    n = (100 * 2**30) // frame
    os.truncate(folder / "amplifier.dat", n * frame)  # sparse: no disk used
    os.truncate(folder / "time.dat", n * 4)
    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(os.path.basename(str(file)))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    amp = extract(folder / "amplifier.dat")[0]
    assert amp.type_json["nSamples"] == n
    assert "amplifier.dat" not in opened and "time.dat" not in opened
    assert amp.warnings == ()


def test_per_channel_records_have_distinct_legacy_keys(tmp_path: Path) -> None:
    # bsingest 0.1 made one record per signal type, named after its first channel file and
    # without a stream: (ExtracellularEphys, amp-A-000.dat, ""). That key is now the first
    # channel's own record (adopted, then updated to nChannels 1); every other file is new.
    folder = write_intan_rhx(tmp_path / "s", IntanSpec(ports={"A": 3}), 10, "channel")
    records = extract_folder(folder).extractions
    keys = [r.legacy_key for r in records]
    assert len(set(keys)) == len(records)
    assert ("ExtracellularEphys", "amp-A-000.dat", "") in keys
    trad = write_intan_traditional(tmp_path / "rec.rhd", IntanSpec(), 1)
    assert ("ExtracellularEphys", "rec.rhd", "amplifier") in {r.legacy_key for r in extract(trad)}
