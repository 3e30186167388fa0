"""NWB: values against what the h5py-written fixture holds (shapes, attributes it set)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract
from extractors import Source
from tests.samples.nwb import write_nwb


def _by_stream(path: Path) -> dict[str, tuple[str, dict, tuple[str, ...]]]:
    return {r.part: (r.type, dict(r.type_json), r.warnings) for r in extract(path)}


def test_one_record_per_series_with_its_type(tmp_path: Path) -> None:
    got = _by_stream(write_nwb(tmp_path / "s.nwb"))
    assert {k: v[0] for k, v in got.items()} == {
        "acquisition/ElectricalSeries": "ExtracellularEphys",
        "acquisition/Position": "GeneralTimeSeries",
        "acquisition/Vm": "IntracellularEphys",
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
    assert got["acquisition/ElectricalSeries"][0] == "ExtracellularEphys"


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


def test_matnwb_one_element_array_types_keep_their_series_type(tmp_path: Path) -> None:
    import h5py
    import numpy as np

    path = write_nwb(tmp_path / "s.nwb")
    with h5py.File(path, "r+") as f:  # MatNWB writes text attributes as 1-element arrays
        for name in ("ElectricalSeries", "Vm", "Camera"):
            g = f[f"acquisition/{name}"]
            g.attrs["neurodata_type"] = np.array([g.attrs["neurodata_type"]],
                                                 dtype=h5py.string_dtype())
        f.attrs["nwb_version"] = np.array(["2.5.0"], dtype=h5py.string_dtype())
    got = _by_stream(path)
    assert got["acquisition/ElectricalSeries"][0] == "ExtracellularEphys"
    assert got["acquisition/Vm"][0] == "IntracellularEphys"
    assert got["acquisition/Camera"][0] == "BehavioralTracking"
    assert "nwb_version 2.5.0," in extract(path)[0].provenance["format"].detail


def _external_image_series(path: Path, files: list[str], *, placeholder: bool,
                           rate: float | None = None) -> Path:
    import h5py
    import numpy as np

    write_nwb(path)
    with h5py.File(path, "r+") as f:
        g = f.create_group("acquisition/Video")
        g.attrs["neurodata_type"] = "ImageSeries"
        if placeholder:  # pynwb's default for external frames: a tiny placeholder array
            g.create_dataset("data", data=np.zeros((1, 1, 1), dtype="u1"))
        g.create_dataset("external_file", data=files, dtype=h5py.string_dtype())
        g.create_dataset("format", data="external")
        g.create_dataset("dimension", data=np.array([640, 480], dtype="<i4"))
        g.create_dataset("timestamps", data=np.arange(7) / 10.0)
        if rate is not None:
            st = g.create_dataset("starting_time", data=0.0)
            st.attrs["rate"] = rate
    return path


@pytest.mark.parametrize("placeholder", [True, False])
def test_external_image_series_counts_frames_in_its_video_files(tmp_path: Path,
                                                                placeholder: bool) -> None:
    from tests.samples.video import H, W, decoded_frames, encode

    a = encode(tmp_path / "cam_a.mp4", n=12, rate=25)
    b = encode(tmp_path / "cam_b.mp4", n=8, rate=25)
    path = _external_image_series(tmp_path / "s.nwb", [a.name, b.name], placeholder=placeholder)
    kind, tj, warnings = _by_stream(path)["acquisition/Video"]
    assert kind == "BehavioralTracking"
    assert tj["nFrames"] == decoded_frames(a) + decoded_frames(b) == 20  # not the placeholder's 1
    assert (tj["horizontalResolution"], tj["verticalResolution"]) == (W, H)  # not dimension
    assert tj["frameRate"] == pytest.approx(10.0)  # the series' own timestamps, 0.1 s apart
    assert not any("placeholder" in w for w in warnings)


def test_external_image_series_whose_files_cannot_be_read_uses_timestamps(tmp_path: Path) -> None:
    fifo = tmp_path / "cam.mp4"
    os.mkfifo(fifo)  # never opened: the same checks as a data file
    path = _external_image_series(tmp_path / "s.nwb", ["cam.mp4"], placeholder=True, rate=30.0)
    _, tj, warnings = _by_stream(path)["acquisition/Video"]
    assert tj["nFrames"] == 7  # the timestamps' count
    assert (tj["horizontalResolution"], tj["verticalResolution"]) == (640, 480)  # dimension
    assert tj["frameRate"] == 30
    assert any("cam.mp4: a FIFO" in w for w in warnings)


def test_nwb_1_file_is_named_as_such(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "old.nwb"
    with h5py.File(path, "w") as f:
        f.create_dataset("nwb_version", data="NWB-1.0.6")
        f.create_group("acquisition/timeseries")
    with pytest.raises(ExtractionError, match=r"^old\.nwb: an NWB 1\.x file \(NWB-1\.0\.6\): "
                                              r"bsingest reads NWB 2\.x files only$"):
        extract(path)


def test_session_start_time_keeps_its_offset(tmp_path: Path) -> None:
    import h5py

    path = write_nwb(tmp_path / "s.nwb")
    with h5py.File(path, "r+") as f:
        f.create_dataset("session_start_time", data="2022-10-12T12:16:56.588593+02:00")
    records = extract(path)
    assert {r.start_time for r in records} == {"2022-10-12T12:16:56.588593+02:00"}
    assert records[0].provenance["startTime"].source == Source.HEADER


def _edit(path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    import h5py

    with h5py.File(path, "r+") as f:
        change(f["acquisition/ElectricalSeries"])
    return path


def _set_attr(where: str, key: str, value):  # type: ignore[no-untyped-def]
    def change(g):  # type: ignore[no-untyped-def]
        g[where].attrs[key] = value
    return change


def _replace(key: str, value):  # type: ignore[no-untyped-def]
    def change(g):  # type: ignore[no-untyped-def]
        del g[key]
        g.create_dataset(key, data=value)
    return change


@pytest.mark.parametrize(("change", "reason"), [
    (_set_attr("starting_time", "rate", float("inf")), r"starting_time rate is inf, not a finite"),
    (_set_attr("starting_time", "rate", float("nan")), r"starting_time rate is nan, not a finite"),
    (_set_attr("starting_time", "rate", "fast"), r"starting_time rate is 'fast', not a number"),
    (_set_attr("starting_time", "rate", [30000.0, 1.0]), r"starting_time rate is .*not a number"),
    (_set_attr("starting_time", "rate", -5.0), r"starting_time rate -5 is not a positive rate"),
    (_set_attr("data", "conversion", float("inf")), r"data conversion is inf, not a finite"),
    (_set_attr("data", "conversion", "big"), r"data conversion is 'big', not a number"),
    (_replace("electrodes", ["a", "b", "c", "d"]), r"electrodes is object, not row indices"),
])
def test_wrong_attribute_types_are_one_line_naming_series_and_field(tmp_path: Path, change,
                                                                    reason: str) -> None:
    # One bad series drops that series only: the others carry one line naming it.
    path = _edit(write_nwb(tmp_path / "s.nwb"), change)
    _dropped(path, "acquisition/ElectricalSeries", "acquisition/ElectricalSeries/" + reason)


def _dropped(path: Path, part: str, reason: str) -> None:
    """``path`` gives records for its other series, each warning that ``part`` was dropped
    for ``reason`` (a regex); alone, the bad series is one line naming the file."""
    records = extract(path)
    assert part not in {r.part for r in records}
    assert records
    for r in records:
        lines = [w for w in r.warnings if w.startswith(f"{part} not described: ")]
        assert len(lines) == 1, r.warnings
        assert re.search(reason, lines[0]), lines[0]


def test_string_timestamps_are_one_line(tmp_path: Path) -> None:
    import h5py

    path = write_nwb(tmp_path / "s.nwb")
    with h5py.File(path, "r+") as f:
        g = f["acquisition/Position"]
        del g["timestamps"]
        g.create_dataset("timestamps", data=["0.0", "0.1"], dtype=h5py.string_dtype())
    _dropped(path, "acquisition/Position", r"acquisition/Position/timestamps are object, not "
             r"numbers$")


def test_external_link_to_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    import h5py

    os.mkfifo(tmp_path / "pipe.h5")
    path = write_nwb(tmp_path / "s.nwb")
    with h5py.File(path, "r+") as f:
        g = f["acquisition/ElectricalSeries"]
        del g["data"]
        g["data"] = h5py.ExternalLink("pipe.h5", "/data")
    _dropped(path, "acquisition/ElectricalSeries", r"acquisition/ElectricalSeries/data is an "
             r"external link to 'pipe\.h5', which is a FIFO \(named pipe\): not followed$")


def test_external_raw_storage_on_a_fifo_is_never_read(tmp_path: Path) -> None:
    import h5py

    os.mkfifo(tmp_path / "stamps.bin")
    path = write_nwb(tmp_path / "s.nwb")
    with h5py.File(path, "r+") as f:
        g = f["acquisition/Position"]
        del g["timestamps"]
        g.create_dataset("timestamps", shape=(50,), dtype="<f8",
                         external=[("stamps.bin", 0, 400)])
    _dropped(path, "acquisition/Position", r"acquisition/Position/timestamps is stored in "
             r"'stamps\.bin', which is a FIFO")


def _movie(path: Path, n: int, width: int, height: int, rate: int) -> Path:
    """``n`` flat frames of ``width`` x ``height`` in an MP4 (fast to encode at 720p)."""
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = {"preset": "ultrafast"}
        img = np.zeros((height, width, 3), np.uint8)
        for i in range(n):
            img[..., 0] = i
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
    return path


def test_one_implausible_series_never_sinks_the_file(tmp_path: Path) -> None:
    """Shaped like a real NWB file from a public analysis package: an external
    OpticalSeries (90 frames of 1280 x 720 in an .mp4 beside it) and behaviour series
    whose timestamps mix an epoch time with relative times. The OpticalSeries keeps its
    record; each bad series is one line on it."""
    import h5py
    import numpy as np

    from tests.samples.video import decoded_frames

    movie = _movie(tmp_path / "stimulus_movie.mp4", 90, 1280, 720, 30)
    relative = np.arange(1760) / 30.0  # 0.0, 0.033, ...
    epoch = 1.6e9
    path = tmp_path / "session.nwb"
    with h5py.File(path, "w") as f:
        f.attrs["nwb_version"] = "2.6.0"
        f.attrs["neurodata_type"] = "NWBFile"
        f.attrs["namespace"] = "core"
        f.create_dataset("session_start_time", data="2020-09-13T12:26:40+00:00")
        movie_series = f.create_group("stimulus/presentation/movie")
        movie_series.attrs["neurodata_type"] = "OpticalSeries"
        movie_series.attrs["namespace"] = "core"
        movie_series.create_dataset("data", data=np.zeros((0, 0, 0), dtype="u1"))
        movie_series.create_dataset("external_file", data=[movie.name],
                                    dtype=h5py.string_dtype())
        movie_series.create_dataset("starting_frame", data=[0])
        movie_series.create_dataset("format", data="external")
        movie_series.create_dataset("field_of_view", data=[0.4, 0.3])
        movie_series.create_dataset("orientation", data="lower left")
        start = movie_series.create_dataset("starting_time", data=0.0)
        start.attrs["rate"] = 30.0
        behavior = f.create_group("processing/behavior")
        behavior.attrs["neurodata_type"] = "ProcessingModule"
        for name, stamps in (("speed", [*relative, epoch]),  # mean rate 1760 / 1.6e9 s
                             ("pupil", [epoch, *relative])):  # decreasing: no rate at all
            g = behavior.create_group(name)
            g.attrs["neurodata_type"] = "TimeSeries"
            g.attrs["namespace"] = "core"
            d = g.create_dataset("data", data=np.zeros(len(stamps), dtype="<f8"))
            d.attrs["unit"] = "cm/s"
            g.create_dataset("timestamps", data=np.asarray(stamps, dtype="<f8"))
    records = {r.part: r for r in extract(path)}
    assert "processing/behavior/speed" not in records
    video = records["stimulus/presentation/movie"]
    assert video.type == "BehavioralTracking"
    assert video.type_json["nFrames"] == decoded_frames(movie) == 90
    assert (video.type_json["horizontalResolution"], video.type_json["verticalResolution"]) \
        == (1280, 720)
    assert video.type_json["frameRate"] == 30
    [line] = [w for w in video.warnings if w.startswith("processing/behavior/speed")]
    rate = 1760 / epoch  # (n - 1) / (last - first), computed here independently
    assert f"sr {rate:g} Hz is outside the plausible" in line, line
    # The decreasing series keeps a record without a rate, and says why.
    pupil = records["processing/behavior/pupil"]
    assert "sr" not in pupil.type_json
    assert any("processing/behavior/pupil" in w and "no sr" in w for w in pupil.warnings)
