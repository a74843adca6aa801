"""Builders of valid wire events for the state-monitor tests (dicts, as a producer would send)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from churnwatch_shared.events import parse_event_obj

T0 = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # a Monday


def at(days: float = 0, hours: float = 0) -> str:
    return (T0 + timedelta(days=days, hours=hours)).isoformat()


def raw(
    event_id: str, customer: str, when: str, event_type: str, payload: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "occurred_at": when,
        "customer_id": customer,
        "event_type": event_type,
        "payload": payload,
        **extra,
    }


def snapshot(event_id: str, customer: str, when: str, **balances: str) -> dict[str, Any]:
    rows = [
        {
            "account_id": f"{customer}-{kind}",
            "product_kind": kind,
            "balance": amount,
            "currency": "CNY",
        }
        for kind, amount in balances.items()
    ]
    return raw(event_id, customer, when, "balance.snapshot", {"as_of": when[:10], "balances": rows})


def txn(
    event_id: str,
    customer: str,
    when: str,
    *,
    direction: str = "debit",
    amount: str = "100.00",
    category: str = "card_spend",
    own_bank: bool = True,
    balance_after: str | None = None,
    channel: str = "mobile",
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "direction": direction,
        "amount": amount,
        "currency": "CNY",
        "channel": channel,
        "category": category,
        "counterparty_is_own_bank": own_bank,
    }
    if balance_after is not None:
        payload["balance_after"] = balance_after
    return raw(
        event_id, customer, when, "transaction.posted", payload, account_id=f"{customer}-demand"
    )


def outflow(
    event_id: str, customer: str, when: str, amount: str, balance_after: str | None = None
) -> dict[str, Any]:
    return txn(
        event_id,
        customer,
        when,
        amount=amount,
        category="interbank_transfer",
        own_bank=False,
        balance_after=balance_after,
        channel="online",
    )


def model(obj: dict[str, Any]):
    return parse_event_obj(obj)


def wire(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj)


@dataclass
class KafkaRecord:
    """The fields of an aiokafka ``ConsumerRecord`` the worker's batch loop reads."""

    key: bytes | None
    value: bytes
    offset: int
    headers: tuple = ()
