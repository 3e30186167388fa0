"""Open Ephys binary and legacy: values against size arithmetic, and neo where it agrees."""

from __future__ import annotations

import builtins
import json
import os
from pathlib import Path

import numpy as np
import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract, extract_folder
from extractors import Source, discover
from tests.fixtures_intan_oe import (
    LEGACY_HEADER,
    LEGACY_RECORD,
    LEGACY_SAMPLES,
    OebStream,
    write_continuous,
    write_oebin_recording,
)


def _spy_open(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(os.path.basename(str(file)))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    return opened


def _session(root: Path) -> list[Path]:
    """A GUI 0.6 session: one record node, experiments 1 and 3, two streams each."""
    out = []
    for exp, rec, n in [(1, 1, 40), (1, 2, 25), (3, 1, 10)]:
        out += write_oebin_recording(
            root / "Record Node 101" / f"experiment{exp}" / f"recording{rec}",
            [OebStream("Neuropix-PXI-100.ProbeA", n_neural=6, stream_name="ProbeA"),
             OebStream("NI-DAQmx-103.PXIe-6341", n_neural=0, n_adc=3,
                       adc_bit_volts=0.0003051850944757462, stream_name="PXIe-6341",
                       adc_prefix="AI")], n)
    for exp in (1, 3):
        name = "settings.xml" if exp == 1 else f"settings_{exp}.xml"
        (root / "Record Node 101" / name).write_text("<SETTINGS/>")
    return out


def test_neural_channels_of_different_steps_give_no_lsb(tmp_path: Path) -> None:
    """An oebin whose neural channels differ in bit_volts (per-channel gains) has no one
    lsb: before the fix the most common step (0.195, 3 of 4 channels) was the record's."""
    [dat] = write_oebin_recording(tmp_path / "experiment1" / "recording1",
                                  [OebStream(n_neural=4)], 10, gui="0.5.5")
    oebin = tmp_path / "experiment1" / "recording1" / "structure.oebin"
    data = json.loads(oebin.read_text())
    data["continuous"][0]["channels"][3]["bit_volts"] = 0.5
    oebin.write_text(json.dumps(data))
    steps = {c["bit_volts"] for c in data["continuous"][0]["channels"]}
    assert steps == {0.195, 0.5}  # the file states two steps
    [x] = extract(dat)
    assert "lsb" not in x.type_json
    assert any("differ in bit_volts" in w and "none is given" in w for w in x.warnings)


def test_binary_session_values_and_unique_streams(tmp_path: Path) -> None:
    files = _session(tmp_path)
    report = extract_folder(tmp_path)
    assert report.errors == {}
    assert len(report.extractions) == len(files) == 6
    keys = [e.key for e in report.extractions]
    assert len(set(keys)) == 6  # the session-relative fileName tells them apart
    by_stream = {e.legacy_stream: e for e in report.extractions}
    for e in report.extractions:
        assert e.type_json["fileName"] == Path(e.path).relative_to(tmp_path).as_posix()
    probe = by_stream["Record Node 101/experiment1/recording2/Neuropix-PXI-100.ProbeA"]
    dat = Path(probe.path)
    assert probe.type == "ExtracellularEphys"
    assert probe.type_json["nSamples"] == dat.stat().st_size // (2 * 6) == 25
    assert probe.type_json["lsb"] == pytest.approx(0.195)
    daq = by_stream["Record Node 101/experiment3/recording1/NI-DAQmx-103.PXIe-6341"]
    assert daq.type == "GeneralTimeSeries"
    assert daq.type_json["nChannels"] == 3
    assert daq.type_json["lsb"] == pytest.approx(305.1850944757462)  # V/bit x 1e6


def test_binary_values_agree_with_neo(tmp_path: Path) -> None:
    from neo.rawio import OpenEphysBinaryRawIO

    _session(tmp_path)
    io = OpenEphysBinaryRawIO(dirname=str(tmp_path))
    io.parse_header()
    ours = {tuple(e.legacy_stream.split("/")[1:]): e.type_json
            for e in extract_folder(tmp_path).extractions}
    experiments = sorted({k[0] for k in ours})
    checked = 0
    for i, s in enumerate(io.header["signal_streams"]):
        folder = s["name"].split("#")[-1]
        for block, exp in enumerate(experiments):
            recordings = sorted({k[1] for k in ours if k[0] == exp})
            for seg, rec in enumerate(recordings):
                tj = ours[(exp, rec, folder)]
                assert io.get_signal_size(block, seg, i) == tj["nSamples"]
                assert io.get_signal_sampling_rate(i) == tj["sr"]
                assert io.signal_channels_count(i) == tj["nChannels"]
                checked += 1
    assert checked == 6


def test_mixed_stream_is_one_record_for_the_whole_file(tmp_path: Path) -> None:
    from neo.rawio import OpenEphysBinaryRawIO

    rec = tmp_path / "experiment1" / "recording1"
    (dat,) = write_oebin_recording(rec, [OebStream(n_neural=4, n_adc=2)], 30, gui="0.4.5")
    (r,) = extract(dat)
    assert r.type == "ExtracellularEphys"
    assert r.type_json["nChannels"] == 6 == dat.stat().st_size // (2 * 30)
    assert r.type_json["electrodeGroups"] == [{"channels": [0, 1, 2, 3],
                                               "label": "Rhythm_FPGA-100.0"}]
    assert r.type_json["channelTags"] == [{"tag": "adc", "channels": [4, 5]}]
    assert r.type_json["lsb"] == pytest.approx(0.195)
    assert "152.5" in r.provenance["channelTags"].detail  # the ADC scale, in µV
    io = OpenEphysBinaryRawIO(dirname=str(tmp_path))
    io.parse_header()
    # neo splits the stream by channel kind: its two streams add up to our one file.
    counts = sorted(io.signal_channels_count(i) for i in range(len(io.header["signal_streams"])))
    assert counts == [2, 4]


def test_channel_count_that_does_not_fit_the_file_is_one_line_naming_it(tmp_path: Path) -> None:
    (dat,) = write_oebin_recording(tmp_path / "experiment1" / "recording1",
                                   [OebStream(n_neural=4)], 10,
                                   declared={"Rhythm_FPGA-100.0": 3})
    size = dat.stat().st_size  # 80 bytes: 13 frames of 6 bytes and 2 over
    with pytest.raises(ExtractionError) as info:
        extract(dat)
    msg = str(info.value)
    assert msg.startswith("continuous.dat: ") and "\n" not in msg
    assert f"{size} bytes" in msg and "6 bytes each" in msg and f"{size % 6} bytes left" in msg


def test_listed_channels_and_npy_lengths_are_cross_checks_that_warn(tmp_path: Path) -> None:
    (dat,) = write_oebin_recording(tmp_path / "experiment1" / "recording1",
                                   [OebStream(n_neural=4)], 10,
                                   declared={"Rhythm_FPGA-100.0": 2})  # 80 bytes / 4 = 20
    np.save(dat.parent / "sample_numbers.npy", np.arange(7, dtype=np.int64))
    (r,) = extract(dat)
    assert r.type_json["nChannels"] == 2 and r.type_json["nSamples"] == 20
    assert any("lists 4 channels" in w for w in r.warnings)
    assert any("sample_numbers.npy holds 7" in w for w in r.warnings)


def test_folder_listing_sorts_oebin_npy_settings_as_sidecars(tmp_path: Path) -> None:
    _session(tmp_path)
    events = tmp_path / "Record Node 101" / "experiment1" / "recording1" / "events" / "TTL"
    events.mkdir(parents=True)
    np.save(events / "states.npy", np.zeros(3, dtype=np.int16))
    found = discover(tmp_path)
    assert all(p.name == "continuous.dat" for p in found.data)
    names = {p.name for p in found.sidecars}
    assert {"structure.oebin", "sample_numbers.npy", "timestamps.npy", "settings.xml",
            "settings_3.xml"} <= names
    assert set(found.skipped) == {events / "states.npy"}


def test_binary_reads_no_samples_and_a_100_gb_stream_costs_a_stat(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (dat,) = write_oebin_recording(tmp_path / "experiment1" / "recording1",
                                   [OebStream(n_neural=384)], 10)
    n = (100 * 2**30) // (2 * 384)
    os.truncate(dat, n * 2 * 384)
    (dat.parent / "sample_numbers.npy").unlink()
    (dat.parent / "timestamps.npy").unlink()
    opened = _spy_open(monkeypatch)
    (r,) = extract(dat)
    assert r.type_json["nSamples"] == n
    assert "continuous.dat" not in opened


def test_oebin_entry_missing_for_the_folder_is_named(tmp_path: Path) -> None:
    (dat,) = write_oebin_recording(tmp_path / "experiment1" / "recording1",
                                   [OebStream(n_neural=2)], 5)
    oebin = dat.parents[2] / "structure.oebin"
    doc = json.loads(oebin.read_text())
    doc["continuous"][0]["folder_name"] = "Other-1.0/"
    oebin.write_text(json.dumps(doc))
    with pytest.raises(ExtractionError, match=r"^continuous\.dat: structure\.oebin has no "):
        extract(dat)


def test_structure_oebin_given_as_the_path_describes_its_streams(tmp_path: Path) -> None:
    _session(tmp_path)
    recording = tmp_path / "Record Node 101" / "experiment1" / "recording2"
    in_folder = {e.file_name: e for e in extract_folder(recording).extractions}
    from bsingest.extraction import extract_paths

    given = extract_paths([recording / "structure.oebin"])
    assert given.errors == {}
    assert {e.file_name: e.type_json for e in given.extractions} == {
        k: e.type_json for k, e in in_folder.items()}
    assert sorted(in_folder) == ["continuous/NI-DAQmx-103.PXIe-6341/continuous.dat",
                                 "continuous/Neuropix-PXI-100.ProbeA/continuous.dat"]
    # In a folder listing it stays a sidecar: each stream is described once.
    assert all(p.name == "continuous.dat" for p in discover(tmp_path).data)


def test_a_listed_stream_without_its_data_is_a_warning(tmp_path: Path) -> None:
    probe, daq = write_oebin_recording(tmp_path / "experiment1" / "recording1", [
        OebStream("Neuropix-PXI-100.ProbeA", n_neural=4),
        OebStream("NI-DAQmx-103.PXIe-6341", n_neural=0, n_adc=2, adc_prefix="AI")], 5)
    daq.unlink()
    report = extract_folder(tmp_path)
    assert report.errors == {}
    [r] = report.extractions
    assert any("NI-DAQmx-103.PXIe-6341" in w and "missing" in w for w in r.warnings)
    probe.unlink()
    report = extract_folder(tmp_path)  # nothing left to describe: the oebin says so
    [(where, message)] = report.errors.items()
    assert where.endswith("structure.oebin")
    assert "none has its continuous.dat" in message and "\n" not in message


def test_one_bad_stream_never_sinks_the_oebin(tmp_path: Path) -> None:
    """structure.oebin given as the path: a stream cut mid-frame is one line on the other's
    record; when every stream is bad, one line names each."""
    probe, daq = write_oebin_recording(tmp_path / "experiment1" / "recording1", [
        OebStream("Neuropix-PXI-100.ProbeA", n_neural=4),
        OebStream("NI-DAQmx-103.PXIe-6341", n_neural=0, n_adc=2, adc_prefix="AI")], 5)
    oebin = probe.parents[2] / "structure.oebin"
    with open(daq, "ab") as fh:
        fh.write(b"\x00")  # 2-channel int16 frames are 4 bytes: one left over
    [r] = extract(oebin)
    assert r.path == str(probe)
    [line] = [w for w in r.warnings if "not described" in w]
    assert line.startswith("continuous/NI-DAQmx-103.PXIe-6341/continuous.dat not described: ")
    assert "not a whole number of 2-channel int16 frames" in line
    with open(probe, "ab") as fh:
        fh.write(b"\x00")
    with pytest.raises(ExtractionError, match=r"^structure\.oebin: none of its 2 parts can be "
                                              r"described: continuous/Neuropix"):
        extract(oebin)


def _oebin_with(tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    (dat,) = write_oebin_recording(tmp_path / "experiment1" / "recording1",
                                   [OebStream(n_neural=2)], 5)
    oebin = dat.parents[2] / "structure.oebin"
    oebin.write_text(change(oebin.read_text()))
    return dat


@pytest.mark.parametrize(("change", "reason"), [
    (lambda t: t.replace('"sample_rate": 30000.0', '"sample_rate": Infinity'),
     r"sample_rate inf is not a rate between 1 and 1e\+06 Hz"),
    (lambda t: t.replace('"sample_rate": 30000.0', '"sample_rate": NaN'), r"sample_rate nan"),
    (lambda t: t.replace('"sample_rate": 30000.0', '"sample_rate": 1e-7'), r"sample_rate 1e-07"),
    (lambda t: t.replace('"sample_rate": 30000.0', '"sample_rate": "fast"'), r"sample_rate fast"),
    (lambda t: json.dumps({**json.loads(t), "continuous": [
        {**json.loads(t)["continuous"][0], "channels": 5}]}), r"channels is 5, not a list"),
    (lambda t: t.replace('"bit_volts": 0.195', '"bit_volts": -Infinity'),
     r"bit_volts -inf is not a finite number"),
    (lambda t: t.replace('"num_channels": 2', '"num_channels": 1e400'), r"num_channels is inf"),
    (lambda t: t.replace('"folder_name": "Rhythm_FPGA-100.0/"', '"folder_name": 7'),
     r"folder_name is '7', not a folder name"),
    (lambda t: '{"continuous": ' + "[" * 100_000 + "]" * 100_000 + "}", r"nested too deeply"),
])
def test_hostile_structure_oebin_is_one_line_naming_file_and_field(tmp_path: Path, change,
                                                                   reason: str) -> None:
    dat = _oebin_with(tmp_path, change)
    with pytest.raises(ExtractionError, match=r"^continuous\.dat: structure\.oebin:? .*" + reason):
        extract(dat)


def test_start_time_from_sync_messages_software_time(tmp_path: Path) -> None:
    _session(tmp_path)
    recording = tmp_path / "Record Node 101" / "experiment1" / "recording1"
    (recording / "sync_messages.txt").write_text(
        "Software Time (milliseconds since midnight Jan 1st 1970 UTC): 1651600344618\n"
        "Start Time for Neuropix-PXI (100) - ProbeA @ 30000 Hz: 1863198\n")
    [r, _] = extract(recording / "structure.oebin")
    assert r.start_time == "2022-05-03T17:52:24.618000+00:00"
    assert r.provenance["startTime"].source == Source.HEADER


def test_start_time_from_settings_date_and_later_recordings_by_their_sample_clock(
        tmp_path: Path) -> None:
    experiment = tmp_path / "experiment1"
    for rec, start in ((1, 181888), (2, 515040)):
        write_oebin_recording(experiment / f"recording{rec}", [OebStream(n_neural=2)], 5,
                              gui="0.5.3")
        (experiment / f"recording{rec}" / "sync_messages.txt").write_text(
            f"Processor: File Reader Id: 100 subProcessor: 0 start time: {start}@40000Hz\n")
    (tmp_path / "settings.xml").write_text(
        "<SETTINGS>\n  <INFO>\n    <DATE>25 Jul 2022 15:30:00</DATE>\n  </INFO>\n</SETTINGS>")
    got = {e.file_name.split("/")[1]: e for e in extract_folder(tmp_path).extractions}
    assert got["recording1"].start_time == "2022-07-25T15:30:00"
    assert got["recording1"].provenance["startTime"].source == Source.HEADER
    # (515040 - 181888) / 40000 Hz = 8.3288 s after the first recording's start
    assert got["recording2"].start_time == "2022-07-25T15:30:08.328800"
    assert got["recording2"].provenance["startTime"].source == Source.COMPUTED
    (experiment / "recording2" / "sync_messages.txt").unlink()
    later = extract(experiment / "recording2" / "structure.oebin")[0]
    assert later.start_time is None  # no clock to place it by: no start, not the first's


# Legacy .continuous


def test_legacy_samples_are_the_records_on_disk_not_the_timestamp_span(tmp_path: Path) -> None:
    from neo.rawio import OpenEphysRawIO

    n_records = 6
    for ch in (1, 2):
        write_continuous(tmp_path / f"100_CH{ch}.continuous", n_records, channel=f"CH{ch}",
                         gap_records=3)
    path = tmp_path / "100_CH1.continuous"
    assert (path.stat().st_size - LEGACY_HEADER) == n_records * LEGACY_RECORD
    (r,) = extract(path)
    assert r.type == "ExtracellularEphys"
    assert r.type_json["nChannels"] == 1  # one channel per file
    assert r.type_json["nSamples"] == n_records * LEGACY_SAMPLES
    assert r.type_json["lsb"] == pytest.approx(0.195)
    io = OpenEphysRawIO(dirname=str(tmp_path))
    io.parse_header()
    assert io.signal_channels_count(0) == 2
    spanned = sum(io.get_signal_size(0, s, 0) for s in range(io.segment_count(0)))
    assert spanned == (n_records + 3) * LEGACY_SAMPLES  # neo fills the 3-record gap


def test_legacy_gives_one_record_per_file(tmp_path: Path) -> None:
    for ch in (1, 2, 3):
        write_continuous(tmp_path / f"100_CH{ch}.continuous", 4, channel=f"CH{ch}")
        write_continuous(tmp_path / f"100_CH{ch}_2.continuous", 2, channel=f"CH{ch}")
    write_continuous(tmp_path / "100_AUX1.continuous", 4, bit_volts=0.0000374, channel="AUX1")
    (tmp_path / "settings.xml").write_text("<SETTINGS/>")
    (tmp_path / "settings_2.xml").write_text("<SETTINGS/>")
    (tmp_path / "all_channels.events").write_bytes(b"x" * 1024)
    report = extract_folder(tmp_path)
    assert report.errors == {}
    got = {e.type_json["fileName"]: e for e in report.extractions}
    assert set(got) == {p.name for p in tmp_path.glob("*.continuous")}
    for name, e in got.items():
        records = ((tmp_path / name).stat().st_size - LEGACY_HEADER) // LEGACY_RECORD
        assert e.type_json["nChannels"] == 1
        assert e.type_json["nSamples"] == records * LEGACY_SAMPLES
    assert got["100_CH3_2.continuous"].type_json["nSamples"] == 2 * LEGACY_SAMPLES
    aux = got["100_AUX1.continuous"]
    assert aux.type == "GeneralTimeSeries" and aux.type_json["lsb"] == pytest.approx(37.4)
    assert {Path(p).name for p in report.sidecars} == {"settings.xml", "settings_2.xml"}
    assert {Path(p).name for p in report.skipped} == {"all_channels.events"}
    # A channel file given alone gets the record it gets in its folder.
    [alone] = extract(tmp_path / "100_CH2_2.continuous")
    assert alone.type_json == got["100_CH2_2.continuous"].type_json


def test_legacy_truncated_file_is_described_from_its_whole_records(tmp_path: Path) -> None:
    path = write_continuous(tmp_path / "100_CH1.continuous", 3, extra_bytes=99)
    size = path.stat().st_size
    [r] = extract(path)
    assert r.type_json["nSamples"] == (size - LEGACY_HEADER) // LEGACY_RECORD * 1024 == 3 * 1024
    [warning] = r.warnings
    assert f"{size} bytes" in warning and f"{LEGACY_RECORD}-byte records" in warning
    assert "99 bytes of a partial record" in warning


def test_legacy_start_time_is_the_header_date_created(tmp_path: Path) -> None:
    path = write_continuous(tmp_path / "100_CH1.continuous", 1)
    [r] = extract(path)
    assert r.start_time == "2018-10-03T13:16:50"  # '3-Oct-2018 131650'
    assert r.provenance["startTime"].source == Source.HEADER
    assert "date_created" in r.provenance["startTime"].detail
    raw = path.read_bytes().replace(b"3-Oct-2018 131650", b"31-Feb-2018 99")
    path.write_bytes(raw)
    assert extract(path)[0].start_time is None  # not a date: no start, no error


@pytest.mark.parametrize("rate", ["inf", "Infinity", "nan", "0", "-30000", "1e-7", "1e12"])
def test_legacy_implausible_rate_is_one_line_naming_file_and_field(tmp_path: Path,
                                                                   rate: str) -> None:
    path = write_continuous(tmp_path / "100_CH1.continuous", 1)
    raw = path.read_bytes().replace(b"sampleRate = 30000;", f"sampleRate = {rate};".encode())
    end = LEGACY_HEADER + len(rate) - len("30000")  # the header's padding absorbs the change
    path.write_bytes(raw[:end].rstrip(b" ").ljust(LEGACY_HEADER, b" ") + raw[end:])
    with pytest.raises(ExtractionError, match=r"^100_CH1\.continuous: header\.sampleRate .* "
                                              r"is outside 1 to 1e\+06 Hz"):
        extract(path)


def test_legacy_reads_no_samples_and_a_10_gb_file_costs_a_header(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_continuous(tmp_path / "100_CH1.continuous", 2)
    n = (10 * 2**30) // LEGACY_RECORD
    os.truncate(path, LEGACY_HEADER + n * LEGACY_RECORD)
    reads: list[int] = []
    real_open = builtins.open

    class Counting:
        def __init__(self, fh):  # type: ignore[no-untyped-def]
            self.fh = fh

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc):  # type: ignore[no-untyped-def]
            self.fh.close()

        def read(self, k=-1):  # type: ignore[no-untyped-def]
            data = self.fh.read(k)
            reads.append(len(data))
            return data

        def seek(self, *a):  # type: ignore[no-untyped-def]
            return self.fh.seek(*a)

    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: Counting(real_open(f, *a, **k)))
    (r,) = extract(path)
    assert r.type_json["nSamples"] == n * LEGACY_SAMPLES
    assert sum(reads) < 4096  # headers and the first record's 12-byte prefix only
