"""One batch's effects and the order in which they are made durable.

Everything a batch of EVENTS records (or a silence tick) produces is collected in a ``Work`` and
then ``deliver``-ed in this order, each step waiting for the broker's acknowledgement (acks=all,
idempotent producer) before the next begins:

1. alerts and dead letters;
2. the changed customers' state records, one per customer per batch, to the changelog partition
   that matches their EVENTS partition; only then the local store is updated;
3. customer-state snapshots;
4. the source offsets are committed (by the caller).

So a state record on the changelog implies its events' alerts are on ALERTS, and a committed
offset implies the state. A crash between 1 and 2 re-applies the batch to the old state and
re-sends the same alerts (same deterministic ids and content; the alerts service upserts by id).
A crash between 2 and 4 redelivers events the restored state already holds: they are recognised
by the source offset kept in each record and only their snapshots are re-published.

Alerts, state records and snapshots go out as whole Kafka record batches (``send_batch``), one
or more per partition, closed at once so no linger delay applies: a batch costs one future and
one acknowledgement instead of one per record. Alerts and snapshots take the partition Kafka's
default partitioner gives their customer key (murmur2), as a plain ``send`` would. Dead letters
(rare, with headers, possibly without a key) keep the per-record ``send``.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition

from churnwatch_shared import topics
from churnwatch_shared.partitioning import key_hash
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.worker.faults import FaultPoints
from churnwatch_state_monitor.worker.store import PartitionStore

DLQ_SOURCE = b"state-monitor"
_NONE: list[tuple[str, bytes]] = []  # no headers (aiokafka's record builder wants a list)

# (key, value) records; an alert record also carries its headers (lineage.py: event id, ingest
# time, trace context) as a third item
Keyed = list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Topics:
    alerts: str
    snapshots: str
    dead_letter: str
    changelog: str
    shadow: str | None = None  # the shadow model's scores (model_hook), when one is loaded


@dataclass(slots=True)
class Work:
    """What one batch changed; ``states`` doubles as the batch's decoded-record cache."""

    states: dict[str, CustomerState] = field(default_factory=dict)
    dirty: dict[str, int] = field(default_factory=dict)  # customer -> EVENTS partition
    alerts: list[Any] = field(default_factory=list)  # (key, value[, headers])
    dead_letters: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = field(
        default_factory=list
    )
    snapshots: list[tuple[bytes, bytes]] = field(default_factory=list)
    # the silence tick's judged customers -> (state, watermark): the churn model scores them then
    judged: dict[str, tuple[CustomerState, int]] = field(default_factory=dict)
    shadow: list[tuple[bytes, bytes]] = field(default_factory=list)  # shadow model scores
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)  # kept only when a fault is armed
    # with transactions (transactions.py): customer key -> the EVENTS partition whose transaction
    # carries the customer's records, and each dead letter's source partition
    source: dict[bytes, int] = field(default_factory=dict)
    dead_sources: list[int] = field(default_factory=list)
    # monotonic time after which the group may have given this batch's partitions to another
    # worker: state and snapshots are not written past it (see ``LeaseLapsed``)
    write_by: float = float("inf")
    encoded: dict[int, dict[str, bytes]] | None = None  # ``seal``: partition -> customer -> record

    def changed(self, customer_id: str, partition: int, state: CustomerState) -> None:
        self.states[customer_id] = state
        self.dirty[customer_id] = partition

    def seal(self) -> dict[int, dict[str, bytes]]:
        """The changed customers' state records by partition, encoded once, on the first call.
        After it the state objects may change (the next batch is applied to them while this one
        is delivered); what is delivered is what they were here."""
        if self.encoded is None:
            by_partition: dict[int, dict[str, bytes]] = defaultdict(dict)
            states = self.states
            for customer_id, partition in self.dirty.items():
                by_partition[partition][customer_id] = states[customer_id].encode()
            self.encoded = dict(by_partition)
        return self.encoded

    async def encode(self, *, every: int) -> dict[int, dict[str, bytes]]:
        """``seal``, yielding to the event loop after every ``every`` states encoded, so the
        previous batch's delivery is not held up by a large batch's encoding."""
        if self.encoded is None:
            by_partition: dict[int, dict[str, bytes]] = defaultdict(dict)
            states = self.states
            for n, (customer_id, partition) in enumerate(self.dirty.items(), 1):
                by_partition[partition][customer_id] = states[customer_id].encode()
                if n % every == 0:
                    await asyncio.sleep(0)
            self.encoded = dict(by_partition)
        return self.encoded

    def dead_letter(self, record: Any, reason: str) -> None:
        headers = [
            *(record.headers or ()),
            (topics.HEADER_DLQ_REASON, reason[:500].encode()),
            (topics.HEADER_DLQ_SOURCE, DLQ_SOURCE),
        ]
        self.dead_letters.append((record.key, record.value, headers))

    def __bool__(self) -> bool:
        return bool(
            self.dirty or self.alerts or self.dead_letters or self.snapshots or self.offsets
        )


