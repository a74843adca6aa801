"""The rule set as the per-event path reads it: general settings and the registry of rules.

Built once per rule set by ``churnwatch_state_monitor.ruleset.limits_of`` from the validated
pydantic models (the rules' own thresholds live on the rule objects, see ``registry``). The
scores and the silence schedule read some rules' thresholds: typed references to those rules
are kept here, so that reading them is a native attribute access.
"""

from __future__ import annotations

from typing import Any, TypeVar

from churnwatch_state_monitor.engine.account_flow import (
    INTERBANK_OUTFLOW_SHARE,
    PAYROLL_MISSING,
    InterbankOutflowShare,
    PayrollMissing,
)
from churnwatch_state_monitor.engine.engagement import Engagement, Signals
from churnwatch_state_monitor.engine.registry import Registry
from churnwatch_state_monitor.engine.rules import Rule
from churnwatch_state_monitor.engine.scale import TIER_CRITICAL_BAND, TierCriticalBand
from churnwatch_state_monitor.engine.stability import (
    ACTIVITY_DROP,
    DORMANCY,
    SUSTAINED_DECLINE,
    ActivityDrop,
    Dormancy,
    SustainedDecline,
)

R = TypeVar("R", bound=Rule)


def _rule(registry: Registry, rule_id: str, kind: type[R]) -> R:
    rule = registry.by_id.get(rule_id)
    if not isinstance(rule, kind):
        raise ValueError(f"the rule set has no {rule_id} rule of type {kind.__name__}")
    return rule


class Limits:
    """Settings of one rule set (immutable by convention, like the rule set)."""

    def __init__(
        self,
        *,
        registry: Registry,
        version: str,
        lateness: int,
        cooldown: int,
        dedup_window: int,
        snapshot_every: int,
        alpha: float,
        step: int,
        levels: tuple[float, float, float],
        hysteresis: float,
        weights: tuple[float, float, float, float, float],
        strongest: float,
        complaint_points: float,
        cancellation_points: float,
        engagement: Engagement | None = None,
        currency: str = "CNY",
        refresh: int = 0,
        state_levels: tuple[float, float, float] | None = None,
        thin_buffer: int = 5000,
    ) -> None:
        self.registry = registry
        self.version = version
        self.lateness = lateness  # s
        self.cooldown = cooldown  # s
        self.dedup_window = dedup_window
        self.snapshot_every = snapshot_every
        self.alpha = alpha
        self.step = step  # silence grid (s)
        # churn levels and the composite
        self.watch, self.warning, self.critical = levels
        self.hysteresis = hysteresis
        # the five states' levels (their scores stay 0..100 points when the churn score is a
        # calibrated probability with its own levels; None: the churn levels, as before)
        self.state_floors = levels if state_levels is None else state_levels
        self.w_scale, self.w_stability, self.w_risk, self.w_flow, self.w_usage = weights
        self.strongest = strongest
        self.weakest = 1 - strongest
        self.complaint_points = complaint_points
        self.cancellation_points = cancellation_points
        # the calibrated scale (None: the composite of the five states is the score, as before)
        self.engagement = engagement
        self.currency = currency  # the reporting currency: every amount is in it (issue 15)
        self.refresh = refresh  # s between score refreshes of a silent customer (0: none)
        self.thin_buffer = thin_buffer  # whole units of the reporting currency (risk state)
        self.signals = Signals()  # refilled by every score: one Monitor thread uses a rule set
        # the rules whose thresholds the scores and the silence schedule read
        self.band = _rule(registry, TIER_CRITICAL_BAND, TierCriticalBand)
        self.dormancy = _rule(registry, DORMANCY, Dormancy)
        self.drop = _rule(registry, ACTIVITY_DROP, ActivityDrop)
        self.decline = _rule(registry, SUSTAINED_DECLINE, SustainedDecline)
        self.share = _rule(registry, INTERBANK_OUTFLOW_SHARE, InterbankOutflowShare)
        self.payroll = _rule(registry, PAYROLL_MISSING, PayrollMissing)

    def level_floor(self, level: int) -> float:
        """The churn score at which ``level`` (0..3) begins."""
        return (0.0, self.watch, self.warning, self.critical)[level]


def limits_of(rs: Any) -> Limits:
    """The records of a validated ``RuleSet`` (``ruleset.limits_of``: built once, then cached)."""
    # imported here: the config layer imports this module to build the records
    from churnwatch_state_monitor.ruleset import limits_of as build

    return build(rs)
