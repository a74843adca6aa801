"""Every built-in feature of one customer in one pass: the same values as the registry's functions.

The registry (``features``, ``engagement_features``) computes a row feature by feature, each a
function of the state and the as-of time; that costs a call, a window lookup and often a fresh
sum per feature. Here the 7-day windows are summed in one pass over the buckets, the 30-day
periods are built once, and each value is the registry function's own expression on the same
operands in the same order, so every value is the same float (checked against the registry on
replays: tests/model/test_feature_rows.py). A feature registered later has no entry here and is
computed by its registry function.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from churnwatch_state_monitor.engine.buckets import (
    B_ACTS,
    B_CARD,
    B_IB_OUT,
    B_IN,
    B_ONLINE,
    B_OUT,
    B_WEEK,
    DAY,
    NINETY_DAYS,
    WEEK,
)
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model.engagement_features import (
    Periods,
    change_of,
    deficit_of,
    inactive_of,
    missed_of,
    ratio,
    trend_of,
)
from churnwatch_state_monitor.model.features import REGISTRY

NAN: Final = math.nan

# the built-in features in registration order: the order of ``fused`` values
FUSED: Final = (
    "assets",
    "demand_deposits",
    "time_deposits",
    "investments",
    "loans",
    "liquid_balance",
    "adb_30d",
    "assets_vs_baseline",
    "assets_vs_peak",
    "txns_4w",
    "txns_week_baseline",
    "txns_4w_vs_baseline",
    "days_since_activity",
    "days_since_event",
    "tenure_days",
    "moved_to_time_deposits",
    "complaints_90d",
    "open_complaints",
    "days_past_due",
    "overdue_amount",
    "penalty_interest",
    "worst_classification",
    "bounced_90d",
    "inflow_4w",
    "outflow_4w",
    "interbank_out_4w",
    "net_flow_share_4w",
    "interbank_share_4w",
    "payroll_gap_days",
    "days_since_payroll",
    "products",
    "accounts_opened",
    "cancellations_90d",
    "card_spend_4w",
    "online_txns_4w",
    "txns_1w",
    "txns_2w_vs_prior_4w",
    "card_spend_4w_vs_baseline",
    "inflow_vs_outflow_4w",
    "txns_month_3m",
    "txns_month_recent",
    "txns_last_month",
    "txns_month_usual",
    "txns_3m_vs_own",
    "txns_recent_vs_own",
    "amount_month_3m",
    "amount_3m_vs_own",
    "inactive_months_12",
    "txns_deficit",
    "txns_change_deviance",
    "missed_txns",
    "txns_trend_6m",
    "contacts_90d",
)
_AT: Final = {name: i for i, name in enumerate(FUSED)}


def _money(cents: float | None) -> float:
    return NAN if cents is None else cents / 100.0


def _ratio(num: float, den: float) -> float:
    return NAN if den <= 0 else num / den


def _days_since(stamp: int | None, as_of: int) -> float:
    return NAN if not stamp else max(0.0, (as_of - stamp) / DAY)


def _stamps_90d(stamps: tuple[int, ...], as_of: int) -> float:
    return float(sum(1 for s in stamps if as_of - NINETY_DAYS <= s <= as_of))


def fused(s: CustomerState, t: int) -> list[float]:
    """Every feature of ``FUSED`` for one customer at ``t`` (epoch s), in that order."""
    # 7-day windows ending with the as-of week (integer sums: the order does not matter)
    top = t // WEEK
    a1 = a2 = a4 = a6 = in4 = out4 = ib4 = card4 = on4 = 0
    for r in s.flow:
        age = top - r[B_WEEK]
        if age < 0 or age > 5:
            continue
        acts = r[B_ACTS]
        a6 += acts
        if age < 4:
            a4 += acts
            in4 += r[B_IN]
            out4 += r[B_OUT]
            ib4 += r[B_IB_OUT]
            card4 += r[B_CARD]
            on4 += r[B_ONLINE]
            if age < 2:
                a2 += acts
                if age < 1:
                    a1 += acts
    weeks = s.weeks
    adb_at = s.adb_at
    p = Periods(s, t)
    rate3 = p.rate(p.counts, 3)
    rate1 = p.rate(p.counts, 2)
    usual = p.usual(p.counts)
    amount3 = p.rate(p.amounts, 3)
    return [
        _money(s.assets),
        _money(s.demand),
        _money(s.time_dep),
        _money(s.invest),
        _money(s.loans),
        _money(s.liquid),
        _money(s.adb30) if adb_at else NAN,
        _ratio(s.assets, s.assets_base),
        _ratio(s.assets, s.peak_assets),
        float(a4),
        s.act_mean if weeks else NAN,
        _ratio(a4, 4 * s.act_mean) if weeks else NAN,
        _days_since(s.last_act, t),
        _days_since(s.newest, t),
        _days_since(s.since, t),
        _money(s.time_shift),
        _stamps_90d(s.complaints, t),
        float(s.open_complaints),
        float(s.dpd),
        _money(s.overdue),
        _money(s.penalty),
        float(s.worst_class),
        _stamps_90d(s.bounces, t),
        _money(in4),
        _money(out4),
        _money(ib4),
        _ratio(out4 - in4, max(s.liquid or 0, 0) + s.demand),
        _ratio(ib4, out4),
        s.payroll_gap or NAN,
        _days_since(s.payroll_last, t),
        float(s.products.bit_count()),
        float(s.accounts),
        _stamps_90d(s.cancels, t),
        _money(card4),
        float(on4),
        float(a1),
        _ratio(a2 / 2, (a6 - a2) / 4),
        _ratio(card4, 4 * s.card_mean) if weeks else NAN,
        _ratio(in4, out4),
        rate3,
        rate1,
        float(p.counts[1]) if p.complete >= 1 else NAN,
        usual,
        ratio(rate3, usual),
        ratio(rate1, usual),
        amount3,
        ratio(amount3, p.usual(p.amounts)),
        inactive_of(p),
        deficit_of(p),
        change_of(p),
        missed_of(usual, s.last_act, t),
        trend_of(p),
        float(sum(1 for c in s.contacts if t - NINETY_DAYS <= c <= t)),
    ]


def columns(names: list[str]) -> list[int]:
    """Where each name sits in a ``fused`` row (-1: not built in, the registry computes it)."""
    return [_AT.get(n, -1) for n in names]


def fused_row(st: CustomerState, as_of: int, names: list[str], at: list[int]) -> list[float]:
    """The named features (``at = columns(names)``) of one customer."""
    values = fused(st, as_of)
    return [
        values[i] if i >= 0 else REGISTRY[n].fn(st, as_of) for n, i in zip(names, at, strict=True)
    ]


def matrix(states: list[CustomerState], as_of: int, names: list[str]) -> np.ndarray:
    """The named features of many customers at one time, a float64 row per state."""
    out = np.empty((len(states), len(names)), dtype=np.float64)
    at = columns(names)
    if at == list(range(len(FUSED))):  # the usual case: every built-in feature, in order
        for i, st in enumerate(states):
            out[i] = fused(st, as_of)
    else:
        for i, st in enumerate(states):
            out[i] = fused_row(st, as_of, names, at)
    return out
