"""TDT blocks: list a block's stores (for this family and for others, e.g. photometry).

:func:`tank_stores` opens a block with neo's ``TdtRawIO`` in the worker process and
returns every continuous store with its rate, channel count, stored type and sample
count, empty ones too. The neo family turns the stores with samples into
``ExtracellularEphys`` records (``block.tev#EEG1``); a photometry reader can import
this function to describe its own stores (``_465A``, ``x405A``) from the same listing.
Cost: neo reads the whole ``.tsq`` index (40 bytes per stored block of data).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._isolate import isolated

__all__ = ["TdtStore", "tank_stores"]


@dataclass(frozen=True, slots=True)
class TdtStore:
    """One continuous store of a TDT block, as neo lists it."""

    name: str
    n_channels: int
    sr: float | None  # None when its channels disagree
    dtype: str  # as neo states it ("float32"; "int" for stores it lists without data)
    n_samples: int  # per channel, summed over the block's segments
    units: str
    gain: float | None  # None when its channels disagree


def tank_stores(path: str | Path, *, timeout: float = 300.0) -> list[TdtStore]:
    """The continuous stores of the TDT block whose ``.tev`` or ``.tsq`` is ``path``.

    Raises :class:`~bsingest.errors.ExtractionError` naming the file when neo cannot read
    the block (or the worker crashes or times out on it).
    """
    from . import _worker

    p = Path(path)
    summary = isolated(p, _worker.summarize, "tdt", str(p), timeout=timeout)
    out = []
    for variant in summary["variants"]:
        for s in variant["streams"]:
            out.append(TdtStore(
                name=s["name"], n_channels=s["n_channels"],
                sr=s["rates"][0] if len(s["rates"]) == 1 else None,
                dtype=",".join(s["dtypes"]), n_samples=sum(n for n, _ in s["segments"]),
                units=",".join(s["units"]),
                gain=s["gains"][0] if len(s["gains"]) == 1 else None))
    return out
