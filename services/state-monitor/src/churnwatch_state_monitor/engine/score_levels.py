"""Churn levels with hysteresis (the calibrated score's and the five states' floors) and alert
priority by customer value.

Split from ``scoring`` (module size); ``scoring`` re-exports every name, so callers are unchanged.
"""

from __future__ import annotations

from churnwatch_shared.alerts import Severity
from churnwatch_state_monitor.engine.limits import Limits
from churnwatch_state_monitor.engine.score_values import Scores
from churnwatch_state_monitor.engine.state import CustomerState

_SEVERITY_POINTS = {
    Severity.INFO: 15,
    Severity.WATCH: 35,
    Severity.WARNING: 60,
    Severity.CRITICAL: 80,
}
_TIER_VALUE = {
    "mass": 0.8,
    "gold": 0.95,
    "platinum": 1.05,
    "diamond": 1.15,
    "private_banking": 1.25,
}


def next_level(value: float, current: int, lim: Limits) -> int:
    """Churn level 0..3 with hysteresis: a level is left only well below its threshold."""
    up = state_level_in(value, lim)
    if up >= current:
        return up
    return min(current, state_level_in(value + lim.hysteresis, lim))


def churn_level(scores: Scores, current: int, lim: Limits) -> int:
    """The churn level: the calibrated score's, and at least the five states' composite's on the
    states' floors (a fitted model must not silence what the states see: money leaving, overdue
    loans, overdrafts), each with hysteresis."""
    level = next_level(scores.churn, current, lim)
    if lim.engagement is None or not scores.corroborated:
        return level
    watch, warning, critical = lim.state_floors
    value = scores.states
    up = (value >= watch) + (value >= warning) + (value >= critical)
    if up < current:
        value += lim.hysteresis
        up = min(current, (value >= watch) + (value >= warning) + (value >= critical))
    return max(level, up)


def state_level_in(value: float, lim: Limits) -> int:
    """Level of one score (no hysteresis: ``next_level`` adds it for the composite)."""
    level = 0
    if value >= lim.watch:
        level += 1
    if value >= lim.warning:
        level += 1
    if value >= lim.critical:
        level += 1
    return level


def state_level_of(value: float, lim: Limits) -> int:
    """Level of one of the five states' scores, on the states' own floors (no hysteresis)."""
    watch, warning, critical = lim.state_floors
    return (value >= watch) + (value >= warning) + (value >= critical)


def priority(*, severity: Severity, st: CustomerState) -> int:
    """Severity weighted by customer value: tier, and the scale of assets with the bank."""
    factor = _TIER_VALUE.get(st.tier or "mass", 0.9)
    assets = st.assets
    if assets >= 100_000_000:  # >= 1,000,000 CNY: ~10% of customers, most of the profit
        factor += 0.15
    elif assets < 1_000_000:  # < 10,000 CNY
        factor -= 0.1
    return int(max(0, min(100, round(_SEVERITY_POINTS[severity] * factor))))
