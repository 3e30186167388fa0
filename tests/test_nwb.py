"""NWB: values against what the h5py-written fixture holds (shapes, attributes it set)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract
from tests.samples.nwb import write_nwb


def _by_stream(path: Path) -> dict[str, tuple[str, dict, tuple[str, ...]]]:
    return {r.part: (r.type, dict(r.type_json), r.warnings) for r in extract(path)}


def test_one_record_per_series_with_its_type(tmp_path: Path) -> None:
    got = _by_stream(write_nwb(tmp_path / "s.nwb"))
    assert {k: v[0] for k, v in got.items()} == {
        "acquisition/ElectricalSeries": "Extracellular",
        "acquisition/Position": "GeneralTimeSeries",
        "acquisition/Vm": "Intracellular",
        "acquisition/Camera": "BehavioralTracking",
    }
    # The SpikeEventSeries is not a continuous signal: skipped, and every record says so.
    assert all(any("Snippets" in w for w in v[2]) for v in got.values())


def test_electrical_series_values(tmp_path: Path) -> None:
    path = write_nwb(tmp_path / "s.nwb", n_channels=6, n_samples=250, rate=25000.0,
                     conversion=5e-8, shanks=(4, 2))
    _, tj, _ = _by_stream(path)["acquisition/ElectricalSeries"]
    assert tj["format"] == "NWB" and tj["type"] == "int16"
    assert (tj["nChannels"], tj["nSamples"], tj["sr"]) == (6, 250, 25000)
    assert tj["lsb"] == pytest.approx(5e-8 * 1e6)
    assert tj["electrodeGroups"] == [{"channels": [0, 1, 2, 3], "label": "shank0"},
                                     {"channels": [4, 5], "label": "shank1"}]
    assert tj["fileName"] == "s.nwb#acquisition/ElectricalSeries"


def test_rate_from_timestamps_and_float_data_without_lsb(tmp_path: Path) -> None:
    _, tj, warnings = _by_stream(write_nwb(tmp_path / "s.nwb"))["acquisition/Position"]
    assert tj["sr"] == pytest.approx(60.0)  # fixture: 50 timestamps, 1/60 s apart
    assert (tj["nChannels"], tj["nSamples"], tj["type"]) == (2, 50, "float32")
    assert "lsb" not in tj
    assert any("mean rate" in w for w in warnings)


def test_patch_clamp_lsb_in_microvolts(tmp_path: Path) -> None:
    _, tj, _ = _by_stream(write_nwb(tmp_path / "s.nwb"))["acquisition/Vm"]
    assert (tj["nChannels"], tj["nSamples"], tj["sr"]) == (1, 400, 20000)
    assert tj["lsb"] == pytest.approx(1e-5 * 1e6)


def test_image_series(tmp_path: Path) -> None:
    _, tj, _ = _by_stream(write_nwb(tmp_path / "s.nwb"))["acquisition/Camera"]
    assert tj == {"fileName": "s.nwb#acquisition/Camera", "format": "NWB", "nFrames": 6,
                  "frameRate": 30, "horizontalResolution": 32, "verticalResolution": 24,
                  "compression": "raw"}


def test_extension_types_resolve_through_cached_specs(tmp_path: Path) -> None:
    got = _by_stream(write_nwb(tmp_path / "s.nwb", extension=True))
    assert got["acquisition/ElectricalSeries"][0] == "Extracellular"


def test_unknown_extension_type_is_described_as_time_series(tmp_path: Path) -> None:
    import h5py

    path = write_nwb(tmp_path / "s.nwb")
    with h5py.File(path, "r+") as f:
        f["acquisition/ElectricalSeries"].attrs["neurodata_type"] = "UnknownSeries"
    kind, _, warnings = _by_stream(path)["acquisition/ElectricalSeries"]
    assert kind == "GeneralTimeSeries"
    assert any("UnknownSeries" in w for w in warnings)


def test_100_gb_series_costs_its_attributes(tmp_path: Path) -> None:
    n = 12_500_000_000  # x 4 channels x int16 = 100 GB, never written (HDF5 allocates lazily)
    path = write_nwb(tmp_path / "big.nwb", huge=n)
    assert path.stat().st_size < 10**7
    _, tj, _ = _by_stream(path)["acquisition/ElectricalSeries"]
    assert tj["nSamples"] == n


def test_cli_json_lists_every_stream(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bsingest.cli.main import cli

    path = write_nwb(tmp_path / "s.nwb")
    result = CliRunner().invoke(cli, ["extract", "--json", str(path)])
    assert result.exit_code == 0, result.output
    streams = sorted(e["part"] for e in json.loads(result.stdout))
    assert streams == ["acquisition/Camera", "acquisition/ElectricalSeries",
                       "acquisition/Position", "acquisition/Vm"]


def test_not_nwb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.nwb"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(ExtractionError, match=r"^x\.nwb: not an HDF5 file"):
        extract(path)
