"""Raw binary ephys: values from a Neuroscope XML, from stated parameters, from the size."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract, extract_folder
from tests.fixtures import write_dat, write_neuroscope_xml


def test_values_from_neuroscope_xml(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=6, n_samples=250)
    write_neuroscope_xml(tmp_path / "rec.xml", 6, sampling_rate=30000, voltage_range=10,
                         amplification=400, groups=[[0, 1, 2], [3, 4, 5]], skip={4},
                         labels=["shankA", "shankB"])
    (r,) = extract(dat)
    tj = r.type_json
    assert r.type == "ExtracellularEphys"
    assert tj["nChannels"] == 6 and tj["sr"] == 30000 and tj["type"] == "int16"
    assert tj["nSamples"] == os.path.getsize(dat) // (6 * 2) == 250
    assert tj["lsb"] == pytest.approx(10 / 65536 / 400 * 1e6)
    assert tj["electrodeGroups"] == [{"channels": [0, 1, 2], "label": "shankA"},
                                     {"channels": [3, 4, 5], "label": "shankB"}]
    assert tj["channelTags"] == [{"tag": "bad", "channels": [4], "groups": [1]}]
    assert r.provenance["nChannels"].source.value == "header"
    assert r.provenance["nSamples"].source.value == "computed"


def test_offset_is_named_beside_the_step_it_does_not_change(tmp_path: Path) -> None:
    # Neuroscope's <offset> is a zero level (neo ignores it): the step stays
    # voltageRange / 2^nBits / amplification, and the provenance says the offset was seen.
    dat = write_dat(tmp_path / "rec.dat", n_channels=2, n_samples=5)
    write_neuroscope_xml(tmp_path / "rec.xml", 2, voltage_range=20, amplification=1000,
                         offset=2048)
    (r,) = extract(dat)
    assert r.type_json["lsb"] == pytest.approx(20 / 65536 / 1000 * 1e6)
    assert "offset 2048" in r.provenance["lsb"].detail


def test_no_amplification_gives_no_lsb(tmp_path: Path) -> None:
    """Without <amplification> the step voltageRange / 2^nBits / amplification is unknown.
    Before the fix the gain was taken as 1: 20 / 65536 x 1e6 = 305.2 µV, 1000 times the
    0.305 µV that ndManager's and buzcode's default gain (1000) gives."""
    dat = write_dat(tmp_path / "rec.dat", n_channels=2, n_samples=5)
    xml = write_neuroscope_xml(tmp_path / "rec.xml", 2, voltage_range=20)
    text = xml.read_text()
    xml.write_text(text.replace("<amplification>1000</amplification>", ""))
    assert "<amplification>" not in xml.read_text()
    (r,) = extract(dat)
    assert "lsb" not in r.type_json
    assert r.type_json["nChannels"] == 2 and r.type_json["sr"] == 20000
    assert any("no amplification" in w for w in r.warnings)


def test_groups_without_labels_are_numbered(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=4, n_samples=5)
    write_neuroscope_xml(tmp_path / "rec.xml", 4, groups=[[0, 1], [2, 3]])
    (r,) = extract(dat)
    assert [g["label"] for g in r.type_json["electrodeGroups"]] == ["group1", "group2"]
    assert "channelTags" not in r.type_json


@pytest.mark.parametrize("suffix", [".lfp", ".eeg"])
def test_lfp_and_eeg_run_at_the_lfp_rate(tmp_path: Path, suffix: str) -> None:
    f = write_dat(tmp_path / f"rec{suffix}", n_channels=4, n_samples=7)
    write_neuroscope_xml(tmp_path / "rec.xml", 4, sampling_rate=20000, lfp_rate=1250)
    (r,) = extract(f)
    assert r.type_json["sr"] == 1250 and r.type_json["nSamples"] == 7


def test_single_xml_in_folder_pairs_with_other_basenames(tmp_path: Path) -> None:
    for name in ("signal1.dat", "signal2.dat"):
        write_dat(tmp_path / name, n_channels=4, n_samples=3)
    write_neuroscope_xml(tmp_path / "recording.xml", 4)
    report = extract_folder(tmp_path)
    assert report.errors == {}
    assert sorted(Path(e.path).name for e in report.extractions) == ["signal1.dat", "signal2.dat"]
    assert report.sidecars == {str(tmp_path / "recording.xml"): str(tmp_path / "signal1.dat")}


def test_stated_parameters_without_sidecar(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.bin", n_channels=3, n_samples=40, dtype="<f4")
    (r,) = extract(dat, n_channels=3, sr=1000, dtype="float32", lsb=0.5)
    tj = r.type_json
    assert (tj["nChannels"], tj["sr"], tj["type"], tj["lsb"]) == (3, 1000, "float32", 0.5)
    assert tj["nSamples"] == os.path.getsize(dat) // 12
    assert {k: r.provenance[k].source.value for k in ("nChannels", "sr", "type", "lsb")} == \
        dict.fromkeys(("nChannels", "sr", "type", "lsb"), "stated")


def test_stated_value_overrides_xml_with_a_warning(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=8, n_samples=4)
    write_neuroscope_xml(tmp_path / "rec.xml", 4)
    (r,) = extract(dat, n_channels=8)
    assert r.type_json["nChannels"] == 8 and r.type_json["nSamples"] == 4
    assert any("differs" in w for w in r.warnings)


def test_record_type_can_be_restated(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=4, n_samples=5)
    write_neuroscope_xml(tmp_path / "rec.xml", 4, groups=[[0, 1, 2, 3]])
    (r,) = extract(dat, record_type="GeneralTimeSeries")
    assert r.type == "GeneralTimeSeries"
    assert "electrodeGroups" not in r.type_json
    (r,) = extract(dat, record_type="Intracellular")
    assert r.type == "IntracellularEphys"


def test_non_divisible_size_states_size_frame_and_remainder(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=64, n_samples=100, extra_bytes=71)
    write_neuroscope_xml(tmp_path / "rec.xml", 64)
    size = os.path.getsize(dat)
    with pytest.raises(ExtractionError) as info:
        extract(dat)
    assert str(info.value).startswith(
        f"rec.dat: {size} bytes is not a whole number of 64-channel int16 frames "
        f"(128 bytes each; 71 bytes left over after 100 frames)")


def test_channel_outside_nchannels_in_xml_is_refused(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=4, n_samples=5)
    write_neuroscope_xml(tmp_path / "rec.xml", 4, groups=[[0, 1, 2, 3, 4]])
    with pytest.raises(ExtractionError,
                       match=r"^rec\.dat: rec\.xml: channel group 1 lists channels \[4\]"):
        extract(dat)


def test_external_entity_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("64")
    dat = write_dat(tmp_path / "rec.dat", n_channels=4, n_samples=5)
    (tmp_path / "rec.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<parameters><acquisitionSystem><nChannels>&x;</nChannels></acquisitionSystem></parameters>")
    with pytest.raises(ExtractionError, match=r"^rec\.dat: rec\.xml: refused unsafe XML"):
        extract(dat)


def test_terabyte_sparse_file_is_described_from_its_size(tmp_path: Path) -> None:
    dat = tmp_path / "rec.dat"
    frame = 128 * 2
    size = (2**40 // frame) * frame  # ~1 TB, whole frames
    with open(dat, "wb") as fh:
        fh.truncate(size)  # sparse: no blocks written
    write_neuroscope_xml(tmp_path / "rec.xml", 128)
    (r,) = extract(dat)
    assert r.type_json["nSamples"] == size // frame
    assert os.stat(dat).st_blocks == 0  # nothing was written to (or read from) the data


def test_other_xml_in_folder_is_not_taken_for_neuroscope(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "amplifier.dat", n_channels=4, n_samples=5)
    (tmp_path / "settings.xml").write_text("<IntanRHX><GeneralConfig/></IntanRHX>")
    with pytest.raises(ExtractionError, match="no Neuroscope XML beside it"):
        extract(dat)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("nChannels", "inf", "acquisitionSystem/nChannels is 'inf', not a finite number"),
    ("nBits", "inf", "acquisitionSystem/nBits is 'inf', not a finite number"),
    ("nBits", "4000", "acquisitionSystem/nBits is 4000, not 1 to 64"),
    ("nChannels", "9" * 5000, "not a finite number"),
    ("nChannels", "-3", "not a whole number from 0"),
    ("samplingRate", "inf", "samplingRate is 'inf', not a finite number"),
    ("samplingRate", "nan", "samplingRate is 'nan', not a finite number"),
])
def test_hostile_xml_values_are_one_line_errors(tmp_path: Path, field: str, value: str,
                                                words: str) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=4, n_samples=5)
    xml = write_neuroscope_xml(tmp_path / "rec.xml", 4)
    text = xml.read_text()
    start = text.index(f"<{field}>") + len(field) + 2
    xml.write_text(text[:start] + value + text[text.index(f"</{field}>"):])
    with pytest.raises(ExtractionError) as info:
        extract(dat)
    message = str(info.value)
    assert message.startswith("rec.dat: rec.xml: ") and "\n" not in message
    assert words in message and len(message) < 300


def test_xml_with_400000_groups_is_refused_at_once(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=4, n_samples=5)
    write_neuroscope_xml(tmp_path / "rec.xml", 4, groups=[[i % 4] for i in range(400_000)])
    with pytest.raises(ExtractionError, match=r"more than 16384 channel groups"):
        extract(dat)


def test_deeply_nested_xml_is_refused(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=4, n_samples=5)
    (tmp_path / "rec.xml").write_text("<parameters><acquisitionSystem>" + "<a>" * 100_000
                                      + "</a>" * 100_000 + "</acquisitionSystem></parameters>")
    with pytest.raises(ExtractionError, match=r"nested more than 64 deep"):
        extract(dat)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_sidecar_that_is_a_fifo_is_named_never_opened(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=4, n_samples=5)
    os.mkfifo(tmp_path / "rec.xml")
    with pytest.raises(ExtractionError,
                       match=r"^rec\.dat: rec\.xml: a FIFO \(named pipe\), not a file: not read$"):
        extract(dat)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_data_file_that_is_a_fifo_is_named(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "rec.dat")
    with pytest.raises(ExtractionError, match=r"^rec\.dat: a FIFO \(named pipe\), not a rec"):
        extract(tmp_path / "rec.dat", n_channels=2, sr=1000)


def test_implausible_lsb_from_the_xml_is_left_out_with_a_warning(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "rec.dat", n_channels=4, n_samples=5)
    write_neuroscope_xml(tmp_path / "rec.xml", 4, voltage_range=1e300, amplification=1e-300)
    (r,) = extract(dat)
    assert "lsb" not in r.type_json and "no lsb" in r.warnings[0]
