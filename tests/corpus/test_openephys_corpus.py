"""Open Ephys binary and legacy recordings of the corpus: ``bsingest extract --json`` gives
what truth.json implies.

Binary: truth per ``structure.oebin`` (json.load + the ``.dat`` size) and per folder (neo).
The mixed stream (4 neural + 2 ADC channels in one file) is an ambiguity: neo splits it,
we describe the file as one record and tag the ADC channels; the provenance says why.
Legacy: truth per ``.continuous`` (header + records on disk) and per folder (neo, which
spans timestamps: the ambiguity); nSamples must be the records on disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.extraction import extract_folder

pytestmark = pytest.mark.corpus


def _cli_json(*paths: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["extract", "--json", *map(str, paths)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _keys(truth: dict[str, Any], prefix: str, fmt: str) -> list[str]:
    return sorted(k for k, v in truth.items() if k.startswith(prefix) and v.get("format") == fmt)


def test_every_oebin_stream_matches_truth(corpus: Path, truth: dict[str, Any]) -> None:
    keys = [k for k in _keys(truth, "openephys_binary/", "openephys-binary")
            if k.endswith("structure.oebin")]
    assert len(keys) == 11
    for key in keys:
        recording = (corpus / key).parent
        # The recording folder as the session: each stream named by its path below it;
        # structure.oebin given as the path describes the same records.
        entries = {e["type_json"]["fileName"]: e for e in _cli_json(recording)}
        assert len(entries) == len(truth[key]["values"]["continuous"]), key
        assert {e["type_json"]["fileName"]: e["type_json"]
                for e in _cli_json(corpus / key)} == {k: e["type_json"]
                                                       for k, e in entries.items()}
        for c in truth[key]["values"]["continuous"]:
            dat = recording / "continuous" / c["folder_name"] / "continuous.dat"
            e = entries[f"continuous/{c['folder_name'].strip('/')}/continuous.dat"]
            tj = e["type_json"]
            assert "stream" not in tj
            assert tj["nChannels"] == c["num_channels"], dat
            assert tj["sr"] == c["sample_rate"], dat
            frame = 2 * c["num_channels"]
            assert tj["nSamples"] == c["nSamples_from_dat"] == c["dat_size"] // frame
            assert tj["type"] == "int16"
            daq = c["source_processor"] == "NI-DAQmx"
            assert e["type"] == ("GeneralTimeSeries" if daq else "ExtracellularEphys"), dat
            expect_lsb = min(c["bit_volts"]) * 1e6 if daq else max(c["bit_volts"])
            assert tj["lsb"] == pytest.approx(expect_lsb), dat


def test_every_binary_folder_gives_neo_streams_and_segments(corpus: Path,
                                                            truth: dict[str, Any]) -> None:
    folders = [k for k in _keys(truth, "openephys_binary/", "openephys-binary")
               if not k.endswith("structure.oebin")]
    assert len(folders) == 4
    for key in folders:
        values = truth[key]["values"]
        report = extract_folder(corpus / key)
        assert report.errors == {}, report.errors
        records = report.extractions
        assert len({e.key for e in records}) == len(records)  # streams unique in the session
        assert all(e.file_name.endswith("/continuous.dat") for e in records)
        streams = values["streams"]
        if key.endswith("neural_and_non_neural_data_mixed"):
            # The ambiguity: neo's two streams (4 neural, 2 ADC) are one file, one record.
            [r] = records
            neo = {s["stream_name"]: s["n_channels"] for s in streams}
            assert r.type_json["nChannels"] == sum(neo.values()) == 6
            assert len(r.type_json["electrodeGroups"][0]["channels"]) == neo["Rhythm_FPGA-100.0"]
            assert len(r.type_json["channelTags"][0]["channels"]) == neo["Rhythm_FPGA-100.0_ADC"]
            assert "neo splits" in r.provenance["electrodeGroups"].detail
            continue
        n_segments = sum(values["nb_segment"])
        assert len(records) == len(streams) * n_segments, key
        for s in streams:
            node, _, folder = s["stream_name"].rpartition("#")  # neo: "<node>#<folder>"
            # fileName: [<node>/]experimentE/recordingR/continuous/<folder>/continuous.dat
            mine = sorted((e for e in records if e.file_name.split("/")[-2] == folder
                           and e.file_name.startswith(node)), key=lambda e: e.file_name)
            assert [e.type_json["nSamples"] for e in mine] == [
                seg["n_samples"] for seg in sorted(s["segments"],
                                                   key=lambda g: (g["block"], g["segment"]))]
            assert all(e.type_json["nChannels"] == s["n_channels"] for e in mine)
            assert all(e.type_json["sr"] == s["sampling_rate"][0] for e in mine)


def test_every_continuous_file_matches_truth(corpus: Path, truth: dict[str, Any]) -> None:
    keys = _keys(truth, "openephys_legacy/", "openephys-legacy-continuous")
    assert len(keys) == 6
    folders = {(corpus / k).parent for k in keys}
    records = {Path(e["path"]): e for f in sorted(folders) for e in _cli_json(f)}
    assert len(records) == len(keys)  # one record per .continuous file
    months = {"Oct": 10}
    for key in keys:
        values = truth[key]["values"]
        e = records[corpus / key]
        tj = e["type_json"]
        assert tj["fileName"] == Path(key).name
        assert tj["nChannels"] == 1, key  # one channel per file
        assert tj["nSamples"] == values["nSamples"] == values["n_records"] * 1024, key
        assert values["trailing_bytes"] == 0 and not e["warnings"]
        assert tj["sr"] == values["sampleRate"], key
        assert tj["lsb"] == pytest.approx(values["bitVolts"]), key
        assert tj["type"] == "int16" and values["dtype"] == ">i2"
        assert e["type"] == "ExtracellularEphys"
        assert "not the timestamp span" in e["provenance"]["nSamples"]["detail"]
        day, month, rest = values["date_created"].replace(" ", "-").split("-")[:3]
        clock = values["date_created"].split()[1]
        assert e["start_time"] == (f"{rest}-{months[month]:02d}-{int(day):02d}T"
                                   f"{clock[:2]}:{clock[2:4]}:{clock[4:]}")
    # neo's view per folder: a stream of n_channels channels in each segment (recording).
    for key in _keys(truth, "openephys_legacy/", "openephys-legacy"):
        [stream] = truth[key]["values"]["streams"]
        for segment in range(len(stream["segments"])):
            suffix = f"_{segment + 1}.continuous" if segment else ".continuous"
            mine = [p for p in records if p.parent == corpus / key and
                    (p.name.endswith(suffix) if segment else "_CH" in p.name and
                     p.name.count("_") == 1)]
            assert len(mine) == stream["n_channels"], (key, segment)


def test_legacy_multiple_starts_counts_samples_on_disk_not_neo_span(corpus: Path,
                                                                     truth: dict[str, Any]) -> None:
    key = "openephys_legacy/OpenEphys_SampleData_2_(multiple_starts)"
    neo = truth[key]["values"]["streams"][0]["segments"]
    [first] = _cli_json(corpus / key / "101_CH0.continuous")
    on_disk = truth[f"{key}/101_CH0.continuous"]["values"]["nSamples"]
    assert first["type_json"]["nSamples"] == on_disk == 248832
    assert neo[0]["n_samples"] == 341728 != on_disk  # neo fills timestamp gaps
    [second] = _cli_json(corpus / key / "101_CH0_2.continuous")
    assert second["type_json"]["nSamples"] == neo[1]["n_samples"] == 75776
