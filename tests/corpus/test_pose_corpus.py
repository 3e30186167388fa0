"""Every pose and position-tracking entry of ../shared/corpus3/truth.json (SLEAP labels,
SLEAP analysis exports, Neuralynx NVT, Axona POS): bsingest's record holds the values the
independent readers report (h5py and sleap-io for SLEAP; plain parses of the NVT and POS
text headers with file-size arithmetic), fields in ``_ambiguous`` aside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bsingest.extraction import extract
from tests.corpus.conftest import CORPUS3

FAMILIES = {"SLEAP", "SLEAP analysis HDF5", "Neuralynx NVT", "Axona"}
EXTRACTORS = {"SLEAP": "sleap", "SLEAP analysis HDF5": "sleap_analysis",
              "Neuralynx NVT": "nvt", "Axona": "axona_pos"}


def _keys() -> list[str]:
    truth = CORPUS3 / "truth.json"
    if not truth.is_file():
        return []
    entries = json.loads(truth.read_text())
    return sorted(k for k, v in entries.items() if isinstance(v, dict)
                  and v.get("_family") in FAMILIES and v.get("_record") == "BehavioralTracking")


def _file(corpus3: Path, key: str) -> Path:
    """The file a key names; ``folder::pos`` is the folder's ``.pos`` file."""
    name, _, part = key.partition("::")
    path = corpus3 / "files" / name
    if part:
        (path,) = sorted(path.glob(f"*.{part}"))
    return path


@pytest.mark.parametrize("key", _keys() or ["(no corpus3)"])
def test_pose_entry_matches_truth(key: str, corpus3: Path, truth3: dict[str, Any]) -> None:
    entry = truth3[key]
    (r,) = extract(_file(corpus3, key))
    assert r.type == entry["_record"]
    assert r.extractor == EXTRACTORS[entry["_family"]]
    skip = set(entry.get("_ambiguous", []))
    for field, value in entry.items():
        if field.startswith("_") or field in skip:
            continue
        got = r.type_json.get(field)
        if isinstance(value, float):
            assert got == pytest.approx(value, rel=1e-9), field
        else:
            assert got == value, (field, got, value, r.provenance.get(field))


def test_every_pose_entry_is_checked(truth3: dict[str, Any]) -> None:
    families = {v.get("_family") for v in truth3.values() if isinstance(v, dict)
                and v.get("_record") == "BehavioralTracking"}
    assert FAMILIES <= families  # each family this suite checks is still in truth.json
    assert len(_keys()) == 14
