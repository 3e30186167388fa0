"""Fiber photometry: pyPhotometry, Neurophotometrics, Doric and TDT values against
independent computations (file-size arithmetic, the rows written, h5py, numpy over the
tsq), bad input in one line, and the session report comparing photometry durations."""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract, extract_folder
from extractors import discover
from tests.fixtures_mri_photometry import TSQ, write_doric, write_npm, write_ppd, write_tdt

# --- pyPhotometry --------------------------------------------------------------------


def _ppd_independent(path: Path) -> tuple[float, int]:
    """The rate and frames as photometry_preprocessing's data_import.py computes them."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[:2], "little")
    header = json.loads(raw[2:2 + n])
    data = np.frombuffer(raw[2 + n:], dtype="<u2")
    signals = header.get("n_analog_signals", 2)
    return header["sampling_rate"], len(data) // signals


@pytest.mark.parametrize("kw", [{}, {"rate": 1000, "n_analog": 3, "version": "1.0"},
                                {"n_analog": 2, "rate": 86.5}])
def test_ppd_values_equal_the_data_import_arithmetic(tmp_path: Path, kw: dict) -> None:
    path = write_ppd(tmp_path / "m.ppd", 4321, **kw)
    (r,) = extract(path)
    rate, frames = _ppd_independent(path)
    assert r.type == "FiberPhotometry"
    assert r.type_json["frameRate"] == rate and r.type_json["nFrames"] == frames == 4321
    assert "laserPower" not in r.type_json  # LED_current is in mA
    assert "excitationWavelength" not in r.type_json
    assert r.start_time == "2024-03-05T14:30:00"
    assert not r.warnings


def test_a_partial_last_ppd_frame_warns(tmp_path: Path) -> None:
    (r,) = extract(write_ppd(tmp_path / "cut.ppd", 100, extra_bytes=3))
    assert r.type_json["nFrames"] == 100
    assert any("partial" in w for w in r.warnings)


def test_a_ppd_header_length_past_the_end_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ppd"
    bad.write_bytes(struct.pack("<H", 9000) + b"{}")
    with pytest.raises(ExtractionError) as info:
        extract(bad)
    msg = str(info.value)
    assert msg.startswith("bad.ppd: ") and "past the end" in msg and "\n" not in msg
    write_ppd(tmp_path / "good.ppd", 10)
    report = extract_folder(tmp_path)  # the bad file does not stop the others
    assert list(report.errors) == [str(bad)]
    assert [x.file_name for x in report.extractions] == ["good.ppd"]


# --- Neurophotometrics ---------------------------------------------------------------

@pytest.mark.parametrize("new", [True, False])
def test_npm_frames_rate_and_wavelengths(tmp_path: Path, new: bool) -> None:
    path = write_npm(tmp_path / "photometry.csv", 801, rate=40.0, leds=(1, 2), new=new)
    rows = path.read_text().strip().splitlines()[1:]
    t_first, t_last = float(rows[0].split(",")[1]), float(rows[-1].split(",")[1])
    (r,) = extract(path)
    assert r.type == "FiberPhotometry" and r.extractor == "neurophotometrics"
    assert r.type_json["nFrames"] == len(rows) == 801
    assert math.isclose(r.type_json["frameRate"], (len(rows) - 1) / (t_last - t_first),
                        rel_tol=1e-9)
    assert math.isclose(r.type_json["frameRate"], 40.0, rel_tol=1e-6)
    assert "excitationWavelength" not in r.type_json  # 415 and 470 interleaved
    assert "415 nm, 470 nm" in r.provenance["nFrames"].detail


def test_npm_single_led_states_its_wavelength(tmp_path: Path) -> None:
    (r,) = extract(write_npm(tmp_path / "green.csv", 50, leds=(4,)))
    assert r.type_json["excitationWavelength"] == 560


def test_a_dlc_csv_is_not_npm(tmp_path: Path) -> None:
    from tests.samples.dlc import write_csv

    path = write_csv(tmp_path / "videoDLC_resnet50_x.csv", 10)
    assert extract(path)[0].extractor == "dlc"


# --- Doric -----------------------------------------------------------------------------

def _h5_span(path: Path, dataset: str) -> tuple[int, float]:
    with h5py.File(path, "r") as h:
        t = h[dataset][()]
    return len(t), (len(t) - 1) / (t[-1] - t[0])


def test_doric_new_layout_one_record_per_series(tmp_path: Path) -> None:
    path = write_doric(tmp_path / "rec.doric", 3000, rate=1200.0,
                       series=("Series0001", "Series0002"))
    found = extract(path)
    assert [r.part for r in found] == ["Series0001", "Series0002"]
    n, rate = _h5_span(path, "DataAcquisition/FPConsole/Signals/Series0001/LockInAOUT01/Time")
    for r in found:
        assert r.type == "FiberPhotometry"
        assert r.type_json["nFrames"] == n == 3000
        assert math.isclose(r.type_json["frameRate"], rate, rel_tol=1e-9)
        assert "LockInAOUT01/Time" in r.provenance["nFrames"].detail  # not AnalogIn
        assert r.start_time == "2024-03-01T10:16:32"  # the root's Created attribute


def test_doric_lockin_values_spelling(tmp_path: Path) -> None:
    path = write_doric(tmp_path / "v.doric", 2400, rate=120.0, layout="values")
    (r,) = extract(path)
    n, rate = _h5_span(path, "DataAcquisition/EPConsole/Signals/Series0001/"
                             "AIN01xAOUT01-LockIn/Time")
    assert r.type_json["nFrames"] == n == 2400  # not DigitalIO's 9600
    assert math.isclose(r.type_json["frameRate"], rate, rel_tol=1e-9)
    assert "AIN01xAOUT01-LockIn/Time" in r.provenance["nFrames"].detail


def test_doric_old_layout(tmp_path: Path) -> None:
    path = write_doric(tmp_path / "old.doric", 1500, rate=120.0, layout="old")
    (r,) = extract(path)
    n, rate = _h5_span(path, "Traces/Console/Time(s)/Console_time(s)")
    assert r.part is None and r.type_json["nFrames"] == n
    assert math.isclose(r.type_json["frameRate"], rate, rel_tol=1e-9)


def test_doric_without_a_recording_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "empty.doric"
    with h5py.File(path, "w") as h:
        h["DataAcquisition/FPConsole/Signals/Series0001/AnalogIn/AIN01"] = np.zeros(4)
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert str(info.value).startswith("empty.doric: ") and "\n" not in str(info.value)


# --- TDT -------------------------------------------------------------------------------

def test_tdt_photometry_stores(tmp_path: Path) -> None:
    tsq = write_tdt(tmp_path / "block", "b1", {"465A": (1017.25, 1, 9), "405A": (1017.25, 1, 9),
                                               "Fi1r": (6103.5, 3, 40)}, samples_per_block=128)
    tev = tsq.with_suffix(".tev")
    found = {r.part: r for r in extract(tev)}
    assert {r.file_name for r in found.values()} == {f"b1.tev#{c}" for c in found}
    assert sorted(found) == ["405A", "465A", "Fi1r"]
    index = np.fromfile(tsq, dtype=TSQ)
    for code, r in found.items():
        rows = index[(index["code"] == code.encode()) & (index["channel"] == 1)]
        assert r.type_json["nFrames"] == int(((rows["size"] - 10) * 4 // 4).sum())
        assert math.isclose(r.type_json["frameRate"], float(rows["freq"][0]))
    assert found["465A"].type_json["excitationWavelength"] == 465
    assert found["405A"].type_json["excitationWavelength"] == 405
    assert "excitationWavelength" not in found["Fi1r"].type_json
    assert found["465A"].type_json["nFrames"] == 9 * 128
    assert found["465A"].start_time is not None
    listing = discover(tmp_path)
    assert listing.data == [tev] and listing.sidecars[tsq] == tev
    # The index alone (the .tev not copied) describes the stores, with a warning.
    tev.unlink()
    alone = extract(tsq)
    assert {r.part for r in alone} == set(found)
    assert all(any("not beside" in w for w in r.warnings) for r in alone)


def test_an_rz5p_block_of_demodulated_stores(tmp_path: Path) -> None:
    """The stores of neuroconv's Photo_249 test tank: Dv1A..Dv4B demodulated, Fi1r raw, and
    epocs (port entries, nose pokes) that are events, not streams."""
    tsq = write_tdt(tmp_path / "Photo_249", "Photo_249_391-200721-120136",
                    {"Dv1A": (1017.25, 1, 6), "Dv2A": (1017.25, 1, 6), "Dv3B": (1017.25, 1, 6),
                     "Dv4B": (1017.25, 1, 6), "Fi1r": (6103.52, 2, 36)},
                    epocs=("PrtN", "LNRW", "LNnR"))
    found = {r.part: r for r in extract(tsq.with_suffix(".tev"))}
    assert sorted(found) == ["Dv1A", "Dv2A", "Dv3B", "Dv4B", "Fi1r"]
    assert all(r.type == "FiberPhotometry" for r in found.values())
    assert found["Dv1A"].type_json["nFrames"] == 6 * 256
    assert "excitationWavelength" not in found["Dv1A"].type_json  # not in its name


def test_a_tank_with_ephys_streams_is_not_claimed_here(tmp_path: Path) -> None:
    from extractors.tdt_photometry import TdtPhotometryExtractor

    tsq = write_tdt(tmp_path / "mixed", "b2", {"465A": (1017.25, 1, 2), "EEG1": (3051.76, 4, 2)})
    assert TdtPhotometryExtractor.claim(tsq.with_suffix(".tev")) == 0
    assert TdtPhotometryExtractor.claim(tsq) == 0
    # The fields the neo family can give the photometry stores of such a block.
    from extractors.tdt_photometry import photometry_fields

    fields = dict(photometry_fields(tsq, tsq.with_suffix(".tev")))
    assert list(fields) == ["465A"]
    assert fields["465A"].values["excitationWavelength"] == 465
    assert fields["465A"].values["nFrames"] == 2 * 256


# --- the session report ----------------------------------------------------------------

def test_the_report_compares_photometry_durations(tmp_path: Path) -> None:
    from bsingest.report import build_report

    write_ppd(tmp_path / "photometry.ppd", 130 * 600)  # 600 s
    write_npm(tmp_path / "npm.csv", 40 * 540 + 1, rate=40.0)  # 540 s
    report = build_report(tmp_path)
    found = [f for f in report.findings if f.check == "durations"]
    assert found and any("npm.csv" in f.message for f in found), report.findings
    assert os.path.exists(tmp_path / "photometry.ppd")


@pytest.mark.parametrize("ending", [b"", b"\n", b"\n\n\n", b"\r\n"])
def test_npm_rows_whatever_the_file_ends_with(tmp_path: Path, ending: bytes) -> None:
    path = write_npm(tmp_path / "x.csv", 1500, rate=30.0)
    body = path.read_bytes().rstrip(b"\n")
    if ending == b"\r\n":
        body = body.replace(b"\n", b"\r\n")
    path.write_bytes(body + ending)
    (r,) = extract(path)
    assert r.type_json["nFrames"] == 1500
    assert math.isclose(r.type_json["frameRate"], 30.0, rel_tol=1e-6)


def test_the_report_compares_one_scan_but_not_runs_with_each_other(tmp_path: Path) -> None:
    from bsingest.report import build_report
    from tests.fixtures_mri_photometry import write_nifti

    one = tmp_path / "one"
    write_nifti(one / "bold.nii", (4, 4, 2, 150), (3, 3, 3, 2.0))  # 300 s
    write_ppd(one / "photometry.ppd", 130 * 400)  # 400 s
    found = [f for f in build_report(one).findings if f.check == "durations"]
    assert [f.records for f in found] == [("photometry.ppd", "bold.nii")]

    runs = tmp_path / "runs"
    write_nifti(runs / "run-1_bold.nii", (4, 4, 2, 150), (3, 3, 3, 2.0))  # 300 s
    write_nifti(runs / "run-2_bold.nii", (4, 4, 2, 90), (3, 3, 3, 2.0))  # 180 s
    write_nifti(runs / "T1w.nii.gz", (8, 8, 8), (1, 1, 1))  # no duration
    report = build_report(runs)
    assert not [f for f in report.findings if f.check in ("durations", "starts")]


def test_a_ppd_header_nested_too_deeply_is_one_line(tmp_path: Path) -> None:
    raw = b"[" * 30000 + b"]" * 30000
    path = tmp_path / "deep.ppd"
    path.write_bytes(struct.pack("<H", len(raw)) + raw)
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert str(info.value).startswith("deep.ppd: ") and "nested" in str(info.value)
