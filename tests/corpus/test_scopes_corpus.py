"""The Miniscope, Inscopix and Femtonics entries of ``../shared/corpus3/truth.json``: every
record's values equal what the independent readers report (ffprobe and plain JSON/CSV for
Miniscope, the ``isx`` package and the footer for Inscopix, h5py for Femtonics); fields in
``_ambiguous`` aside. Skipped where the corpus is absent (``BSINGEST_CORPUS3`` points
elsewhere)."""

from __future__ import annotations

import json
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
