"""Engagement features over the engine's 30-day periods, judged at the as-of time."""

from __future__ import annotations

import math

from churnwatch_state_monitor.engine.buckets import DAY
from churnwatch_state_monitor.engine.state import MONTH, CustomerState
from churnwatch_state_monitor.model.features import REGISTRY, row

NAMES = [
    "txns_month_3m",
    "txns_month_recent",
    "txns_last_month",
    "txns_month_usual",
    "txns_3m_vs_own",
    "inactive_months_12",
    "txns_deficit",
    "missed_txns",
    "txns_trend_6m",
    "contacts_90d",
]
P = 700  # the newest stored period


def _fading() -> CustomerState:
    """Ten transactions a period for nine periods, then 6, 3, 1 (the newest, period P)."""
    st = CustomerState()
    st.mtx = [10] * 9 + [6, 3, 1]
    st.mamt = [1_000] * 9 + [600, 300, 100]
    st.mon, st.mfirst = P, P - 11
    st.newest = st.last_act = P * MONTH + 10 * DAY
    st.events = 200
    st.contacts = (st.newest - 100 * DAY, st.newest - 5 * DAY)
    return st


def test_a_fading_customer_against_their_own_months() -> None:
    st = _fading()
    at = P * MONTH + 15 * DAY  # half of period P elapsed
    f = dict(zip(NAMES, row(st, at, NAMES), strict=True))
    assert f["txns_last_month"] == 3
    assert f["txns_month_usual"] == 10  # the nine periods 3..11 back
    assert math.isclose(f["txns_month_3m"], (1 + 3 + 6) / 2.5)
    assert f["txns_3m_vs_own"] < 0.5 and f["txns_deficit"] < -3
    assert f["txns_trend_6m"] < -0.1
    assert f["inactive_months_12"] == 0
    assert math.isclose(f["missed_txns"], 10 / 30 * 5)
    assert f["contacts_90d"] == 1  # the one 100 days back is outside


def test_silence_after_the_newest_event_counts_at_the_as_of_time() -> None:
    st = _fading()
    later = (P + 3) * MONTH + 15 * DAY  # three whole periods without any activity
    f = dict(zip(NAMES, row(st, later, NAMES), strict=True))
    assert f["txns_last_month"] == 0 and f["inactive_months_12"] == 2
    assert f["txns_month_3m"] == 0 and f["missed_txns"] > 20  # 95 idle days at 8 a month


def test_no_history_gives_unknown_not_zero() -> None:
    f = dict(zip(NAMES, row(CustomerState(), P * MONTH, NAMES), strict=True))
    assert math.isnan(f["txns_month_usual"]) and math.isnan(f["txns_3m_vs_own"])
    assert REGISTRY["txns_last_month"].baseline is not None  # worded with the usual


def test_the_first_period_is_partial_and_not_a_usual_month() -> None:
    """A steady customer (ten a period) whose history began two thirds into the first period:
    that period holds only the last third's activity, so it is neither their usual month nor a
    downward step of a trend (it made every steady customer look 'above their usual' and
    'rising', by how many periods the history had)."""
    st = CustomerState()
    st.mtx = [3] + [10] * 6
    st.mamt = [300] + [1_000] * 6
    st.mon, st.mfirst = P, P - 6
    st.newest = st.last_act = P * MONTH + 14 * DAY
    st.events = 70
    at = P * MONTH + 15 * DAY
    f = dict(zip(NAMES, row(st, at, NAMES), strict=True))
    assert f["txns_month_usual"] == 10  # periods 3..5 back, not the partial one 6 back
    assert math.isclose(f["txns_3m_vs_own"], (10 + 10 + 10) / 2.5 / 10)
    assert f["txns_trend_6m"] == 0  # periods 1..5 back, flat
    assert f["inactive_months_12"] == 0


def test_a_customer_first_seen_last_period_has_no_complete_month_yet() -> None:
    st = CustomerState()
    st.mtx, st.mamt = [4, 10], [400, 1_000]
    st.mon, st.mfirst = P, P - 1
    st.newest = st.last_act = P * MONTH + 14 * DAY
    st.events = 14
    f = dict(zip(NAMES, row(st, P * MONTH + 15 * DAY, NAMES), strict=True))
    assert math.isnan(f["txns_last_month"])  # period P-1 is the partial first one
    assert math.isclose(f["txns_month_3m"], 10 / 0.5)  # the open period only


def test_change_deviance_finds_a_fade_that_reached_the_own_baseline() -> None:
    """Ten a period, then 6, 3 and 1: the three-period decline is measured against the months
    before it began, and a steady customer shows none."""
    names = ["txns_change_deviance", "txns_deficit"]
    at = P * MONTH + 15 * DAY
    fading = dict(zip(names, row(_fading(), at, names), strict=True))
    assert fading["txns_change_deviance"] < -3
    assert fading["txns_change_deviance"] <= fading["txns_deficit"]
    steady = _fading()
    steady.mtx = [10] * 11 + [5]
    f = dict(zip(names, row(steady, at, names), strict=True))
    assert abs(f["txns_change_deviance"]) < 0.5


def test_states_scored_one_after_another_never_share_cached_periods() -> None:
    """The worker decodes a customer's state, scores it and drops it: the next state may get
    the same address (``id``) with the same event count and newest period, and must not be
    given the previous customer's periods."""
    names = ["txns_month_usual"]
    at = P * MONTH + 15 * DAY
    for usual in range(1, 40):
        st = _fading()
        st.mtx = [usual] * 12
        st.mamt = [100] * 12
        assert row(st, at, names) == [float(usual)]
        del st
