"""The scores' record (``Scores``) and the exact number helpers it, the score and the snapshot use.

Split from ``scoring`` (module size); ``scoring`` re-exports every name, so callers are unchanged.
"""

from __future__ import annotations

import math
from typing import Final

from churnwatch_shared.alerts import CustomerStateName

# ``rounded``: the decimal scales it computes itself (each exact), the products it trusts (their
# error is at most 2**-14 below 2**40) and how far from a half they must be (far beyond that error).
# Typed ``tuple[float, ...]``: as a fixed five-float tuple mypyc 2.4.1 miscompiles the Final (its
# "value was not set" check fires on every read).
_SCALES: Final[tuple[float, ...]] = (1.0, 10.0, 100.0, 1000.0, 10000.0)
_PRODUCT_BELOW: Final = 2.0**40
_HALF_MARGIN: Final = 2.0**-10


class Scores:
    """Per-state scores, the composite and the top reason codes behind it."""

    __slots__ = ("churn", "corroborated", "reasons", "states", "values", "whole")

    def __init__(
        self,
        values: tuple[float, float, float, float, float],
        whole: int,
        churn: float,
        reasons: list[tuple[str, CustomerStateName, float]],
        states: float = 0.0,
        corroborated: bool = True,
    ) -> None:
        self.values = values  # scale, stability, risk, account flow, product usage
        self.whole = whole  # bit i: values[i] came from fixed points (an integer in snapshots)
        self.churn = churn
        self.reasons = reasons  # (code, state, points), best first
        self.states = states  # the five states' composite (points 0..100; the score without
        # a calibrated scale)
        self.corroborated = (
            corroborated  # the states' composite may set the level (``churn_level``)
        )

    def shown(self, i: int) -> object:
        """State ``i``'s score as the snapshot shows it (one decimal, fixed points as integers)."""
        value = self.values[i]
        if self.whole >> i & 1:
            return int(value)
        return rounded(value, 1)


def rounded(value: float, digits: int) -> float:
    """``round(value, digits)``, the same float, at a fraction of the cost.

    Most scores and baselines are zero, returned as they are (either sign). Otherwise ``round``
    rounds the exact decimal value half-to-even and converts the decimal back, correctly rounded;
    that conversion costs more than the rest of a score. When ``value * 10**digits`` lies well
    away from a half, its nearest integer n is the one ``round`` finds, and the IEEE quotient
    n / 10**digits is the double nearest to that decimal: the same result. Near a half (a
    possible tie), for large or non-finite values, and for other digit counts: ``round`` itself.
    """
    if value == 0.0:
        return value
    if 0 <= digits < len(_SCALES):
        scale = _SCALES[digits]
        scaled = value * scale
        if -_PRODUCT_BELOW < scaled < _PRODUCT_BELOW:
            whole = float(math.floor(scaled))
            fraction = scaled - whole
            if abs(fraction - 0.5) > _HALF_MARGIN:
                nearest = whole if fraction < 0.5 else whole + 1.0
                if nearest == 0.0:  # round keeps the sign of a value that rounds to zero
                    return math.copysign(0.0, value)
                return nearest / scale
    return round(value, digits)


def strongest(scale: float, stability: float, risk: float, flow: float, usage: float) -> float:
    """``max`` of the five state scores, taken in pairs: compiled, a two-argument ``max`` of floats
    is one comparison (the same one the builtin makes), while the five-argument builtin boxes the
    floats and calls through Python."""
    best = max(scale, stability)
    best = max(best, risk)
    best = max(best, flow)
    return max(best, usage)


def single_bit(mask: int) -> bool:
    """``mask.bit_count() == 1`` (one product held) without a method call on the integer."""
    if mask < 0:
        mask = -mask  # bit_count counts the bits of the absolute value
    return mask != 0 and mask & (mask - 1) == 0
