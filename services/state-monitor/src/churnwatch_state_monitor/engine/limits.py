"""The rule set's numbers as the per-event path reads them: one plain record per rule set.

``RuleSet`` (pydantic) validates the rules file; every event reads dozens of its thresholds, so they
are copied once into ``Limits`` (cents, seconds, flags) instead of walking the models each time.
"""

from __future__ import annotations

from typing import Final

from churnwatch_shared.alerts import Severity
from churnwatch_state_monitor.ruleset import RuleSet, derived

HOUR: Final = 3600


class Limits:
    """Thresholds of one rule set (immutable by convention, like the rule set)."""

    def __init__(self, rs: RuleSet) -> None:
        d, rules, churn = derived(rs), rs.rules, rs.churn
        self.rs = rs
        self.version: str = rs.version
        self.lateness: int = rs.lateness_hours * HOUR
        self.cooldown: int = rs.cooldown_hours * HOUR
        self.dedup_window: int = rs.dedup_window
        self.snapshot_every: int = rs.snapshot_every_events
        self.alpha: float = rs.ewma_alpha
        self.step: int = d.step  # silence grid (s)
        # tier -> (threshold, lower edge of the critical band), cents
        self.tier_floors: dict[str, tuple[int, int]] = d.tier_floors
        # churn levels and the composite
        self.watch: float = churn.levels.watch
        self.warning: float = churn.levels.warning
        self.critical: float = churn.levels.critical
        self.hysteresis: float = churn.hysteresis
        w = churn.weights
        self.w_scale: float = w.scale
        self.w_stability: float = w.stability
        self.w_risk: float = w.risk
        self.w_flow: float = w.account_flow
        self.w_usage: float = w.product_usage
        self.strongest: float = d.strongest
        self.weakest: float = d.weakest
        self.complaint_points: float = churn.complaint_points
        self.cancellation_points: float = churn.cancellation_points
        # account flow
        large, share = rules.large_interbank_outflow, rules.interbank_outflow_share
        self.large_on: bool = large.enabled
        self.large_min_amount: int = d.large_min_amount
        self.share_on: bool = share.enabled
        self.share_min_amount: int = d.share_min_amount
        self.min_transfers: int = share.min_transfers_30d
        self.rest_share: float = share.pattern_rest_share
        self.net_share: float = share.pattern_net_share
        pay = rules.payroll_missing
        self.payroll_on: bool = pay.enabled
        self.min_payrolls: int = pay.min_payrolls_seen
        self.grace_days: int = pay.grace_days
        # stability
        self.dormancy_on: bool = rules.dormancy.enabled
        self.dormant_days: int = rules.dormancy.dormant_days
        self.dormant: int = d.dormant  # seconds
        drop = rules.activity_drop
        self.drop_on: bool = drop.enabled
        self.drop_ratio: float = drop.drop_ratio
        self.drop_min_baseline: float = drop.min_baseline_per_week
        self.drop_warmup: int = drop.warmup_weeks
        decline = rules.sustained_decline
        self.decline_on: bool = decline.enabled
        self.decline_ratio: float = decline.decline_ratio
        self.normal_ratio: float = decline.normal_ratio
        self.decline_confirm: bool = decline.confirm
        self.decline_early: bool = decline.early_when_winding_down
        self.decline_min_baseline: float = decline.min_baseline_per_week
        self.decline_after: int = d.decline_after  # weeks before it can judge
        self.decline_severity: Severity = decline.severity

    def level_floor(self, level: int) -> float:
        """The churn score at which ``level`` (0..3) begins."""
        return (0.0, self.watch, self.warning, self.critical)[level]


_LIMITS: dict[int, Limits] = {}


def limits_of(rs: RuleSet) -> Limits:
    """The rule set's limits (built on first use; a rule set is immutable)."""
    found = _LIMITS.get(id(rs))
    if found is not None and found.rs is rs:
        return found
    if len(_LIMITS) >= 16:  # rule sets are few; tests build some: keep the newest
        _LIMITS.pop(next(iter(_LIMITS)))
    value = Limits(rs)
    _LIMITS[id(rs)] = value  # the record holds ``rs``: its id is not reused while cached
    return value
