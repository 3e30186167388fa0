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
