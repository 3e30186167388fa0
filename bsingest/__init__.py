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
