"""A running ingest forgets an erased customer's account owners when the erasure happens.

The erasure (alerts privacy API) tombstones the customer's accounts on the account-owners topic;
ingest restores its index from that topic at start-up, and while it runs it follows the topic's
tombstones, so the pairs leave its memory at once instead of at its next restart.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from churnwatch_alerts.privacy.events import KafkaErasureSender
from churnwatch_shared.topics import ACCOUNT_OWNERS
from tests.ingest.conftest import DEV_HEADERS, SettingsFactory, transaction, unique
from tests.support.kafka import consume_until

pytestmark = pytest.mark.integration


async def _owner(ingest: Any, account_id: str) -> str | None:
    response = await ingest.client.get(f"/v1/accounts/{account_id}/owner", headers=DEV_HEADERS)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    owner: str = response.json()["customer_id"]
    return owner


async def test_an_erasure_drops_the_customers_accounts_from_a_running_ingest(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    make_settings: SettingsFactory,
    start_ingest: Callable[..., Any],
) -> None:
    settings = make_settings(namespace=await make_namespace())
    ingest = await start_ingest(settings)
    gone, kept = unique("cust-gone"), unique("cust-kept")
    gone_accounts = [unique("acc"), unique("acc")]
    kept_account = unique("acc")
    for customer, account in [(gone, a) for a in gone_accounts] + [(kept, kept_account)]:
        response = await ingest.client.post(
            "/v1/events",
            json=transaction(customer_id=customer, account_id=account),
            headers=DEV_HEADERS,
        )
        assert response.status_code == 202, response.text
    # the erasure tombstones what the topic holds: wait until the flusher wrote all three pairs
    topic = ACCOUNT_OWNERS.name(settings.common.topic_namespace)
    await consume_until(
        bootstrap=kafka_bootstrap,
        topic=topic,
        predicate=lambda rs: (
            {r.key for r in rs} >= {a.encode() for a in [*gone_accounts, kept_account]}
        ),
        timeout=30,
    )
    assert [await _owner(ingest, a) for a in gone_accounts] == [gone, gone]

    sent = await KafkaErasureSender(common=settings.common).send(
        customer_id=gone, erasure_id=str(uuid.uuid4()), at=datetime.now(UTC)
    )
    assert sent.account_owners == 2

    deadline = asyncio.get_running_loop().time() + 15
    while [await _owner(ingest, a) for a in gone_accounts] != [None, None]:
        assert asyncio.get_running_loop().time() < deadline, (
            "the running ingest still maps the erased customer's accounts 15 s after the erasure"
        )
        await asyncio.sleep(0.1)
    assert await _owner(ingest, kept_account) == kept  # another customer's pair stays

    # an event of the account after the erasure teaches the pair again (new data, new fact)
    response = await ingest.client.post(
        "/v1/events",
        json=transaction(customer_id=gone, account_id=gone_accounts[0]),
        headers=DEV_HEADERS,
    )
    assert response.status_code == 202, response.text
    assert await _owner(ingest, gone_accounts[0]) == gone
