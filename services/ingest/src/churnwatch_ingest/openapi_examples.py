"""One example per event type for the published OpenAPI document (Swagger UI's example picker).

Each example is a complete, valid event; a test parses every one against the contract and checks
that every event type has one, so the documentation cannot drift from what ingest accepts.
"""

from __future__ import annotations

from typing import Any

_ENVELOPE = {"schema_version": 1, "customer_id": "C000123"}


def _event(n: int, event_type: str, occurred_at: str, payload: dict[str, Any], **extra: Any) -> Any:
    return {
        "event_id": f"core-{event_type.replace('.', '-')}-{n:06d}",
        "event_type": event_type,
        "occurred_at": occurred_at,
        **_ENVELOPE,
        **extra,
        "payload": payload,
    }


EVENT_EXAMPLES: dict[str, dict[str, Any]] = {
    "transaction.posted": _event(
        1,
        "transaction.posted",
        "2026-11-25T09:14:00+08:00",
        {
            "direction": "credit",
            "amount": "12300.00",
            "currency": "CNY",
            "channel": "batch",
            "category": "payroll_credit",
            "counterparty_kind": "employer",
            "purpose_code": "SALA",
            "income_kind": "salary",
            "balance_after": "48210.55",
        },
        account_id="A-DEM-001",
    ),
    "balance.snapshot": _event(
        2,
        "balance.snapshot",
        "2026-11-30T23:59:00+08:00",
        {
            "as_of": "2026-11-30",
            "balances": [
                {
                    "account_id": "A-DEM-001",
                    "product_kind": "demand",
                    "balance": "48210.55",
                    "currency": "CNY",
                    "overdraft_limit": "5000.00",
                },
                {
                    "account_id": "A-CRD-001",
                    "product_kind": "card",
                    "balance": "1830.20",
                    "currency": "CNY",
                    "credit_limit": "30000.00",
                },
            ],
        },
    ),
    "account.opened": _event(
        3,
        "account.opened",
        "2024-03-02T10:00:00+08:00",
        {"product_kind": "time_deposit", "currency": "CNY"},
        account_id="A-TD-001",
    ),
    "account.closed": _event(
        4,
        "account.closed",
        "2026-11-28T15:30:00+08:00",
        {"product_kind": "time_deposit", "reason": "moved savings to another bank"},
        account_id="A-TD-001",
    ),
    "product.subscribed": _event(
        5,
        "product.subscribed",
        "2025-06-01T11:00:00+08:00",
        {
            "product": "credit_card",
            "variant": "gold",
            "credit_limit": "30000.00",
            "currency": "CNY",
        },
    ),
    "product.cancelled": _event(
        6,
        "product.cancelled",
        "2026-11-20T16:45:00+08:00",
        {"product": "fund", "reason": "redeemed"},
    ),
    "loan.disbursed": _event(
        7,
        "loan.disbursed",
        "2025-01-15T09:00:00+08:00",
        {
            "loan_id": "L-2025-0042",
            "amount": "300000.00",
            "currency": "CNY",
            "maturity_date": "2030-01-15",
        },
    ),
    "loan.repaid": _event(
        8,
        "loan.repaid",
        "2026-11-15T09:00:00+08:00",
        {
            "loan_id": "L-2025-0042",
            "amount": "5600.00",
            "currency": "CNY",
            "outstanding_after": "231400.00",
        },
    ),
    "loan.overdue": _event(
        9,
        "loan.overdue",
        "2026-12-01T00:05:00+08:00",
        {
            "loan_id": "L-2025-0042",
            "days_past_due": 16,
            "overdue_amount": "5600.00",
            "currency": "CNY",
            "penalty_interest": "42.00",
        },
    ),
    "loan.classified": _event(
        10,
        "loan.classified",
        "2026-12-01T00:10:00+08:00",
        {
            "loan_id": "L-2025-0042",
            "classification": "special_mention",
            "balance": "231400.00",
            "currency": "CNY",
        },
    ),
    "payment.bounced": _event(
        11,
        "payment.bounced",
        "2026-11-26T08:00:00+08:00",
        {"amount": "5600.00", "currency": "CNY", "reason": "insufficient funds"},
        account_id="A-DEM-001",
    ),
    "complaint.filed": _event(
        12,
        "complaint.filed",
        "2026-11-27T14:20:00+08:00",
        {"complaint_id": "CMP-88121", "category": "fees", "severity": "high", "channel": "branch"},
    ),
    "complaint.resolved": _event(
        13,
        "complaint.resolved",
        "2026-11-29T10:00:00+08:00",
        {"complaint_id": "CMP-88121", "outcome": "satisfied"},
    ),
    "contact.logged": _event(
        14,
        "contact.logged",
        "2026-12-02T10:30:00+08:00",
        {"manager_id": "rm.demo", "kind": "call", "initiated_by": "bank", "channel": "phone"},
    ),
    "customer.profile": _event(
        15,
        "customer.profile",
        "2024-03-01T09:00:00+08:00",
        {
            "segment": "retail",
            "tier": "gold",
            "branch_id": "BR-SH-01",
            "customer_since": "2019-05-20",
            "display_name": "Li Wei",
        },
    ),
    "customer.assigned": _event(
        16,
        "customer.assigned",
        "2024-03-01T09:05:00+08:00",
        {
            "relationship_manager_id": "rm.demo",
            "wealth_advisor_id": "wa.demo",
            "service_team_id": "team-sh-1",
            "branch_id": "BR-SH-01",
        },
    ),
    "standing_order.created": _event(
        17,
        "standing_order.created",
        "2025-02-01T09:00:00+08:00",
        {
            "standing_order_id": "SO-7781",
            "counterparty_kind": "biller",
            "counterparty_id": "SH-ELECTRIC",
            "counterparty_is_own_bank": False,
            "amount": "320.00",
            "currency": "CNY",
            "purpose_code": "ELEC",
            "frequency": "monthly",
        },
    ),
    "standing_order.cancelled": _event(
        18,
        "standing_order.cancelled",
        "2026-11-30T09:00:00+08:00",
        {"standing_order_id": "SO-7781", "reason": "moved to another bank"},
    ),
}


def openapi_examples() -> dict[str, dict[str, Any]]:
    """The ``examples`` map of an OpenAPI media type: one named example per event type."""
    return {name: {"summary": name, "value": value} for name, value in EVENT_EXAMPLES.items()}
