"""The frame rate a stream's timestamps show.

A container stores each frame's timestamp rounded to its tick (1 ms in Matroska/WebM with
the usual TimestampScale, FLV and ASF; 1/90,000 s in MPEG-TS; the track's timescale in
MP4), so frame ``i`` of a constant-rate stream lies within one tick of ``t0 + i T``: the
frame intervals ``T`` that explain every timestamp form a range. The rate is chosen from
that range, in this order:

1. FFmpeg's average (what the container declares, or FFmpeg's estimate where it declares
   nothing) when it lies inside the range, unless the tick is 1 ms or longer and a
   *standard* rate (a whole number, or ``N x 1000/1001``: the NTSC family 23.976, 29.97,
   59.94 and their multiples such as 14.985) within 0.1 % of it lies inside too: then the
   standard rate. FFmpeg reads an
   FLV's ``framerate`` with a denominator of at most 1000 (15000/1001 becomes 989/66, which
   fits 300 frames of millisecond timestamps as well): the stream's rate, imprecisely.
2. The standard rate inside the range nearest to FFmpeg's average (or to the middle of
   the range, where FFmpeg has none), when the average does not explain the timestamps: a
   WebM whose ``DefaultDuration`` was rounded to 67 ms (FFmpeg: 1000/67) at 15000/1001.
3. The fraction with the smallest denominator inside the range (150, not the 150.05 that
   one second of millisecond timestamps gives; 12.5, 7.5; 14.9 where FFmpeg, estimating a
   WebM without ``DefaultDuration``, snaps to the 179/12 of its own list of rates).
4. Nothing inside (the range is empty): a variable rate, and its mean
   ``(frames - 1) / (last - first timestamp)`` is given, never snapped.

A short stream fits many rates (two frames fit any interval within two ticks); the more
frames, the narrower the range: 300 frames of 1 ms timestamps separate 15 from 15000/1001
(their intervals differ by 0.067 ms, 20 ms over 300 frames).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

#: How close (relative) a standard rate must be to FFmpeg's average for the average to
#: be read as that standard rate imprecisely stated (989/66 vs 15000/1001: 1e-5; FFmpeg's
#: estimate from 5 s of millisecond timestamps: ~1e-4). 14.9 or 24.5 are not snapped.
_NEAR = Fraction(1, 1000)
_NTSC = Fraction(1000, 1001)
#: Ticks this long or longer are "millisecond containers", where FFmpeg's average is only a
#: hint (step 1); finer ones (MP4's timescales, MPEG-TS's 90 kHz) state the rate themselves:
#: an MP4 whose timescale 2997 and durations of 100 say 29.97 keeps 29.97.
_COARSE = Fraction(1, 1000)


def _fit_rate(timing: tuple[Any, Fraction] | None,
              candidates: list[Fraction]) -> tuple[Fraction, str] | None:
    """(rate, how) from frame timestamps; None without two distinct timestamps.

    ``candidates``: FFmpeg's average first, then its guess. ``how`` is "declared" (a
    candidate), "standard" (a whole or NTSC rate), "simplest" (the simplest fraction),
    or, for a variable rate, the mean in words.
    """
    import numpy as np

    if timing is None:
        return None
    pts, tick = timing
    # Sorted and deduplicated by hand: np.unique asks numpy.ma whether the array is
    # masked, and importing numpy.ma costs a run with a video ~9 ms.
    t = np.sort(np.asarray(pts, dtype=np.int64))
    if len(t) > 1:
        t = t[np.concatenate(([True], t[1:] != t[:-1]))]
    n = len(t)
    if n < 2 or tick is None or tick <= 0:
        return None
    d = (t[1:] - t[0]).astype(np.float64)
    i = np.arange(1, n, dtype=np.float64)
    lo = max(float(((d - 1.0) / i).max()), 0.0)  # in ticks per frame
    hi = float(((d + 1.0) / i).min())
    if not 0 < lo <= hi:
        span = Fraction(int(t[-1] - t[0])) * tick
        mean = Fraction(n - 1) / span
        return mean, (f"{n - 1} frame intervals over {float(span):g} s from the first to the "
                      "last frame's timestamp")
    tick = Fraction(tick)

    def fits(rate: Fraction) -> bool:
        interval = float(1 / (rate * tick))
        return lo - 1e-9 <= interval <= hi + 1e-9

    slow = 1 / (Fraction(hi) * tick)
    fast = 1 / (Fraction(lo) * tick)
    hints = [Fraction(r) for r in candidates if r and r > 0]
    coarse = tick >= _COARSE  # too coarse to carry a rate FFmpeg states imprecisely
    for hint in hints:
        if fits(hint):
            near = [r for r in _standard_near(hint) if fits(r) and abs(r - hint) <= _NEAR * hint]
            if coarse and near and hint not in near:
                return min(near, key=lambda r: abs(r - hint)), "standard"
            return hint, "declared"
    centre = hints[0] if hints else (slow + fast) / 2
    inside = [r for r in _standard_near(centre, slow, fast) if fits(r)]
    if inside:
        return min(inside, key=lambda r: abs(r - centre)), "standard"
    return _simplest_between(slow, fast), "simplest"


def _standard_near(x: Fraction, slow: Fraction | None = None,
                   fast: Fraction | None = None) -> list[Fraction]:
    """The whole and NTSC (N x 1000/1001) rates nearest ``x`` on either side, and, given
    a range [slow, fast], the ones of each family nearest its ends (the nearest inside)."""
    points = [x] + [p for p in (slow, fast) if p is not None]
    out: set[Fraction] = set()
    for p in points:
        for scale in (Fraction(1), _NTSC):
            k = p / scale
            for whole in (math.floor(k), math.ceil(k)):
                if whole > 0:
                    out.add(whole * scale)
    if slow is not None and fast is not None:
        out = {r for r in out if slow <= r <= fast}
    return sorted(out)


def _simplest_between(lo: Fraction, hi: Fraction) -> Fraction:
    """The fraction with the smallest denominator in [lo, hi] (0 < lo <= hi)."""
    whole = lo.numerator // lo.denominator
    if lo == whole:
        return Fraction(whole)
    if whole + 1 <= hi:
        return Fraction(whole + 1)
    return whole + 1 / _simplest_between(1 / (hi - whole), 1 / (lo - whole))
