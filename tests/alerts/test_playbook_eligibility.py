"""Playbook eligibility, control-group determinism and marketing hold-backs (pure functions)."""

from __future__ import annotations

import re

import pytest

from churnwatch_alerts.playbook.config import PlaybookError, load_playbook, parse_playbook
from churnwatch_alerts.playbook.eligibility import (
    CustomerContext,
    OpenAlert,
    evaluate,
    in_control_group,
)
from tests.alerts.value_builders import make_snapshot

PLAYBOOK = load_playbook()  # the packaged file


def codes(context: CustomerContext) -> list[str]:
    return [s.code for s in evaluate(playbook=PLAYBOOK, context=context).suggestions]


def complaint(text: str) -> OpenAlert:
    return OpenAlert(
        rule_id="stability.complaint_filed",
        kind="anomaly",
        severity="warning",
        title=f"Complaint filed ({text})",
        reason_codes=("complaint_filed",),
        reason_texts=(f"medium complaint about {text}",),
    )


def test_quiet_customer_gets_nothing() -> None:
    assert codes(CustomerContext(snapshot=make_snapshot("C", churn_level="normal"))) == []


@pytest.mark.parametrize(
    ("level", "called"), [("watch", False), ("warning", True), ("critical", True)]
)
def test_retention_call_from_churn_risk_warning_up(level: str, called: bool) -> None:
    context = CustomerContext(snapshot=make_snapshot("C", churn_level=level))
    assert ("retention_call" in codes(context)) is called
    churn_alert = OpenAlert("churn.composite_score", "churn_risk", level, "Churn risk", (), ())
    quiet = CustomerContext(
        snapshot=make_snapshot("C", churn_level="normal"), open_alerts=(churn_alert,)
    )
    assert ("retention_call" in codes(quiet)) is called


def test_fee_complaint_asks_for_a_fee_review_and_blocks_offers_while_open() -> None:
    idle_rich = make_snapshot("C", churn_level="normal", demand="500000", outflow_30d="1000")
    fee = CustomerContext(
        snapshot=make_snapshot(
            "C", churn_level="normal", demand="500000", outflow_30d="1000", open_complaints=1
        ),
        open_alerts=(complaint("fees"),),
        strategy="maintain",
    )
    evaluation = evaluate(playbook=PLAYBOOK, context=fee)
    assert [s.code for s in evaluation.suggestions] == ["resolve_complaint_first", "review_fees"]
    assert evaluation.withheld == {
        "fund_or_bond_offer": "held back until this is done: Resolve the open complaint first"
    }
    other = CustomerContext(snapshot=idle_rich, open_alerts=(complaint("queue time"),))
    assert "review_fees" not in codes(other)


def test_idle_demand_balance_gets_a_fund_or_bond_offer_unless_marketing_is_refused() -> None:
    idle = make_snapshot("C", churn_level="normal", demand="500000", outflow_30d="1000")
    assert codes(CustomerContext(snapshot=idle, strategy="maintain")) == ["fund_or_bond_offer"]
    busy = make_snapshot("C", churn_level="normal", demand="500000", outflow_30d="90000")
    assert codes(CustomerContext(snapshot=busy, strategy="maintain")) == []
    small = make_snapshot("C", churn_level="normal", demand="150000", outflow_30d="10")
    assert codes(CustomerContext(snapshot=small, strategy="maintain")) == []
    refused = evaluate(
        playbook=PLAYBOOK,
        context=CustomerContext(snapshot=idle, strategy="maintain", objects_to_marketing=True),
    )
    assert refused.suggestions == []
    assert refused.withheld == {"fund_or_bond_offer": "the customer objected to marketing"}


def test_demand_deposits_leaving_and_tier_at_risk() -> None:
    outflow = OpenAlert(
        "churn.composite_score",
        "churn_risk",
        "watch",
        "Churn risk watch",
        ("net_outflow", "tier_lost"),
        ("net_outflow contributes 40",),
    )
    gold = CustomerContext(
        snapshot=make_snapshot("C", churn_level="watch"), open_alerts=(outflow,), tier="gold"
    )
    assert codes(gold) == ["tier_visit", "time_deposit_offer"]
    mass = CustomerContext(
        snapshot=make_snapshot("C", churn_level="watch"), open_alerts=(outflow,), tier="mass"
    )
    assert codes(mass) == ["time_deposit_offer"]
    offer = because(
        CustomerContext(snapshot=make_snapshot("C", churn_level="watch"), open_alerts=(outflow,))
    )
    assert offer["time_deposit_offer"][-1] == "Demand deposits: 100,000 CNY"


