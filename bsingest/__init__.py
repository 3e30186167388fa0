"""bsingest: recording files in, BrainSTEM records out (Data Acquisition; Experiment Data on
a server of the 2023 API).

The public names are loaded on first use, so ``import bsingest`` (and ``bsingest
--help``) costs neither numpy, h5py nor cv2. Submodules with their own public names:
:mod:`bsingest.details` (the current API's ``details`` and its mapping to ``type_json``),
:mod:`bsingest.report` (the checks of ``bsingest report``), :mod:`bsingest.compat` (the
official tools' call shapes; its ``BrainstemClient`` is theirs, not
:class:`bsingest.BrainstemClient`), :mod:`bsingest.server` (the local server).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ApiError": "bsingest.errors",
    "AuthError": "bsingest.errors",
    "BadAnswer": "bsingest.errors",
    "BatchReport": "bsingest.batch",
    "BrainstemClient": "bsingest.client",
    "BsingestError": "bsingest.errors",
    "DataAcquisition": "bsingest.records",
    "ExperimentData": "bsingest.records",
    "ExtractReport": "bsingest.extraction",
    "ExtractionError": "bsingest.errors",
    "IngestReport": "bsingest.ingest",
    "JournalError": "bsingest.errors",
    "ManifestError": "bsingest.errors",
    "NotFound": "bsingest.errors",
    "NothingToDescribe": "bsingest.errors",
    "RateLimited": "bsingest.errors",
    "RecordInvalid": "bsingest.errors",
    "Rejected": "bsingest.errors",
    "RetryPolicy": "bsingest.client",
    "ServerError": "bsingest.errors",
    "SessionReport": "bsingest.report",
    "Settings": "bsingest.settings",
    "SidecarError": "bsingest.errors",
    "SignInError": "bsingest.errors",
    "TransportError": "bsingest.errors",
    "UnsupportedFile": "bsingest.errors",
    "UsageError": "bsingest.errors",
    "batch": "bsingest.batch",
    "build_report": "bsingest.report",
    "delete_model": "bsingest.compat",
    "extract": "bsingest.extraction",
    "extract_folder": "bsingest.extraction",
    "ingest": "bsingest.ingest",
    "load_model": "bsingest.compat",
    "push": "bsingest.ingest",
    "save_model": "bsingest.compat",
    "validate": "bsingest.records",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bsingest' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


class _CallableModule(types.ModuleType):
    """A submodule named like the function it defines and ``bsingest`` exports (``ingest``,
    ``batch``): calling the module calls that function.

    Once anything imports ``bsingest.ingest`` (``from bsingest.ingest import options_for``,
    as docs/python.md shows, or the command line in the same process), the import system
    binds the submodule as the package's attribute ``ingest``, over the function:
    ``bsingest.ingest(path, ...)`` then raised "TypeError: 'module' object is not
    callable". The module stays a module (``import bsingest.ingest as m``, patch targets
    such as ``"bsingest.batch.prepare"``).
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, self.__name__.rpartition(".")[2])(*args, **kwargs)


def _callable(module_name: str) -> None:
    """Make the module ``module_name`` (being imported) call its function of its name."""
    sys.modules[module_name].__class__ = _CallableModule
