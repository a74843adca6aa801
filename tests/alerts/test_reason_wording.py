"""Reasons and evidence as a relationship manager reads them (issue 17): every reason code the
engine can emit has a sentence, numbers carry separators and currencies, no raw code shows."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from churnwatch_alerts.cases import wording
from churnwatch_state_monitor.engine.churn import LEVELS

ENGINE = (
    Path(__file__).resolve().parents[2]
    / "services"
    / "state-monitor"
    / "src"
    / "churnwatch_state_monitor"
    / "engine"
)
RAW_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def engine_reason_codes() -> set[str]:
    """Every reason code in the engine's sources: a finding's ``code=`` and the score's reasons
    (``reasons.append(("code", ...))`` and ``_engagement_reasons(..., "code")``)."""
    codes: set[str] = set()
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name == "Finding":
                for kw in node.keywords:
                    if kw.arg != "code":
                        continue
                    if isinstance(kw.value, ast.Constant):
                        codes.add(kw.value.value)
                    else:  # the composite: f"churn_{name}" over the levels above normal
                        codes.update(f"churn_{level}" for level in LEVELS[1:])
            elif name == "append" and node.args and isinstance(node.args[0], ast.Tuple):
                first = node.args[0].elts[0] if node.args[0].elts else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    codes.add(first.value)
            elif name == "_engagement_reasons" and isinstance(node.args[-1], ast.Constant):
                codes.add(node.args[-1].value)
    return codes


def test_the_scan_finds_the_engine_codes() -> None:
    codes = engine_reason_codes()
    assert {"payroll_missing", "tier_lost", "interbank_outflow_large", "churn_critical"} <= codes
    assert len(codes) >= 25


def test_every_reason_code_the_engine_emits_has_a_manager_wording() -> None:
    missing = sorted(engine_reason_codes() - wording.worded_codes())
    assert missing == []


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (
            {"code": "tier_critical_band", "observed": "5500000.00", "baseline": "6000000.00"},
            ["5,500,000 CNY", "6,000,000 CNY", "below"],
        ),
        (
            {"code": "interbank_outflow_large", "observed": 0.6, "baseline": "100000.00"},
            ["60%", "100,000 CNY", "on 3 Nov 2025"],
        ),
        (
            {"code": "activity_drop", "observed": 1, "baseline": 6.3, "window": "7d"},
            ["1 transaction", "6.3"],
        ),
        (
            {
                "code": "payroll_missing",
                "observed": 38,
                "baseline": 30.4,
                "window": "payroll cycle",
            },
            ["38 days", "every 30 days", "due around 26 Oct 2025"],
        ),
        (
            {"code": "loan_classification_downgrade", "observed": "special_mention"},
            ["special mention"],
        ),
        ({"code": "churn_critical", "observed": 78.4, "baseline": 65}, ["78", "65"]),
        ({"code": "overdrawn", "weight": 40}, ["overdrawn", "40 of 100"]),
        ({"code": "inactive_months", "weight": 12.2}, ["12 of 100"]),
    ],
)
def test_reasons_read_with_their_numbers(reason: dict[str, Any], expected: list[str]) -> None:
    reason = {"state": "scale", "text": "monitor text " + reason["code"], **reason}
    reason.setdefault("window", "event")
    text = wording.reason_text(reason, currency="CNY", occurred_at="2025-11-03T09:00:00+00:00")
    for part in expected:
        assert part in text, text
    assert not RAW_CODE.search(text), text
    assert "%" not in text or reason["code"].startswith("interbank"), text


def test_no_engine_code_ever_shows_raw() -> None:
    for code in sorted(engine_reason_codes()):
        for reason in (
            {"code": code, "weight": 20.0},
            {"code": code, "observed": 3, "baseline": 5, "window": "30d"},
            {"code": code, "text": f"{code} contributes 20"},
        ):
            text = wording.reason_text(reason, currency="CNY", occurred_at=None)
            assert not RAW_CODE.search(text), (code, text)


def test_an_unknown_code_keeps_the_monitor_text_without_underscores() -> None:
    text = wording.reason_text({"code": "brand_new_signal", "text": None}, currency="CNY")
    assert text == "Brand new signal."


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {
                "event_type": "transaction.posted",
                "occurred_at": "2026-12-03T10:00:00+00:00",
                "amount": "120000.00",
                "currency": "CNY",
                "counterparty_kind": "investment_platform",
            },
            "Transaction on 3 Dec 2026: 120,000 CNY, counterparty an investment platform.",
        ),
        (
            {
                "event_type": "loan.overdue",
                "occurred_at": "2026-12-03T10:00:00+00:00",
                "amount": "1234.5",
                "currency": "EUR",
            },
            "Loan overdue on 3 Dec 2026: 1,234.50 EUR.",
        ),
        (
            {"event_type": "standing_order.created", "occurred_at": "2026-12-03T10:00:00+00:00"},
            "Standing order created on 3 Dec 2026.",
        ),
    ],
)
def test_evidence_reads_type_date_amount_and_counterparty(
    item: dict[str, Any], expected: str
) -> None:
    assert wording.evidence_lines({"evidence": [item]}, currency="CNY") == [expected]


def test_every_counterparty_kind_has_words() -> None:
    from churnwatch_shared.codes import CounterpartyKind

    for kind in CounterpartyKind:
        line = wording.evidence_lines(
            {"evidence": [{"event_type": "transaction.posted", "counterparty_kind": kind.value}]},
            currency="CNY",
        )[0]
        assert not RAW_CODE.search(line), line


def test_every_rule_the_monitor_runs_has_a_name() -> None:
    from churnwatch_state_monitor.engine_config import CATALOG

    for entry in CATALOG:
        name = wording.rule_name(entry.rule_id)
        assert not RAW_CODE.search(name) and "." not in name, (entry.rule_id, name)
    assert wording.rule_name("stability.brand_new") == "Brand new (stability)"


def test_a_notification_names_the_rule_not_its_id() -> None:
    from churnwatch_alerts.notifications.messages import body

    text = body(
        {
            "event": "alert.new",
            "severity": "warning",
            "priority": 70,
            "title": "Large transfer to another bank",
            "alert_id": "al_1",
            "customer_id": "C1",
            "rule_id": "account_flow.payroll_missing",
        },
        inbox_url=None,
    )
    assert "rule Salary missing" in text and "account_flow." not in text
