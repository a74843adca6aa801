"""One event end to end on the real broker and real PostgreSQL, through all three services.

POST a transaction to ingest -> Kafka events topic keyed by customer -> the state monitor fires
`account_flow.large_interbank_outflow` -> the alerts service stores it -> the assigned manager
sees it over HTTP. No mocks and no Faust test_context() anywhere in this path.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from churnwatch_shared import topics
from tests.support.kafka import consume_until

pytestmark = pytest.mark.integration

DEV_API_KEY = "cw-dev-producer-key"
RULE = "account_flow.large_interbank_outflow"


def event(customer_id: str, event_type: str, payload: dict[str, object], **extra: str) -> dict:
    return {
        "event_id": f"e2e-{uuid.uuid4().hex}",
        "event_type": event_type,
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "customer_id": customer_id,
        "payload": payload,
        **extra,
    }


def post(client: httpx.Client, url: str, body: dict) -> httpx.Response:
    return client.post(f"{url}/v1/events", json=body, headers={"X-API-Key": DEV_API_KEY})


def test_large_interbank_outflow_reaches_the_assigned_manager(pipeline: dict[str, str]) -> None:
    customer = f"C-e2e-{uuid.uuid4().hex[:8]}"
    outflow = event(
        customer,
        "transaction.posted",
        {
            "direction": "debit",
            "amount": "600000.00",
            "currency": "CNY",
            "channel": "online",
            "category": "interbank_transfer",
            "counterparty_bank": "ICBKCNBJ",
            "counterparty_is_own_bank": False,
            "balance_after": "400000.00",
        },
        account_id="A-e2e-1",
    )
    with httpx.Client(timeout=10) as client:
        assigned = post(
            client,
            pipeline["ingest"],
            event(
                customer,
                "customer.assigned",
                {"relationship_manager_id": "rm.demo", "branch_id": "BR001"},
            ),
        )
        assert assigned.status_code == 202, assigned.text
        accepted = post(client, pipeline["ingest"], outflow)
        assert accepted.status_code == 202, accepted.text

        # 1. On the events topic, keyed by customer id, before anything else is asserted.
        records = asyncio.run(
            consume_until(
                bootstrap=pipeline["bootstrap"],
                topic=topics.EVENTS.name(pipeline["namespace"]),
                predicate=lambda rs: len(rs) >= 2,
                timeout=30,
            )
        )
        assert {r.key for r in records} == {customer.encode()}

        # 2. In the manager's list over HTTP.
        login = client.post(
            f"{pipeline['alerts']}/v1/auth/login",
            json={"username": "rm.demo", "password": "demo-only"},
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 90
        mine: list[dict] = []
        while time.monotonic() < deadline:
            listed = client.get(f"{pipeline['alerts']}/v1/alerts", headers=headers)
            assert listed.status_code == 200, listed.text
            body = listed.json()
            items = body["items"] if isinstance(body, dict) else body
            mine = [a for a in items if a["customer_id"] == customer]
            if mine:
                break
            time.sleep(0.5)
        assert mine, "the alert never reached the assigned manager's list"
        assert [a["rule_id"] for a in mine] == [RULE]

        detail = client.get(f"{pipeline['alerts']}/v1/alerts/{mine[0]['id']}", headers=headers)
        assert detail.status_code == 200, detail.text
        assert outflow["event_id"] in detail.json()["evidence"]["evidence_event_ids"]
        assert detail.json()["assigned_to"] == "rm.demo"

        # 3. Nobody else sees it.
        anonymous = client.get(f"{pipeline['alerts']}/v1/alerts")
        assert anonymous.status_code == 401
