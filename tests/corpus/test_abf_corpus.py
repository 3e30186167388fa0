"""Axon ABF files of the corpus: ``bsingest extract --json`` gives what truth.json implies.

Truth is pyabf's header values with neo's AxonRawIO as cross-check. Where they disagree
(truth.json's ambiguities), neo's values hold: File_axon_7.abf runs at 403.2258 Hz (pyabf
rounds to 403), and 2020_06_16_0001.abf holds sweeps of 22040 and 11040 samples (pyabf's
sweepPointCount 16540 is their average): nSamples is their sum.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli

pytestmark = pytest.mark.corpus


def _keys(truth: dict[str, Any]) -> list[str]:
    return sorted(k for k in truth if k.startswith("abf/"))


def test_every_abf_matches_truth(corpus: Path, truth: dict[str, Any]) -> None:
    keys = _keys(truth)
    assert len(keys) >= 8
    result = CliRunner().invoke(cli, ["extract", "--json", *(str(corpus / k) for k in keys)])
    assert result.exit_code == 0, result.output
    got = {Path(e["path"]).name: e for e in json.loads(result.stdout)}
    for key in keys:
        values = truth[key]["values"]
        neo = truth[key]["cross_check"]["values"]["streams"][0]
        entry = got[Path(key).name]
        tj = entry["type_json"]
        assert entry["type"] == "IntracellularEphys", key
        assert tj["nChannels"] == values["channelCount"] == neo["n_channels"], key
        assert tj["sr"] == pytest.approx(neo["sampling_rate"][0], rel=1e-9), key
        assert tj["nSamples"] == values["dataPointCount"] // values["channelCount"], key
        assert tj["nSamples"] == sum(s["n_samples"] for s in neo["segments"]), key
        assert tj["type"] == {2: "int16", 4: "float32"}[values["dataPointByteSize"]], key
        assert tj["type"] == neo["dtype"][0], key
        units = {u.lower() for u in values["adcUnits"]}
        if tj["type"] == "int16" and units <= {"mv", "v"} and len(set(values["scaleFactors"])) == 1:
            scale = 1e3 if units == {"mv"} else 1e6
            assert tj["lsb"] == pytest.approx(values["scaleFactors"][0] * scale), key
        else:
            assert "lsb" not in tj, key
        # The start: pyabf's abfDateTime (local time, no zone), to the millisecond.
        assert entry["start_time"] == values["abfDateTime"].replace(" ", "T"), key


def test_ambiguities_are_resolved_with_reasons(corpus: Path) -> None:
    result = CliRunner().invoke(cli, ["extract", "--json", str(corpus / "abf/File_axon_7.abf"),
                                      str(corpus / "abf/2020_06_16_0001.abf")])
    entries = {Path(e["path"]).name: e for e in json.loads(result.stdout)}
    axon7 = entries["File_axon_7.abf"]
    assert axon7["type_json"]["sr"] == pytest.approx(1e6 / 2480)
    assert "2480" in axon7["provenance"]["sr"]["detail"]  # the stored interval, not a rounding
    variable = entries["2020_06_16_0001.abf"]
    assert variable["type_json"]["nSamples"] == 22040 + 11040
    assert "variable-length" in variable["provenance"]["nSamples"]["detail"]
