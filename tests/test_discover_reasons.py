"""Files no family claims: an empty recording fails naming itself; the others are skipped
with a reason a lab can act on (found in the issue 22 acceptance, where an empty ``.ns5``
and an Axona tetrode file were both "no extractor reads this kind of file")."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.extraction import extract_folder
from tests.samples.edf import eeg_signals, write_edf


def _session(tmp_path: Path) -> Path:
    session = tmp_path / "s"
    write_edf(session / "good.edf", eeg_signals(2))
    return session


def test_an_empty_recording_file_fails_naming_itself_and_the_others_go_on(
        tmp_path: Path) -> None:
    session = _session(tmp_path)
    for name in ("rec.ns5", "CSC1.ncs", "data.raw.h5", "notes.json", "table.csv"):
        (session / name).write_bytes(b"")
    report = extract_folder(session)
    assert {Path(p).name: e for p, e in report.errors.items()} == {
        "rec.ns5": "rec.ns5: empty file (0 bytes)",
        "CSC1.ncs": "CSC1.ncs: empty file (0 bytes)",
        "data.raw.h5": "data.raw.h5: empty file (0 bytes)"}
    # empty general-purpose files are nobody's failed recording
    skipped = {Path(p).name: r for p, r in report.skipped.items()}
    assert skipped == {"notes.json": "no extractor reads this kind of file (.json)",
                       "table.csv": "no extractor reads this kind of file (.csv)"}
    assert [x.file_name for x in report.extractions] == ["good.edf"]

    result = CliRunner().invoke(cli, ["extract", str(session)])
    assert result.exit_code == 1
    assert "error: rec.ns5: empty file (0 bytes)" in result.stderr
    assert "good.edf" in result.stdout


def test_a_mislabelled_file_says_what_it_is_named_like_and_how_it_begins(
        tmp_path: Path) -> None:
    session = _session(tmp_path)
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)
    (session / "rec.ns5").write_bytes(wav)
    (session / "CSC1.ncs").write_bytes(bytes(20000))
    (session / "take.raw").write_bytes(wav)  # .raw is not MCS's alone: skipped
    report = extract_folder(session)
    errors = {Path(p).name: e for p, e in report.errors.items()}
    assert errors["rec.ns5"] == (
        "rec.ns5: named like a file of the neo family (.ns5), but its contents are not one: "
        f"it begins {wav[:12]!r}")
    assert errors["CSC1.ncs"].endswith(f"it begins {bytes(12)!r}")
    assert set(errors) == {"rec.ns5", "CSC1.ncs"}
    assert {Path(p).name for p in report.skipped} == {"take.raw"}
    assert [x.file_name for x in report.extractions] == ["good.edf"]


def test_axona_tetrode_files_and_a_lone_session_mat_are_named_for_what_they_are(
        tmp_path: Path) -> None:
    session = _session(tmp_path)
    (session / "trial.set").write_text("trial_date Sunday, 4 Oct 2020\r\n")
    for n in (1, 2, 16):
        (session / f"trial.{n}").write_bytes(b"trial_date Sunday\r\nnum_spikes 0\r\n")
    (session / "other.3").write_bytes(b"x")  # no .set beside it: not Axona's
    (session / "rat.sessionInfo.mat").write_bytes(b"MATLAB 5.0 MAT-file" + bytes(109))
    skipped = {Path(p).name: r for p, r in extract_folder(session).skipped.items()}
    for n in (1, 2, 16):
        assert skipped[f"trial.{n}"].startswith("an Axona tetrode spike file (spike times and "
                                                "waveforms, no continuous signal)")
    assert skipped["other.3"] == "no extractor reads this kind of file (.3)"
    assert skipped["rat.sessionInfo.mat"].startswith(
        "a CellExplorer/buzcode session file with no .dat or .lfp beside it")


def test_a_companion_given_alone_names_the_file_it_belongs_to(tmp_path: Path) -> None:
    from bsingest.errors import ExtractionError
    from bsingest.extraction import extract
    from tests.fixtures import write_dat, write_neuroscope_xml

    write_dat(tmp_path / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(tmp_path / "rec.xml", 2)
    (tmp_path / "notes.xml").write_text("<notes/>")
    try:
        extract(tmp_path / "rec.xml")
    except ExtractionError as exc:
        assert str(exc) == ("rec.xml: a companion of rec.dat, described with it: give rec.dat "
                            "or the folder")
    else:
        raise AssertionError("rec.xml alone was described")
    result = CliRunner().invoke(cli, ["extract", str(tmp_path / "notes.xml")])
    assert result.exit_code == 1
    assert "notes.xml: no extractor reads this kind of file (.xml)" in result.stderr
