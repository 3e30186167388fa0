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


@pytest.fixture(autouse=True)
def _fresh_api_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new process would: no server's API generation known yet.

    Local servers get free ports, and a later test's server may get an earlier one's port.
    """
    import bsingest.client

    monkeypatch.setattr(bsingest.client, "_FOUND", {})
    monkeypatch.setattr(bsingest.client, "_VERIFIED", set())
