"""Fenced writers: each source partition's effects in one Kafka transaction of its own.

With ``CHURNWATCH_MONITOR_TRANSACTIONS=on`` (the default) a worker holds one transactional
producer per EVENTS partition it owns, with the transactional id ``<app id>-<partition>``. A
batch (or silence tick) is split by source partition (``split``) and each share goes out in one
transaction of that partition's producer: its alerts and dead letters, its state records on
changelog partition *p*, its snapshots (and shadow scores), and the source offset, committed to
the consumer group inside the same transaction (``send_offsets_to_transaction``). The shares of a
batch commit concurrently; the local store takes a share's state records only after its commit.

Fencing: a worker that is assigned a partition starts that partition's producer before it
restores the partition's state; starting it (InitProducerId) bumps the id's epoch, so the broker
first aborts (or completes) any transaction a previous holder left open and from then on refuses
every write of the previous holder (``ProducerFenced``). A worker paused past its session timeout
(a stopped VM, SIGSTOP) that wakes with a batch in hand therefore cannot add one record to a
read_committed reader's view: its transaction is refused as a whole. It drops that partition's
state (the store holds only committed records; the next assignment restores it from the
changelog) and carries on; the consumer group gives it partitions again when it rejoins.

Every reader of what the monitor writes reads ``read_committed`` (changelog restore, the alerts
service's intake of alerts and snapshots, the repartition tool, the tests' readers): records of an
aborted transaction are never seen, records of an open one only after it commits.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

import structlog
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import ProducerFenced

from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.partitioning import key_hash
from churnwatch_state_monitor.worker.faults import FaultPoints
from churnwatch_state_monitor.worker.settings import MonitorSettings
from churnwatch_state_monitor.worker.store import PartitionStore
from churnwatch_state_monitor.worker.work import Keyed, Topics, Work, send_batches
from churnwatch_state_monitor.worker.work import _acked_next_offsets as acked_next_offsets
from churnwatch_state_monitor.worker.work import _partitioned as partitioned

log = structlog.get_logger("churnwatch.state_monitor.transactions")


def transactional_id(app_id: str, partition: int) -> str:
    """The transactional id of EVENTS ``partition``'s writer: the same on every worker."""
    return f"{app_id}-{partition}"


@dataclass(slots=True)
class Share:
    """One source partition's part of a ``Work``."""

    alerts: Keyed = field(default_factory=list)
    dead_letters: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = field(
        default_factory=list
    )
    states: dict[str, bytes | None] = field(default_factory=dict)  # None: a tombstone
    snapshots: Keyed = field(default_factory=list)
    shadow: Keyed = field(default_factory=list)
    offset: int | None = None


def split(work: Work, *, partitions: int) -> dict[int, Share]:
    """``work`` by source partition. A keyed record goes with its customer's partition: the one
    its events came from (``Work.source``, ``Work.dirty``), else the co-partitioning hash."""
    shares: dict[int, Share] = defaultdict(Share)
    source, dirty = work.source, work.dirty

    def owner(key: bytes) -> int:
        found = source.get(key)
        if found is None:
            found = dirty.get(key.decode())
        return found if found is not None else key_hash(key) % partitions

    for record in work.alerts:
        shares[owner(record[0])].alerts.append(record)
    for partition, dead in zip(work.dead_sources, work.dead_letters, strict=True):
        shares[partition].dead_letters.append(dead)
    for partition, records in work.seal().items():
        # an erased customer's record is None, a tombstone (erasure.py)
        shares[partition].states = cast("dict[str, bytes | None]", records)
    for record in work.snapshots:
        shares[owner(record[0])].snapshots.append(record)
    for record in work.shadow:
        shares[owner(record[0])].shadow.append(record)
    for tp, offset in work.offsets.items():
        shares[tp.partition].offset = offset
    return dict(shares)


