"""The pipeline benchmark's load: background card spends and alert-firing probes as NDJSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

MANAGER = "rm.bench"


def _now_iso(offset_s: float = -60.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat()


class Feed:
    """Builds NDJSON lines: background card spends and alert-firing probes."""

    def __init__(self, *, customers: int, tag: str) -> None:
        self.customers = customers
        self.tag = tag
        self.n = 0
        self.probes = 0

    def _id(self) -> str:
        self.n += 1
        return f"pb-{self.tag}-{self.n}"

    def assignment(self, customer: str) -> bytes:
        return orjson.dumps(
            {
                "event_id": self._id(),
                "event_type": "customer.assigned",
                "occurred_at": _now_iso(),
                "customer_id": customer,
                "payload": {"relationship_manager_id": MANAGER, "branch_id": "BR001"},
            }
        )

    def spend(self) -> bytes:
        customer = f"BC{self.n % self.customers:06d}"
        return orjson.dumps(
            {
                "event_id": self._id(),
                "event_type": "transaction.posted",
                "occurred_at": _now_iso(),
                "customer_id": customer,
                "payload": {
                    "direction": "debit",
                    "amount": f"{(self.n % 300) + 10}.00",
                    "currency": "CNY",
                    "channel": "pos",
                    "category": "card_spend",
                    "counterparty_is_own_bank": True,
                    "balance_after": "500000.00",
                },
            }
        )

    def probe(self) -> tuple[str, bytes]:
        self.probes += 1
        customer = f"BP{self.tag}{self.probes:06d}"
        return customer, orjson.dumps(
            {
                "event_id": self._id(),
                "event_type": "transaction.posted",
                "occurred_at": _now_iso(),
                "customer_id": customer,
                "payload": {
                    "direction": "debit",
                    "amount": "700000.00",
                    "currency": "CNY",
                    "channel": "online",
                    "category": "interbank_transfer",
                    "counterparty_bank": "ICBKCNBJ",
                    "counterparty_is_own_bank": False,
                    "balance_after": "300000.00",
                },
            }
        )
