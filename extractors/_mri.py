"""What the MRI, CT and PET families share: the record types by modality, the fields each
type's schema allows, repetition times as frame rates, and lengths in µm.

The current schema (brainstem-api-2026.md) gives the MRI types different fields:
``MagneticResonanceImaging`` takes ``magneticFieldStrength``, the functional, CT and PET
types do not; voxel sizes are in the schema of some types only. A value a file states but
the type's schema does not allow is left out (:func:`allowed`), never renamed.
"""

from __future__ import annotations

import math
from functools import cache

from .base import Fields

__all__ = [
    "MODALITY_TYPES",
    "RECORD_TYPES",
    "SPATIAL_UNITS_UM",
    "TR_PLAUSIBLE_S",
    "allowed",
    "drop_disallowed",
    "repetition_rate",
]

#: DICOM Modality -> the current record type (MR is structural or functional by its
#: repetitions in time, decided by the family).
MODALITY_TYPES: dict[str, str] = {
    "CT": "ComputedTomography",
    "PT": "PositronEmissionTomography",
    "NM": "SinglePhotonEmissionComputedTomography",
}
RECORD_TYPES: tuple[str, ...] = (
    "MagneticResonanceImaging",
    "FunctionalMagneticResonanceImaging",
    "ComputedTomography",
    "PositronEmissionTomography",
    "SinglePhotonEmissionComputedTomography",
)
#: Length units to µm (NIfTI xyzt_units codes name them; DICOM and PAR/REC state mm).
SPATIAL_UNITS_UM: dict[str, float] = {"m": 1e6, "mm": 1e3, "µm": 1.0}
#: Repetition times outside this span (seconds) are warned about: fMRI runs at 0.1 s
#: (fast multiband EPI) to ~10 s (sparse sampling); a TR of 0.5 ms or 5 min says the
#: header's time unit is wrong.
TR_PLAUSIBLE_S: tuple[float, float] = (0.05, 60.0)


@cache
def _schema_keys(record_type: str) -> frozenset[str] | None:
    """The keys of ``record_type``'s details, from the record-type table (or its schema)."""
    try:
        from bsingest import recordtypes  # the table, where this version has it

        found = recordtypes.lookup(record_type)
        return frozenset(found.fields) if found is not None else None
    except ImportError:
        pass
    try:
        from bsingest.records import schema_for

        props = schema_for(record_type).get("properties")
    except (KeyError, FileNotFoundError):
        return None
    return frozenset(props) if isinstance(props, dict) else None


def allowed(record_type: str, key: str) -> bool:
    """Whether ``record_type``'s schema has ``key`` (True while the type is unknown here)."""
    keys = _schema_keys(record_type)
    return keys is None or key in keys


def drop_disallowed(record_type: str, f: Fields) -> None:
    """Remove from ``f`` the values ``record_type``'s schema has no field for."""
    for key in [k for k in f.values if not allowed(record_type, k)]:
        del f.values[key]
        f.provenance.pop(key, None)


def repetition_rate(f: Fields, tr_s: float, detail: str, *, source: str = "header") -> None:
    """``frameRate`` = 1 / the repetition time, with a warning where the time is implausible.

    A TR that is not finite and positive gives no rate (and a warning).
    """
    if not (math.isfinite(tr_s) and tr_s > 0):
        f.warn(f"repetition time {tr_s:g} s is not a positive number ({detail}): no frameRate")
        return
    from .base import FRAME_RATE_BOUNDS

    if not FRAME_RATE_BOUNDS[0] <= 1.0 / tr_s <= FRAME_RATE_BOUNDS[1]:
        f.warn(f"repetition time {tr_s:g} s ({detail}) is no frame interval any scanner "
               "uses: a damaged header or a wrong time unit; no frameRate")
        return
    lo, hi = TR_PLAUSIBLE_S
    if not lo <= tr_s <= hi:
        f.warn(f"repetition time {tr_s:g} s ({detail}) is outside the {lo:g} to {hi:g} s "
               "scanners use for repeated volumes: the header's time unit may be wrong")
    setter = f.header if source == "header" else f.default
    setter("frameRate", 1.0 / tr_s, f"1 / the repetition time {tr_s:g} s ({detail})")
