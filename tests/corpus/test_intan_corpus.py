"""Intan RHX folders of the corpus: ``bsingest extract --json`` gives what truth.json implies.

truth.json holds neo's IntanRawIO view of each ``info.rhd`` (streams of channels, rate,
samples, gain) and the data files' sizes. The aux rate is an ambiguity (neo 7500 Hz, the
file 30000 Hz): the chosen value and the reason must be in the provenance.

One record per file: a per-signal-type file interleaves a neo stream's channels; in the
one-file-per-channel folder each of a stream's channels is a file and a record of its own.
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
    sizes = truth[key]["file_sizes"]
    per_channel = "amplifier.dat" not in sizes
    # One record per data file: per signal type, or per channel.
    assert len(entries) == sum(1 for n in sizes if n.endswith(".dat") and n != "time.dat")
    for name, (signal_file, prefix, scale) in STREAMS.items():
        s = streams[name]
        mine = [e for e in entries if e["type_json"]["fileName"] == signal_file
                or e["type_json"]["fileName"].startswith(prefix)]
        # Independently from the sizes: one int16/uint16 per channel per sample.
        if per_channel:
            assert len(mine) == s["n_channels"], name
            assert all(e["type_json"]["nChannels"] == 1 for e in mine), name
            cols = 1
        else:
            assert len(mine) == 1, name
            digital = name.endswith("digital input channel")  # one word carries every line
            cols = 1 if digital else s["n_channels"]
            assert mine[0]["type_json"]["nChannels"] == cols, name
        for e in mine:
            tj, prov = e["type_json"], e["provenance"]
            assert tj["nSamples"] == s["segments"][0]["n_samples"], name
            assert tj["nSamples"] == sizes[tj["fileName"]] // (2 * cols), name
            assert tj["type"] == s["dtype"][0], name
            assert e["type"] == ("ExtracellularEphys" if name.startswith("RHD2000 amp")
                                 else "GeneralTimeSeries")
            if scale is not None:
                assert tj["lsb"] == pytest.approx(s["gain"][0] * scale), name
            if "auxiliary" in name:
                # The ambiguity: neo's 7500 Hz vs one value per time.dat tick; the file's.
                assert s["sampling_rate"][0] == 7500
                assert tj["sr"] == 30000
                assert "7500" in prov["sr"]["detail"] and "time.dat" in prov["sr"]["detail"]
            else:
                assert tj["sr"] == s["sampling_rate"][0], name
            # The folder's name stamp, as RHX wrote it when saving started.
            stamp = folder.name.rsplit("_", 2)
            assert e["start_time"] == (f"20{stamp[1][:2]}-{stamp[1][2:4]}-{stamp[1][4:]}T"
                                       f"{stamp[2][:2]}:{stamp[2][2:4]}:{stamp[2][4:]}")
    amps = [e["type_json"] for e in entries if e["type"] == "ExtracellularEphys"]
    groups = [g for tj in amps for g in tj["electrodeGroups"]]
    assert {g["label"] for g in groups} == {"Port A", "Port B"}
    assert sum(len(g["channels"]) for g in groups) == 64


@pytest.mark.parametrize("key", KEYS)
def test_intan_listing_has_sidecars_not_errors(key: str, corpus: Path) -> None:
    folder = (corpus / key).parent
    report = extract_folder(folder)
    assert report.errors == {} and report.skipped == {}
    names = {Path(p).name for p in report.sidecars}
    assert {"info.rhd", "time.dat", "settings.xml"} == names
    described = {Path(e.path).name for e in report.extractions}
    assert len(described) + len(names) == len(list(folder.iterdir()))
