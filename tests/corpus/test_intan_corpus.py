"""Intan RHX folders of the corpus: ``bsingest extract --json`` gives what truth.json implies.

truth.json holds neo's IntanRawIO view of each ``info.rhd`` (streams of channels, rate,
samples, gain) and the data files' sizes. The aux rate is an ambiguity (neo 7500 Hz, the
file 30000 Hz): the chosen value and the reason must be in the provenance.
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

# neo stream -> (one-file-per-signal-type name, one-file-per-channel prefix, µV per neo unit)
STREAMS = {
    "RHD2000 amplifier channel": ("amplifier.dat", "amp-", 1.0),
    "RHD2000 auxiliary input channel": ("auxiliary.dat", "aux-", 1e6),
    "USB board ADC input channel": ("analogin.dat", "board-ANALOG-IN-", 1e6),
    "USB board digital input channel": ("digitalin.dat", "board-DIGITAL-IN-", None),
}
KEYS = ["intan/intan_fps_test_231117_052500/info.rhd",
        "intan/intan_fpc_test_231117_052630/info.rhd"]


def _cli_json(folder: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["extract", "--json", str(folder)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("key", KEYS)
def test_intan_folder_matches_truth(key: str, corpus: Path, truth: dict[str, Any]) -> None:
    folder = (corpus / key).parent
    entries = _cli_json(folder)
    streams = {s["stream_name"]: s for s in truth[key]["values"]["streams"]}
    assert set(streams) == set(STREAMS)
    assert len(entries) == len(streams)  # one record per signal type, in both layouts
    sizes = truth[key]["file_sizes"]
    for name, (signal_file, prefix, scale) in STREAMS.items():
        s = streams[name]
        [e] = [e for e in entries if e["type_json"]["fileName"] == signal_file
               or e["type_json"]["fileName"].startswith(prefix)]
        tj, prov = e["type_json"], e["provenance"]
        n_neo = s["segments"][0]["n_samples"]
        assert tj["nSamples"] == n_neo, name
        # Independently from the sizes: one int16/uint16 per channel per sample.
        if signal_file in sizes:
            cols = 1 if name.endswith("digital input channel") else s["n_channels"]
            assert tj["nSamples"] == sizes[signal_file] // (2 * cols), name
        else:
            assert tj["nSamples"] == sizes[tj["fileName"]] // 2, name
        assert tj["nChannels"] == s["n_channels"], name
        assert tj["type"] == s["dtype"][0], name
        assert e["type"] == ("Extracellular" if name.startswith("RHD2000 amp")
                             else "GeneralTimeSeries")
        if scale is not None:
            assert tj["lsb"] == pytest.approx(s["gain"][0] * scale), name
        if "auxiliary" in name:
            # The ambiguity: neo's 7500 Hz vs one value per time.dat tick; we take the file's.
            assert s["sampling_rate"][0] == 7500
            assert tj["sr"] == 30000
            assert "7500" in prov["sr"]["detail"] and "time.dat" in prov["sr"]["detail"]
        else:
            assert tj["sr"] == s["sampling_rate"][0], name
    amp = next(e for e in entries if e["type"] == "Extracellular")["type_json"]
    assert [g["label"] for g in amp["electrodeGroups"]] == ["Port A", "Port B"]
    assert sorted(c for g in amp["electrodeGroups"] for c in g["channels"]) == list(range(64))


@pytest.mark.parametrize("key", KEYS)
def test_intan_listing_has_sidecars_not_errors(key: str, corpus: Path) -> None:
    folder = (corpus / key).parent
    report = extract_folder(folder)
    assert report.errors == {} and report.skipped == {}
    names = {Path(p).name for p in report.sidecars}
    assert {"info.rhd", "time.dat", "settings.xml"} <= names
    described = {Path(e.path).name for e in report.extractions}
    assert len(described) + len(names) == len(list(folder.iterdir()))
