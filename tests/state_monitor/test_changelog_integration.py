"""Restoring partition stores from the changelog topic on the real broker."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from churnwatch_state_monitor.worker.changelog import ensure_changelog, restore
from churnwatch_state_monitor.worker.store import MemoryStore, RocksStore

pytestmark = pytest.mark.integration


async def _write(bootstrap: str, topic: str, records: list[tuple[int, str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for partition, key, value in records:
            await producer.send_and_wait(topic, key=key.encode(), value=value, partition=partition)
    finally:
        await producer.stop()


async def test_restore_full_then_only_past_the_stored_offset(
    kafka_bootstrap: str, tmp_path
) -> None:
    topic = f"t{uuid.uuid4().hex[:8]}-customer-state-changelog"
    await ensure_changelog(bootstrap=kafka_bootstrap, topic=topic, partitions=2)
    await ensure_changelog(bootstrap=kafka_bootstrap, topic=topic, partitions=2)  # idempotent
    await _write(
        kafka_bootstrap, topic, [(0, "a", b"a1"), (0, "b", b"b1"), (1, "z", b"z1"), (0, "a", b"a2")]
    )
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        memory, rocks = MemoryStore(0), RocksStore(0, path=tmp_path / "p0")
        assert await restore(consumer, topic=topic, stores={0: memory}) == 3
        assert dict(memory.items()) == {"a": b"a2", "b": b"b1"}  # partition 1 is not ours
        assert memory.changelog_next == 3
        assert await restore(consumer, topic=topic, stores={0: rocks}) == 3

        await _write(kafka_bootstrap, topic, [(0, "b", b"b2"), (0, "c", b"c1")])
        assert await restore(consumer, topic=topic, stores={0: rocks}) == 2  # only the new ones
        assert dict(rocks.items()) == {"a": b"a2", "b": b"b2", "c": b"c1"}
        assert rocks.changelog_next == 5
        assert await restore(consumer, topic=topic, stores={0: rocks}) == 0  # up to date

        ahead = MemoryStore(0)  # claims more than the topic has: rebuilt from the start
        ahead.write({"ghost": b"x"}, changelog_next=99)
        assert await restore(consumer, topic=topic, stores={0: ahead}) == 5
        assert dict(ahead.items()) == {"a": b"a2", "b": b"b2", "c": b"c1"}
        rocks.close()
    finally:
        await consumer.stop()
