"""Checks against ../shared/corpus: real files from public sources, with the values
independent readers report for them (truth.json). Run with ``pytest -m corpus tests/corpus``.

The corpus lives beside the repository (``../shared/corpus``), or where
``BSINGEST_CORPUS`` points. In a plain clone it is absent and these tests are skipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("BSINGEST_CORPUS", REPO.parent / "shared" / "corpus"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.corpus)


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "truth.json").is_file():
        pytest.skip(f"no corpus at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def truth(corpus: Path) -> dict[str, Any]:
    return json.loads((corpus / "truth.json").read_text())


#: The second corpus (EEG, the neo formats, imaging, photometry, MRI, pose):
#: ``../shared/corpus3``, or where ``BSINGEST_CORPUS3`` points.
CORPUS3 = Path(os.environ.get("BSINGEST_CORPUS3", REPO.parent / "shared" / "corpus3"))


@pytest.fixture(scope="session")
def corpus3() -> Path:
    """The folder holding corpus3's ``files/`` and ``truth.json`` (skips where absent)."""
    if not (CORPUS3 / "truth.json").is_file():
        pytest.skip(f"no corpus at {CORPUS3}")
    return CORPUS3


@pytest.fixture(scope="session")
def truth3(corpus3: Path) -> dict[str, Any]:
    """corpus3's ``truth.json``: dataset key -> the values independent readers report."""
    return json.loads((corpus3 / "truth.json").read_text())
