"""Batches fill their own Kafka batches: same partitions as single sends, order kept, canonical bytes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from churnwatch_ingest.producer import event_record
from churnwatch_shared import topics
from churnwatch_shared.events import encode_event, parse_event_obj
from tests.ingest.conftest import (
    DEV_HEADERS,
    RunningIngest,
    SettingsFactory,
    complaint,
    transaction,
    unique,
)
from tests.support.kafka import consume_until


def test_record_value_is_the_canonical_encoding() -> None:
    events = [
        transaction(),
        transaction(account_id=None, payload={**transaction()["payload"], "amount": "1.5000"}),
        complaint(),
    ]
    for raw in events:
        event = parse_event_obj({k: v for k, v in raw.items() if v is not None})
        assert event_record(event).value == encode_event(event)


async def _records_of(ingest: RunningIngest, wanted: set[str]) -> list[Any]:
    def mine(records: list[Any]) -> list[Any]:
        return [r for r in records if orjson.loads(r.value)["event_id"] in wanted]

    records = await consume_until(
        bootstrap=ingest.settings.common.kafka_bootstrap,
        topic=ingest.settings.common.topic(topics.EVENTS),
        predicate=lambda rs: len(mine(rs)) >= len(wanted),
        timeout=30,
        settle=0.5,
    )
    return mine(records)


@pytest.mark.integration
async def test_batch_records_land_where_single_sends_do(
    start_ingest: Callable[..., Any], make_settings: SettingsFactory
) -> None:
    # A tiny Kafka batch size forces many batches per partition and per request.
    ingest = await start_ingest(make_settings(max_batch_size_bytes=2048))
    customers = [unique("cust-part") for _ in range(24)]
    singles = [transaction(customer_id=c) for c in customers]
    for event in singles:
        response = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
        assert response.status_code == 202, response.text
    batch = [transaction(customer_id=customers[n % len(customers)]) for n in range(480)]
    response = await ingest.client.post("/v1/events/batch", json=batch, headers=DEV_HEADERS)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(batch)

    records = await _records_of(ingest, {e["event_id"] for e in singles + batch})
    assert len(records) == len(singles) + len(batch)  # each once
    single_ids = {e["event_id"] for e in singles}
    # single events go through aiokafka's send(), so their partitions are the reference
    partition_of = {
        r.key: r.partition for r in records if orjson.loads(r.value)["event_id"] in single_ids
    }
    for record in records:
        assert record.partition == partition_of[record.key]
    assert len(set(partition_of.values())) > 1
    sent_order = {c: [e["event_id"] for e in batch if e["customer_id"] == c] for c in customers}
    for customer in customers:
        on_topic = [
            orjson.loads(r.value)["event_id"]
            for r in sorted(records, key=lambda r: r.offset)
            if r.key == customer.encode()
        ]
        assert on_topic[1:] == sent_order[customer]
        assert on_topic[0] == next(e["event_id"] for e in singles if e["customer_id"] == customer)
    headers = dict(records[-1].headers)
    assert headers[topics.HEADER_PRODUCER] == b"dev-producer"
    assert headers[topics.HEADER_EVENT_TYPE] == b"transaction.posted"


@pytest.mark.integration
async def test_batch_values_are_canonical_on_the_topic(ingest: RunningIngest) -> None:
    padded = transaction(producer="someone-else")
    padded["payload"]["currency"] = "  CNY "
    body = b"\n".join(orjson.dumps(e) for e in [padded, *(transaction() for _ in range(20))])
    response = await ingest.client.post(
        "/v1/events/batch",
        content=body,
        headers={**DEV_HEADERS, "Content-Type": "application/x-ndjson"},
    )
    assert response.json()["accepted"] == 21, response.text
    [record] = await _records_of(ingest, {padded["event_id"]})
    stored = orjson.loads(record.value)
    assert stored["producer"] == "dev-producer"
    assert stored["payload"]["currency"] == "CNY"
    expected = parse_event_obj({**padded, "producer": "dev-producer"})
    assert record.value == encode_event(expected)
    assert datetime.fromisoformat(stored["occurred_at"]).tzinfo is not None
    assert datetime.now(UTC) >= datetime.fromisoformat(stored["occurred_at"])
