"""FineractBridge on the real broker: Fineract records in, our events and dead letters out."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from churnwatch_ingest.adapters.accounts import start_account_owners
from churnwatch_ingest.adapters.fineract.consumer import FineractBridge
from churnwatch_shared.events import parse_event
from churnwatch_shared.topics import ACCOUNT_OWNERS, DEAD_LETTER, EVENTS
from tests.ingest_adapters import builders as b
from tests.support.kafka import consume_until, produce

pytestmark = pytest.mark.integration


async def _create_source_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name=name, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()


async def test_bridge_maps_skips_and_dead_letters(kafka_bootstrap: str, make_namespace) -> None:
    ns = await make_namespace()
    source = f"{ns}.external-events"
    await _create_source_topic(kafka_bootstrap, source)
    key = uuid.uuid4().hex
    records = [
        b.fineract_record(event_type="ClientCreateBusinessEvent", dataschema=b.CLIENT,
                          payload=b.client(5), key=f"{key}-c"),
        b.fineract_record(event_type="SavingsActivateBusinessEvent", dataschema=b.SAVINGS_ACCOUNT,
                          payload=b.savings_account(11, 5), key=f"{key}-a", int_id=True),
        b.fineract_record(event_type="SavingsWithdrawalBusinessEvent", dataschema=b.SAVINGS_TX,
                          payload=b.savings_tx(11, "600", "400", withdrawal=True), key=f"{key}-w"),
        b.fineract_record(event_type="LoanChargeAddedBusinessEvent", dataschema=b.LOAN_TX,
                          payload=b.loan_tx(1, "1"), key=f"{key}-u"),
        b"\x02\x04trunc",
    ]  # fmt: skip
    # One partition key so Fineract's own ordering (account before its transactions) holds.
    await produce(
        bootstrap=kafka_bootstrap, topic=source, records=[(b"client-5", r) for r in records]
    )
    owners, store = await start_account_owners(
        bootstrap=kafka_bootstrap, topic=ACCOUNT_OWNERS.name(ns)
    )
    bridge = FineractBridge(
        bootstrap=kafka_bootstrap,
        source_topic=source,
        events_topic=EVENTS.name(ns),
        dead_letter_topic=DEAD_LETTER.name(ns),
        owners=owners,
        group_id=f"{ns}-fineract-bridge",
    )
    await bridge.start()
    try:
        events = await consume_until(
            bootstrap=kafka_bootstrap, topic=EVENTS.name(ns),
            predicate=lambda rs: len(rs) >= 3, timeout=60, settle=1.0,
        )  # fmt: skip
        dead = await consume_until(
            bootstrap=kafka_bootstrap, topic=DEAD_LETTER.name(ns), predicate=lambda rs: len(rs) >= 1,
            timeout=30,
        )  # fmt: skip
        for _ in range(50):  # the commit follows the acks; wait for it before checking stats
            if bridge.stats.records >= 5:
                break
            await asyncio.sleep(0.1)
    finally:
        await bridge.stop()
        await store.stop()

    parsed = [parse_event(r.value) for r in events]
    assert [e.event_type for e in parsed] == [
        "customer.profile",
        "customer.assigned",
        "transaction.posted",
    ]
    posted = parsed[-1]
    assert posted.customer_id == "fineract:default:client:5"
    assert posted.payload.direction == "debit"
    assert all(r.key == b"fineract:default:client:5" for r in events)
    headers = dict(events[-1].headers)
    assert headers["event_type"] == b"transaction.posted"
    assert headers["producer"] == b"fineract:default"
    assert len(dead) == 1 and dead[0].value == b"\x02\x04trunc"
    dlq_headers = dict(dead[0].headers)
    assert dlq_headers["dlq.reason"].startswith(b"truncated")
    assert dlq_headers["dlq.source"] == f"fineract:{source}".encode()
    assert sum(bridge.stats.skipped.values()) == 1

    # Ownership was persisted to the compacted topic and survives a restart.
    restored, store2 = await start_account_owners(
        bootstrap=kafka_bootstrap, topic=ACCOUNT_OWNERS.name(ns)
    )
    await store2.stop()
    assert restored.owner("fineract:default:savings:11") == "fineract:default:client:5"
