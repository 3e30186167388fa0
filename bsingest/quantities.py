"""Optical quantities a user states with their unit: ``"920 nm"``, ``"30 mW"``, ``"250 µm"``.

Imaging files rarely say what the schema asks for (``brainstem-api-2026.md``, "Types and
details"): an excitation wavelength is seldom written, a laser power is written as a
percentage of the maximum or a Pockels-cell setting, a depth as a stage position. So the
user states them, per file pattern in ``bsingest.toml`` or on the command line, and this
module is the one place that reads what they wrote:

- a number and a unit, with or without a space between (``920nm``, ``0.92 µm``,
  ``250 um``: ``u`` and the Greek ``μ`` are read as ``µ``);
- converted exactly (decimal arithmetic) to the field's bare unit inside bsingest: nm for
  ``excitation_wavelength``, mW for ``laser_power``, µm for ``imaging_depth``;
- refused, in one line, without a unit (``920`` could be nm or µm), with a unit of another
  quantity (``30 nm`` as a power), or with a percentage as a power (a percentage of an
  unknown maximum is not a power).

The extractor base (:mod:`extractors.base`) applies the values to every optical record whose
type has the field (never to a scanner's: MRI, CT, PET...; a run names once the files that
did not take them); the session settings (:mod:`bsingest.sessionconfig`) and the command line
check them with :func:`parse` before any file is read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .recordtypes import UNITS

__all__ = ["STATED", "Quantity", "QuantityError", "canonical_text", "parse"]


class QuantityError(ValueError):
    """A stated quantity that cannot be read; the message is one line, without a file."""


@dataclass(frozen=True, slots=True)
class Quantity:
    """One stated key: the schema field it fills and the units it may be given in."""

    key: str  # as stated: excitation_wavelength
    field: str  # the schema field: excitationWavelength
    kind: str  # "length", "power"
    example: str
    zero: bool = False  # 0 allowed (a depth at the surface)

    @property
    def unit(self) -> str:
        """The field's bare unit inside bsingest (the record-type table's)."""
        return UNITS[self.field][0]

    @property
    def units(self) -> dict[str, int]:
        """Unit -> power of ten relative to :attr:`unit`: the schema's units of the field."""
        return UNITS[self.field][1]


#: Stated key -> what it is; the units are the record-type table's (:data:`UNITS`).
STATED: dict[str, Quantity] = {q.key: q for q in (
    Quantity("excitation_wavelength", "excitationWavelength", "length", "920 nm"),
    Quantity("laser_power", "laserPower", "power", "30 mW"),
    Quantity("imaging_depth", "imagingDepth", "length", "250 µm", zero=True),
)}

# Each quantity, by a field that has it: to name the quantity of a unit given for another.
_KINDS = {"length": "imagingDepth", "power": "laserPower", "frequency": "sr",
          "voltage": "lsb", "magnetic field": "magneticFieldStrength", "area": "scanArea"}
_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")
# Spellings of the micro prefix: MICRO SIGN, GREEK SMALL LETTER MU, and ASCII u.
_MICRO = ("µ", "μ", "u")


def parse(key: str, value: Any) -> float:
    """``value`` (text with a unit) in the bare unit of ``key``'s field.

    Raises :class:`QuantityError` with a one-line reason (the caller names the file or
    the option): no unit, a unit of another quantity, a percentage as a power, a value
    that is not finite or not positive (a depth may be 0).
    """
    q = STATED[key]
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise QuantityError(f"{key} {value!r} has no unit: write it with one, as text "
                                f"(e.g. \"{q.example}\")")
        raise QuantityError(f"{key} {value!r} is not a quantity with a unit "
                            f"(e.g. \"{q.example}\")")
    m = _NUMBER.match(value)
    if m is None:
        raise QuantityError(f"{key} {value!r} is not a number with a unit "
                            f"(e.g. \"{q.example}\")")
    number, unit = m.group(1), _unit(m.group(2))
    if not unit:
        raise QuantityError(f"{key} {value!r} has no unit: say which (e.g. \"{q.example}\"; "
                            f"units: {', '.join(q.units)})")
    if unit == "%":
        what = ("a percentage is not a power: state the power at the sample" if q.kind == "power"
                else f"a percentage is not a {q.kind}: state it")
        raise QuantityError(f"{key} {value!r}: {what} in {q.unit} (e.g. \"{q.example}\")")
    if unit not in q.units:
        other = next((k for k, f in _KINDS.items() if unit in UNITS[f][1] and k != q.kind),
                     None)
        if other is not None:
            raise QuantityError(f"{key} {value!r}: {unit} is a {other}, not a {q.kind} "
                                f"(units: {', '.join(q.units)})")
        raise QuantityError(f"{key} {value!r}: unknown unit {unit!r} "
                            f"(units: {', '.join(q.units)})")
    # Decimal: exact and cheap whatever the exponent (a Fraction of "1e-999999999" builds
    # a billion-digit integer).
    exact = Decimal(number).scaleb(q.units[unit])
    result = float(exact)
    if not math.isfinite(result) or (result == 0 and exact != 0):
        raise QuantityError(f"{key} {value!r} is not a finite number of {q.unit}")
    if exact < 0 or (exact == 0 and not q.zero):
        raise QuantityError(f"{key} {value!r} is not {'0 or more' if q.zero else 'above 0'}")
    return int(exact) if exact == exact.to_integral_value() and abs(result) < 2**53 else result


def canonical_text(key: str, value: float) -> str:
    """``value`` with its bare unit, as messages show it (``920 nm``)."""
    return f"{value:g} {STATED[key].unit}"


def _unit(text: str) -> str:
    if text[:1] in _MICRO and len(text) > 1:
        return "µ" + text[1:]
    return text
