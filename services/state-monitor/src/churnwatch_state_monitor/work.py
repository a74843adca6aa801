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
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition

from churnwatch_shared import topics

from churnwatch_state_monitor.faults import FaultPoints
from churnwatch_state_monitor.state import CustomerState
from churnwatch_state_monitor.store import PartitionStore

DLQ_SOURCE = b"state-monitor"


@dataclass(frozen=True, slots=True)
class Topics:
    alerts: str
    snapshots: str
    dead_letter: str
    changelog: str


@dataclass(slots=True)
class Work:
    """What one batch changed; ``states`` doubles as the batch's decoded-record cache."""

    states: dict[str, CustomerState] = field(default_factory=dict)
    dirty: dict[str, int] = field(default_factory=dict)  # customer -> EVENTS partition
    alerts: list[tuple[bytes, bytes]] = field(default_factory=list)
    dead_letters: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = field(
        default_factory=list)
    snapshots: list[tuple[bytes, bytes]] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)  # kept only when a fault is armed

    def changed(self, customer_id: str, partition: int, state: CustomerState) -> None:
        self.states[customer_id] = state
        self.dirty[customer_id] = partition

    def dead_letter(self, record: Any, reason: str) -> None:
        headers = [*(record.headers or ()), (topics.HEADER_DLQ_REASON, reason[:500].encode()),
                   (topics.HEADER_DLQ_SOURCE, DLQ_SOURCE)]
        self.dead_letters.append((record.key, record.value, headers))

    def __bool__(self) -> bool:
        return bool(self.dirty or self.alerts or self.dead_letters or self.snapshots
                    or self.offsets)


async def _acked(futures: list[asyncio.Future]) -> list[Any]:
    return list(await asyncio.gather(*futures)) if futures else []


async def deliver(work: Work, *, producer: AIOKafkaProducer, names: Topics,
                  stores: dict[int, PartitionStore], faults: FaultPoints) -> None:
    """Steps 1-3 above; raises if the broker does not acknowledge (the caller must not commit)."""
    send = producer.send
    pending = [await send(names.alerts, key=k, value=v) for k, v in work.alerts]
    pending += [await send(names.dead_letter, key=k, value=v, headers=h)
                for k, v, h in work.dead_letters]
    await _acked(pending)
    if faults.armed:
        await faults.reach_any("after_alerts_acked", work.event_ids)

    by_partition: dict[int, dict[str, bytes]] = defaultdict(dict)
    pending = []
    for customer_id, partition in work.dirty.items():
        value = work.states[customer_id].encode()
        by_partition[partition][customer_id] = value
        pending.append(await send(names.changelog, key=customer_id.encode(), value=value,
                                  partition=partition))
    written = await _acked(pending)
    next_offset: dict[int, int] = {}
    for meta in written:
        next_offset[meta.partition] = max(next_offset.get(meta.partition, 0), meta.offset + 1)
    for partition, records in by_partition.items():
        store = stores.get(partition)
        if store is not None:  # revoked meanwhile: the new owner restores from the changelog
            store.write(records, changelog_next=next_offset[partition])
    if faults.armed:
        await faults.reach_any("after_state_durable", work.event_ids)

    await _acked([await send(names.snapshots, key=k, value=v) for k, v in work.snapshots])
