"""MRI (NIfTI, DICOM) and pyPhotometry records of ../shared/corpus3 against truth.json.

truth.json gives nibabel's, pydicom's and a plain parser's values. Every field of the
truth that the record type's 1.1.0 schema allows must equal ours; fields the schema does
not allow (voxel sizes for the MRI and CT types, magneticFieldStrength for fMRI) cannot be
in a valid record and are checked to be absent, not different. ``_ambiguous`` fields are
not scored. The families' entries are listed here, so that a missing file or entry fails
rather than passes unnoticed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bsingest.extraction import extract
from bsingest.recordtypes import RECORD_TYPES

ENTRIES = [
    "dicom/nibabel_nicom/0.dcm",
    "dicom/nibabel_nicom/csa_slice_norm.dcm",
    "dicom/pydicom/MR_small.dcm",
    "dicom/pydicom/MR_small_bigendian.dcm",
    "dicom/pydicom_dicomdirtests/77654033/CT2/17106",
    "dicom/pydicom_dicomdirtests/98892003/MR1/4919",
    "nifti/functional.nii",
    "nifti/resampled_anat_moved.nii",
    "pyphotometry/m53_NAc_L-2019-11-24-093939.ppd",
]
_FAMILIES = ("nifti/", "dicom/", "pyphotometry/", "doric/", "neurophotometrics/", "mri/")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-3)
    return a == b


def test_every_entry_of_these_families_is_checked(truth3: dict[str, Any]) -> None:
    assert sorted(k for k in truth3 if k.startswith(_FAMILIES)) == sorted(ENTRIES)


@pytest.mark.parametrize("key", ENTRIES)
def test_record_equals_the_independent_reader(key: str, corpus3: Path,
                                              truth3: dict[str, Any]) -> None:
    want = truth3[key]
    path, _, part = key.partition("::")
    found = extract(corpus3 / "files" / path)
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
    extra = set(r.type_json) - set(want) - {"fileName", "compression"}
    assert not extra, f"{key}: {sorted(extra)} not in the truth"
