"""The Miniscope, Inscopix and Femtonics entries of ``../shared/corpus3/truth.json``: every
record's values equal what the independent readers report (ffprobe and plain JSON/CSV for
Miniscope, the ``isx`` package and the footer for Inscopix, h5py for Femtonics); fields in
``_ambiguous`` aside. Skipped where the corpus is absent (``BSINGEST_CORPUS3`` points
elsewhere)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bsingest.extraction import extract, extract_paths
from extractors.base import Extraction
from tests.corpus.conftest import CORPUS3

FAMILIES = {"Miniscope", "Inscopix", "Femtonics"}
# What no file here states in the schema's quantity (LED in %, Pockels settings, stage z).
NEVER_GUESSED = ("laserPower", "imagingDepth", "excitationWavelength")


def _truth() -> dict[str, Any]:
    p = CORPUS3 / "truth.json"
    return json.loads(p.read_text()) if p.is_file() else {}


TRUTH = _truth()
KEYS = sorted(k for k, v in TRUTH.items() if isinstance(v, dict) and v.get("_family") in FAMILIES)
pytestmark = pytest.mark.skipif(not KEYS, reason=f"no corpus3 at {CORPUS3}")


def _record(key: str) -> Extraction:
    path, _, part = key.partition("::")
    target = CORPUS3 / "files" / path
    if target.is_dir():  # a Miniscope recording: the device record, named by its folder
        report = extract_paths([target])
        assert report.errors == {}
        found = [x for x in report.extractions if x.file_name == part]
    else:
        found = [x for x in extract(target) if (x.part or "") == part]
    assert len(found) == 1, [x.file_name for x in found]
    return found[0]


@pytest.mark.parametrize("key", KEYS or ["(no corpus3)"])
def test_values_match_the_independent_readers(key: str) -> None:
    expected = TRUTH[key]
    x = _record(key)
    assert x.type == expected["_record"]
    skip = set(expected.get("_ambiguous", []))
    for field, value in expected.items():
        if field.startswith("_") or field in skip:
            continue
        if isinstance(value, float):
            assert x.type_json[field] == pytest.approx(value, rel=1e-8), field
        else:
            assert x.type_json[field] == value, field
    for field in NEVER_GUESSED:
        assert (field in x.type_json) == (field in expected), field


def test_every_entry_is_checked() -> None:
    assert len(KEYS) == 5, KEYS


def test_a_session_of_these_files_is_accepted_whole_and_a_rerun_creates_nothing(
        tmp_path: Path) -> None:
    import shutil

    from bsingest.client import BrainstemClient, RetryPolicy
    from bsingest.ingest import ingest
    from bsingest.server import LocalServer

    session = tmp_path / "session"
    for family in ("miniscope", "inscopix", "femtonics"):
        shutil.copytree(CORPUS3 / "files" / family, session / family)
    container = "4b060709-9585-484b-bde0-0a47a554aaab"  # the seed's session
    procedure = "087b71c4-6785-437c-b8ef-e35a82a8463e"
    with LocalServer(db_path=tmp_path / "server.sqlite3") as srv, \
            BrainstemClient(server=srv.url, token=srv.pat, api="2026",
                            retry=RetryPolicy(wait=False)) as c:
        first = ingest(session, session=container, procedures=[procedure], client=c,
                       journal=tmp_path / "j.sqlite")
        assert first.counts() == {"created": 5}, [(r.path, r.error) for r in first.results]
        again = ingest(session, session=container, procedures=[procedure], client=c,
                       journal=tmp_path / "j.sqlite")
        assert again.counts() == {"unchanged": 5}
