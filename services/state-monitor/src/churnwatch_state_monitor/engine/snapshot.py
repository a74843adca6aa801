"""The CustomerStateSnapshot record: the customer's five states, their metrics and scores.

Built as plain data and serialised with orjson (no pydantic on the hot path); the shape is the
``churnwatch_shared.customer_state`` contract.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from churnwatch_state_monitor.engine.buckets import B_IB_OUT, DAY
from churnwatch_state_monitor.engine.engagement import clock
from churnwatch_state_monitor.engine.facts import TWO_DIGITS, money_str
from churnwatch_state_monitor.engine.limits import Limits
from churnwatch_state_monitor.engine.scoring import (
    LEVELS,
    STATE_NAMES,
    Scores,
    rounded,
    state_level_of,
)
from churnwatch_state_monitor.engine.state import CLASS_RANK, CustomerState

_CLASS_NAMES: Final = tuple(CLASS_RANK)  # rank -> classification
_STATE_KEYS: Final = tuple(name.value for name in STATE_NAMES)  # in ``Scores.values`` order
_DATES: Final[dict[int, str]] = {}  # day number since the epoch -> "YYYY-MM-DDT"
_DATES_KEPT: Final = 4096


def utc_iso(stamp: int) -> str:
    """``datetime.fromtimestamp(stamp, UTC).isoformat()`` (the date part kept per day)."""
    day, second = divmod(stamp, DAY)
    date = _DATES.get(day)
    if date is None:
        if len(_DATES) >= _DATES_KEPT:
            _DATES.clear()
        date = datetime.fromtimestamp(day * DAY, UTC).date().isoformat() + "T"
        _DATES[day] = date
    minutes = second // 60
    return (
        f"{date}{TWO_DIGITS[minutes // 60]}:{TWO_DIGITS[minutes % 60]}:"
        f"{TWO_DIGITS[second % 60]}+00:00"
    )  # one f-string: built at once, compiled


def snapshot_dict(
    customer_id: str, st: CustomerState, scores: Scores, lim: Limits
) -> dict[str, Any]:
    """The CustomerStateSnapshot as plain data."""
    now = clock(st)  # the newest event, or a later silence tick that refreshed the score
    idle = (now - st.last_act) // DAY if st.last_act else None
    inflow, outflow, ib_out, _, _ = st.month_flow()
    products = st.products.bit_count()
    liquid = st.liquid
    penalties = st.recent(st.pens) if st.pens else 0
    metrics = (
        {  # scale
            "deposits_demand": money_str(st.demand),
            "deposits_time": money_str(st.time_dep),
            "loans": money_str(st.loans),
            "investments": money_str(st.invest),
            "financial_assets": money_str(st.assets),
            "adb_30d": money_str(int(st.adb30)),
            "adb_90d": money_str(int(st.adb90)),
            "assets_baseline": money_str(int(st.assets_base)),
            "tier": st.tier,
            "currency": lim.currency,  # of every amount here (the reporting currency)
            "amounts_without_fx_rate": st.nofx,  # left out of the sums: no rate configured
        },
        {  # stability
            "txns_week_baseline": rounded(st.act_mean, 2),
            "days_since_activity": idle,
            "moved_to_time_deposits": money_str(st.time_shift),
            "tenure_days": (st.newest - st.since) // DAY if st.since else None,
            "complaints_90d": st.recent(st.complaints),
            "open_complaints": st.open_complaints,
        },
        {  # risk
            "days_past_due": st.dpd,
            "overdue_amount": money_str(st.overdue),
            "penalty_interest": money_str(st.penalty),
            "worst_classification": _CLASS_NAMES[st.worst_class],
            "bounced_90d": st.recent(st.bounces),
            "overdrawn_days": (now - st.overdrawn) // DAY if st.overdrawn else 0,
            "negative_balance": money_str(liquid if liquid is not None and liquid < 0 else 0),
            "overdraft_limit": money_str(st.od_limit),
            "overdrafts_12m": st.within_year(st.ods) if st.ods else 0,
            "overdraft_penalties_90d": penalties,
            "overdraft_penalties_12m": st.within_year(st.pens) if st.pens else 0,
            "overdraft_penalty_interest_90d": money_str(st.pen_od if penalties else 0),
            # the funds balance's low-water mark (whole units; None: no balance known yet)
            "balance_low_water": None if liquid is None else money_str(st.low * 100),
            "currency": lim.currency,
        },
        {  # account flow
            "inflow_30d": money_str(inflow),
            "outflow_30d": money_str(outflow),
            "interbank_outflow_7d": money_str(st.window(column=B_IB_OUT, buckets=1)),
            "interbank_outflow_30d": money_str(ib_out),
            "payroll_gap_days": rounded(st.payroll_gap, 1) if st.payroll_gap else None,
            "currency": lim.currency,
        },
        {  # product usage
            "active_products": products,
            "cancellations_90d": st.recent(st.cancels),
            "single_product": products == 1,
            "card_spend_week_baseline": money_str(int(st.card_mean)),
            "online_txns_week_baseline": rounded(st.online_mean, 2),
        },
    )
    states: dict[str, Any] = {}
    for i in range(5):  # a state's level on the states' floors (no hysteresis)
        states[_STATE_KEYS[i]] = {
            "level": LEVELS[state_level_of(scores.values[i], lim)],
            "score": scores.shown(i),
            "metrics": metrics[i],
        }
    return {
        "customer_id": customer_id,
        "as_of": utc_iso(now),
        "churn_score": st.churn,
        "churn_level": LEVELS[st.level],
        "ruleset_version": lim.version,
        "tier": st.tier,
        "segment": st.segment,
        "branch_id": st.branch,
        "events_applied": st.events,
        "states": states,
    }
