"""Five state scores, the composite churn score with hysteresis, and alert priority by value.

Each state score is 0 (healthy) .. 100 (worst), from the customer's own baselines plus absolute
thresholds. The composite is the strongest state (share ``churn.strongest_share``) plus the weighted
mean of all five (rules file ``churn.weights``), so one state far gone raises the level on its own;
it adds points for each complaint and cancellation in 90 days, because so few unhappy customers
ever say so.
"""

from __future__ import annotations

from dataclasses import dataclass

from churnwatch_shared.alerts import CustomerStateName, Severity

from churnwatch_state_monitor.rules import band_of, decline_level
from churnwatch_state_monitor.ruleset import RuleSet
from churnwatch_state_monitor.state import (
    B_ACTS,
    B_IB_MAX,
    B_IB_N,
    B_IB_OUT,
    B_IN,
    B_OUT,
    B_WEEK,
    DAY,
    CustomerState,
    cents,
)

LEVELS = ("normal", "watch", "warning", "critical")
LEVEL_SEVERITY = (Severity.INFO, Severity.WATCH, Severity.WARNING, Severity.CRITICAL)
_SEVERITY_POINTS = {Severity.INFO: 15, Severity.WATCH: 35, Severity.WARNING: 60, Severity.CRITICAL: 80}
_TIER_VALUE = {"mass": 0.8, "gold": 0.95, "platinum": 1.05, "diamond": 1.15, "private_banking": 1.25}
_CLASS_SCORE = (0, 40, 65, 85, 100)

S = CustomerStateName


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
    reasons: list[tuple[str, CustomerStateName, float]] = []

    def signal(code: str, state: CustomerStateName, value: float) -> float:
        value = _clip(value)
        if value > 0:
            reasons.append((code, state, value))
        return value

    # scale: assets against own baseline, tier band
    scale = 0.0
    if st.assets_base > 0:
        drop = 1 - st.assets / st.assets_base
        scale = signal("assets_below_baseline", S.SCALE, drop * 75)
    band = band_of(st, rs) if st.tier else 0
    if band == 2:
        scale = max(scale, signal("tier_lost", S.SCALE, 80))
    elif band == 1:
        scale = max(scale, signal("tier_critical_band", S.SCALE, 48))

    # stability: dormancy and activity against the weekly baseline (one quiet week is weak
    # evidence: holidays; weeks of decline without recovery are strong)
    stability = 0.0
    if st.last_act:
        idle = (st.newest - st.last_act) / DAY
        stability = signal(
            "dormant", S.STABILITY, idle / rs.rules.dormancy.dormant_days * 70
        )
    drop_cfg = rs.rules.activity_drop
    if st.weeks >= drop_cfg.warmup_weeks and st.act_mean >= drop_cfg.min_baseline_per_week:
        last_week = next((r for r in st.flow if r[B_WEEK] == st.folded), None)
        count = last_week[B_ACTS] if last_week else 0
        ratio = count / st.act_mean
        stability = max(stability, signal("activity_drop", S.STABILITY, (1 - ratio) * 28))
    if st.weeks >= rs.rules.sustained_decline.warmup_weeks + 4 and decline_level(st, rs):
        stability = max(stability, signal("sustained_decline", S.STABILITY, 75))

    # risk: days past due, classification, bounced payments
    risk = max(
        signal("loan_overdue", S.RISK, st.dpd / 90 * 80) if st.dpd else 0.0,
        signal("loan_classification", S.RISK, _CLASS_SCORE[st.worst_class])
        if st.worst_class else 0.0,
        signal("payment_bounced", S.RISK, st.recent(st.bounces) * 25) if st.bounces else 0.0,
    )

    # account flow: share of funds to other banks, net outflow, missing payroll
    flow = 0.0
    if st.flow:
        ib_out = st.window(column=B_IB_OUT, buckets=5)
        if ib_out:
            share = ib_out / (ib_out + max(st.liquid or 0, 0))
            # one large transfer counts in part; repeated transfers are the pattern, and money
            # steadily moving away (not one big purchase, not a busy account) counts in full
            cfg = rs.rules.interbank_outflow_share
            need = cfg.min_transfers_30d
            seen = min(need, st.window(column=B_IB_N, buckets=5))
            weight = 60 * seen / need
            if seen >= need and _moving_away(st, ib_out=ib_out, rs=rs):
                weight = 100
            flow = signal("interbank_outflow_share", S.ACCOUNT_FLOW, share * weight)
        inflow = st.window(column=B_IN, buckets=5)
        outflow = st.window(column=B_OUT, buckets=5)
        # net outflow as a share of the funds the customer had, once a 30-day window is known
        if outflow > inflow and st.liquid is not None and st.weeks >= 4:
            net = (outflow - inflow) / (outflow + max(st.liquid or 0, 0))
            flow = max(flow, signal("net_outflow", S.ACCOUNT_FLOW, net * 50))
    pay = rs.rules.payroll_missing
    if st.payroll_seen >= pay.min_payrolls_seen and st.payroll_gap:
        overdue_days = (st.newest - st.payroll_last) / DAY - st.payroll_gap
        if overdue_days > pay.grace_days:
            flow = max(flow, signal("payroll_missing", S.ACCOUNT_FLOW, 70))

    # product usage: cancellations, single-product relationship
    usage = 0.0
    cancels = st.recent(st.cancels) if st.cancels else 0
    if cancels:
        usage = signal("product_cancelled", S.PRODUCT_USAGE, 40 + 20 * cancels)
    if st.product_count() == 1:
        usage = max(usage, signal("single_product", S.PRODUCT_USAGE, 30))

    states = {S.SCALE: scale, S.STABILITY: stability, S.RISK: risk,
              S.ACCOUNT_FLOW: flow, S.PRODUCT_USAGE: usage}
    w = rs.churn.weights
    mean = (w.scale * scale + w.stability * stability + w.risk * risk
            + w.account_flow * flow + w.product_usage * usage)
    k = rs.churn.strongest_share
    composite = k * max(scale, stability, risk, flow, usage) + (1 - k) * mean
    complaints = st.recent(st.complaints) if st.complaints else 0
    if complaints:
        points = complaints * rs.churn.complaint_points
        composite += points
        reasons.append(("complaint_filed", S.STABILITY, _clip(points)))
    if cancels:
        composite += cancels * rs.churn.cancellation_points
    reasons.sort(key=lambda r: r[2], reverse=True)
    return Scores(states=states, churn=round(_clip(composite), 1), reasons=reasons[:3])


