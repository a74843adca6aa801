"""Five state scores, the composite churn score with hysteresis, and alert priority by value.

Each state score is 0 (healthy) .. 100 (worst), from the customer's own baselines plus absolute
thresholds. The composite is the strongest state (share ``churn.strongest_share``) plus the weighted
mean of all five (rules file ``churn.weights``), so one state far gone raises the level on its own;
it adds points for each complaint and cancellation in 90 days, because so few unhappy customers
ever say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

from churnwatch_shared.alerts import CustomerStateName, Severity

from churnwatch_state_monitor.rules import band_in, decline_level
from churnwatch_state_monitor.ruleset import Derived, RuleSet, derived
from churnwatch_state_monitor.state import B_ACTS, B_WEEK, DAY, CustomerState

LEVELS = ("normal", "watch", "warning", "critical")
LEVEL_SEVERITY = (Severity.INFO, Severity.WATCH, Severity.WARNING, Severity.CRITICAL)
_SEVERITY_POINTS = {Severity.INFO: 15, Severity.WATCH: 35, Severity.WARNING: 60, Severity.CRITICAL: 80}
_TIER_VALUE = {"mass": 0.8, "gold": 0.95, "platinum": 1.05, "diamond": 1.15, "private_banking": 1.25}
_CLASS_SCORE = (0, 40, 65, 85, 100)

S = CustomerStateName
_SCALE, _STABILITY, _RISK = S.SCALE, S.STABILITY, S.RISK
_FLOW, _USAGE = S.ACCOUNT_FLOW, S.PRODUCT_USAGE


@dataclass(slots=True)
class Scores:
    """Per-state scores, the composite and the top reason codes behind it."""

    states: dict[CustomerStateName, float]
    churn: float
    reasons: list[tuple[str, CustomerStateName, float]]  # (code, state, points), best first


def _clip(x: float) -> float:
    return 0.0 if x < 0 else 100.0 if x > 100 else x


def score(st: CustomerState, rs: RuleSet) -> Scores:
    """Compute the five state scores and the composite churn score for the customer."""
    return score_with(st, rs, derived(rs))


def score_with(st: CustomerState, rs: RuleSet, d: Derived) -> Scores:
    """``score`` with the rule set's derived numbers at hand (this runs on every event).

    Each signal is clipped to 0..100 and, when above 0, recorded as a reason; each state takes its
    strongest signal (the first one on a tie).
    """
    reasons: list[tuple[str, CustomerStateName, float]] = []
    add = reasons.append

    # scale: assets against own baseline, tier band
    scale = 0.0
    if st.assets_base > 0:
        x = (1 - (st.demand + st.time_dep + st.invest) / st.assets_base) * 75
        scale = 0.0 if x < 0 else 100.0 if x > 100 else x
        if scale > 0:
            add(("assets_below_baseline", _SCALE, scale))
    if st.tier:
        band = band_in(st, d.tier_floors)
        if band == 2:
            add(("tier_lost", _SCALE, 80))
            if 80 > scale:
                scale = 80
        elif band == 1:
            add(("tier_critical_band", _SCALE, 48))
            if 48 > scale:
                scale = 48

    # stability: dormancy and activity against the weekly baseline (one quiet week is weak
    # evidence: holidays; weeks of decline without recovery are strong)
    stability = 0.0
    if st.last_act:
        x = (st.newest - st.last_act) / DAY / d.dormant_days * 70
        stability = 0.0 if x < 0 else 100.0 if x > 100 else x
        if stability > 0:
            add(("dormant", _STABILITY, stability))
    weeks = st.weeks
    if weeks >= d.drop_warmup and st.act_mean >= d.drop_min_baseline:
        count, folded = 0, st.folded
        for row in st.flow:
            if row[B_WEEK] == folded:
                count = row[B_ACTS]
                break
        x = (1 - count / st.act_mean) * 28
        value = 0.0 if x < 0 else 100.0 if x > 100 else x
        if value > 0:
            add(("activity_drop", _STABILITY, value))
        if value > stability:
            stability = value
    if weeks >= d.decline_after and decline_level(st, rs):
        add(("sustained_decline", _STABILITY, 75))
        if 75 > stability:
            stability = 75

    # risk: days past due, classification, bounced payments
    risk = 0.0
    if st.dpd:
        x = st.dpd / 90 * 80
        risk = 0.0 if x < 0 else 100.0 if x > 100 else x
        if risk > 0:
            add(("loan_overdue", _RISK, risk))
    if st.worst_class:
        value = _CLASS_SCORE[st.worst_class]
        add(("loan_classification", _RISK, value))
        if value > risk:
            risk = value
    if st.bounces:
        x = st.recent(st.bounces) * 25
        value = 0.0 if x < 0 else 100.0 if x > 100 else x
        if value > 0:
            add(("payment_bounced", _RISK, value))
        if value > risk:
            risk = value

    # account flow: share of funds to other banks, net outflow, missing payroll
    flow = 0.0
    if st.flow:
        inflow, outflow, ib_out, transfers, largest = st.month_flow()
        funds = max(st.liquid or 0, 0)
        if ib_out:
            share = ib_out / (ib_out + funds)
            # one large transfer counts in part; repeated transfers are the pattern, and money
            # steadily moving away (not one big purchase, not a busy account) counts in full:
            # without the largest transfer still ``pattern_rest_share`` of the funds, and a
            # 30-day net outflow of ``pattern_net_share`` (largest is in whole units)
            need = d.min_transfers
            seen = min(need, transfers)
            weight = 60 * seen / need
            if (seen >= need and ib_out - 100 * largest >= d.rest_share * (ib_out + funds)
                    and outflow - inflow >= d.net_share * (outflow + funds)):
                weight = 100
            x = share * weight
            flow = 0.0 if x < 0 else 100.0 if x > 100 else x
            if flow > 0:
                add(("interbank_outflow_share", _FLOW, flow))
        # net outflow as a share of the funds the customer had, once a 30-day window is known
        if outflow > inflow and st.liquid is not None and weeks >= 4:
            x = (outflow - inflow) / (outflow + funds) * 50
            value = 0.0 if x < 0 else 100.0 if x > 100 else x
            if value > 0:
                add(("net_outflow", _FLOW, value))
            if value > flow:
                flow = value
    if st.payroll_gap and st.payroll_seen >= d.min_payrolls:
        overdue_days = (st.newest - st.payroll_last) / DAY - st.payroll_gap
        if overdue_days > d.grace_days:
            add(("payroll_missing", _FLOW, 70))
            if 70 > flow:
                flow = 70

    # product usage: cancellations, single-product relationship
    usage = 0.0
    cancels = st.recent(st.cancels) if st.cancels else 0
    if cancels:
        x = 40 + 20 * cancels
        usage = 100.0 if x > 100 else x
        add(("product_cancelled", _USAGE, usage))
    if st.products.bit_count() == 1:
        add(("single_product", _USAGE, 30))
        if 30 > usage:
            usage = 30

    w_scale, w_stability, w_risk, w_flow, w_usage = d.weights
    mean = (w_scale * scale + w_stability * stability + w_risk * risk
            + w_flow * flow + w_usage * usage)
    composite = d.strongest * max(scale, stability, risk, flow, usage) + d.weakest * mean
    complaints = st.recent(st.complaints) if st.complaints else 0
    if complaints:
        points = complaints * d.complaint_points
        composite += points
        add(("complaint_filed", _STABILITY, _clip(points)))
    if cancels:
        composite += cancels * d.cancellation_points
    if len(reasons) > 1:
        reasons.sort(key=_points, reverse=True)
    return Scores(  # states, churn, reasons
        {_SCALE: scale, _STABILITY: stability, _RISK: risk, _FLOW: flow, _USAGE: usage},
        round(0.0 if composite < 0 else 100.0 if composite > 100 else composite, 1),
        reasons if len(reasons) <= 3 else reasons[:3],
    )


_points = itemgetter(2)


def level_for(*, score_value: float, current: int, rs: RuleSet) -> int:
    """Churn level 0..3 with hysteresis: a level is left only well below its threshold."""
    d = derived(rs)
    return next_level(score_value, current, d.levels, d.hysteresis)


def next_level(value: float, current: int, levels: tuple[float, float, float],
               hysteresis: float) -> int:
    """``level_for`` with the rule set's thresholds (watch, warning, critical) at hand."""
    watch, warning, critical = levels
    up = (value >= watch) + (value >= warning) + (value >= critical)
    if up >= current:
        return up
    value += hysteresis
    return min(current, (value >= watch) + (value >= warning) + (value >= critical))


def state_level(value: float, rs: RuleSet) -> int:
    """Level of one state score (no hysteresis: the composite carries it)."""
    watch, warning, critical = derived(rs).levels
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
