"""Neuroscope recordings of the corpus give the values truth.json implies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bsingest.extraction import extract_folder

CASES = ["neuroscope/dataset_1/YutaMouse42-151117.xml", "neuroscope/test1/test1.xml",
         "neuroscope/test2/recording.xml"]


@pytest.mark.parametrize("key", CASES)
def test_neuroscope_values_match_truth(key: str, corpus: Path, truth: dict[str, Any]) -> None:
    values = truth[key]["values"]
    folder = (corpus / key).parent
    report = extract_folder(folder)
    assert report.errors == {}
    got = {Path(e.path).name: e.type_json for e in report.extractions}
    prov = {Path(e.path).name: e.provenance for e in report.extractions}
    assert set(got) == set(values["binary_files"])
    for name, expect in values["binary_files"].items():
        tj = got[name]
        # .lfp and .eeg run at lfpSamplingRate (truth.json's ambiguity note); .dat at samplingRate.
        lfp = name.endswith((".lfp", ".eeg"))
        rate = values["lfpSamplingRate"] if lfp else values["samplingRate"]
        assert tj["nChannels"] == values["nChannels"]
        assert tj["sr"] == rate
        assert tj["nSamples"] == expect["nSamples"]
        assert tj["type"] == f"int{values['nBits']}"
        assert tj["lsb"] == pytest.approx(
            values["voltageRange"] / 2 ** values["nBits"] / values["amplification"] * 1e6)
        # The XML's offset (neo ignores it) is named where the step is explained.
        offset = values["offset"]
        assert (f"offset {offset:g}" in prov[name]["lsb"].detail) == bool(offset), name
        groups = [g["channels"] for g in tj["electrodeGroups"]]
        assert groups == values["anatomical_groups"]
        bad = [c for t in tj.get("channelTags", []) if t["tag"] == "bad" for c in t["channels"]]
        assert sorted(bad) == sorted(values["skipped_channels"])
