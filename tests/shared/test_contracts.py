"""The wire contracts accept the catalogue's valid events and explain what they refuse."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from pydantic import ValidationError

from churnwatch_shared import topics
from churnwatch_shared.alerts import Severity, alert_id_for, severity_at_least
from churnwatch_shared.events import (
    EVENT_MODELS,
    EventType,
    TransactionPostedEvent,
    encode_event,
    parse_event,
    parse_event_obj,
)
from churnwatch_shared.settings import Environment, InsecureSettingsError, refuse_dev_credentials


def transaction(**payload_overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "direction": "debit",
        "amount": "250000.00",
        "currency": "CNY",
        "channel": "online",
        "category": "interbank_transfer",
        "counterparty_bank": "ICBKCNBJ",
        "counterparty_is_own_bank": False,
        "balance_after": "50000.00",
    }
    payload.update(payload_overrides)
    return {
        "event_id": "core-1-000123",
        "event_type": "transaction.posted",
        "occurred_at": "2026-11-20T09:30:00+08:00",
        "customer_id": "C000042",
        "account_id": "A-1",
        "payload": payload,
    }


def test_every_event_type_has_a_model() -> None:
    assert set(EVENT_MODELS) == set(EventType)


def test_transaction_round_trips_without_touching_a_float() -> None:
    event = parse_event(orjson.dumps(transaction()))
    assert isinstance(event, TransactionPostedEvent)
    assert event.payload.amount == Decimal("250000.00")
    wire = orjson.loads(encode_event(event))
    assert wire["payload"]["amount"] == "250000.00"
    assert wire["payload"]["balance_after"] == "50000.00"
    assert parse_event(encode_event(event)) == event


def test_amount_as_json_number_is_refused_with_the_field_path() -> None:
    with pytest.raises(ValidationError) as info:
        parse_event_obj(transaction(amount=250000.0))
    error = info.value.errors()[0]
    assert error["loc"][-2:] == ("payload", "amount")
    assert "decimal string" in error["msg"]


def test_unknown_event_type_lists_the_accepted_ones() -> None:
    body = transaction()
    body["event_type"] = "transaction.deleted"
    with pytest.raises(ValidationError) as info:
        parse_event_obj(body)
    message = info.value.errors()[0]["msg"]
    assert "'transaction.posted'" in message and "'customer.assigned'" in message


def test_naive_time_unknown_currency_and_extra_fields_are_refused() -> None:
    body = transaction(currency="XYZ", surprise=1)
    body["occurred_at"] = "2026-11-20T09:30:00"
    with pytest.raises(ValidationError) as info:
        parse_event_obj(body)
    locations = {error["loc"][-1] for error in info.value.errors()}
    assert {"occurred_at", "currency", "surprise"} <= locations


def test_alert_ids_are_deterministic_per_condition() -> None:
    first = alert_id_for(customer_id="C1", rule_id="r", condition_key="e1")
    assert first == alert_id_for(customer_id="C1", rule_id="r", condition_key="e1")
    assert first != alert_id_for(customer_id="C1", rule_id="r", condition_key="e2")
    assert first != alert_id_for(customer_id="C2", rule_id="r", condition_key="e1")
    assert severity_at_least(Severity.CRITICAL, Severity.WARNING)
    assert not severity_at_least(Severity.WATCH, Severity.WARNING)


def test_customer_keyed_topics_share_one_partition_count() -> None:
    keyed = [topics.EVENTS, topics.EVENTS_RAW, topics.ALERTS, topics.CUSTOMER_STATE]
    assert {spec.partitions for spec in keyed} == {topics.CUSTOMER_PARTITIONS}
    assert topics.EVENTS.name("ns") == "ns.events.v1"


def test_production_refuses_development_credentials() -> None:
    refuse_dev_credentials(env=Environment.DEVELOPMENT, named={"api_key": True})
    with pytest.raises(InsecureSettingsError, match="api_key"):
        refuse_dev_credentials(env=Environment.PRODUCTION, named={"api_key": True, "x": False})


def test_occurred_at_keeps_its_offset_as_an_instant() -> None:
    event = parse_event_obj(transaction())
    assert event.occurred_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
