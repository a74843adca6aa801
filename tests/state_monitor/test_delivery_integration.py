"""A batch's effects sent as Kafka record batches, on the real broker (``work.deliver``).

The producer here has a tiny batch size, so one partition's state records spill over several
Kafka batches: the store must still end at the changelog's next offset (a restore of it reads
nothing, a fresh restore reads back exactly its records), records keep their order, and alerts
and snapshots land on the partition Kafka's default partitioner gives their key.
"""

from __future__ import annotations

import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from churnwatch_shared import topics
from churnwatch_state_monitor.worker.changelog import changelog_topic, ensure_changelog, restore
from churnwatch_state_monitor.worker.faults import FaultPoints
from churnwatch_state_monitor.worker.store import MemoryStore
from churnwatch_state_monitor.worker.work import LeaseLapsed, Topics, Work, deliver, send_batches

pytestmark = pytest.mark.integration

PARTITIONS = topics.CUSTOMER_PARTITIONS


class _Encoded:
    """Stands in for a CustomerState: ``deliver`` only encodes it."""

    def __init__(self, value: bytes) -> None:
        self.value = value

    def encode(self) -> bytes:
        return self.value


async def _records(bootstrap: str, topic: str, partitions: int) -> dict[int, list]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: dict[int, list] = {p: [] for p in range(partitions)}
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                out[tp.partition].extend(records)
        return out
    finally:
        await consumer.stop()


def _work(round_no: int, sizes: dict[int, int]) -> Work:
    work = Work()
    for partition, count in sizes.items():
        for i in range(count):
            customer = f"c{partition}-{i}"
            value = f"{customer}@{round_no}:".encode() + b"x" * 300
            work.changed(customer, partition, _Encoded(value))  # type: ignore[arg-type]
    for i in range(40):
        key = f"snap-{round_no}-{i}".encode()
        work.snapshots.append((key, key + b"/snapshot"))
    work.alerts.extend((f"alert-{i}".encode(), f"alert-{round_no}-{i}".encode()) for i in range(12))
    return work


async def _topics(namespace: str, bootstrap: str) -> Topics:
    names = Topics(
        alerts=topics.ALERTS.name(namespace),
        snapshots=topics.CUSTOMER_STATE.name(namespace),
        dead_letter=topics.DEAD_LETTER.name(namespace),
        changelog=changelog_topic(f"{namespace}-state-monitor"),
    )
    await ensure_changelog(bootstrap=bootstrap, topic=names.changelog, partitions=PARTITIONS)
    return names


async def test_batched_delivery_keeps_changelog_offsets_order_and_key_partitions(
    make_namespace,
    kafka_bootstrap: str,
) -> None:
    names = await _topics(await make_namespace(), kafka_bootstrap)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=4096,
    )
    await producer.start()
    sizes = {0: 40, 3: 1, 5: 17}  # ~330 B records: partition 0 needs 4 Kafka batches
    stores = {p: MemoryStore(p) for p in sizes}
    started = time.time()
    try:
        probe = await send_batches(producer, names.changelog, {7: [(b"probe", b"y" * 330)] * 30})
        assert len(probe) > 1, "the setup must make one partition spill into several batches"
        bases = [(await future).offset for _, _, future in probe]
        counts = [count for _, count, _ in probe]
        assert sum(counts) == 30 and bases == [sum(counts[:n]) for n in range(len(counts))]
        for round_no in (1, 2):
            await deliver(
                _work(round_no, sizes),
                producer=producer,
                names=names,
                stores=stores,
                faults=FaultPoints(None),
            )
    finally:
        await producer.stop()

    changelog = await _records(kafka_bootstrap, names.changelog, PARTITIONS)
    for partition, count in sizes.items():
        order = [f"c{partition}-{i}".encode() for i in range(count)]
        assert [r.key for r in changelog[partition]] == order + order  # two rounds, in order
        assert [r.offset for r in changelog[partition]] == list(range(2 * count))
        assert stores[partition].changelog_next == 2 * count
        assert dict(stores[partition].items()) == {
            f"c{partition}-{i}": f"c{partition}-{i}@2:".encode() + b"x" * 300 for i in range(count)
        }
    assert all(abs(r.timestamp / 1000 - started) < 120 for r in changelog[0])  # ms, now

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        assert await restore(consumer, topic=names.changelog, stores=stores) == 0  # up to date
        fresh = {p: MemoryStore(p) for p in sizes}
        assert await restore(consumer, topic=names.changelog, stores=fresh) == 2 * sum(
            sizes.values()
        )
    finally:
        await consumer.stop()
    for partition in sizes:
        assert dict(fresh[partition].items()) == dict(stores[partition].items())
        assert fresh[partition].changelog_next == stores[partition].changelog_next

    partitioner = DefaultPartitioner()
    for topic, count, suffix in ((names.snapshots, 80, b"/snapshot"), (names.alerts, 24, b"")):
        by_partition = await _records(kafka_bootstrap, topic, PARTITIONS)
        seen = [r for records in by_partition.values() for r in records]
        assert len(seen) == count
        for partition, records in by_partition.items():
            for record in records:
                assert partitioner(record.key, list(range(PARTITIONS)), []) == partition
                if suffix:
                    assert record.value == record.key + suffix
            if topic == names.alerts:  # one key's alerts keep the order they were made in
                for key in {r.key for r in records}:
                    assert [r.value for r in records if r.key == key] == [
                        f"alert-{n}-{key.decode().split('-')[1]}".encode() for n in (1, 2)
                    ]


async def test_a_batch_past_its_group_lease_writes_no_state(
    make_namespace,
    kafka_bootstrap: str,
) -> None:
    """A worker that was paused past its session timeout may have lost its partitions: its
    batch's alerts may go out (same ids as the new owner's), its state records and snapshots
    must not, and the store keeps its old state."""
    names = await _topics(await make_namespace(), kafka_bootstrap)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    stores = {p: MemoryStore(p) for p in (0, 3)}
    try:
        await deliver(
            _work(1, {0: 3, 3: 2}),
            producer=producer,
            names=names,
            stores=stores,
            faults=FaultPoints(None),
        )  # within its lease (the default: no deadline)
        lapsed = _work(2, {0: 3, 3: 2})
        lapsed.write_by = time.monotonic() - 0.5
        with pytest.raises(LeaseLapsed, match="past its consumer-group lease before the state"):
            await deliver(
                lapsed, producer=producer, names=names, stores=stores, faults=FaultPoints(None)
            )
    finally:
        await producer.stop()
    changelog = await _records(kafka_bootstrap, names.changelog, PARTITIONS)
    assert [r.value[:6] for r in changelog[0]] == [b"c0-0@1", b"c0-1@1", b"c0-2@1"]
    assert stores[0].changelog_next == 3 and stores[3].changelog_next == 2
    assert all(v.startswith(k.encode() + b"@1:") for k, v in stores[0].items())
    snapshots = await _records(kafka_bootstrap, names.snapshots, PARTITIONS)
    assert sum(len(r) for r in snapshots.values()) == 40  # round 1's only
