"""The frame rate a stream's timestamps show: the declared rate or the simplest one
that explains every timestamp within the container's resolution, else the mean."""

from __future__ import annotations

from fractions import Fraction
from typing import Any


def _fit_rate(timing: tuple[Any, Fraction] | None,
              candidates: list[Fraction]) -> tuple[Fraction, str] | None:
    """(rate, how) from frame timestamps; None without two distinct timestamps.

    A timestamp is rounded to the container's tick (1 ms in MKV/WebM/ASF), so frame i of
    a constant-rate stream lies within one tick of ``t0 + i T``: the intervals T every
    frame allows form a range. A candidate inside it is the rate ("declared"); else the
    simplest fraction inside ("simplest": 150, not the 150.05 one second of
    millisecond timestamps gives); an empty range is a variable rate (the mean, in words).
    """
    import numpy as np

    if timing is None:
        return None
    pts, tick = timing
    t = np.unique(np.asarray(pts, dtype=np.int64))
    n = len(t)
    if n < 2 or tick is None or tick <= 0:
        return None
    d = (t[1:] - t[0]).astype(np.float64)
    i = np.arange(1, n, dtype=np.float64)
    lo = max(float(((d - 1.0) / i).max()), 0.0)  # in ticks per frame
    hi = float(((d + 1.0) / i).min())
    if 0 < lo <= hi:
        for rate in candidates:
            interval = float(1 / (Fraction(rate) * tick))
            if lo - 1e-9 <= interval <= hi + 1e-9:
                return Fraction(rate), "declared"
        fast = 1 / (Fraction(lo) * tick)
        slow = 1 / (Fraction(hi) * tick)
        return _simplest_between(slow, fast), "simplest"
    span = Fraction(int(t[-1] - t[0])) * tick
    mean = Fraction(n - 1) / span
    return mean, f"{n - 1} frame intervals over {float(span):g} s from the first to the last " \
                 "frame's timestamp"


def _simplest_between(lo: Fraction, hi: Fraction) -> Fraction:
    """The fraction with the smallest denominator in [lo, hi] (0 < lo <= hi)."""
    whole = lo.numerator // lo.denominator
    if lo == whole:
        return Fraction(whole)
    if whole + 1 <= hi:
        return Fraction(whole + 1)
    return whole + 1 / _simplest_between(1 / (hi - whole), 1 / (lo - whole))
