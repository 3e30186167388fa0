"""Sample files for the compliance suite, one module per extractor family.

Each module here names the family it feeds (``EXTRACTOR = "<Extractor.name>"``) and
defines two functions that write files into a temporary folder and return them:

- ``good(tmp: Path) -> list[Path]``: files the family must describe;
- ``bad(tmp: Path) -> list[Path]``: files it must refuse with a one-line error.

``tests/test_compliance.py`` runs the same rules over all of them, and fails for an
extractor in the registry that has no samples module.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def sample_modules() -> dict[str, ModuleType]:
    """Extractor name -> its samples module."""
    out = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        out[module.EXTRACTOR] = module
    return out
