"""Evidence details on alerts (issue 17): every rule that cites an event says what it was, when, how
much and with whom, so a manager never reads an opaque event id."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from churnwatch_shared.alerts import Alert, EvidenceEvent
from churnwatch_state_monitor.engine import account_flow, product_usage, risk, scale, stability
from churnwatch_state_monitor.engine.churn import CHURN_SCORE
from tests.state_monitor.events import at, outflow, raw, snapshot
from tests.state_monitor.test_engine import C, Feed
from tests.state_monitor.test_rules import profile


def _one(alerts: list[Alert], rule_id: str) -> Alert:
    [alert] = [a for a in alerts if a.rule_id == rule_id]
    return alert


def _check(alert: Alert) -> EvidenceEvent:
    """The alert's evidence: one detail per cited id, in the same order."""
    assert [e.event_id for e in alert.evidence] == alert.evidence_event_ids
    [detail] = alert.evidence
    return detail


def test_a_transfer_out_names_its_type_date_amount_and_counterparty() -> None:
    feed = Feed()
    event = outflow("e1", C, at(0), "60000.00", balance_after="40000.00")
    event["payload"]["counterparty_kind"] = "own_account"
    out = feed.send(event)
    detail = _check(_one(out.alerts, account_flow.LARGE_INTERBANK_OUTFLOW))
    assert detail.event_type == "transaction.posted"
    assert detail.occurred_at == datetime.fromisoformat(at(0))
    assert (detail.amount, detail.currency) == (Decimal("60000.00"), "CNY")
    assert detail.counterparty_kind == "own_account"


def test_a_loan_overdue_carries_the_overdue_amount_and_a_classification_the_balance() -> None:
    feed = Feed()
    due = {"loan_id": "L1", "days_past_due": 40, "overdue_amount": "1234.50", "currency": "EUR"}
    feed.send(raw("o1", C, at(1), "loan.overdue", due))
    classified = {"loan_id": "L1", "classification": "doubtful", "balance": "9000.00"}
    feed.send(raw("l1", C, at(2), "loan.classified", {**classified, "currency": "CNY"}))
    overdue = _check(_one(feed.alerts, risk.LOAN_OVERDUE))
    assert (overdue.event_type, overdue.amount, overdue.currency) == (
        "loan.overdue",
        Decimal("1234.50"),
        "EUR",
    )
    downgrade = _check(_one(feed.alerts, risk.CLASSIFICATION_DOWNGRADE))
    assert (downgrade.amount, downgrade.currency) == (Decimal("9000.00"), "CNY")
    assert downgrade.counterparty_kind is None


def test_a_balance_snapshot_carries_the_financial_assets_the_tier_rule_judged() -> None:
    feed = Feed()
    feed.send(profile())
    feed.send(snapshot("s1", C, at(1), demand="3000000.00", investment="4000000.00"))
    out = feed.send(snapshot("s2", C, at(2), demand="1500000.00", investment="4000000.00"))
    detail = _check(_one(out.alerts, scale.TIER_CRITICAL_BAND))
    assert detail.event_type == "balance.snapshot"
    assert (detail.amount, detail.currency) == (Decimal("5500000.00"), "CNY")


def test_events_without_an_amount_still_say_what_and_when() -> None:
    feed = Feed()
    complaint = {"complaint_id": "k1", "category": "fees", "severity": "high"}
    feed.send(raw("k1", C, at(0), "complaint.filed", complaint))
    feed.send(raw("p1", C, at(1), "product.cancelled", {"product": "credit_card"}))
    filed = _check(_one(feed.alerts, stability.COMPLAINT_FILED))
    assert (filed.event_type, filed.amount, filed.currency) == ("complaint.filed", None, None)
    assert filed.occurred_at == datetime.fromisoformat(at(0))
    cancelled = _check(_one(feed.alerts, product_usage.PRODUCT_CANCELLED))
    assert cancelled.event_type == "product.cancelled"
    # a churn-risk alert raised on an event cites that event (whether the level rises here is
    # the score's business: test_rules)
    for churn in (a for a in feed.alerts if a.rule_id == CHURN_SCORE):
        assert _check(churn).event_type in {"complaint.filed", "product.cancelled"}


def test_every_alert_with_an_evidence_id_has_its_details() -> None:
    """Whatever rule fires, the ids and the details agree (the wire alert carries both)."""
    feed = Feed()
    feed.send(profile())
    feed.send(snapshot("s1", C, at(1), demand="3000000.00", investment="4000000.00"))
    for i in range(4):
        feed.send(snapshot(f"s{i + 2}", C, at(2 + 2 * i), demand="3000000.00"))
        feed.send(outflow(f"o{i}", C, at(3 + 2 * i), "2900000.00"))
    assert feed.alerts
    for alert in feed.alerts:
        assert [e.event_id for e in alert.evidence] == alert.evidence_event_ids, alert.rule_id
        assert all(e.occurred_at.tzinfo is not None for e in alert.evidence)
