"""DeepLabCut outputs: rows written are frames; the paired video gives rate and size."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

import extractors
from bsingest.errors import ExtractionError
from bsingest.extraction import extract, extract_folder
from extractors.base import Claim
from extractors.dlc import DlcExtractor
from tests.samples.dlc import SCORER, with_video, write_csv, write_h5_fixed, write_h5_table
from tests.samples.video import decoded_frames


@pytest.mark.parametrize("n", [1, 37, 2500])
def test_rows_are_frames_in_every_layout(tmp_path: Path, n: int) -> None:
    files = {
        "DeepLabCut HDF5": [write_h5_table(tmp_path / f"a{SCORER}.h5", n),
                            write_h5_fixed(tmp_path / f"b{SCORER}_el.h5", n)],
        "DeepLabCut CSV": [write_csv(tmp_path / f"c{SCORER}.csv", n),
                           write_csv(tmp_path / f"d{SCORER}_el.csv", n, individuals=("a", "b")),
                           write_csv(tmp_path / f"e{SCORER}.csv", n, newline="\r\n")],
    }
    for fmt, paths in files.items():
        for path in paths:
            (r,) = extract(path)
            assert r.type == "BehavioralTracking"
            assert r.type_json["nFrames"] == n, path.name
            assert r.type_json["format"] == fmt
            assert "frameRate" not in r.type_json  # no video beside it


def test_csv_blank_lines_and_missing_final_newline(tmp_path: Path) -> None:
    path = write_csv(tmp_path / f"a{SCORER}.csv", 12)
    path.write_text(path.read_text().rstrip("\n"))  # no newline after the last row
    assert extract(path)[0].type_json["nFrames"] == 12
    path.write_text(path.read_text() + "\n\n\n")
    assert extract(path)[0].type_json["nFrames"] == 12


def test_paired_video_gives_rate_and_size(tmp_path: Path) -> None:
    video, pose = with_video(tmp_path, 24)
    (r,) = extract(pose)
    tj = r.type_json
    assert tj["nFrames"] == 24 == decoded_frames(video)
    assert tj["frameRate"] == 25  # the rate the video was encoded at
    assert (tj["horizontalResolution"], tj["verticalResolution"]) == (64, 48)
    assert video.name in r.provenance["frameRate"].detail
    assert r.warnings == ()


def test_rows_that_disagree_with_the_video_are_a_warning(tmp_path: Path) -> None:
    video, pose = with_video(tmp_path, 20)
    write_h5_table(pose, 18)
    (r,) = extract(pose)
    assert r.type_json["nFrames"] == 18
    assert r.warnings == (f"18 pose rows but {video.name} shows 20 frames",)


class _Touch:
    """Unpickled, it creates a file: proof that something unpickled it, in any process
    (the .h5 is read in the reader process, where a patched pickle.loads would not be)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def test_meta_pickle_is_a_sidecar_and_never_unpickled(tmp_path: Path) -> None:
    video, pose = with_video(tmp_path, 10)
    meta = pose.with_name(pose.stem + "_meta.pickle")
    marker = tmp_path.parent / f"{tmp_path.name}-unpickled"
    meta.write_bytes(pickle.dumps({"fps": 999.0, "x": _Touch(marker)}))
    report = extract_folder(tmp_path)
    assert not marker.exists(), "something unpickled the _meta.pickle"
    assert report.errors == {}
    assert report.sidecars == {str(meta): str(pose)}
    names = sorted(Path(e.path).name for e in report.extractions)
    assert names == sorted([video.name, pose.name])
    pose_tj = next(e.type_json for e in report.extractions if e.path == str(pose))
    assert pose_tj["frameRate"] == 25


def test_other_hdf5_and_csv_are_not_claimed(tmp_path: Path) -> None:
    import h5py
    import numpy as np

    nwb_like = tmp_path / "session.h5"
    with h5py.File(nwb_like, "w") as h5:
        h5.attrs["neurodata_type"] = "NWBFile"
        h5.create_dataset("acquisition/ts", data=np.zeros(10))
    plain = tmp_path / "table.csv"
    plain.write_text("time,x,y\n0,1,2\n")
    nwb = tmp_path / "session.nwb"
    nwb.write_bytes(nwb_like.read_bytes())
    for path in (nwb_like, plain, nwb):
        assert DlcExtractor.claim(path) == Claim.NO
    # The registry gives a DeepLabCut file to DLC, whatever else reads HDF5 (NWB).
    pose = write_h5_table(tmp_path / f"m{SCORER}.h5", 5)
    assert isinstance(extractors.extractor_for(pose), DlcExtractor)
    assert isinstance(extractors.extractor_for(write_csv(tmp_path / "p.csv", 3)), DlcExtractor)


