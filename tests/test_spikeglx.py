"""SpikeGLX: values from file-size arithmetic, the parameters the fixture wrote, and neo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract, extract_folder
from extractors import Source, discover, extractor_for
from extractors.rawbinary import RawBinaryExtractor
from extractors.spikeglx import SpikeGlxExtractor
from tests.samples.spikeglx import write_spikeglx


def _one(path: Path) -> dict:
    [r] = extract(path)
    return {**r.type_json, "_record": r.type, "_warnings": r.warnings, "_prov": r.provenance}


def test_np1_ap_values(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r_g0_t0.imec0.ap.bin", n_samples=123, n_neural=8)
    tj = _one(path)
    assert tj["_record"] == "ExtracellularEphys"
    assert tj["format"] == "SpikeGLX" and tj["type"] == "int16" and tj["nChannels"] == 9
    assert tj["nSamples"] == os.path.getsize(path) // (2 * 9) == 123
    assert tj["sr"] == 30000
    assert tj["lsb"] == pytest.approx(0.6 / 512 / 500 * 1e6)
    assert tj["electrodeGroups"] == [{"channels": list(range(8)), "label": "shank0"}]
    tags = {t["tag"]: t["channels"] for t in tj["channelTags"]}
    assert tags == {"sync": [8], "unused": [1]}  # the fixture marks channel 1 used=0
    assert tj["_warnings"] == ()


def test_lsb_provenance_states_the_gain_and_the_step(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r_g0_t0.imec0.ap.bin", n_samples=3, n_neural=8)
    detail = _one(path)["_prov"]["lsb"].detail
    # NP1.0: 0.6 V range, 512 steps, AP gain 500 in every imroTbl entry of the fixture.
    assert "gain 500" in detail
    assert float(detail.rsplit("=", 1)[1].split()[0]) == pytest.approx(0.6 / 512 / 500 * 1e6,
                                                                       rel=1e-5)


def test_np1_lf_uses_the_lf_gain_and_rate(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r_g0_t0.imec0.lf.bin", n_samples=10, kind="lf",
                          lf_gain=125)
    tj = _one(path)
    assert tj["sr"] == 2500
    assert tj["lsb"] == pytest.approx(0.6 / 512 / 125 * 1e6)


def test_np2_four_shanks_and_fixed_gain(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=7, probe="np2", n_shanks=4)
    tj = _one(path)
    assert tj["lsb"] == pytest.approx(0.5 / 8192 / 80 * 1e6)
    assert [g["channels"] for g in tj["electrodeGroups"]] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert [g["label"] for g in tj["electrodeGroups"]] == ["shank0", "shank1", "shank2", "shank3"]


def test_np2013_gain_from_imchan0apgain(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=7, probe="np2013")
    assert _one(path)["lsb"] == pytest.approx(0.62 / 2048 / 100 * 1e6)


def test_no_sync_saved_means_no_sync_tag(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=5, sync=False)
    tj = _one(path)
    assert tj["nChannels"] == 8
    assert [t["tag"] for t in tj["channelTags"]] == ["unused"]


def test_mixed_gains_give_no_lsb_and_say_why(tmp_path: Path) -> None:
    gains = [500] * 6 + [1000, 1000]
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=5, ap_gains=gains)
    tj = _one(path)
    assert "lsb" not in tj
    [warning] = tj["_warnings"]
    assert "6 channels at gain 500" in warning and "2 channels at gain 1000" in warning


def test_truncated_copy_reports_disk_and_warns_with_both_numbers(tmp_path: Path) -> None:
    declared = 9 * 2 * 100_000
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=50, meta_size=declared)
    tj = _one(path)
    assert tj["nSamples"] == 50
    [warning] = tj["_warnings"]
    assert str(os.path.getsize(path)) in warning and str(declared) in warning
    assert str(declared) in tj["_prov"]["nSamples"].detail


def test_partial_last_frame_is_left_out_with_a_warning(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=50, extra_bytes=5)
    tj = _one(path)
    assert tj["nSamples"] == (os.path.getsize(path) - 5) // 18
    assert any("partial" in w for w in tj["_warnings"])


def test_sparse_100_gb_bin_is_described_from_its_size(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=1)
    size = 9 * 2 * 6_000_000_000
    os.truncate(path, size)
    assert _one(path)["nSamples"] == size // 18


def test_nidq_is_general_time_series_with_analog_lsb(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r_g0_t0.nidq.bin", n_samples=40, probe="nidq",
                          nidq_counts=(0, 0, 3, 1), ni_range=2.0)
    tj = _one(path)
    assert tj["_record"] == "GeneralTimeSeries"
    assert tj["nChannels"] == 4 and tj["nSamples"] == 40 and tj["sr"] == 25000
    assert tj["lsb"] == pytest.approx(2.0 / 32768 * 1e6)
    assert "electrodeGroups" not in tj


def test_nidq_digital_only_has_no_lsb(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r_g0_t0.nidq.bin", n_samples=40, probe="nidq",
                          nidq_counts=(0, 0, 0, 1))
    tj = _one(path)
    assert "lsb" not in tj
    assert any("digital" in w for w in tj["_warnings"])


def test_lone_meta_is_described_from_the_meta(tmp_path: Path) -> None:
    declared = 9 * 2 * 4321
    bin_path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=1, write_bin=False,
                              meta_size=declared)
    meta = bin_path.with_suffix(".meta")
    [r] = extract(meta)
    assert r.path == str(meta)
    assert r.type_json["fileName"] == bin_path.name
    assert r.type_json["nSamples"] == 4321
    assert any("no .bin beside it" in w for w in r.warnings)
    assert discover(tmp_path).data == [meta]


def test_lone_meta_in_a_session_folder_names_its_bin_by_its_path(tmp_path: Path) -> None:
    bin_path = write_spikeglx(tmp_path / "probe0" / "r.imec0.ap.bin", n_samples=1,
                              write_bin=False, meta_size=18 * 5)
    report = extract_folder(tmp_path)
    [r] = report.extractions
    assert r.type_json["fileName"] == "probe0/r.imec0.ap.bin"
    # The record a later extraction of the .bin (once decompressed) gives: same key.
    write_spikeglx(bin_path, n_samples=5)
    [later] = extract_folder(tmp_path).extractions
    assert later.key == r.key
    # bsingest 0.1 named it by the .bin too: its record is recognised from either.
    assert r.legacy_key == later.legacy_key == ("ExtracellularEphys", "r.imec0.ap.bin", "")


def test_meta_beside_its_bin_is_a_sidecar(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=3)
    found = discover(tmp_path)
    assert found.data == [path]
    assert found.sidecars == {path.with_suffix(".meta"): path}
    assert extract_folder(tmp_path).ok


def test_meta_given_as_the_path_beside_its_bin_describes_the_pair(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=7)
    [pair] = extract(path.with_suffix(".meta"))
    [data] = extract(path)
    assert pair.path == str(path)
    assert pair.type_json == data.type_json and pair.type_json["nSamples"] == 7
    assert not any("no .bin" in w for w in pair.warnings)


def test_meta_beside_a_bin_that_is_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=7)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(ExtractionError, match=r"^r\.imec0\.ap\.meta: r\.imec0\.ap\.bin beside "
                                              r"it is a FIFO \(named pipe\): not read$"):
        extract(path.with_suffix(".meta"))


@pytest.mark.parametrize(("line", "reason"), [
    ("imSampRate=inf", r"imSampRate='inf' is not a finite number"),
    ("imSampRate=nan", r"imSampRate='nan' is not a finite number"),
    ("imSampRate=1e-7", r"imSampRate is '1e-7', not a rate between 100 and 1e\+06 Hz"),
    ("imSampRate=-30000", r"imSampRate is '-30000', not a rate"),
    ("imAiRangeMax=Infinity", r"imAiRangeMax='Infinity' is not a finite number"),
    ("imMaxInt=0", r"imMaxInt=0 is not a positive count"),
    ("nSavedChans=1e400", r"nSavedChans='1e400' is not a finite number"),
])
def test_non_finite_or_implausible_meta_values_are_one_line(tmp_path: Path, line: str,
                                                            reason: str) -> None:
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=3)
    meta = path.with_suffix(".meta")
    key = line.split("=")[0]
    kept = [x for x in meta.read_text().splitlines() if not x.startswith(key + "=")]
    meta.write_text("\n".join([line, *kept]) + "\n")
    with pytest.raises(ExtractionError, match=r"^r\.imec0\.ap\.bin: r\.imec0\.ap\.meta: " + reason):
        extract(path)


def test_start_time_is_the_meta_file_create_time(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=3)
    meta = path.with_suffix(".meta")
    meta.write_text(meta.read_text() + "fileCreateTime=2021-09-20T14:13:34\n")
    [r] = extract(path)
    assert r.start_time == "2021-09-20T14:13:34"
    assert r.provenance["startTime"].source == Source.HEADER
    assert "fileCreateTime" in r.provenance["startTime"].detail
    meta.write_text(meta.read_text().replace("2021-09-20T14:13:34", "yesterday"))
    [r] = extract(path)
    assert r.start_time is None and any("fileCreateTime" in w for w in r.warnings)


def test_bin_without_meta_is_left_to_raw_binary(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00" * 16)
    assert SpikeGlxExtractor.claim(path) == 0
    assert isinstance(extractor_for(path), RawBinaryExtractor)


def test_malformed_meta_is_refused_naming_the_bin(tmp_path: Path) -> None:
    path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=3)
    path.with_suffix(".meta").write_text("nSavedChans=nine\n")
    message = r"^r\.imec0\.ap\.bin: r\.imec0\.ap\.meta: nSavedChans"
    with pytest.raises(ExtractionError, match=message):
        extract(path)


def test_malformed_lone_meta_is_named_once(tmp_path: Path) -> None:
    bin_path = write_spikeglx(tmp_path / "r.imec0.ap.bin", n_samples=1, write_bin=False,
                              meta_size=18)
    meta = bin_path.with_suffix(".meta")
    meta.write_text(meta.read_text().replace("imSampRate=", "imSampRate=fast\nx="))
    with pytest.raises(ExtractionError, match=r"^r\.imec0\.ap\.meta: imSampRate='fast' is "
                                              r"not a number$"):
        extract(meta)


@pytest.mark.parametrize("kind", ["ap", "lf"])
def test_neo_agrees(kind: str, tmp_path: Path) -> None:
    from neo.rawio import SpikeGLXRawIO

    folder = tmp_path / "run_g0"
    write_spikeglx(folder / f"run_g0_t0.imec0.{kind}.bin", n_samples=321, kind=kind, lf_gain=50)
    ni = write_spikeglx(folder / "run_g0_t0.nidq.bin", n_samples=77, probe="nidq")
    reader = SpikeGLXRawIO(dirname=str(folder))
    reader.parse_header()
    ours = {Path(e.path).name.split(".")[-2]: e.type_json
            for e in extract_folder(folder).extractions}
    streams = reader.header["signal_streams"]
    chans = reader.header["signal_channels"]
    for stream_id in (f"imec0.{kind}", "nidq"):
        idx = list(streams["id"]).index(stream_id)
        mine = ours[kind if stream_id != "nidq" else "nidq"]
        mask = chans["stream_id"] == stream_id
        n_sync = 1 if stream_id != "nidq" else 0  # neo splits the sync channel off
        assert mine["nChannels"] == mask.sum() + n_sync
        assert mine["nSamples"] == reader.get_signal_size(0, 0, idx)
        assert mine["sr"] == pytest.approx(reader.get_signal_sampling_rate(idx))
        gain = chans["gain"][mask][0] * (1 if stream_id != "nidq" else 1e6)  # neo: µV or V
        assert mine["lsb"] == pytest.approx(gain)
    assert ni.exists()