class PartitionWriters:
    """The transactional producers of the partitions this worker owns."""

    def __init__(self, *, settings: MonitorSettings, events_topic: str, names: Topics) -> None:
        self.settings = settings
        self.app_id = settings.resolved_app_id
        self.events_topic = events_topic
        self.names = names
        self.producers: dict[int, AIOKafkaProducer] = {}

    def _producer(self, partition: int) -> AIOKafkaProducer:
        s = self.settings
        return AIOKafkaProducer(
            bootstrap_servers=s.common.kafka_bootstrap,
            **client_kwargs(s.common),
            client_id=f"{self.app_id}-writer-{partition}",
            transactional_id=transactional_id(self.app_id, partition),
            transaction_timeout_ms=int(s.transaction_timeout_s * 1000),
            acks="all",
            enable_idempotence=True,
            linger_ms=int(s.producer_linger_s * 1000),
            max_batch_size=512 * 1024,
        )

    async def open(self, partitions: Iterable[int]) -> None:
        """Start each partition's producer (concurrently): from now on every earlier holder of
        its transactional id is fenced and its open transaction, if any, is resolved."""
        wanted = [p for p in partitions if p not in self.producers]
        created = {p: self._producer(p) for p in wanted}
        results = await asyncio.gather(
            *(producer.start() for producer in created.values()), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            await asyncio.gather(*(p.stop() for p in created.values()), return_exceptions=True)
            raise failed[0]
        self.producers.update(created)

    async def close(self, partitions: Iterable[int]) -> None:
        """Stop the producers of ``partitions`` (revoked or fenced)."""
        closing = [self.producers.pop(p) for p in list(partitions) if p in self.producers]
        for result in await asyncio.gather(*(p.stop() for p in closing), return_exceptions=True):
            if isinstance(
                result, Exception
            ):  # a fenced producer may fail to flush: nothing to keep
                log.debug("writer stopped with an error", error=repr(result))

    async def close_all(self) -> None:
        await self.close(list(self.producers))

    async def deliver(
        self,
        work: Work,
        *,
        partitions: int,
        stores: dict[int, PartitionStore],
        faults: FaultPoints,
    ) -> tuple[dict[TopicPartition, int], set[int]]:
        """Every share of ``work`` in its partition's transaction, the partitions concurrently;
        returns the source offsets committed and the partitions whose writer was fenced.
        Any other failure is raised (the worker stops; its transactions are aborted when the
        partitions' next writer starts)."""
        shares = split(work, partitions=partitions)
        order = sorted(shares)
        outcomes = await asyncio.gather(
            *(self._one(p, shares[p], work=work, stores=stores, faults=faults) for p in order),
            return_exceptions=True,
        )
        committed: dict[TopicPartition, int] = {}
        fenced: set[int] = set()
        for partition, outcome in zip(order, outcomes, strict=True):
            if isinstance(outcome, ProducerFenced):
                fenced.add(partition)
            elif isinstance(outcome, BaseException):
                raise outcome
            elif outcome and shares[partition].offset is not None:
                offset = shares[partition].offset
                assert offset is not None
                committed[TopicPartition(self.events_topic, partition)] = offset
        return committed, fenced

    async def _one(
        self,
        partition: int,
        share: Share,
        *,
        work: Work,
        stores: dict[int, PartitionStore],
        faults: FaultPoints,
    ) -> bool:
        """One partition's transaction; False when this worker no longer writes the partition
        (revoked meanwhile: its new owner re-reads the events from the committed offset)."""
        producer = self.producers.get(partition)
        if producer is None:
            return False
        names = self.names
        await producer.begin_transaction()
        offsets = None
        if share.offset is not None:  # AddOffsetsToTxn + TxnOffsetCommit beside the produce
            offsets = asyncio.ensure_future(
                producer.send_offsets_to_transaction(
                    {TopicPartition(self.events_topic, partition): share.offset},
                    self.app_id,
                )
            )
        try:
            alerts = await send_batches(
                producer, names.alerts, await partitioned(producer, names.alerts, share.alerts)
            )
            dead = [
                await producer.send(names.dead_letter, key=k, value=v, headers=h)
                for k, v, h in share.dead_letters
            ]
            state = await send_batches(
                producer,
                names.changelog,
                {partition: [(c.encode(), v) for c, v in share.states.items()]}
                if share.states
                else {},
            )
            rest = await send_batches(
                producer,
                names.snapshots,
                await partitioned(producer, names.snapshots, share.snapshots),
            )
            if share.shadow and names.shadow:
                rest += await send_batches(
                    producer,
                    names.shadow,
                    await partitioned(producer, names.shadow, share.shadow),
                )
            await acked_next_offsets(alerts)
            if dead:
                await asyncio.gather(*dead)
            if faults.armed:
                await faults.reach_any("after_alerts_acked", work.event_ids)
            next_offset = await acked_next_offsets(state)
            await acked_next_offsets(rest)
            if offsets is not None:
                await offsets
            await producer.commit_transaction()
        except BaseException:
            if offsets is not None:  # refused with the rest: nothing more to learn from it
                if offsets.done():
                    if not offsets.cancelled():
                        offsets.exception()
                else:
                    offsets.cancel()
            raise
        if faults.armed:
            await faults.reach_any("after_state_durable", work.event_ids)
        store = stores.get(partition)
        if store is not None and share.states:
            store.write(share.states, changelog_next=next_offset[partition])
        return True
