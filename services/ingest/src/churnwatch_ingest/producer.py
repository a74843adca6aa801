"""Publishing validated events to Kafka: one idempotent producer, acks=all, keyed by customer_id.

Nothing is answered as accepted before the broker acknowledged it. The producer's connection,
its re-creation after a failed send and readiness are in ``producer_connection``; this module
sends records with a bounded wait and answers one outcome per record.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError

from churnwatch_ingest.batching import send_batches
from churnwatch_ingest.producer_connection import (
    RETIRE_FLUSH_SECONDS,
    BrokerUnavailable,
    ProducerConnection,
    ProducerRecreated,
)
from churnwatch_ingest.records import Record, event_record
from churnwatch_shared.observability import kafka_context_headers
from churnwatch_shared.observability.lineage import ingested_at_header

__all__ = [
    "RETIRE_FLUSH_SECONDS",
    "BrokerUnavailable",
    "EventPublisher",
    "Outcome",
    "ProducerRecreated",
    "Record",
    "event_record",
]

# From this many records on, a publish fills one Kafka batch per partition itself (create_batch /
# send_batch): one ack future per batch instead of one per record, about a third of the CPU of
# send() per record. Smaller publishes (single events) use send() and share the producer's open
# batches with concurrent requests.
OWN_BATCHES_FROM = 16


class Outcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"


_ACKNOWLEDGED = Outcome.ACKNOWLEDGED


def _swallow(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _carrying(
    item: Record | asyncio.Future[object], carried: list[tuple[str, bytes]]
) -> Record | asyncio.Future[object]:
    # a new header list: a record's own list is shared by every record of its type and producer
    if isinstance(item, asyncio.Future):
        return item
    return Record(item.key, item.value, [*item.headers, *carried])


class EventPublisher(ProducerConnection):
    """Sends records with a bounded wait; one outcome per record (see ``ProducerConnection``)."""

    async def send(self, *, topic: str, record: Record) -> asyncio.Future[object]:
        """Hand one record to the producer; the returned future resolves on the broker's ack."""
        producer = self._require()
        future = await producer.send(
            topic, key=record.key, value=record.value, headers=record.headers
        )
        future.add_done_callback(functools.partial(self._settled, producer, set()))
        return future

    async def publish(self, record: Record) -> None:
        """Send one record to the events topic and wait for the ack (BrokerUnavailable if none)."""
        outcomes = await self.publish_many([record])
        if outcomes[0] is Outcome.TOO_LARGE:
            raise MessageSizeTooLargeError()
        if outcomes[0] is not Outcome.ACKNOWLEDGED:
            raise BrokerUnavailable(f"{self.unavailable_reason(record)}; retry")

    async def publish_many(self, records: Sequence[Record]) -> list[Outcome]:
        """Send records concurrently and wait (bounded) for all acks; one outcome per record."""
        return [outcome for outcome, _ in await self.publish_tracked(records)]

    async def publish_tracked(
        self, items: Sequence[Record | asyncio.Future[object]]
    ) -> list[tuple[Outcome, asyncio.Future[object] | None]]:
        """Like :meth:`publish_many`; an item may also be the ack future of an earlier send still
        in flight, which is awaited instead of sending the record again. Each answer carries the
        ack future, so a caller can follow a send that was not acknowledged in time.
        """
        producer = self._require()
        # the request's id, trace context and the ingest time (e2e latency) go with each record
        carried = [*kafka_context_headers(), ingested_at_header()]
        items = [_carrying(item, carried) for item in items]
        futures: list[asyncio.Future[object] | None] = [
            item if isinstance(item, asyncio.Future) else None for item in items
        ]
        too_large: set[int] = set()
        own_batches = len(items) >= OWN_BATCHES_FROM

        async def stage() -> None:
            if own_batches:
                await send_batches(
                    producer=producer,
                    topic=self.events_topic,
                    partition_of=self._partitioner,
                    items=items,
                    futures=futures,
                    too_large=too_large,
                )
            else:
                await self._send_each(producer, items, futures, too_large)
            pending = {f for f in futures if f is not None and not f.done()}
            if pending:
                await asyncio.wait(pending)

        started = time.perf_counter()
        task = asyncio.create_task(stage())
        done, _ = await asyncio.wait({task}, timeout=self.timeout)
        if not done:
            task.cancel()
        task.add_done_callback(_swallow)
        latency = self._batch_latency if len(items) > 1 else self._event_latency
        latency.observe(time.perf_counter() - started)
        # A batch future serves many records: settle each distinct future once.
        acknowledged = {
            f: f.done() and not f.cancelled() and f.exception() is None
            for f in set(futures)
            if f is not None
        }
        if all(acknowledged.values()) and None not in futures:
            if self.health.timeouts is not None:
                self.health.acknowledged()
            return [(_ACKNOWLEDGED, f) for f in futures]  # the usual case: every record acked
        return self._unacknowledged(producer, items, futures, acknowledged, too_large, task)

    def _unacknowledged(
        self,
        producer: AIOKafkaProducer,
        items: Sequence[Record | asyncio.Future[object]],
        futures: list[asyncio.Future[object] | None],
        acknowledged: dict[asyncio.Future[object], bool],
        too_large: set[int],
        task: asyncio.Task[None],
    ) -> list[tuple[Outcome, asyncio.Future[object] | None]]:
        """Answers of a publish not acknowledged in full; failures re-create the producer."""
        known = producer.client.cluster.partitions_for_topic(self.events_topic)
        if known:
            self._partitions = sorted(known)
        partitions = self._partitions
        partition_of = self._partitioner
        answers: list[tuple[Outcome, asyncio.Future[object] | None]] = []
        of_future: dict[asyncio.Future[object], set[int]] = {}
        timed_out: set[int] = set()
        pending = 0
        for index, future in enumerate(futures):
            item = items[index]
            partition = (
                partition_of(item.key, partitions, partitions)
                if partitions and isinstance(item, tuple) and item.key is not None
                else None
            )
            if future is None:
                outcome = Outcome.TOO_LARGE if index in too_large else Outcome.UNAVAILABLE
                answers.append((outcome, None))
                if outcome is Outcome.UNAVAILABLE:
                    pending += 1
                    if partition is not None:
                        timed_out.add(partition)
            elif acknowledged[future]:
                answers.append((_ACKNOWLEDGED, future))
            else:
                answers.append((Outcome.UNAVAILABLE, future))
                parts = of_future.setdefault(future, set())
                if partition is not None:
                    parts.add(partition)
                if not future.done():
                    pending += 1
                    timed_out |= parts
        for future, parts in of_future.items():
            if future.done():
                self._settled(producer, parts, future)
            else:  # may still fail (or be acknowledged late) after the answer
                future.add_done_callback(functools.partial(self._settled, producer, parts))
        if task.done() and not task.cancelled():
            exc = task.exception()
            # a send refused outright by a dead producer (its sender failed); a full batch
            # queue only times out
            if isinstance(exc, KafkaError) and not isinstance(exc, KafkaTimeoutError):
                self._failed(producer, exc, timed_out)
        if pending and self.health.failure is None and producer is self._producer:
            self.health.unacknowledged(count=pending, partitions=timed_out)
        return answers

    async def _send_each(
        self,
        producer: AIOKafkaProducer,
        items: Sequence[Record | asyncio.Future[object]],
        futures: list[asyncio.Future[object] | None],
        too_large: set[int],
    ) -> None:
        topic = self.events_topic
        for index, item in enumerate(items):
            if isinstance(item, asyncio.Future):
                continue
            try:
                futures[index] = await producer.send(
                    topic, key=item.key, value=item.value, headers=item.headers
                )
            except MessageSizeTooLargeError:
                too_large.add(index)
