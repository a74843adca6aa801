"""Issue 15's contract additions: optional payment facts, customer contacts, standing orders, FX."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import orjson
import pytest
from pydantic import ValidationError

from churnwatch_shared.events import (
    BANK_INITIATED_CATEGORIES,
    ContactLoggedEvent,
    CounterpartyKind,
    StandingOrderCreatedEvent,
    TransactionCategory,
    TransactionPostedEvent,
    encode_event,
    parse_event,
    parse_event_obj,
)
from churnwatch_shared.fx import FxRate, FxTable


def envelope(event_type: str, payload: dict[str, object]) -> dict[str, object]:
    return {
        "event_id": "e-1",
        "event_type": event_type,
        "occurred_at": "2026-11-20T09:30:00+08:00",
        "customer_id": "C1",
        "account_id": "A-1",
        "payload": payload,
    }


def posting(**extra: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "direction": "credit",
        "amount": "8200.00",
        "currency": "CNY",
        "channel": "batch",
        "category": "payroll_credit",
    }
    payload.update(extra)
    return envelope("transaction.posted", payload)


def test_payment_facts_round_trip() -> None:
    body = posting(
        counterparty_kind="employer",
        counterparty_id="cp:9f2c",
        purpose_code="SALA",
        bank_transaction_code="PMNT-RCDT-SALA",
        income_kind="salary",
        standing_order_id="so-1",
    )
    event = parse_event(orjson.dumps(body))
    assert isinstance(event, TransactionPostedEvent)
    assert event.payload.counterparty_kind is CounterpartyKind.EMPLOYER
    wire = orjson.loads(encode_event(event))["payload"]
    assert wire == {**body["payload"], "counterparty_is_own_bank": True}  # type: ignore[dict-item]


def test_events_without_the_new_fields_stay_valid() -> None:
    event = parse_event_obj(posting())
    assert isinstance(event, TransactionPostedEvent)
    assert event.payload.counterparty_kind is None and event.payload.income_kind is None
    contact = parse_event_obj(envelope("contact.logged", {"manager_id": "M1", "kind": "call"}))
    assert isinstance(contact, ContactLoggedEvent)
    assert contact.payload.initiated_by == "bank"


def test_income_kind_on_a_debit_is_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="income_kind 'pension' is allowed on credits only"):
        parse_event_obj(posting(direction="debit", income_kind="pension"))


@pytest.mark.parametrize(
    "code", ["PMNT/RCDT/SALA", "pmnt-rcdt-sala", "PMNT-RCDT", "PMNT-RCDT-SALA-X"]
)
def test_bank_transaction_code_must_be_domain_family_subfamily(code: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_event_obj(posting(bank_transaction_code=code))
    assert info.value.errors()[0]["loc"][-1] == "bank_transaction_code"


def test_purpose_code_refuses_control_characters_and_long_text() -> None:
    with pytest.raises(ValidationError, match="U\\+0000"):
        parse_event_obj(posting(purpose_code="SA\x00LA"))
    with pytest.raises(ValidationError, match="at most 35"):
        parse_event_obj(posting(purpose_code="X" * 36))


def test_penalty_interest_is_bank_initiated() -> None:
    assert TransactionCategory.PENALTY_INTEREST in BANK_INITIATED_CATEGORIES
    assert TransactionCategory.FEE in BANK_INITIATED_CATEGORIES


def test_customer_initiated_contact_needs_no_manager() -> None:
    event = parse_event_obj(
        envelope(
            "contact.logged",
            {"kind": "call", "initiated_by": "customer", "channel": "phone", "topic": "fees"},
        )
    )
    assert isinstance(event, ContactLoggedEvent)
    assert event.payload.manager_id is None


def test_bank_outreach_without_a_manager_is_refused_with_the_rule() -> None:
    with pytest.raises(ValidationError, match="manager_id is required when initiated_by is 'bank'"):
        parse_event_obj(envelope("contact.logged", {"kind": "call", "initiated_by": "bank"}))


def test_card_balance_carries_its_limit_and_demand_its_overdraft() -> None:
    balances = [
        {
            "account_id": "K1",
            "product_kind": "card",
            "balance": "1200.00",
            "currency": "CNY",
            "credit_limit": "20000.00",
        },
        {
            "account_id": "D1",
            "product_kind": "demand",
            "balance": "-300.00",
            "currency": "CNY",
            "overdraft_limit": "5000.00",
        },
    ]
    event = parse_event_obj(
        envelope("balance.snapshot", {"as_of": "2026-11-19", "balances": balances})
    )
    card, demand = event.payload.balances  # type: ignore[union-attr]
    assert card.credit_limit == Decimal("20000.00") and demand.overdraft_limit == Decimal("5000.00")
    balances[0]["credit_limit"] = "-1.00"
    with pytest.raises(ValidationError, match="must not be negative"):
        parse_event_obj(envelope("balance.snapshot", {"as_of": "2026-11-19", "balances": balances}))


def test_card_subscription_limit_needs_its_currency() -> None:
    ok = {
        "product": "credit_card",
        "variant": "gold",
        "credit_limit": "50000.00",
        "currency": "CZK",
    }
    parse_event_obj(envelope("product.subscribed", ok))
    with pytest.raises(ValidationError, match="credit_limit needs a currency"):
        parse_event_obj(
            envelope("product.subscribed", {"product": "credit_card", "credit_limit": "1.00"})
        )


def test_standing_order_events() -> None:
    created = parse_event_obj(
        envelope(
            "standing_order.created",
            {
                "standing_order_id": "so-29401",
                "counterparty_id": "cp:ab-1234",
                "counterparty_kind": "insurer",
                "counterparty_bank": "AB",
                "counterparty_is_own_bank": False,
                "amount": "3662.00",
                "currency": "CZK",
                "purpose_code": "INSU",
            },
        )
    )
    assert isinstance(created, StandingOrderCreatedEvent)
    assert created.payload.frequency == "monthly"
    cancelled = parse_event_obj(
        envelope("standing_order.cancelled", {"standing_order_id": "so-29401"})
    )
    assert cancelled.event_type == "standing_order.cancelled"
    with pytest.raises(ValidationError):
        parse_event_obj(envelope("standing_order.created", {"standing_order_id": "x"}))


def test_fx_table_converts_by_effective_date_in_both_directions() -> None:
    rates = [
        FxRate(base="EUR", quote="CNY", rate="7.80", as_of=date(2026, 1, 1)),  # type: ignore[arg-type]
        FxRate(base="EUR", quote="CNY", rate="7.90", as_of=date(2026, 7, 1)),  # type: ignore[arg-type]
        FxRate(base="CNY", quote="USD", rate="0.125", as_of=date(2026, 1, 1)),  # type: ignore[arg-type]
    ]
    table = FxTable(reporting="CNY", rates=rates)
    assert table.factor(currency="CNY", on=date(2020, 1, 1)) == 1
    assert table.factor(currency="EUR", on=date(2026, 6, 30)) == Decimal("7.80")
    assert table.factor(currency="EUR", on=date(2026, 7, 1)) == Decimal("7.90")
    assert table.factor(currency="USD", on=date(2026, 3, 1)) == Decimal(8)
    with pytest.raises(KeyError, match="no EUR/CNY rate in force on 2025-12-31"):
        table.factor(currency="EUR", on=date(2025, 12, 31))
    assert table.currencies() == {"CNY", "EUR", "USD"}


def test_fx_rate_refuses_non_positive_or_float_rates_and_foreign_pairs() -> None:
    for bad in ("0", "-7.8", 7.8, "1e3"):
        with pytest.raises(ValidationError, match="positive decimal string"):
            FxRate.model_validate(
                {"base": "EUR", "quote": "CNY", "rate": bad, "as_of": "2026-01-01"}
            )
    pair = FxRate.model_validate(
        {"base": "EUR", "quote": "USD", "rate": "1.1", "as_of": "2026-01-01"}
    )
    with pytest.raises(ValueError, match="does not involve the reporting currency CNY"):
        FxTable(reporting="CNY", rates=[pair])
