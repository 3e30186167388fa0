"""One run over a folder reads each shared sidecar once, and asks each file's claim once.

Counted through the run's cache (:class:`extractors.run.Run` ``parses``) and by wrapping
the parsers, never by timing. The records are the same as extracting each file on its own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import wave
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import extractors
from bsingest.cli.jsonstream import JsonListWriter, dumps_extraction, dumps_indented
from bsingest.cli.main import cli
from bsingest.cli.output import json_text
from bsingest.extraction import ExtractReport, extract, extract_paths, iter_extract
from extractors import intan, openephys, rawbinary, spikeglx
from extractors.run import Run, cached, run
from tests.fixtures import write_dat, write_neuroscope_xml
from tests.fixtures_intan_oe import IntanSpec, OebStream, write_intan_rhx, write_oebin_recording
from tests.samples.spikeglx import write_spikeglx


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[str]:
    """Wrap ``module.name`` so that every real parse is noted."""
    calls: list[str] = []
    original = getattr(module, name)

    def counted(path: Path, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def _records(paths: list[Path]) -> list[dict[str, Any]]:
    report = extract_paths(paths)
    assert report.ok, report.errors
    return report.to_json()


def test_an_rhx_folder_reads_its_info_rhd_once(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_intan_rhx(tmp_path / "rec_231117_120000", IntanSpec(), 300, "channel")
    per_channel = sorted(folder.glob("amp-*.dat"))
    assert len(per_channel) == 6  # ports A (4) and B (2)
    calls = _counting(monkeypatch, intan, "read_intan_header")
    intan._layout_cached.cache_clear()  # the claims' own cache must not hide a parse
    with run() as r:
        records = _records([folder])
    assert len(records) >= len(per_channel)
    assert calls == [str(folder / "info.rhd")]
    assert r.parses["intan-info"] == 1


def test_files_given_one_by_one_read_the_info_rhd_each_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Outside a run nothing is kept: an edited sidecar is read afresh by the next call.
    folder = write_intan_rhx(tmp_path / "rec", IntanSpec(), 300, "channel")
    calls = _counting(monkeypatch, intan, "read_intan_header")
    intan._layout_cached.cache_clear()
    for f in sorted(folder.glob("amp-*.dat"))[:3]:
        extract(f)
    assert calls.count(str(folder / "info.rhd")) >= 3


def test_a_neuroscope_xml_is_read_once_for_every_dat_beside_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_neuroscope_xml(tmp_path / "session.xml", 4)
    for i in range(5):
        write_dat(tmp_path / f"session_{i}.dat", n_channels=4, n_samples=10)
    # Neuroscope pairs a .dat with the XML of its own basename, or the folder's only XML.
    calls = _counting(monkeypatch, rawbinary, "read_neuroscope_xml")
    with run() as r:
        records = _records([tmp_path])
    assert len(records) == 5
    assert calls == [str(tmp_path / "session.xml")]
    assert r.parses["neuroscope-xml"] == 1


@pytest.mark.parametrize("jobs", [1, 4])
def test_a_session_prepared_for_upload_reads_its_sidecars_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    # ingest and batch read a session through prepare(), in one thread or several: one
    # run spans them all, as it does bsingest extract.
    from bsingest.ingest import prepare
    from bsingest.sessionconfig import load_options

    write_neuroscope_xml(tmp_path / "session.xml", 4)
    for i in range(6):
        write_dat(tmp_path / f"session_{i}.dat", n_channels=4, n_samples=10 + i)
    rhx = write_intan_rhx(tmp_path / "rec_231117_120000", IntanSpec(), 300, "channel")
    xml_calls = _counting(monkeypatch, rawbinary, "read_neuroscope_xml")
    rhd_calls = _counting(monkeypatch, intan, "read_intan_header")
    intan._layout_cached.cache_clear()
    options = load_options(tmp_path, dataset="4b060709-9585-484b-bde0-0a47a554aaab",
                           actions=("087b71c4-6785-437c-b8ef-e35a82a8463e",)).for_api("2023")
    ready = prepare(tmp_path, options, jobs=jobs)
    assert not ready.failures
    samples = {body["type_json"]["fileName"]: body["type_json"]["nSamples"]
               for _, _, body, _ in ready.records}
    # Each .dat's own length, from its size (4 channels of int16): the XML's values were
    # not shared wrongly between files.
    assert {n: samples[n] for n in samples if n.startswith("session_")} == {
        f"session_{i}.dat": (tmp_path / f"session_{i}.dat").stat().st_size // 8
        for i in range(6)}
    assert len(samples) >= 6 + len(list(rhx.glob("amp-*.dat")))
    assert xml_calls == [str(tmp_path / "session.xml")]
    assert rhd_calls == [str(rhx / "info.rhd")]


def test_a_structure_oebin_is_read_once_for_all_its_streams(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = tmp_path / "Record Node 101" / "experiment1" / "recording1"
    dats = write_oebin_recording(rec, [OebStream("A-100.0", n_neural=4, stream_name="A"),
                                       OebStream("B-101.0", n_neural=2, stream_name="B"),
                                       OebStream("C-102.0", n_neural=1, stream_name="C")],
                                 n_samples=20)
    calls = _counting(monkeypatch, openephys, "_read_oebin")
    with run() as r:
        records = _records([tmp_path])
    assert len(records) == len(dats) == 3
    assert len(calls) == 1
    assert r.parses["oebin"] == 1


def test_a_spikeglx_meta_is_read_once_per_run(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    bin_path = write_spikeglx(tmp_path / "run_g0_t0.imec0.ap.bin", n_samples=40)
    calls = _counting(monkeypatch, spikeglx, "read_meta")
    with run() as r:
        _records([tmp_path])
        _records([bin_path])  # the same file again within the run
    assert len(calls) == 1
    assert r.parses["spikeglx-meta"] == 1


def test_a_sidecar_edited_during_a_run_is_read_again(tmp_path: Path) -> None:
    # The key holds the file's size and modification time.
    side = tmp_path / "s.txt"
    side.write_text("one")
    with run() as r:
        assert cached("text", side, side.read_text) == "one"
        assert cached("text", side, side.read_text) == "one"
        side.write_text("three")
        assert cached("text", side, side.read_text) == "three"
    assert r.parses["text"] == 2


def test_a_failed_parse_is_not_kept(tmp_path: Path) -> None:
    side = tmp_path / "s.txt"
    side.write_text("x")
    attempts: list[int] = []

    def fail() -> str:
        attempts.append(1)
        raise ValueError("damaged")

    r = Run()
    for _ in range(2):
        with pytest.raises(ValueError):
            r.cached("kind", side, fail)
    assert len(attempts) == 2


def test_each_file_is_claimed_once_per_run(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(4):
        with wave.open(str(tmp_path / f"m{i}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\0\0" * 8)
    asked: list[str] = []
    original = extractors._ask

    def ask(p: str | Path) -> Any:  # a listing's files are asked about by their text
        asked.append(os.path.basename(p))
        return original(p)

    monkeypatch.setattr(extractors, "_ask", ask)
    monkeypatch.setattr(extractors, "_BY_EXT", {})  # what earlier tests learnt of .wav
    assert len(extract_paths([tmp_path]).extractions) == 4
    # Listing and extracting: at most once per file (a suffix that decides alone, as .wav
    # does, is asked about once per run: the others are known by it).
    assert asked and len(asked) == len(set(asked))
    assert set(asked) <= {f"m{i}.wav" for i in range(4)}


def test_claim_endings_ask_the_same_families_as_asking_all(tmp_path: Path) -> None:
    """The look-up by ending is a shortcut, never a different answer: every sample file
    of every family is claimed alike with and without it."""
    from tests.samples import sample_modules

    files: list[Path] = []
    for name, module in sorted(sample_modules().items()):
        for kind in ("good", "bad"):
            try:
                files += getattr(module, kind)(tmp_path / name / kind)
            except Exception:  # a writer needing an optional library: its files are missing
                continue
    files = [f for f in files if f.exists()]
    assert len(files) > 100
    for f in files:
        everyone = [(cls.claim(f), cls) for cls in extractors._BY_NAME]
        name = f.name.lower()
        asked = {cls for cls, endings in extractors._asked_for(name.rpartition(".")[2])
                 if endings is None or name.endswith(endings)}
        # Every family that says anything but NO was asked.
        assert {cls for c, cls in everyone if c > extractors.Claim.NO} <= asked, f
        best = max(c for c, _ in everyone)
        full = [cls for c, cls in everyone if c == best and c > extractors.Claim.NO]
        if best >= extractors.Claim.SPECIFIC:  # (below it, the sniffers are asked too)
            assert extractors._ask(f) == (best, full), f


def test_deeplabcut_claims_a_named_h5_without_opening_hdf5(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from extractors import dlc
    from tests.samples.dlc import write_h5_table

    named = write_h5_table(tmp_path / "mouse1DLC_resnet50_shuffle1_1000.h5", 5)
    opened: list[str] = []
    monkeypatch.setattr(dlc, "_find_key", lambda p: opened.append(str(p)) or None)
    assert dlc.DlcExtractor.claim(named) == extractors.Claim.SPECIFIC
    assert opened == []


def test_deeplabcut_still_finds_a_renamed_h5_by_its_columns(tmp_path: Path) -> None:
    from tests.samples.dlc import write_h5_table

    renamed = write_h5_table(tmp_path / "tracking.h5", 5)
    assert extractors.extractor_for(renamed).name == "dlc"


@pytest.mark.parametrize("value", [
    [], {}, [{"a": 1.5, "b": [1, 2, {"c": None, "d": True}], "e": {}, "f": [],
              "g": float("nan"), "h": "\udcff é\n\"", "i": 1e300, "j": -0.0, "k": (1, "2"),
              "n": 2**70}],
])
def test_the_streamed_json_is_json_text(value: Any) -> None:
    assert dumps_indented(value) == json_text(value)


def _extractions_of_every_shape(tmp_path: Path) -> list[extractors.Extraction]:
    from extractors.base import Extraction, Provenance, Source

    write_neuroscope_xml(tmp_path / "s.xml", 4, groups=[[0, 1], [2, 3]])
    write_dat(tmp_path / "s.dat", n_channels=4, n_samples=4)
    with wave.open(str(tmp_path / "a.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 10)
    found = [*extract(tmp_path / "s.dat"), *extract(tmp_path / "a.wav")]
    made = Extraction(
        path="/x/\udcff é\n\".dat", type="Audio",
        type_json={"fileName": "x#p", "nested": [{"a": 1.5, "b": float("nan")}], "n": 2**70},
        provenance={"fileName": Provenance(Source.STATED, "\udcfe \\ \t"),
                    "n": Provenance(Source.COMPUTED, "")},
        warnings=("one", "two \u2028"), part="acquisition/x", start_time="2026-01-01T00:00:00",
        unapplied=("laser_power = 30 mW",), extractor="made", legacy_stream="0")
    bare = Extraction(path="p", type="Audio", type_json={}, provenance={})
    # One provenance under several keys, one of them no text (the writer keeps each
    # provenance's line by the provenance: the key must be its own).
    shared = Provenance(Source.HEADER, "shared")
    keyed = Extraction(path="q", type="Audio", type_json={"k": 1, 2: "x", None: True},
                       provenance={"a": shared, "b": shared, 3: shared})
    return [*found, made, bare, keyed]


def test_an_extraction_is_written_as_its_to_json(tmp_path: Path) -> None:
    shapes = _extractions_of_every_shape(tmp_path)
    # The hand-written writer must know every field: the full sample sets each one that
    # has a default (a field added to Extraction fails here until it is written, and
    # checked, below).
    made = shapes[-3]
    for f in dataclasses.fields(made):
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            default = (f.default if f.default is not dataclasses.MISSING
                       else f.default_factory())  # type: ignore[misc]
            assert getattr(made, f.name) != default, f"the sample leaves {f.name} unset"
    for e in [*shapes, *shapes]:  # twice: the second time from the lines kept
        for pad in ("", "  "):
            assert dumps_extraction(e, pad) == dumps_indented(e.to_json(), pad)


def test_extract_json_is_streamed_as_one_list(tmp_path: Path) -> None:
    write_neuroscope_xml(tmp_path / "s.xml", 2)
    write_dat(tmp_path / "s.dat", n_channels=2, n_samples=4)
    (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEjunk")
    result = CliRunner().invoke(cli, ["extract", str(tmp_path), "--json"])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [r.get("type") for r in rows[:1]] and "error" in rows[-1]
    assert result.stdout == json_text(extract_paths([tmp_path]).to_json()) + "\n"


def test_an_empty_list_is_written_as_such() -> None:
    import io

    out = io.BytesIO()
    with JsonListWriter(out.write):
        pass
    assert out.getvalue() == b"[]\n"


def test_iter_extract_keeps_no_extractions_in_the_report(tmp_path: Path) -> None:
    write_neuroscope_xml(tmp_path / "s.xml", 2)
    write_dat(tmp_path / "s.dat", n_channels=2, n_samples=4)
    report = ExtractReport()
    found = [x for batch in iter_extract([tmp_path], report) for x in batch]
    assert len(found) == 1 and report.extractions == [] and report.ok


def test_a_tdt_index_is_read_once_per_run(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # The .tsq states no store list: its claims (photometry's and neo's) and the extraction
    # share one read of it.
    from extractors import tdt_photometry
    from tests.fixtures_mri_photometry import write_tdt

    tsq = write_tdt(tmp_path, "b", {"465A": (1017.25, 1, 20), "405A": (1017.25, 1, 20)})
    calls = _counting(monkeypatch, tdt_photometry, "read_tsq_index")
    with run() as r:
        records = _records([tmp_path])
    assert len(records) == 2  # one per store
    assert calls == [str(tsq)]
    assert r.parses["tdt-tsq"] == 1