def _moving_away(st: CustomerState, *, ib_out: int, rs: RuleSet) -> bool:
    """Repeated transfers to other banks that drain the account: without the largest transfer
    still ``pattern_rest_share`` of the funds, and a 30-day net outflow of ``pattern_net_share``."""
    cfg = rs.rules.interbank_outflow_share
    funds = ib_out + max(st.liquid or 0, 0)
    rest = ib_out - 100 * st.window_max(column=B_IB_MAX, buckets=5)  # column in whole units
    if rest < cfg.pattern_rest_share * funds:
        return False
    inflow = st.window(column=B_IN, buckets=5)
    outflow = st.window(column=B_OUT, buckets=5)
    return outflow - inflow >= cfg.pattern_net_share * (outflow + max(st.liquid or 0, 0))


def level_for(*, score_value: float, current: int, rs: RuleSet) -> int:
    """Churn level 0..3 with hysteresis: a level is left only well below its threshold."""
    cfg = rs.churn.levels
    thresholds = (cfg.watch, cfg.warning, cfg.critical)

    def raw(value: float) -> int:
        return sum(1 for t in thresholds if value >= t)

    up = raw(score_value)
    if up >= current:
        return up
    return min(current, raw(score_value + rs.churn.hysteresis))


def state_level(value: float, rs: RuleSet) -> int:
    """Level of one state score (no hysteresis: the composite carries it)."""
    cfg = rs.churn.levels
    return sum(1 for t in (cfg.watch, cfg.warning, cfg.critical) if value >= t)


def priority(*, severity: Severity, st: CustomerState) -> int:
    """Severity weighted by customer value: tier, and the scale of assets with the bank."""
    factor = _TIER_VALUE.get(st.tier or "mass", 0.9)
    assets = st.assets
    if assets >= 100_000_000:  # >= 1,000,000 CNY: ~10% of customers, most of the profit
        factor += 0.15
    elif assets < 1_000_000:  # < 10,000 CNY
        factor -= 0.1
    return int(max(0, min(100, round(_SEVERITY_POINTS[severity] * factor))))
