"""Issue 25: the registry imports a family only when a name it may claim is met, a record's
quick check agrees with the full checks, and a folder shared with forked workers gives the
same text as one read alone.

No timing here: what is counted is modules imported, verdicts and bytes.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import pytest

import extractors
from bsingest import extraction
from bsingest.cli.jsonstream import JsonListWriter, dumps_extraction
from bsingest.extraction import ExtractReport, iter_extract, iter_rendered
from bsingest.records import check_type_json
from extractors.base import Extraction, Extractor, _passes, plausibility_problems
from tests.samples import sample_modules

ROOT = Path(__file__).resolve().parents[1]


def test_the_table_says_what_the_classes_say() -> None:
    for i, (module, name, endings, sniffs, content) in enumerate(extractors.FAMILIES):
        cls = extractors._family(i)
        assert (cls.__module__, cls.__name__) == (f"extractors.{module}", name)
        assert cls.sniffs == sniffs, name
        asks_content = cls.sniffs or extractors._overrides(cls, "claim_content")
        assert asks_content == content, name
        if not sniffs:
            named = extractors._named(cls)
            assert named is not None and endings is not None, name
            assert sorted(endings) == sorted(named), name
    assert len({f[1] for f in extractors.FAMILIES}) == len(extractors.FAMILIES)


def _wavs(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        with wave.open(str(folder / f"w{i:03d}.wav"), "wb") as w:
            w.setnchannels(1 + i % 2)
            w.setsampwidth(2)
            w.setframerate(8000 + 1000 * (i % 3))
            w.writeframes(b"\0\1" * (1 + i % 2) * (5 + i))


def test_a_folder_of_wavs_imports_no_other_family(tmp_path: Path) -> None:
    _wavs(tmp_path / "s", 3)
    code = ("import sys\nfrom bsingest.extraction import extract_folder\n"
            f"r = extract_folder({str(tmp_path / 's')!r})\n"
            "assert len(r.extractions) == 3 and r.ok, r.errors\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('extractors.'))))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["extractors.audio", "extractors.base", "extractors.run"]


def test_a_skipped_files_family_by_name_is_found_among_the_families_asked() -> None:
    # "named like a file of the X family": only the families asked about such a name (and
    # those asked by content) are looked at, so no other family is imported for it. Every
    # family's suffixes must be among them, or a skipped file would lose its reason.
    general = extractors._GENERAL_SUFFIXES
    every = extractors._all()
    suffixes = {s.lower() for cls in every for s in cls.suffixes}
    for cls in every:
        for s in extractors._own_suffixes(cls):
            # with a dot, a name that ends with it has its text after the last dot
            assert "." in s, (cls.name, s)
            assert cls in extractors._named_candidates(s.rpartition(".")[2]), (cls.name, s)
    names = [f"x{s}" for s in sorted(suffixes)] + [f"x{s.upper()}" for s in sorted(suffixes)] \
        + ["x.clu.4", "a.b.raw.h5", "method", "x.npy", "notes.md", "noext", "x.eeg12", "x.tar.gz"]
    for name in names:
        lower = name.lower()
        brute = [cls.name for cls in every
                 if any(lower.endswith(s.lower()) and s.lower() not in general
                        for s in cls.suffixes)]
        assert extractors._families_named_like(Path("/data") / name) == brute, name


def test_an_unknown_ending_still_asks_the_families_that_read_content(tmp_path: Path) -> None:
    # A DICOM file without a suffix: only the sniffers can know it.
    from tests.samples import dicom as dicom_samples

    files = dicom_samples.good(tmp_path)
    code = ("import sys\nfrom extractors import extractor_for\n"
            f"print(extractor_for({str(files[0])!r}).name)\n"
            "print(int('extractors.dicom' in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [extractors.extractor_for(files[0]).name, "1"]


def _records(tmp_path: Path) -> list[Extraction]:
    found: list[Extraction] = []
    for name, module in sorted(sample_modules().items()):
        try:
            files = module.good(tmp_path / name)
        except Exception:  # a writer needing an optional library
            continue
        for f in files:
            try:
                found += extractors.extractor_for(f).extract(f)
            except Exception:
                continue
    return found


def _slow_verdict(r: Extraction) -> bool:
    """No problem by the full checks: plausibility, schema and provenance."""
    return (not plausibility_problems(r.type, r.type_json)
            and not check_type_json(r.type, r.type_json)
            and all(k in r.provenance for k in r.type_json))


BAD_VALUES: list[Any] = [math.nan, math.inf, -1, True, None, "x", [], {}, 2**60, 1.5, 1e300]


def test_the_quick_check_never_passes_what_the_full_checks_refuse(tmp_path: Path) -> None:
    records = _records(tmp_path)
    assert len(records) > 50
    quick_passes = 0
    for r in records:
        assert _slow_verdict(r), r.path  # good samples: valid records
        quick_passes += _passes(r)
        for key in list(r.type_json)[:8]:
            for value in BAD_VALUES:
                bad = dataclasses.replace(r, type_json={**r.type_json, key: value})
                if _passes(bad):
                    assert _slow_verdict(bad), (r.path, key, value)
        for extra in ({"noSuchKey": 1}, {"fileName": "../x.wav"}, {"fileName": "/abs"}):
            bad = dataclasses.replace(r, type_json={**r.type_json, **extra})
            if _passes(bad):
                assert _slow_verdict(bad), (r.path, extra)
        unprovened = dataclasses.replace(r, provenance={})
        assert not _passes(unprovened)
    assert quick_passes > len(records) // 2  # the usual record does take the quick way


def _nested_variants(tj: dict[str, Any]) -> list[dict[str, Any]]:
    """``tj`` with one thing inside its electrode groups or channel tags changed each."""
    out: list[dict[str, Any]] = []
    n = tj.get("nChannels", 4)
    for key in ("electrodeGroups", "channelTags"):
        items = tj.get(key)
        if not isinstance(items, list) or not items:
            continue
        first = dict(items[0])
        chans = list(first.get("channels") or [0])
        changed: list[Any] = [
            *({**first, "channels": [*chans[:-1], v]} for v in [*BAD_VALUES, n, n + 7, 2.0]),
            {**first, "channels": tuple(chans)}, {**first, "extra": 1}, {**first, "label": 3},
            {**first, "tag": ""}, {**first, "groups": [0, 99]}, {**first, "groups": [math.nan]},
            {k: v for k, v in first.items() if k != "channels"}, "not an object", None, [],
        ]
        out += [{**tj, key: [item, *items[1:]]} for item in changed]
        out += [{**tj, key: tuple(items)}, {**tj, key: []}, {**tj, key: [*items, first]},
                {**tj, "nChannels": max(0, n - 1)}]
    return out


def test_the_quick_check_of_electrode_groups_never_passes_what_the_full_checks_refuse(
        tmp_path: Path) -> None:
    # A probe's 384 channels are tested in a pass or two in C, not walked one by one.
    records = [r for r in _records(tmp_path)
               if "electrodeGroups" in r.type_json or "channelTags" in r.type_json]
    assert records
    assert any(_passes(r) for r in records if "electrodeGroups" in r.type_json)
    tried = 0
    for r in records:
        assert _slow_verdict(r), r.path
        for tj in _nested_variants(dict(r.type_json)):
            bad = dataclasses.replace(r, type_json=tj)
            tried += 1
            if _passes(bad):
                assert _slow_verdict(bad), (r.path, tj)
    assert tried > 20


def _json(report: ExtractReport, folder: Path, monkeypatch: pytest.MonkeyPatch,
          share_min: int) -> bytes:
    monkeypatch.setattr(extraction, "SHARE_MIN", share_min)
    chunks: list[bytes] = []
    with JsonListWriter(chunks.append) as out:
        for item in iter_rendered([folder], report, lambda e: dumps_extraction(e, "  "),
                                  JsonListWriter.SEP):
            if isinstance(item, str):
                out.write_text(item)
            else:
                out.write_pieces(item.pieces(), item.count)
    return b"".join(chunks)


def _session(folder: Path) -> None:
    _wavs(folder, 9)
    (folder / "broken.wav").write_bytes(b"RIFF\0\0\0\0WAVEjunk")  # an error in a share
    (folder / "zz_bad.wav").write_bytes(b"not a wav at all")
    (folder / "notes.txt").write_text("skipped")


def _serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: int
            ) -> tuple[bytes, ExtractReport, ExtractReport]:
    """The session's text read in one process, its report, and a fresh report for the
    shared read that follows: ``parts`` processes, runs of one file dealt in turn."""
    _session(tmp_path)
    alone, shared = ExtractReport(), ExtractReport()
    serial = _json(alone, tmp_path, monkeypatch, 10**9)
    monkeypatch.setattr(extraction, "_parts_for", lambda n: parts)
    monkeypatch.setattr(extraction, "RUN_MIN", 1)
    return serial, alone, shared


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="workers are forked on POSIX only")
def test_a_folder_shared_with_workers_gives_the_same_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial, alone, shared = _serial(tmp_path, monkeypatch, 3)
    forked: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    parallel = _json(shared, tmp_path, monkeypatch, 2)
    assert len(forked) == 2
    assert parallel == serial
    assert list(shared.errors.items()) == list(alone.errors.items())
    assert len(alone.errors) == 2 and alone.skipped == shared.skipped


def test_a_worker_that_cannot_start_leaves_its_files_to_this_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial, alone, shared = _serial(tmp_path, monkeypatch, 2)

    def no_fork() -> int:
        raise OSError("no more processes")

    monkeypatch.setattr(os, "fork", no_fork)
    assert _json(shared, tmp_path, monkeypatch, 2) == serial
    assert list(shared.errors.items()) == list(alone.errors.items())


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="workers are forked on POSIX only")
def test_a_worker_that_dies_half_way_leaves_the_rest_to_this_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial, alone, shared = _serial(tmp_path, monkeypatch, 2)
    parent = os.getpid()
    real = extraction._read_run
    runs: list[int] = []

    def read_run(*args: Any) -> Any:
        if os.getpid() != parent:  # in the worker: its third run kills it
            runs.append(1)
            if len(runs) == 3:
                os._exit(3)
        return real(*args)

    monkeypatch.setattr(extraction, "_read_run", read_run)
    assert _json(shared, tmp_path, monkeypatch, 2) == serial
    assert list(shared.errors.items()) == list(alone.errors.items())


def test_no_worker_for_a_small_folder_a_busy_machine_or_beside_other_threads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: 1)  # pytest's threads aside
    if "extractors._isolate" in sys.modules:  # another test's reader process aside
        monkeypatch.setattr(sys.modules["extractors._isolate"], "_worker", None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.delenv("BSINGEST_WORKERS", raising=False)
    many = 10 * extraction.SHARE_MIN
    forks = hasattr(os, "fork") and sys.platform != "darwin"
    assert extraction._parts_for(many) == (2 if forks else 1)
    assert extraction._parts_for(extraction.SHARE_MIN - 1) == 1
    monkeypatch.setenv("BSINGEST_WORKERS", "1")
    assert extraction._parts_for(many) == 1
    monkeypatch.delenv("BSINGEST_WORKERS")
    monkeypatch.setattr(os, "getloadavg", lambda: (4.2, 1.0, 1.0))  # busy with other work
    assert extraction._parts_for(many) == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert extraction._parts_for(many) == 1


def test_iter_extract_and_rendered_records_agree(tmp_path: Path) -> None:
    _session(tmp_path)
    records = [dumps_extraction(x, "  ") for found in iter_extract([tmp_path], ExtractReport())
               for x in found]
    rendered = list(iter_rendered([tmp_path], ExtractReport(),
                                  lambda e: dumps_extraction(e, "  "), JsonListWriter.SEP))
    assert rendered == records


def test_claims_by_suffix_alone_match_the_family_claim(tmp_path: Path) -> None:
    # The text answer for families that claim by suffix is the base claim's answer.
    for name in ("a.wav", "b.WAV", "c.tar.wav", ".wav", "d.wav.", "e", "f.w64"):
        p = tmp_path / name
        p.write_bytes(b"")
        want = max((cls.claim(p) for cls in extractors.EXTRACTORS
                    if not cls.sniffs and not extractors._overrides(cls, "claim")),
                   default=extractors.Claim.NO)
        got = extractors._ask(str(p))[0]
        if want >= extractors.Claim.SPECIFIC:
            assert got == want, name
    assert Extractor.claim.__func__ is extractors.AudioExtractor.claim.__func__  # type: ignore[attr-defined]


@pytest.mark.parametrize("shared", [False, True])
def test_a_folders_files_are_decided_once_each(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared: bool) -> None:
    # Whose each file is gets worked out when the folder is listed; neither warming the
    # readers nor extracting asks again.
    _session(tmp_path)
    if shared:
        monkeypatch.setattr(extraction, "_parts_for", lambda n: 2)
        monkeypatch.setattr(extraction, "RUN_MIN", 1)
        monkeypatch.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError("no fork")))
    asked: list[str] = []
    real_claimants = extractors._claimants

    def claimants(p: Any) -> Any:
        asked.append(os.fspath(p))
        return real_claimants(p)

    monkeypatch.setattr(extractors, "_claimants", claimants)
    report = ExtractReport()
    texts = list(iter_rendered([tmp_path], report, lambda e: dumps_extraction(e, "  "),
                               JsonListWriter.SEP))
    files = sorted(str(p) for p in tmp_path.iterdir())
    assert sorted(asked) == files  # each once: when listed
    assert len(texts) == 9 and len(report.errors) == 2  # the records are all there


def test_a_text_path_is_taken_as_is_only_when_a_path_would_write_it_so() -> None:
    from extractors.base import _plain

    for text in ("a.wav", "/a/b.wav", ".a.wav", "a/.b/c.wav", "a b/é.wav", "x", "..", "../a",
                 "a/../b", "a\\b", "//a", "", ".", "./a", "a/", "a//b", "a/./b", "a/.", "///a",
                 "/", "a/b/"):
        if _plain(text):
            assert str(Path(text)) == text, text
    assert _plain("a/b.wav") and not _plain("./a.wav") and not _plain("a//b.wav")


@pytest.mark.parametrize("given", ["{d}/w000.wav", "{d}//w000.wav", "{d}/./w000.wav"])
def test_a_wav_is_described_alike_by_text_or_path(tmp_path: Path, given: str) -> None:
    # The audio family takes the listing's text without a Path; any other spelling is made
    # one, so the record is the same whichever way the file was named.
    _wavs(tmp_path, 1)
    text = given.format(d=tmp_path)
    by_text = extraction.extract(text)
    by_path = extraction.extract(Path(text))
    assert by_text == by_path
    assert by_text[0].path == str(tmp_path / "w000.wav")
    assert by_text[0].type_json["fileName"] == "w000.wav"


def test_files_read_ahead_while_the_reader_process_answers_keep_the_listing_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # NWB and DeepLabCut .h5 files are read on a thread that waits for the reader process,
    # while the files after them are read here: the text and the errors must be those of
    # reading each file in turn, however far ahead this thread got.
    from tests.samples.dlc import SCORER, write_h5_table
    from tests.samples.nwb import write_nwb

    _wavs(tmp_path, 6)
    write_nwb(tmp_path / "a1.nwb")
    write_h5_table(tmp_path / f"a2{SCORER}.h5", 12)
    (tmp_path / f"a3{SCORER}.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)  # damaged
    (tmp_path / "a4.wav").write_bytes(b"not a wav at all")
    write_nwb(tmp_path / "z9.nwb", n_channels=2)
    (tmp_path / "notes.txt").write_text("skipped")

    monkeypatch.setattr(extraction, "AHEAD_JOBS", 0)  # no reader thread: each in turn
    alone = ExtractReport()
    serial = _json(alone, tmp_path, monkeypatch, 10**9)
    monkeypatch.setattr(extraction, "AHEAD_JOBS", 16)
    real = extraction._read_apart
    ahead: list[str] = []

    unmet: list[str] = []
    finished: list[str] = []

    def slow(*args: Any) -> Any:
        # The first file waits until this thread has read a WAV listed after it.
        import time

        for _ in range(1000):
            if ahead:
                break
            time.sleep(0.01)
        else:
            unmet.append(args[2])
        out = real(*args)
        finished.append(args[2])
        return out

    real_one = extraction._extract_one

    def noted(r: Any, given: Path, f: str, *args: Any) -> Any:
        import time

        if f.endswith(".wav"):
            ahead.append(f)
        if f.endswith("w003.wav"):  # a file read ahead is given while others are read
            for _ in range(1000):
                if finished:
                    break
                time.sleep(0.01)
        return real_one(r, given, f, *args)

    monkeypatch.setattr(extraction, "_read_apart", slow)
    monkeypatch.setattr(extraction, "_extract_one", noted)
    again = ExtractReport()
    assert _json(again, tmp_path, monkeypatch, 10**9) == serial
    assert list(again.errors.items()) == list(alone.errors.items())
    assert [Path(p).name for p in again.errors] == [f"a3{SCORER}.h5", "a4.wav"]
    assert unmet == []  # files were read ahead
    import json

    names = [Path(x["path"]).name for x in json.loads(serial)]
    assert names == sorted(names) and names[0] == "a1.nwb" and names[-1] == "z9.nwb"
    assert f"a2{SCORER}.h5" in names and "w005.wav" in names
