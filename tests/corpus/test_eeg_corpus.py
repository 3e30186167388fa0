"""EDF, BDF and BrainVision files of corpus3: every entry of truth.json gets a record with
the independent readers' values (pyedflib for EDF/BDF, neo or MNE for BrainVision).

A key ``file.edf::100Hz`` is the record ``file.edf#100Hz`` (one record per sampling rate);
a BrainVision key names the ``.vhdr``, whose record describes the data file it names.
Fields in ``_ambiguous`` are not scored; a field absent from truth (``lsb`` where channels
differ in scale or are not in volts, or for float data) must be absent from the record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.extraction import extract

pytestmark = pytest.mark.corpus

_FAMILIES = {"EDF", "BDF", "BrainVision"}
_SCORED = ("format", "type", "nChannels", "sr", "nSamples")


def _keys(truth: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in truth.items()
                  if isinstance(v, dict) and v.get("_family") in _FAMILIES)


def _record(corpus3: Path, key: str) -> Any:
    path, _, part = key.partition("::")
    records = {r.part: r for r in extract(corpus3 / "files" / path)}
    return records[part or None]


def test_every_eeg_entry_matches_truth(corpus3: Path, truth3: dict[str, Any]) -> None:
    keys = _keys(truth3)
    assert len(keys) >= 10
    for key in keys:
        want = truth3[key]
        r = _record(corpus3, key)
        tj = r.type_json
        assert r.type == want["_record"] == "Electroencephalography", key
        ambiguous = set(want.get("_ambiguous", ()))
        for field in _SCORED:
            if field in want and field not in ambiguous:
                expected = want[field]
                if isinstance(expected, float):
                    assert tj[field] == pytest.approx(expected, rel=1e-9), (key, field)
                else:
                    assert tj[field] == expected, (key, field)
        if "lsb" in want:
            assert tj["lsb"] == pytest.approx(want["lsb"], rel=1e-6), key
        elif "lsb" not in ambiguous:
            assert "lsb" not in tj, key
        if "_lsb_values_uV" in want:  # truth's reason for no lsb: say it too
            assert any("lsb" in w for w in r.warnings), key


def test_the_cli_extracts_every_eeg_file_in_one_run(corpus3: Path,
                                                     truth3: dict[str, Any]) -> None:
    paths = sorted({str(corpus3 / "files" / k.partition("::")[0]) for k in _keys(truth3)})
    result = CliRunner().invoke(cli, ["extract", "--json", *paths])
    assert result.exit_code == 0, result.output
    names = {e["type_json"]["fileName"] for e in json.loads(result.stdout)}
    assert {"test_uneven_samp.edf#100Hz", "test_uneven_samp.edf#12.8Hz"} <= names


def test_a_folder_of_brainvision_files_gives_one_record_per_data_file(corpus3: Path) -> None:
    from bsingest.extraction import extract_folder

    report = extract_folder(corpus3 / "files" / "brainvision")
    assert not report.errors
    names = sorted(x.type_json["fileName"] for x in report.extractions)
    # Two headers name test_old_layout_latin1_software_filter.eeg: still one record.
    assert names == ["mne/test_old_layout_latin1_software_filter.eeg",
                     "mne_testing_data/Analyzer_nV_Export.eeg",
                     "neuroconv/File_brainvision_3_int16.eeg"]


def test_edf_starts_equal_pyedflib(corpus3: Path, truth3: dict[str, Any]) -> None:
    pyedflib = pytest.importorskip("pyedflib")
    for key in _keys(truth3):
        if truth3[key]["_family"] == "BrainVision":
            continue
        path = corpus3 / "files" / key.partition("::")[0]
        reader = pyedflib.EdfReader(str(path))
        try:
            start = reader.getStartdatetime()
        finally:
            reader.close()
        # pyedflib adds the EDF+ subsecond offset from the first annotation (data, not read).
        assert _record(corpus3, key).start_time == start.replace(microsecond=0).isoformat(), key


def test_brainvision_starts_equal_mne(corpus3: Path, truth3: dict[str, Any]) -> None:
    mne = pytest.importorskip("mne")
    for key in _keys(truth3):
        if truth3[key]["_family"] != "BrainVision":
            continue
        raw = mne.io.read_raw_brainvision(str(corpus3 / "files" / key), preload=False,
                                          verbose="error")
        when = raw.info["meas_date"]
        got = _record(corpus3, key).start_time
        assert got == (when.replace(tzinfo=None).isoformat() if when else None), key


def test_the_eeg_files_as_one_current_session(corpus3: Path, tmp_path: Path) -> None:
    """Ingested into the local server's current generation, every EEG record is created
    once; a re-run creates nothing."""
    import shutil

    from bsingest.client import BrainstemClient, RetryPolicy
    from bsingest.ingest import ingest
    from bsingest.server import LocalServer

    session_dir = tmp_path / "session"
    for family in ("edf", "bdf", "brainvision"):
        shutil.copytree(corpus3 / "files" / family, session_dir / family)
    container = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: rat01-2024-03-01
    link = "087b71c4-6785-437c-b8ef-e35a82a8463e"  # its implant's procedure
    with LocalServer(db_path=tmp_path / "server.sqlite3") as srv, \
            BrainstemClient(server=srv.url, token=srv.pat, api="2026",
                            retry=RetryPolicy(wait=False)) as c:
        report = ingest(session_dir, session=container, procedures=[link], client=c,
                        journal=tmp_path / "j.sqlite")
        assert {r.outcome for r in report.results} == {"created"}, [
            (r.path, r.error) for r in report.results if r.outcome != "created"]
        assert len(report.results) == 10  # 5 EDF (one with 2 rates), 1 BDF, 3 BrainVision
        again = ingest(session_dir, session=container, procedures=[link], client=c,
                       journal=tmp_path / "j.sqlite")
        assert again.counts() == {"unchanged": 10}
