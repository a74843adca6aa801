"""Read and write real Kafka topics from tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord


async def produce(
    *,
    bootstrap: str,
    topic: str,
    records: list[tuple[bytes | None, bytes]],
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Send (key, value) records with acks=all and wait until the broker has them all."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, key=key, value=value, headers=headers or [])
            for key, value in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def consume_until(
    *,
    bootstrap: str,
    topic: str,
    predicate: Callable[[list[ConsumerRecord]], bool],
    timeout: float = 60.0,
    settle: float = 0.0,
) -> list[ConsumerRecord]:
    """Read the topic from the beginning until ``predicate(all_records)`` holds.

    ``settle`` keeps reading that many seconds after the predicate first holds, so a test can
    also assert that nothing more (e.g. a duplicate alert) arrives.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        # as every reader of the monitor's topics: an aborted (fenced) transaction's records
        # are not there, an open one's appear when it commits
        isolation_level="read_committed",
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    satisfied_at: float | None = None
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=250)
            for partition_records in batch.values():
                records.extend(partition_records)
            if satisfied_at is None and predicate(records):
                satisfied_at = time.monotonic()
            if satisfied_at is not None and time.monotonic() - satisfied_at >= settle:
                return records
        raise TimeoutError(f"{topic}: condition not met within {timeout}s; {len(records)} records")
    finally:
        await consumer.stop()
