"""MRI (NIfTI, DICOM) and pyPhotometry records of ../shared/corpus3 against truth.json.

truth.json gives nibabel's, pydicom's and a plain parser's values. Every field of the
truth that the record type's 1.1.0 schema allows must equal ours; fields the schema does
not allow (voxel sizes for the MRI and CT types, magneticFieldStrength for fMRI) cannot be
in a valid record and are checked to be absent, not different. ``_ambiguous`` fields are
not scored.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from bsingest.extraction import extract
from bsingest.recordtypes import RECORD_TYPES

REPO = Path(__file__).resolve().parents[2]
CORPUS3 = Path(os.environ.get("BSINGEST_CORPUS3", REPO.parent / "shared" / "corpus3"))
_FAMILIES = ("nifti/", "dicom/", "pyphotometry/")


def _truth() -> dict[str, Any]:
    path = CORPUS3 / "truth.json"
    return json.loads(path.read_text()) if path.is_file() else {}


TRUTH = _truth()
ENTRIES = sorted(k for k in TRUTH if k.startswith(_FAMILIES))
pytestmark = pytest.mark.skipif(not ENTRIES, reason=f"no corpus at {CORPUS3}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-3)
    return a == b


@pytest.mark.parametrize("key", ENTRIES)
def test_record_equals_the_independent_reader(key: str) -> None:
    want = TRUTH[key]
    path, _, part = key.partition("::")
    found = extract(CORPUS3 / "files" / path)
    (r,) = [x for x in found if (x.part or "") == part]
    assert r.type == want["_record"]
    fields = set(RECORD_TYPES[r.type].fields)
    skip = set(want.get("_ambiguous", ()))
    for field, value in want.items():
        if field.startswith("_") or field in skip:
            continue
        if field not in fields:
            assert field not in r.type_json, f"{field}: not in {r.type}'s schema"
            continue
        assert field in r.type_json, f"{key}: {field} missing"
        assert _same(r.type_json[field], value), (key, field, r.type_json[field], value)
    for field in set(r.type_json) - set(want) - {"fileName", "format", "compression"}:
        pytest.fail(f"{key}: {field} = {r.type_json[field]} is not in the truth")


def test_every_family_entry_is_checked() -> None:
    assert len(ENTRIES) == 9, ENTRIES