async def _partitioned(
    producer: AIOKafkaProducer, topic: str, records: Iterable[Any]
) -> dict[int, list[Any]]:
    """``records`` by the partition aiokafka's ``DefaultPartitioner`` gives a key, in order."""
    partitions = list(await producer.partitions_for(topic))  # what the producer itself uses
    count = len(partitions)
    out: dict[int, list[Any]] = defaultdict(list)
    for record in records:  # (key, value[, headers])
        out[partitions[key_hash(record[0]) % count]].append(record)
    return out


async def send_batches(
    producer: AIOKafkaProducer, topic: str, by_partition: Mapping[int, Keyed]
) -> list[tuple[int, int, asyncio.Future]]:
    """Queue each partition's records, in order, as closed record batches (a batch that is full
    continues in a new one); returns (partition, records, future of the base offset) per batch."""
    queued: list[tuple[int, int, asyncio.Future]] = []
    for partition, records in by_partition.items():
        batch, count = producer.create_batch(), 0
        for record in records:
            key, value, headers = record[0], record[1], record[2] if len(record) > 2 else _NONE
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                queued.append(
                    (partition, count, await producer.send_batch(batch, topic, partition=partition))
                )
                batch, count = producer.create_batch(), 0
                batch.append(key=key, value=value, timestamp=None, headers=headers)  # empty: any
            count += 1
        if count:
            batch.close()  # nothing else may join it; a closed batch is sent without linger
            queued.append(
                (partition, count, await producer.send_batch(batch, topic, partition=partition))
            )
    return queued


async def _acked_next_offsets(queued: list[tuple[int, int, asyncio.Future]]) -> dict[int, int]:
    """Wait for every queued batch; the next offset after each partition's last record."""
    metas = await asyncio.gather(*(future for _, _, future in queued)) if queued else []
    next_offset: dict[int, int] = {}
    for (partition, count, _), meta in zip(queued, metas, strict=True):
        next_offset[partition] = max(next_offset.get(partition, 0), meta.offset + count)
    return next_offset


class LeaseLapsed(RuntimeError):
    """The batch outlived the consumer-group lease it was fetched under.

    A worker paused for longer than its session timeout (a stopped VM, a long stall) may have
    lost its partitions to another worker meanwhile; writing this batch's state records then would
    put older state after the new owner's on the changelog. The worker stops instead and its
    restart resumes from the changelog and the committed offsets, as after any crash.
    """


def _check_lease(work: Work, step: str) -> None:
    late = time.monotonic() - work.write_by
    if late > 0:
        raise LeaseLapsed(
            f"batch is {late:.1f} s past its consumer-group lease before {step}; "
            "its partitions may belong to another worker now, so it is not written"
        )


async def deliver(
    work: Work,
    *,
    producer: AIOKafkaProducer,
    names: Topics,
    stores: dict[int, PartitionStore],
    faults: FaultPoints,
) -> None:
    """Steps 1-3 above; raises if the broker does not acknowledge (the caller must not commit)."""
    queued = (
        await send_batches(
            producer, names.alerts, await _partitioned(producer, names.alerts, work.alerts)
        )
        if work.alerts
        else []
    )
    dead = [
        await producer.send(names.dead_letter, key=k, value=v, headers=h)
        for k, v, h in work.dead_letters
    ]
    await _acked_next_offsets(queued)
    if dead:
        await asyncio.gather(*dead)
    if faults.armed:
        await faults.reach_any("after_alerts_acked", work.event_ids)

    _check_lease(work, "the state records")
    by_partition = work.seal()
    next_offset = await _acked_next_offsets(
        await send_batches(
            producer,
            names.changelog,
            {
                p: [(c.encode(), v) for c, v in records.items()]
                for p, records in by_partition.items()
            },
        )
    )
    for partition, records in by_partition.items():
        store = stores.get(partition)
        if store is not None:  # revoked meanwhile: the new owner restores from the changelog
            store.write(records, changelog_next=next_offset[partition])
    if faults.armed:
        await faults.reach_any("after_state_durable", work.event_ids)

    if work.snapshots:
        _check_lease(work, "the snapshots")
        await _acked_next_offsets(
            await send_batches(
                producer,
                names.snapshots,
                await _partitioned(producer, names.snapshots, work.snapshots),
            )
        )
    if work.shadow and names.shadow:  # metrics-grade: after everything managers depend on
        await _acked_next_offsets(
            await send_batches(
                producer, names.shadow, await _partitioned(producer, names.shadow, work.shadow)
            )
        )
