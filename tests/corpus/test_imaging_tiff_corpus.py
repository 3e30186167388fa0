"""Two-photon families on real files (``../shared/corpus3``): every ScanImage, Bruker,
ThorImage and Suite2p entry of truth.json, compared field by field with the independent
readers' values (``_ambiguous`` fields aside), and the page counts with tifffile's own.

A truth key that is a folder is the acquisition: PrairieView's folder is described by its
sequence ``.xml``, ThorImage's by ``Experiment.xml``, a Suite2p plane by ``ops.npy``, and a
ScanImage folder by the first file of its numbered recording.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from extractors import discover, extractor_for
from extractors.tiff import scanimage_series

FAMILIES = ("ScanImage", "Bruker", "ThorImage", "Suite2p")
#: Relative tolerance for values the truth rounds (it keeps 8 to 10 significant digits).
REL = 1e-7


def _entries(truth: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in truth.items() if v.get("_family") in FAMILIES)


def _data_file(root: Path) -> Path:
    """The file a truth key's record is named by (the key itself when it is a file)."""
    if root.is_file():
        return root
    found = discover(root)
    assert len(found.data) == 1, f"{root}: expected one record file, found {found.data}"
    return found.data[0]


def _compare(key: str, expected: dict[str, Any], got: dict[str, Any], rtype: str) -> list[str]:
    problems = []
    if expected.get("_record") and expected["_record"] != rtype:
        problems.append(f"type {rtype} != {expected['_record']}")
    skip = set(expected.get("_ambiguous", ()))
    for field, value in expected.items():
        if field.startswith("_") or field in skip:
            continue
        if field not in got:
            problems.append(f"{field} missing (truth {value!r})")
        elif isinstance(value, float) or isinstance(got[field], float):
            if got[field] != pytest.approx(value, rel=REL):
                problems.append(f"{field} {got[field]!r} != {value!r}")
        elif got[field] != value:
            problems.append(f"{field} {got[field]!r} != {value!r}")
    for field in ("laserPower", "imagingDepth"):
        if field in got and field not in expected:
            problems.append(f"{field} {got[field]!r} given where the file states none")
    return problems


def test_the_corpus_has_entries_of_every_family(truth3: dict[str, Any]) -> None:
    families = {truth3[k]["_family"] for k in _entries(truth3)}
    assert families == set(FAMILIES)


def test_every_entry_equals_the_independent_readers(corpus3: Path,
                                                    truth3: dict[str, Any]) -> None:
    failures = {}
    for key in _entries(truth3):
        expected = truth3[key]
        path = _data_file(corpus3 / "files" / key)
        results = extractor_for(path).extract(path)
        if len(results) != 1:
            failures[key] = [f"{len(results)} records"]
            continue
        r = results[0]
        problems = _compare(key, expected, dict(r.type_json), r.type)
        if problems:
            failures[key] = problems
    assert not failures, failures


def test_scanimage_page_counts_equal_tifffiles(corpus3: Path, truth3: dict[str, Any]) -> None:
    tifffile = pytest.importorskip("tifffile")
    for key in _entries(truth3):
        if truth3[key]["_family"] != "ScanImage":
            continue
        path = _data_file(corpus3 / "files" / key)
        [r] = extractor_for(path).extract(path)
        pages = 0
        for member in scanimage_series(path):
            with tifffile.TiffFile(member) as tif:
                pages += len(tif.pages)
                saved = tif.scanimage_metadata["FrameData"]["SI.hChannels.channelSave"]
        channels = len(saved) if isinstance(saved, list) else 1
        assert pages == truth3[key]["_detail"]["pages"]
        assert r.type_json["nFrames"] == pages // channels


def test_bruker_counts_frames_from_the_xml_with_a_tiff_missing(corpus3: Path,
                                                               truth3: dict[str, Any]) -> None:
    for key in _entries(truth3):
        if truth3[key]["_family"] != "Bruker":
            continue
        detail = truth3[key]["_detail"]
        path = _data_file(corpus3 / "files" / key)
        [r] = extractor_for(path).extract(path)
        assert r.type_json["nFrames"] == detail["frames_in_xml"]
        missing = detail["tiff_files_listed"] - detail["tiff_files_present"]
        if missing:
            assert any(f"{missing} of the {detail['tiff_files_listed']}" in w
                       for w in r.warnings), r.warnings


def test_start_times(corpus3: Path, truth3: dict[str, Any]) -> None:
    """The start each file states: ScanImage's first-frame epoch, PrairieView's date,
    ThorImage's uTime (read here with plain string handling)."""
    import re

    for key in _entries(truth3):
        path = _data_file(corpus3 / "files" / key)
        [r] = extractor_for(path).extract(path)
        family = truth3[key]["_family"]
        text = path.read_bytes()[:300_000].decode("latin-1")
        if family == "ScanImage":
            y, mo, d, h, mi, s = re.search(r"epoch = \[([^\]]*)\]", text)[1].split()
            assert r.start_time.startswith(f"{y}-{int(mo):02d}-{int(d):02d}T{int(h):02d}:"
                                           f"{int(mi):02d}:{int(float(s)):02d}")
        elif family == "ThorImage":
            import datetime

            utime = int(re.search(r'uTime="(\d+)"', text)[1])
            got = datetime.datetime.fromisoformat(r.start_time)
            assert got.timestamp() == utime
        elif family == "Bruker":
            import datetime

            date = re.search(r'<PVScan [^>]*date="([^"]+)"', text)[1]
            assert r.start_time == datetime.datetime.strptime(
                date, "%m/%d/%Y %I:%M:%S %p").isoformat()
        else:
            assert r.start_time is None  # Suite2p states none
