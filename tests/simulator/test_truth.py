"""Ground truth agrees with the events: each pattern leaves the traces it claims."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from tests.simulator.conftest import Run

CHURNING = (
    "interbank_outflow",
    "payroll_stop",
    "product_attrition",
    "activity_fade",
    "complaint_silence",
    "private_banking_slide",
)


def _day(event: dict[str, Any]) -> date:
    return date.fromisoformat(event["occurred_at"][:10])


def _large_interbank_debits(events: list[dict[str, Any]], share: Decimal) -> list[dict[str, Any]]:
    found = []
    for e in events:
        p = e["payload"]
        if (
            e["event_type"] == "transaction.posted"
            and p["direction"] == "debit"
            and p["counterparty_is_own_bank"] is False
        ):
            amount, after = Decimal(p["amount"]), Decimal(p["balance_after"])
            if amount >= share * (after + amount):
                found.append(e)
    return found


def test_churners_close_their_account_on_the_churn_date(sim_run: Run) -> None:
    for pattern in CHURNING:
        customers = sim_run.of_pattern(pattern)
        assert customers, pattern
        for cid in customers:
            row = sim_run.labels[cid]
            assert row["churns"] is True and row["churn_date"] and row["drift_start_date"]
            assert row["drift_start_date"] < row["churn_date"]
            last = sim_run.by_customer[cid][-1]
            assert last["event_type"] == "account.closed"
            assert _day(last).isoformat() == row["churn_date"]


def test_non_churners_never_close_their_demand_account(sim_run: Run) -> None:
    for cid, row in sim_run.labels.items():
        if row["pattern"] in ("normal", "noisy_loyal", "credit_deterioration"):
            assert row["churns"] is False and row["churn_date"] is None
            assert not any(e["event_type"] == "account.closed" for e in sim_run.by_customer[cid])


def test_interbank_outflow_churners_send_large_interbank_debits_before_leaving(
    sim_run: Run,
) -> None:
    for cid in sim_run.of_pattern("interbank_outflow"):
        row = sim_run.labels[cid]
        large = [
            e
            for e in _large_interbank_debits(sim_run.by_customer[cid], Decimal("0.6"))
            if _day(e).isoformat() < row["churn_date"]
        ]
        assert large, cid
        gradual = [
            e
            for e in sim_run.by_customer[cid]
            if e["event_type"] == "transaction.posted"
            and e["payload"]["counterparty_is_own_bank"] is False
            and e["payload"]["direction"] == "debit"
            and _day(e).isoformat() >= row["drift_start_date"]
        ]
        assert len(gradual) >= 3, cid


def test_payroll_stops_at_drift_start(sim_run: Run) -> None:
    for cid in sim_run.of_pattern("payroll_stop"):
        drift = sim_run.labels[cid]["drift_start_date"]
        payroll = [
            _day(e).isoformat()
            for e in sim_run.by_customer[cid]
            if e["event_type"] == "transaction.posted"
            and e["payload"]["category"] == "payroll_credit"
        ]
        assert payroll and all(day < drift for day in payroll), cid


def test_product_attrition_cancels_products_one_by_one(sim_run: Run) -> None:
    for cid in sim_run.of_pattern("product_attrition"):
        row = sim_run.labels[cid]
        days = {
            _day(e).isoformat()
            for e in sim_run.by_customer[cid]
            if e["event_type"] == "product.cancelled"
            and row["drift_start_date"] <= _day(e).isoformat() < row["churn_date"]
        }
        assert len(days) >= 3, cid


def test_activity_fades_before_the_churn(sim_run: Run) -> None:
    for cid in sim_run.of_pattern("activity_fade"):
        row = sim_run.labels[cid]
        initiated = [
            e
            for e in sim_run.by_customer[cid]
            if e["event_type"] == "transaction.posted"
            and e["payload"]["category"]
            not in ("fee", "interest", "loan_repayment", "agency_payment")
        ]
        before = [e for e in initiated if _day(e).isoformat() < row["drift_start_date"]]
        final_stretch = [e for e in initiated if _day(e).isoformat() < row["churn_date"]][-1]
        assert before
        gap = date.fromisoformat(row["churn_date"]) - _day(final_stretch)
        assert gap.days >= 7, cid


def test_complaint_then_silence(sim_run: Run) -> None:
    for cid in sim_run.of_pattern("complaint_silence"):
        row = sim_run.labels[cid]
        complaints = [e for e in sim_run.by_customer[cid] if e["event_type"] == "complaint.filed"]
        assert [_day(e).isoformat() for e in complaints] == [row["drift_start_date"]]


def test_private_banking_slides_into_the_critical_band(sim_run: Run) -> None:
    for cid in sim_run.of_pattern("private_banking_slide"):
        row = sim_run.labels[cid]
        assert row["tier"] == "private_banking"
        totals = [
            (
                e["payload"]["as_of"],
                sum(
                    Decimal(b["balance"])
                    for b in e["payload"]["balances"]
                    if b["product_kind"] != "loan"
                ),
            )
            for e in sim_run.by_customer[cid]
            if e["event_type"] == "balance.snapshot"
        ]
        assert totals[0][1] >= Decimal(6_000_000)
        assert any(Decimal(5_000_000) <= t < Decimal(6_000_000) for _, t in totals), cid


def test_credit_deterioration_grows_days_past_due_and_downgrades(sim_run: Run) -> None:
    for cid in sim_run.of_pattern("credit_deterioration"):
        events = sim_run.by_customer[cid]
        dpd = [e["payload"]["days_past_due"] for e in events if e["event_type"] == "loan.overdue"]
        assert len(dpd) >= 3 and dpd == sorted(dpd) and dpd[0] < dpd[-1], cid
        grades = [
            e["payload"]["classification"] for e in events if e["event_type"] == "loan.classified"
        ]
        assert grades[:1] == ["special_mention"], cid
        assert sim_run.labels[cid]["credit_risk"] is True


def test_noisy_loyal_customers_are_noisy_but_stay(sim_run: Run) -> None:
    holidays = 0
    for cid in sim_run.of_pattern("noisy_loyal"):
        row = sim_run.labels[cid]
        assert row["churns"] is False
        marks = row["marks"]
        assert {"bonus_day", "purchase_day", "holiday_start", "holiday_end"} <= set(marks)
        quiet = [
            e
            for e in sim_run.by_customer[cid]
            if e["event_type"] == "transaction.posted"
            and e["payload"]["category"] in ("card_spend", "cash")
            and marks["holiday_start"] <= _day(e).isoformat() < marks["holiday_end"]
        ]
        holidays += not quiet
        assert sim_run.by_customer[cid][-1]["event_type"] != "account.closed"
    assert holidays == len(sim_run.of_pattern("noisy_loyal"))
