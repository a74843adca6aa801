"""Five state scores and the composite churn score (``score_with``, on every event).

Each state score is 0 (healthy) .. 100 (worst), from the customer's own baselines plus absolute
thresholds. The composite is the strongest state (share ``churn.strongest_share``) plus the weighted
mean of all five (rules file ``churn.weights``), so one state far gone raises the level on its own;
it adds points for each complaint and cancellation in 90 days, because so few unhappy customers
ever say so. The scores' record and its number helpers are in ``score_values``; levels with
hysteresis and alert priority in ``score_levels`` (both re-exported here).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Final

from churnwatch_shared.alerts import CustomerStateName
from churnwatch_state_monitor.engine.buckets import B_ACTS, B_WEEK, DAY
from churnwatch_state_monitor.engine.churn import LEVEL_SEVERITY as LEVEL_SEVERITY
from churnwatch_state_monitor.engine.churn import LEVELS as LEVELS
from churnwatch_state_monitor.engine.corroboration import engagement_points, sources
from churnwatch_state_monitor.engine.engagement import linear, probability, signals
from churnwatch_state_monitor.engine.limits import Limits
from churnwatch_state_monitor.engine.overdraft import (
    buffer_points,
    overdraft_points,
    overdraft_risk,
    overdrawn_points,
    penalty_points,
)
from churnwatch_state_monitor.engine.scale import band_in
from churnwatch_state_monitor.engine.score_levels import churn_level as churn_level
from churnwatch_state_monitor.engine.score_levels import next_level as next_level
from churnwatch_state_monitor.engine.score_levels import priority as priority
from churnwatch_state_monitor.engine.score_levels import state_level_in as state_level_in
from churnwatch_state_monitor.engine.score_levels import state_level_of as state_level_of
from churnwatch_state_monitor.engine.score_values import Scores as Scores
from churnwatch_state_monitor.engine.score_values import rounded as rounded
from churnwatch_state_monitor.engine.score_values import single_bit as single_bit
from churnwatch_state_monitor.engine.score_values import strongest as strongest
from churnwatch_state_monitor.engine.state import CustomerState

_CLASS_SCORE = (0, 40, 65, 85, 100)

# the states' floors (25 / 35 / 55 points) on the probability scale: the levels they had when the
# scale was introduced (30 / 45 / 65 %)
_STATES_ON_SCALE: Final[tuple[float, ...]] = (30.0, 45.0, 65.0)
_SCALE: Final = CustomerStateName.SCALE
_STABILITY: Final = CustomerStateName.STABILITY
_RISK: Final = CustomerStateName.RISK
_FLOW: Final = CustomerStateName.ACCOUNT_FLOW
_USAGE: Final = CustomerStateName.PRODUCT_USAGE
STATE_NAMES: Final = (_SCALE, _STABILITY, _RISK, _FLOW, _USAGE)  # the order of ``Scores.values``
# ``Scores.whole`` bits: the state's score is a fixed number of points, shown without decimals
_W_SCALE: Final = 1
_W_STABILITY: Final = 2
_W_RISK: Final = 4
_W_FLOW: Final = 8
_W_USAGE: Final = 16


def _clip(x: float) -> float:
    return 0.0 if x < 0 else 100.0 if x > 100 else x


def score_with(st: CustomerState, lim: Limits) -> Scores:
    """The five state scores and the composite churn score (this runs on every event).

    Each signal is clipped to 0..100 and, when above 0, recorded as a reason; each state takes its
    strongest signal (the first one on a tie).
    """
    reasons: list[tuple[str, CustomerStateName, float]] = []
    whole = 0

    # scale: assets against own baseline, tier band
    scale = 0.0
    if st.assets_base > 0:
        scale = _clip((1 - (st.demand + st.time_dep + st.invest) / st.assets_base) * 75)
        if scale > 0:
            reasons.append(("assets_below_baseline", _SCALE, scale))
    if st.tier:
        band = band_in(st, lim.band.tier_floors)
        if band == 2:
            reasons.append(("tier_lost", _SCALE, 80.0))
            if scale < 80:
                scale, whole = 80.0, whole | _W_SCALE
        elif band == 1:
            reasons.append(("tier_critical_band", _SCALE, 48.0))
            if scale < 48:
                scale, whole = 48.0, whole | _W_SCALE

    # stability: dormancy and activity against the weekly baseline (one quiet week is weak
    # evidence: holidays; weeks of decline without recovery are strong)
    stability = 0.0
    if st.last_act:
        stability = _clip((st.newest - st.last_act) / DAY / lim.dormancy.dormant_days * 70)
        if stability > 0:
            reasons.append(("dormant", _STABILITY, stability))
    weeks = st.weeks
    if weeks >= lim.drop.warmup_weeks and st.act_mean >= lim.drop.min_baseline:
        count, folded = 0, st.folded
        for row in st.flow:
            if row[B_WEEK] == folded:
                count = row[B_ACTS]
                break
        value = _clip((1 - count / st.act_mean) * 28)
        if value > 0:
            reasons.append(("activity_drop", _STABILITY, value))
        if value > stability:
            stability = value
    if weeks >= lim.decline.after and lim.decline.level(st):
        reasons.append(("sustained_decline", _STABILITY, 75.0))
        if stability < 75:
            stability, whole = 75.0, whole | _W_STABILITY

    # risk: days past due, classification, bounced payments
    risk = 0.0
    if st.dpd:
        risk = _clip(st.dpd / 90 * 80)
        if risk > 0:
            reasons.append(("loan_overdue", _RISK, risk))
    if st.worst_class:
        points = _CLASS_SCORE[st.worst_class]
        reasons.append(("loan_classification", _RISK, float(points)))
        if points > risk:
            risk, whole = float(points), whole | _W_RISK
    if st.bounces:
        points = st.recent(st.bounces) * 25
        value = 100.0 if points > 100 else float(points)  # clipped: no longer fixed points
        if value > 0:
            reasons.append(("payment_bounced", _RISK, value))
        if value > risk:
            risk = value
            whole = whole & ~_W_RISK if points > 100 else whole | _W_RISK
    # overdraft (issue 15): overdrawn now (longer is worse), penalty interest and repeated
    # overdraft episodes in 90 days are early credit risk, long before a loan is past due
    if st.overdrawn or st.pens or st.ods:
        value, fixed = overdraft_risk(st)
        if value > risk:
            risk = value
            whole = whole | _W_RISK if fixed else whole & ~_W_RISK
        if st.overdrawn:
            reasons.append(("overdrawn", _RISK, overdrawn_points(st)))
        if st.pens and st.within_year(st.pens):
            reasons.append(("overdraft_penalty_interest", _RISK, penalty_points(st)))
        if st.ods and st.within_year(st.ods):
            reasons.append(("overdrafts_12m", _RISK, overdraft_points(st)))
    # a thin buffer: the balance the account keeps falling to is small (mild, below overdraft)
    if st.low < lim.thin_buffer:
        value = buffer_points(st, lim.thin_buffer)
        if value > 0:
            reasons.append(("thin_buffer", _RISK, value))
            if value > risk:
                risk, whole = value, whole & ~_W_RISK

    # account flow: share of funds to other banks, net outflow, missing payroll
    flow = 0.0
    # corroborated within the state: money moving away in a pattern of transfers, or regular
    # income stopped while the customer goes on spending (a salary redirected elsewhere)
    redirected = False
    if st.flow:
        inflow, outflow, ib_out, transfers, largest = st.month_flow()
        funds = max(st.liquid or 0, 0)
        if ib_out:
            share = ib_out / (ib_out + funds)
            # one large transfer counts in part; repeated transfers are the pattern, and money
            # steadily moving away (not one big purchase, not a busy account) counts in full:
            # without the largest transfer still ``pattern_rest_share`` of the funds, and a
            # 30-day net outflow of ``pattern_net_share`` (largest is in whole units)
            need = lim.share.min_transfers
            seen = min(need, transfers)
            weight = 60 * seen / need
            if (
                seen >= need
                and ib_out - 100 * largest >= lim.share.rest_share * (ib_out + funds)
                and outflow - inflow >= lim.share.net_share * (outflow + funds)
            ):
                weight = 100.0
                redirected = share >= 0.25  # a pattern of transfers: several events agree
            flow = _clip(share * weight)
            if flow > 0:
                reasons.append(("interbank_outflow_share", _FLOW, flow))
        # net outflow as a share of the funds the customer had, once a 30-day window is known
        if outflow > inflow and st.liquid is not None and weeks >= 4:
            value = _clip((outflow - inflow) / (outflow + funds) * 50)
            if value > 0:
                reasons.append(("net_outflow", _FLOW, value))
            if value > flow:
                flow = value
    if st.payroll_gap and st.payroll_seen >= lim.payroll.min_payrolls:
        overdue_days = (st.newest - st.payroll_last) / DAY - st.payroll_gap
        if overdue_days > lim.payroll.grace_days:
            reasons.append(("payroll_missing", _FLOW, 70.0))
            redirected = redirected or st.last_act > st.payroll_last
            if flow < 70:
                flow, whole = 70.0, whole | _W_FLOW

    # product usage: cancellations, single-product relationship
    usage = 0.0
    cancels = st.recent(st.cancels) if st.cancels else 0
    if cancels:
        points = 40 + 20 * cancels
        usage = 100.0 if points > 100 else float(points)
        if points <= 100:
            whole |= _W_USAGE
        reasons.append(("product_cancelled", _USAGE, usage))
    if single_bit(st.products):
        reasons.append(("single_product", _USAGE, 30.0))
        if usage < 30:
            usage, whole = 30.0, whole | _W_USAGE

    mean = (
        lim.w_scale * scale
        + lim.w_stability * stability
        + lim.w_risk * risk
        + lim.w_flow * flow
        + lim.w_usage * usage
    )
    composite = lim.strongest * strongest(scale, stability, risk, flow, usage) + lim.weakest * mean
    complaints = st.recent(st.complaints) if st.complaints else 0
    if complaints:
        points_f = complaints * lim.complaint_points
        composite += points_f
        reasons.append(("complaint_filed", _STABILITY, _clip(points_f)))
    if cancels:
        composite += cancels * lim.cancellation_points
    churn = _clip(composite)
    eng = lim.engagement
    corroborated = True
    if eng is not None:  # the calibrated scale: engagement signals and the states in one model
        sig = signals(st, eng, lim.signals)
        z = linear(eng, sig, complaints=complaints, states=churn)
        churn_p = probability(z)
        # what the five states see (money leaving, overdue loans, overdrafts) also ranks: their
        # composite, carried onto the calibrated scale level for level, is a floor of the score,
        # but only when a second, independent source agrees: one noisy signal (a lump sum, a
        # life in overdraft, one complaint) does not make a churn warning on its own
        corroborated = sources(
            st, (scale, stability, flow), usage_signal=cancels > 0, sig=sig,
            engaged=engagement_points(eng, sig), complaints=complaints,
        ) + redirected >= 2  # fmt: skip
        churn = max(churn_p, _states_on_churn_scale(churn, lim)) if corroborated else churn_p
        # one reason for the fall against own history, a dip or a lasting one: its stronger part
        own = eng.w_own * sig.own
        lasting = eng.w_sustained * sig.sustained
        _engagement_reasons(reasons, max(lasting, own), "activity_below_own_history")
        _engagement_reasons(reasons, eng.w_amount * sig.amount, "spending_below_own_history")
        _engagement_reasons(reasons, eng.w_inactive * sig.inactive, "inactive_months")
        _engagement_reasons(reasons, eng.w_recency * sig.recency, "overdue_activity")
        _engagement_reasons(reasons, eng.w_peers * sig.peers, "activity_below_peers")
        _engagement_reasons(reasons, eng.w_contacts * sig.contacts, "customer_contacts")
    if len(reasons) > 1:
        reasons.sort(key=_points, reverse=True)
    return Scores(
        (scale, stability, risk, flow, usage),
        whole,
        rounded(churn, 1),
        reasons if len(reasons) <= 3 else reasons[:3],
        _clip(composite),
        corroborated,
    )


def _states_on_churn_scale(points: float, lim: Limits) -> float:
    """The five states' composite (points) on the churn score's scale, piecewise linear: each
    state floor (watch, warning, critical) lands on a fixed probability (``_STATES_ON_SCALE``),
    not on the churn levels, which are fitted on this score's distribution (carried onto them,
    every refit of the levels would move the score it was fitted on)."""
    lo, hi = 0.0, 0.0
    for floor, level in zip(lim.state_floors, _STATES_ON_SCALE, strict=True):
        if points < floor:
            return hi + (points - lo) * (level - hi) / (floor - lo) if floor > lo else hi
        lo, hi = floor, level
    return hi + (points - lo) * (100.0 - hi) / (100.0 - lo) if lo < 100.0 else 100.0


def _engagement_reasons(
    reasons: list[tuple[str, CustomerStateName, float]], contribution: float, code: str
) -> None:
    """An engagement signal's share of the linear score as a reason (points: 25 per unit)."""
    if contribution > 0.05:
        reasons.append((code, _STABILITY, _clip(contribution * 25)))


_points = itemgetter(2)