def test_control_group_is_deterministic_and_near_its_share() -> None:
    ids = [f"CUST{i:05d}" for i in range(20000)]
    first = [in_control_group(customer_id=c, share=0.1, salt="s1") for c in ids]
    assert first == [in_control_group(customer_id=c, share=0.1, salt="s1") for c in ids]
    assert 0.09 < sum(first) / len(ids) < 0.11
    other_salt = [in_control_group(customer_id=c, share=0.1, salt="s2") for c in ids]
    assert other_salt != first
    assert not any(in_control_group(customer_id=c, share=0.0, salt="s1") for c in ids)
    # a larger share keeps everyone who was in the smaller one
    assert all(
        in_control_group(customer_id=c, share=0.2, salt="s1")
        for c, f in zip(ids, first, strict=True)
        if f
    )


def test_bad_playbook_names_the_field() -> None:
    with pytest.raises(PlaybookError, match=r"actions\.x\.when\.metrics\.0"):
        parse_playbook(
            'version: "1"\nactions:\n  x:\n    title: t\n    kind: service\n'
            "    when: {metrics: [{metric: scale.loans, op: '>'}]}\n"
        )
    with pytest.raises(PlaybookError, match="kind"):
        parse_playbook('version: "1"\nactions:\n  x: {title: t, kind: spam, when: {}}\n')


RAW = re.compile(r"\b[a-z]+[_.][a-z_]+\b|\d{4,}")  # a code, a metric name or an unseparated number


def because(context: CustomerContext) -> dict[str, list[str]]:
    return {s.code: s.because for s in evaluate(playbook=PLAYBOOK, context=context).suggestions}


def test_reasons_read_for_a_manager_with_amounts_and_currency() -> None:
    idle = make_snapshot("C", churn_level="warning", demand="812000", outflow_30d="1000")
    idle["states"]["scale"]["metrics"]["currency"] = "CNY"
    said = because(CustomerContext(snapshot=idle, strategy="maintain", tier="gold"))
    assert said["fund_or_bond_offer"] == [
        "Demand deposits: 812,000 CNY (200,000 CNY or more)",
        "Paid out in the last 30 days: 1,000 CNY (less than 10% of demand deposits, 81,200 CNY)",
        "The value review recommends maintaining the relationship",
    ]
    assert said["retention_call"] == ["Churn risk is at warning level"]
    outflow = OpenAlert(
        "churn.composite_score",
        "churn_risk",
        "watch",
        "Churn risk watch",
        ("net_outflow", "tier_lost"),
        ("net_outflow contributes 40",),
    )
    gold = because(
        CustomerContext(
            snapshot=make_snapshot("C", churn_level="watch"), open_alerts=(outflow,), tier="gold"
        )
    )
    assert gold["tier_visit"] == [
        "Financial assets fell below the threshold of the customer's tier",
        "Gold tier customer",
    ]
    fee = CustomerContext(
        snapshot=make_snapshot("C", churn_level="normal", open_complaints=1),
        open_alerts=(complaint("fees"),),
    )
    fee_said = because(fee)
    assert fee_said["review_fees"] == ["Open alert: Complaint filed (fees)"]
    assert fee_said["resolve_complaint_first"] == ["Open complaints: 1 (1 or more)"]
    for lines in [*said.values(), *gold.values(), *fee_said.values()]:
        for line in lines:
            assert not RAW.search(line), line


def test_a_held_back_offer_names_the_action_it_waits_for() -> None:
    fee = CustomerContext(
        snapshot=make_snapshot(
            "C", churn_level="normal", demand="500000", outflow_30d="1000", open_complaints=1
        ),
        open_alerts=(complaint("fees"),),
        strategy="maintain",
    )
    withheld = evaluate(playbook=PLAYBOOK, context=fee).withheld
    assert withheld == {
        "fund_or_bond_offer": "held back until this is done: Resolve the open complaint first"
    }
