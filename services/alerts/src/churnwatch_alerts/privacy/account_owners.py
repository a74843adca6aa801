"""The ingest adapters' account -> customer index (``{ns}.account-owners.v1``, compacted): an
erasure writes a tombstone for every account whose latest record names the customer.

Read from the beginning to the end offsets the topic has when the erasure starts (latest record
per key), each tombstone sent to the partition its record is on. Ingest restores its index from
this topic at start-up (tombstones applied), and a running ingest follows the tombstones and
drops the pairs from memory as they arrive (``AccountOwnerTopic.follow_tombstones``).
"""

from __future__ import annotations

import asyncio
import uuid

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.settings import CommonSettings

READ_TIMEOUT_S = 60.0


async def _owned_keys(
    common: CommonSettings, topic: str, customer_id: str
) -> list[tuple[int, bytes]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=common.kafka_bootstrap,
        **client_kwargs(common),
        group_id=None,
        enable_auto_commit=False,
        client_id=f"privacy-account-owners-{uuid.uuid4().hex[:6]}",
    )
    await consumer.start()
    latest: dict[bytes, tuple[int, bytes | None]] = {}
    try:
        if topic not in await consumer.topics():  # no adapters here: nothing to erase
            return []
        # the partitions ingest reads its index from (AccountOwnerTopic.restore)
        tps = [TopicPartition(topic, p) for p in range(topics.ACCOUNT_OWNERS.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        deadline = asyncio.get_running_loop().time() + READ_TIMEOUT_S
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{topic}: not read to its end within {READ_TIMEOUT_S:.0f} s")
            batch = await consumer.getmany(*tps, timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    if record.key and record.offset < end[tp]:
                        latest[record.key] = (tp.partition, record.value)
    finally:
        await consumer.stop()
    owned: list[tuple[int, bytes]] = []
    for key, (partition, value) in latest.items():
        if value is None:
            continue
        try:
            owner = orjson.loads(value).get("customer_id")
        except (orjson.JSONDecodeError, AttributeError):
            continue
        if owner == customer_id:
            owned.append((partition, key))
    return owned


async def tombstone_account_owners(*, common: CommonSettings, customer_id: str) -> int:
    """Tombstone the customer's accounts in the account-owners topic; how many."""
    topic = common.topic(topics.ACCOUNT_OWNERS)
    owned = await _owned_keys(common, topic, customer_id)
    if not owned:
        return 0
    producer = AIOKafkaProducer(
        bootstrap_servers=common.kafka_bootstrap,
        **client_kwargs(common),
        acks="all",
        enable_idempotence=True,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(topic, key=key, value=None, partition=partition)
            for partition, key in owned
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(owned)
