"""Churn-risk reasons carry their numbers (issue 17): "the salary has not arrived: last one 45 days
ago, usually every 30 days", not only "payroll_missing contributes 70"."""

from __future__ import annotations

from churnwatch_shared.alerts import CustomerStateName
from churnwatch_state_monitor.engine.churn import CHURN_SCORE
from churnwatch_state_monitor.engine.evidence import score_reason
from churnwatch_state_monitor.engine.state import CustomerState
from tests.state_monitor.events import at, txn
from tests.state_monitor.test_engine import C, Feed

DAY = 86400


def test_a_missing_salary_says_how_late_and_the_usual_gap() -> None:
    st = CustomerState()
    st.payroll_last, st.payroll_gap = 1_000 * DAY, 30.4
    reason = score_reason(
        "payroll_missing", CustomerStateName.ACCOUNT_FLOW, 70.0, st=st, at=1_045 * DAY + 5
    )
    assert (reason.observed, reason.baseline, reason.window) == (45, 30.4, "payroll cycle")
    assert reason.weight == 70.0 and reason.code == "payroll_missing"


def test_dormancy_and_assets_say_their_numbers() -> None:
    st = CustomerState()
    st.last_act = 2_000 * DAY
    dormant = score_reason("dormant", CustomerStateName.STABILITY, 40.0, st=st, at=2_070 * DAY)
    assert (dormant.observed, dormant.window) == (70, "70d")
    st.demand, st.assets_base = 12_345_600, 98_765_432.4
    assets = score_reason(
        "assets_below_baseline", CustomerStateName.SCALE, 30.0, st=st, at=2_070 * DAY
    )
    assert (assets.observed, assets.baseline) == ("123456.00", "987654.32")


def test_a_code_without_numbers_keeps_its_points_only() -> None:
    reason = score_reason(
        "single_product", CustomerStateName.PRODUCT_USAGE, 30.0, st=CustomerState(), at=0
    )
    assert (reason.observed, reason.baseline, reason.weight) == (None, None, 30.0)


def test_the_churn_alert_for_a_missing_salary_carries_the_numbers() -> None:
    feed = Feed()
    for i in range(3):
        pay = txn(f"pay{i}", C, at(30 * i), direction="credit", amount="9000.00")
        pay["payload"].update(category="payroll_credit", channel="batch")
        feed.send(pay)
    feed.send(txn("late", C, at(60 + 45), amount="10.00"))
    reasons = [
        r
        for a in feed.alerts
        if a.rule_id == CHURN_SCORE
        for r in a.reasons
        if r.code == "payroll_missing"
    ]
    assert reasons, [a.rule_id for a in feed.alerts]
    assert all(r.observed is not None and r.baseline is not None for r in reasons)
