"""The feature registry: name -> a function of the engine's per-customer state at an as-of time.

Every feature reads only the ``CustomerState`` the engine keeps (the five states) and the as-of
time, so the same function serves training (states sampled at as-of dates during a replay) and
scoring (the worker's and the backtest's states). Time-driven parts are judged at the as-of time,
not at the customer's newest event: a silent customer's idle days grow and their 30-day windows
empty as the as-of time moves on.

New features (e.g. the detection issue's engagement measures) are added with ``register``; a
model records the names it was trained on and refuses to load when one is missing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

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

NAN: Final = math.nan
_YUAN: Final = 100.0  # cents per currency unit: features are in whole units, as managers read them

FeatureFn = Callable[[CustomerState, int], float]


@dataclass(frozen=True, slots=True)
class Feature:
    """One model input: how to compute it and how to say it to a relationship manager."""

    name: str
    state: str  # scale | stability | risk | account_flow | product_usage | engagement
    label: str  # manager-readable, e.g. "customer transactions in the last 4 weeks"
    unit: str  # e.g. "CNY", "days", "a week", "" for counts
    fn: FeatureFn
    # the customer's own usual value of the same measure, when the state keeps one
    baseline: FeatureFn | None = None


REGISTRY: dict[str, Feature] = {}


def register(feature: Feature) -> Feature:
    """Add a feature to the registry (names are unique and stable: models refer to them)."""
    if feature.name in REGISTRY:
        raise ValueError(f"feature {feature.name!r} is already registered")
    REGISTRY[feature.name] = feature
    return feature


def feature_names() -> list[str]:
    """Every registered feature name, in registration order."""
    return list(REGISTRY)


def row(st: CustomerState, as_of: int, names: list[str]) -> list[float]:
    """The named features of one customer at ``as_of`` (epoch s); NaN where unknown."""
    # the built-in features in one pass (``feature_rows``: the same values as the functions)
    key = tuple(names)
    at = _COLUMNS.get(key)
    if at is None:
        at = _COLUMNS[key] = feature_rows.columns(names)
    return feature_rows.fused_row(st, as_of, names, at)


_COLUMNS: dict[tuple[str, ...], list[int]] = {}  # names -> their places in a fused row


# --- helpers over the state's 7-day buckets, relative to the as-of time -------------------------


def weeks_sum(st: CustomerState, as_of: int, column: int, weeks: int) -> int:
    """Sum of a bucket column over the ``weeks`` weeks ending with the as-of week (weeks after
    the customer's newest event count as empty: nothing happened in them)."""
    top = as_of // WEEK
    floor = top - weeks + 1
    return sum(r[column] for r in st.flow if floor <= r[B_WEEK] <= top)


def _stamps_90d(stamps: tuple[int, ...], as_of: int) -> float:
    return float(sum(1 for s in stamps if as_of - NINETY_DAYS <= s <= as_of))


def _days_since(stamp: int | None, as_of: int) -> float:
    return NAN if not stamp else max(0.0, (as_of - stamp) / DAY)


def _ratio(num: float, den: float) -> float:
    return NAN if den <= 0 else num / den


def _money(cents: float | None) -> float:
    return NAN if cents is None else cents / _YUAN


def _add(
    name: str,
    state: str,
    label: str,
    unit: str,
    fn: FeatureFn,
    baseline: FeatureFn | None = None,
) -> None:
    register(Feature(name=name, state=state, label=label, unit=unit, fn=fn, baseline=baseline))


# --- scale --------------------------------------------------------------------------------------
_add(
    "assets",
    "scale",
    "financial assets with the bank",
    "CNY",
    lambda s, t: _money(s.assets),
    lambda s, t: _money(s.assets_base),
)
_add("demand_deposits", "scale", "demand deposits", "CNY", lambda s, t: _money(s.demand))
_add("time_deposits", "scale", "time deposits", "CNY", lambda s, t: _money(s.time_dep))
_add("investments", "scale", "investments held", "CNY", lambda s, t: _money(s.invest))
_add("loans", "scale", "loan balance", "CNY", lambda s, t: _money(s.loans))
_add(
    "liquid_balance",
    "scale",
    "balance of the transacting account",
    "CNY",
    lambda s, t: _money(s.liquid),
    lambda s, t: _money(s.adb90) if s.adb_at else NAN,
)
_add(
    "adb_30d",
    "scale",
    "average daily balance, 30 days",
    "CNY",
    lambda s, t: _money(s.adb30) if s.adb_at else NAN,
    lambda s, t: _money(s.adb90) if s.adb_at else NAN,
)
_add(
    "assets_vs_baseline",
    "scale",
    "financial assets against their usual level",
    "x",
    lambda s, t: _ratio(s.assets, s.assets_base),
)
_add(
    "assets_vs_peak",
    "scale",
    "financial assets against their peak",
    "x",
    lambda s, t: _ratio(s.assets, s.peak_assets),
)

# --- stability ----------------------------------------------------------------------------------
_add(
    "txns_4w",
    "stability",
    "customer transactions in the last 4 weeks",
    "",
    lambda s, t: float(weeks_sum(s, t, B_ACTS, 4)),
    lambda s, t: 4 * s.act_mean if s.weeks else NAN,
)
_add(
    "txns_week_baseline",
    "stability",
    "usual customer transactions a week",
    "a week",
    lambda s, t: s.act_mean if s.weeks else NAN,
)
_add(
    "txns_4w_vs_baseline",
    "stability",
    "transactions in 4 weeks against the usual",
    "x",
    lambda s, t: _ratio(weeks_sum(s, t, B_ACTS, 4), 4 * s.act_mean) if s.weeks else NAN,
)
_add(
    "days_since_activity",
    "stability",
    "days since the customer's last own activity",
    "days",
    lambda s, t: _days_since(s.last_act, t),
)
_add(
    "days_since_event",
    "stability",
    "days since anything was seen",
    "days",
    lambda s, t: _days_since(s.newest, t),
)
_add(
    "tenure_days", "stability", "relationship length", "days", lambda s, t: _days_since(s.since, t)
)
_add(
    "moved_to_time_deposits",
    "stability",
    "moved into time deposits at the last snapshot",
    "CNY",
    lambda s, t: _money(s.time_shift),
)
_add(
    "complaints_90d",
    "stability",
    "complaints in 90 days",
    "",
    lambda s, t: _stamps_90d(s.complaints, t),
)
_add("open_complaints", "stability", "open complaints", "", lambda s, t: float(s.open_complaints))

# --- risk ---------------------------------------------------------------------------------------
_add("days_past_due", "risk", "days past due", "days", lambda s, t: float(s.dpd))
_add("overdue_amount", "risk", "overdue amount", "CNY", lambda s, t: _money(s.overdue))
_add("penalty_interest", "risk", "penalty interest", "CNY", lambda s, t: _money(s.penalty))
_add(
    "worst_classification",
    "risk",
    "worst loan classification (0 normal .. 4 loss)",
    "",
    lambda s, t: float(s.worst_class),
)
_add(
    "bounced_90d", "risk", "bounced payments in 90 days", "", lambda s, t: _stamps_90d(s.bounces, t)
)

# --- account flow -------------------------------------------------------------------------------
_add(
    "inflow_4w",
    "account_flow",
    "money in, last 4 weeks",
    "CNY",
    lambda s, t: _money(weeks_sum(s, t, B_IN, 4)),
)
_add(
    "outflow_4w",
    "account_flow",
    "money out, last 4 weeks",
    "CNY",
    lambda s, t: _money(weeks_sum(s, t, B_OUT, 4)),
)
_add(
    "interbank_out_4w",
    "account_flow",
    "paid to other banks, last 4 weeks",
    "CNY",
    lambda s, t: _money(weeks_sum(s, t, B_IB_OUT, 4)),
)
_add(
    "net_flow_share_4w",
    "account_flow",
    "net outflow as a share of liquid funds",
    "x",
    lambda s, t: _ratio(
        weeks_sum(s, t, B_OUT, 4) - weeks_sum(s, t, B_IN, 4), max(s.liquid or 0, 0) + s.demand
    ),
)
_add(
    "interbank_share_4w",
    "account_flow",
    "share of money out that went to other banks",
    "x",
    lambda s, t: _ratio(weeks_sum(s, t, B_IB_OUT, 4), weeks_sum(s, t, B_OUT, 4)),
)
_add(
    "payroll_gap_days",
    "account_flow",
    "usual days between salary credits",
    "days",
    lambda s, t: s.payroll_gap or NAN,
)
_add(
    "days_since_payroll",
    "account_flow",
    "days since the last salary credit",
    "days",
    lambda s, t: _days_since(s.payroll_last, t),
    lambda s, t: s.payroll_gap or NAN,
)

# --- product usage ------------------------------------------------------------------------------
_add("products", "product_usage", "products held", "", lambda s, t: float(s.products.bit_count()))
_add(
    "accounts_opened",
    "product_usage",
    "accounts opened (net of closures)",
    "",
    lambda s, t: float(s.accounts),
)
_add(
    "cancellations_90d",
    "product_usage",
    "cancellations and closures in 90 days",
    "",
    lambda s, t: _stamps_90d(s.cancels, t),
)
_add(
    "card_spend_4w",
    "product_usage",
    "card spending, last 4 weeks",
    "CNY",
    lambda s, t: _money(weeks_sum(s, t, B_CARD, 4)),
    lambda s, t: _money(4 * s.card_mean) if s.weeks else NAN,
)
_add(
    "online_txns_4w",
    "product_usage",
    "online transactions, last 4 weeks",
    "",
    lambda s, t: float(weeks_sum(s, t, B_ONLINE, 4)),
    lambda s, t: 4 * s.online_mean if s.weeks else NAN,
)

# --- engagement trend within the six weeks the state keeps --------------------------------------
_add(
    "txns_1w",
    "engagement",
    "customer transactions in the last week",
    "",
    lambda s, t: float(weeks_sum(s, t, B_ACTS, 1)),
    lambda s, t: s.act_mean if s.weeks else NAN,
)
_add(
    "txns_2w_vs_prior_4w",
    "engagement",
    "transactions in the last 2 weeks against the 4 weeks before (per week)",
    "x",
    lambda s, t: _ratio(
        weeks_sum(s, t, B_ACTS, 2) / 2,
        (weeks_sum(s, t, B_ACTS, 6) - weeks_sum(s, t, B_ACTS, 2)) / 4,
    ),
)
_add(
    "card_spend_4w_vs_baseline",
    "engagement",
    "card spending in 4 weeks against the usual",
    "x",
    lambda s, t: _ratio(weeks_sum(s, t, B_CARD, 4), 4 * s.card_mean) if s.weeks else NAN,
)
_add(
    "inflow_vs_outflow_4w",
    "engagement",
    "money in against money out, last 4 weeks",
    "x",
    lambda s, t: _ratio(weeks_sum(s, t, B_IN, 4), weeks_sum(s, t, B_OUT, 4)),
)

# the engagement measures over 30-day periods register themselves (a module of their own)
from churnwatch_state_monitor.model import engagement_features  # noqa: E402, F401, I001

# the one-pass rows of the built-in features (``row``), once they are all registered
from churnwatch_state_monitor.model import feature_rows  # noqa: E402
