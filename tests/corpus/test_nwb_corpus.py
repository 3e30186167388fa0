"""NWB files of the corpus: ``bsingest extract --json`` gives what truth.json (h5py, pynwb)
implies, one record per series, named ``<file>#<series path>``.

Ambiguity (truth.json): the ImageSeries of 2.1.0_imageseries_non_external_format.nwb has
empty data (0, 0, 0), an external_file and format 'tiff'. Its frames live in the external
file; nFrames is its timestamp count, and a warning says where the frames are.
"""

from __future__ import annotations

import json
from datetime import datetime
from math import prod
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli

pytestmark = pytest.mark.corpus

_KINDS = {"ElectricalSeries": "ExtracellularEphys", "TimeSeries": "GeneralTimeSeries",
          "ImageSeries": "BehavioralTracking"}


def test_every_series_matches_truth(corpus: Path, truth: dict[str, Any]) -> None:
    keys = sorted(k for k in truth if k.startswith("nwb/"))
    assert keys
    result = CliRunner().invoke(cli, ["extract", "--json", *(str(corpus / k) for k in keys)])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    for key in keys:
        series = {k: v for k, v in truth[key]["values"]["series"].items()
                  if v["neurodata_type"] in _KINDS}
        got = {e["part"]: e for e in entries if Path(e["path"]).name == Path(key).name}
        assert set(got) == set(series), key
        for stream, v in series.items():
            e = got[stream]
            tj = e["type_json"]
            assert tj["fileName"] == f"{Path(key).name}#{stream}"
            assert "stream" not in tj
            # pynwb's session_start_time, the same instant and UTC offset
            started = datetime.fromisoformat(truth[key]["values"]["pynwb"]["session_start_time"])
            assert datetime.fromisoformat(e["start_time"]) == started
            assert datetime.fromisoformat(e["start_time"]).utcoffset() == started.utcoffset()
            assert e["type"] == _KINDS[v["neurodata_type"]], stream
            if v["neurodata_type"] == "ImageSeries":
                if v["data_shape"][0] == 0:  # the ambiguity: frames in an external file
                    assert tj["nFrames"] == v["n_timestamps"]
                    assert any("external" in w for w in e["warnings"])
                else:
                    assert tj["nFrames"] == v["data_shape"][0]
                continue
            assert tj["nSamples"] == v["data_shape"][0], stream
            assert tj["nChannels"] == prod(v["data_shape"][1:]), stream
            assert tj["sr"] == pytest.approx(v["rate"]), stream
            assert tj["type"] == v["data_dtype"], stream
            if v["data_dtype"].startswith(("int", "uint")) and v["unit"].lower() in ("volts", "v"):
                assert tj["lsb"] == pytest.approx(v["conversion"] * 1e6), stream
            else:
                assert "lsb" not in tj, stream
