"""Shared pytest configuration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def brainstem_server(tmp_path: Path) -> Iterator[object]:
    """A local BrainSTEM-compatible server on a free loopback port, seeded, in tmp_path."""
    from bsingest.server import LocalServer

    with LocalServer(db_path=tmp_path / "brainstem.sqlite3") as srv:
        yield srv