def test_corrupt_table_is_refused_in_one_line(tmp_path: Path) -> None:
    import h5py

    path = write_h5_table(tmp_path / f"m{SCORER}.h5", 10)
    with h5py.File(path, "a") as h5:
        h5["df_with_missing/table"].attrs["NROWS"] = 99
    with pytest.raises(ExtractionError, match=r"^m.*\.h5: /df_with_missing/table holds 10 rows "
                                              r"but its NROWS attribute says 99$"):
        extract(path)


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.9])
def test_cut_h5_named_by_deeplabcut_is_refused_in_one_line(tmp_path: Path,
                                                           fraction: float) -> None:
    import os

    path = write_h5_table(tmp_path / f"m{SCORER}.h5", 2000)
    os.truncate(path, int(path.stat().st_size * fraction))
    with pytest.raises(ExtractionError) as info:
        extract(path)
    message = str(info.value)
    assert message.startswith(f"{path.name}: ") and "\n" not in message
    assert "HDF5" in message


@pytest.mark.parametrize(("junk", "why"), [
    (b"\x00" * 70_000, "NUL bytes"),
    (b"written by hand: the camera stopped here\n", "1 fields where a row has"),
    (b"12,5.5,3", "3 fields where a row has"),  # a partial last row
    (b"\n" + b"12,5.5\n" * 3, "1 fields where a row has"),  # a blank line, then junk
])
def test_csv_trailing_junk_is_not_counted_and_is_warned_about(tmp_path: Path, junk: bytes,
                                                               why: str) -> None:
    path = write_csv(tmp_path / f"a{SCORER}.csv", 12)
    good = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(junk)
    (r,) = extract(path)
    assert r.type_json["nFrames"] == 12
    (warning,) = r.warnings
    assert f"the {len(junk)} bytes from byte {good} on (after data row 12)" in warning
    assert why in warning


def test_csv_blank_lines_at_the_end_are_no_damage(tmp_path: Path) -> None:
    path = write_csv(tmp_path / f"a{SCORER}.csv", 12)
    with open(path, "ab") as fh:
        fh.write(b"\n\r\n\n")
    (r,) = extract(path)
    assert r.type_json["nFrames"] == 12 and r.warnings == ()


def test_csv_with_a_huge_sparse_hole_stops_at_the_hole(tmp_path: Path) -> None:
    # 1 TiB of nothing after the rows (a sparse file): counting stops at its first block.
    path = write_csv(tmp_path / f"a{SCORER}.csv", 12)
    good = path.stat().st_size
    try:
        os.truncate(path, 2**40)
    except OSError:
        pytest.skip("this file system has no sparse files of 1 TiB")
    (r,) = extract(path)
    assert r.type_json["nFrames"] == 12
    assert f"from byte {good} on" in r.warnings[0] and "NUL bytes" in r.warnings[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_paired_video_that_is_a_fifo_is_named_never_opened(tmp_path: Path) -> None:
    pose = write_csv(tmp_path / f"mouse1{SCORER}.csv", 5)
    os.mkfifo(tmp_path / "mouse1.mp4")
    (r,) = extract(pose)  # opening the FIFO would block for ever
    assert any("mouse1.mp4: a FIFO (named pipe)" in w for w in r.warnings)


@pytest.fixture
def fresh_reader() -> Iterator[None]:
    """The reader process stopped before and after (a test changes how it starts)."""
    from extractors import _isolate

    if _isolate._worker is not None:
        _isolate._stop(_isolate._worker)
    yield
    if _isolate._worker is not None:
        _isolate._stop(_isolate._worker)


def test_h5_is_read_in_the_reader_process(
        tmp_path: Path, reader_calls: Callable[[ModuleType], list[str]],
        fresh_reader: None) -> None:
    import extractors.dlc as module
    from extractors._isolate import isolated

    calls = reader_calls(module)
    assert extract(write_h5_table(tmp_path / f"a{SCORER}.h5", 7))[0].type_json["nFrames"] == 7
    assert extract(write_csv(tmp_path / f"a{SCORER}.csv", 7))[0].type_json["nFrames"] == 7
    assert calls == ["_read_h5"]  # the CSV is counted here: no HDF5 in it
    loaded = isolated(tmp_path, eval, "sorted(__import__('sys').modules)")
    assert "h5py" in loaded and "extractors.dlc" in loaded


@pytest.mark.skipif(os.name != "posix", reason="the reader process is POSIX")
def test_a_crash_in_libhdf5_on_a_dlc_file_is_one_line_and_the_run_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_reader: None) -> None:
    # What a damaged .h5 that makes libhdf5 dereference garbage looks like from outside: the
    # reader process dies of a signal while opening it. Before, that was the whole run.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import os\nimport h5py\n_File = h5py.File\n\n\n"
        "class File(_File):\n"
        "    def __init__(self, name, *args, **kwargs):\n"
        "        if 'damaged' in os.fspath(name):\n"
        "            os.abort()\n"
        "        super().__init__(name, *args, **kwargs)\n\n\n"
        "h5py.File = File\n")
    monkeypatch.syspath_prepend(str(hooks))  # the reader process's path: it starts with it
    session = tmp_path / "session"
    bad = write_h5_table(session / f"damaged{SCORER}.h5", 5)
    good = write_h5_table(session / f"good{SCORER}.h5", 9)
    report = extract_folder(session)
    assert report.errors == {str(bad): f"{bad.name}: the reader crashed on it (signal "
                                       "SIGABRT): a damaged file"}
    assert [(Path(e.path).name, e.type_json["nFrames"]) for e in report.extractions] == [
        (good.name, 9)]
