"""Reference loops measured in the same run as every ChurnWatch benchmark: raw aiokafka.

A service's figure means little alone; beside the plain client doing the same records on the same
broker in the same minute, it says how much the service costs.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from churnwatch_shared.kafka_security import client_kwargs


def sample_events(
    count: int, *, customers: int = 20_000, first: int = 0
) -> list[tuple[bytes, bytes]]:
    """(key, value) pairs of realistic transaction.posted events number ``first`` to
    ``first + count - 1`` (~400 bytes each)."""
    out: list[tuple[bytes, bytes]] = []
    for n in range(first, first + count):
        customer = f"C{n % customers:07d}"
        value = {
            "event_id": f"bench-{n}",
            "event_type": "transaction.posted",
            "schema_version": 1,
            "occurred_at": "2026-11-20T09:30:00+00:00",
            "customer_id": customer,
            "account_id": f"A{n % customers:07d}",
            "payload": {
                "direction": "debit" if n % 3 else "credit",
                "amount": f"{(n % 997) * 13 + 5}.25",
                "currency": "CNY",
                "channel": "mobile",
                "category": "card_spend",
                "counterparty_is_own_bank": True,
                "balance_after": "120000.00",
            },
        }
        out.append((customer.encode(), orjson.dumps(value)))
    return out


async def raw_produce(*, bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    """Events/s of send() per record with acks=all + idempotence, waiting for every ack."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, key=k, value=v) for k, v in records]
        await asyncio.gather(*futures)
        return len(records) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def raw_consume_decode(
    *, bootstrap: str, topic: str, expected: int, decode: Callable[[bytes], Any] | None = None
) -> float:
    """Events/s of getmany + decode + a per-customer dict update over the whole topic.

    ``decode`` defaults to ``orjson.loads`` (the plain client's floor); pass the event contract's
    parser to measure consume + contract validation.
    """
    loads = decode or orjson.loads
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    await consumer.start()
    state: dict[bytes, int] = {}
    seen = 0
    try:
        started: float | None = None
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if started is None and batch:
                started = time.perf_counter()
            for records in batch.values():
                for record in records:
                    event = loads(record.value)
                    payload = event["payload"] if type(event) is dict else event.payload
                    state[record.key] = state.get(record.key, 0) + (payload is not None)
                    seen += 1
        assert started is not None
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()
