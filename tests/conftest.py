"""Shared pytest configuration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


@pytest.fixture
def brainstem_server(tmp_path: Path) -> Iterator[object]:
    """A local BrainSTEM-compatible server on a free loopback port, seeded, in tmp_path."""
    from bsingest.server import LocalServer

    with LocalServer(db_path=tmp_path / "brainstem.sqlite3") as srv:
        yield srv


@pytest.fixture
def reader_calls(monkeypatch: pytest.MonkeyPatch) -> Callable[[ModuleType], list[str]]:
    """``reader_calls(module)``: the names of the functions ``module`` (a family) sends to
    the reader process (:func:`extractors._isolate.isolated`) from then on, in order; the
    calls still go there."""

    def spy_on(module: ModuleType) -> list[str]:
        calls: list[str] = []
        real = module.isolated

        def spy(path: Path, fn: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(fn.__name__)
            return real(path, fn, *args, **kwargs)

        monkeypatch.setattr(module, "isolated", spy)
        return calls

    return spy_on


@pytest.fixture(autouse=True)
def _fresh_api_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new process would: no server's API generation known yet.

    Local servers get free ports, and a later test's server may get an earlier one's port.
    """
    from bsingest.client import MEMORY

    MEMORY.clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On Windows (the CI workflow's Windows runner), skip the tests that stop a child
    process with a POSIX signal (SIGKILL, or SIGINT sent to it): Windows has no SIGKILL,
    and a console Ctrl-C cannot be sent to one child process. What they check (exactly
    once after a kill, exit 130) holds there by the same code; only the way of stopping
    the process is missing."""
    import inspect
    import os

    if os.name != "nt":
        return
    skip = pytest.mark.skip(reason="stops a child process with a POSIX signal")
    for item in items:
        function = getattr(item, "function", None)
        try:
            source = inspect.getsource(function) if function is not None else ""
        except (OSError, TypeError):
            continue
        if "signal_mid_run" in source or "signal.SIGKILL" in source or "send_signal" in source:
            item.add_marker(skip)
