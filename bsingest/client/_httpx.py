"""httpx, imported without its command-line client (imported first by this package).

httpx's ``__init__`` imports ``httpx._main``, its command line (rich, pygments: 35-40 ms
of every bsingest command that uses the client, measured on 2 cores), whenever click is
installed, which it always is beside bsingest; nothing of it serves a library. A
placeholder stands in for that one import; ``httpx.main`` still runs the real command
line (loaded when called), and a later ``import httpx._main`` gets the real module
(benchmarks/RESULTS.md, issue 25). Where httpx was imported before (a host application,
:mod:`bsingest.compat`), nothing changes.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


def _httpx_main(*args: Any, **kwargs: Any) -> Any:
    """``httpx.main``, httpx's own command line, loaded when called."""
    from httpx._main import main

    return main(*args, **kwargs)


def _import_httpx() -> None:
    """Import httpx, a placeholder standing in for ``httpx._main`` meanwhile."""
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    stub = ModuleType("httpx._main")
    stub.main = _httpx_main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stub
    try:
        import httpx  # noqa: F401
    finally:
        if sys.modules.get("httpx._main") is stub:
            del sys.modules["httpx._main"]


_import_httpx()
