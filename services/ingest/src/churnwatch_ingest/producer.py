"""Publishing validated events to Kafka: one idempotent producer, acks=all, keyed by customer_id.

Nothing is answered as accepted before the broker acknowledged it. The producer connects in the
background so the HTTP API starts (and answers 503) while the broker is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner
from churnwatch_shared import topics
from churnwatch_shared.events import Event

from churnwatch_ingest.metrics import IngestMetrics
from churnwatch_ingest.settings import IngestSettings

log = structlog.get_logger(__name__)
# From this many records on, a publish fills one Kafka batch per partition itself (create_batch /
# send_batch): one ack future per batch instead of one per record, about a third of the CPU of
# send() per record. Smaller publishes (single events) use send() and share the producer's open
# batches with concurrent requests.
OWN_BATCHES_FROM = 16
MAX_REQUEST_SIZE = 1024 * 1024  # aiokafka's default max_request_size; a record above it is refused


class BrokerUnavailable(Exception):
    """The broker is unreachable or did not acknowledge in time; the client should retry."""


class Outcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"


class Record(NamedTuple):
    """One Kafka record ready to send (a tuple: built once per event, so construction is cheap)."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def event_record(event: Event) -> Record:
    """The EVENTS-topic record of an event: key customer_id, headers event_type and producer.

    The value is the canonical ``encode_event`` form, produced as bytes by the model's serializer
    directly (``encode_event`` goes through a str and back; tests hold the two byte-identical).
    """
    return Record(
        key=event.customer_id.encode(),
        value=event.__pydantic_serializer__.to_json(event, exclude_none=True),
        headers=[
            (topics.HEADER_EVENT_TYPE, event.event_type.encode()),
            (topics.HEADER_PRODUCER, (event.producer or "").encode()),
        ],
    )


def _swallow(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()


class EventPublisher:
    """Owns the AIOKafkaProducer of the process and sends records with a bounded wait."""

    def __init__(self, *, settings: IngestSettings, metrics: IngestMetrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._producer: AIOKafkaProducer | None = None
        self._connector: asyncio.Task[None] | None = None
        self.events_topic = settings.common.topic(topics.EVENTS)
        self.timeout = settings.produce_timeout_seconds
        # The producer's partitioner (murmur2 like the Java client), also used to group records
        # when a publish builds its own batches, so a key lands where send() would put it.
        self._partitioner = DefaultPartitioner()
        self._event_latency = metrics.produce_latency.labels("event")
        self._batch_latency = metrics.produce_latency.labels("batch")

    @property
    def ready(self) -> bool:
        return self._producer is not None

    async def start(self) -> None:
        """Begin connecting in the background; returns at once."""
        self._connector = asyncio.create_task(self._connect_loop(), name="ingest-producer-connect")

    async def wait_ready(self, *, timeout: float) -> bool:
        """Wait until the producer is connected (for tests and the raw validator)."""
        deadline = time.monotonic() + timeout
        while not self.ready and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.ready

    async def _connect_loop(self) -> None:
        settings = self._settings
        while self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=settings.common.kafka_bootstrap,
                client_id="churnwatch-ingest",
                acks="all",
                enable_idempotence=True,
                linger_ms=settings.linger_ms,
                max_batch_size=settings.max_batch_size_bytes,
                request_timeout_ms=settings.request_timeout_ms,
                max_request_size=MAX_REQUEST_SIZE,
                partitioner=self._partitioner,
            )
            try:
                await producer.start()
            except KafkaError as exc:
                log.warning(
                    "broker_unreachable",
                    error=type(exc).__name__,
                    retry_in=settings.connect_retry_seconds,
                )
                with contextlib.suppress(Exception):
                    await producer.stop()
                await asyncio.sleep(settings.connect_retry_seconds)
                continue
            self._producer = producer
            log.info("producer_connected", bootstrap=settings.common.kafka_bootstrap)

    async def stop(self) -> None:
        """Flush what is pending and close the producer."""
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    def _require(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise BrokerUnavailable("not connected to the Kafka broker")
        return self._producer

    async def probe(self, *, timeout: float = 2.0) -> dict[str, bool]:
        """Readiness: broker answers a metadata request and the events topic exists."""
        if self._producer is None:
            return {"broker": False, "events_topic": False}
        client = self._producer.client
        try:
            cluster = await asyncio.wait_for(client.fetch_all_metadata(), timeout)
        except (KafkaError, TimeoutError, OSError):
            return {"broker": False, "events_topic": False}
        return {"broker": True, "events_topic": self.events_topic in cluster.topics()}

    async def events_partitions(self) -> set[int]:
        """Partition ids of the events topic (waits for its metadata)."""
        return set(await self._require().partitions_for(self.events_topic))

    async def send(self, *, topic: str, record: Record) -> asyncio.Future[object]:
        """Hand one record to the producer; the returned future resolves on the broker's ack."""
        producer = self._require()
        return await producer.send(
            topic, key=record.key, value=record.value, headers=record.headers
        )

    async def publish(self, record: Record) -> None:
        """Send one record to the events topic and wait for the ack (BrokerUnavailable if none)."""
        outcomes = await self.publish_many([record])
        if outcomes[0] is Outcome.TOO_LARGE:
            raise MessageSizeTooLargeError()
        if outcomes[0] is not Outcome.ACKNOWLEDGED:
            raise BrokerUnavailable(f"broker did not acknowledge within {self.timeout:g} s")

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
        futures: list[asyncio.Future[object] | None] = [
            item if isinstance(item, asyncio.Future) else None for item in items
        ]
        too_large: set[int] = set()
        own_batches = len(items) >= OWN_BATCHES_FROM

        async def stage() -> None:
            if own_batches:
                await self._send_batches(producer, items, futures, too_large)
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
        answers: list[tuple[Outcome, asyncio.Future[object] | None]] = []
        unavailable = 0
        acknowledged: dict[asyncio.Future[object], bool] = {}  # a batch future serves many records
        for index, future in enumerate(futures):
            if future is None:
                outcome = Outcome.TOO_LARGE if index in too_large else Outcome.UNAVAILABLE
                unavailable += outcome is Outcome.UNAVAILABLE
                answers.append((outcome, None))
                continue
            ok = acknowledged.get(future)
            if ok is None:
                ok = future.done() and not future.cancelled() and future.exception() is None
                if not ok:
                    future.add_done_callback(_swallow)
                acknowledged[future] = ok
            if ok:
                answers.append((Outcome.ACKNOWLEDGED, future))
            else:
                unavailable += 1
                answers.append((Outcome.UNAVAILABLE, future))
        if unavailable:
            log.warning("produce_unacknowledged", count=unavailable, timeout=self.timeout)
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

    async def _send_batches(
        self,
        producer: AIOKafkaProducer,
        items: Sequence[Record | asyncio.Future[object]],
        futures: list[asyncio.Future[object] | None],
        too_large: set[int],
    ) -> None:
        """Group records by partition (in order), fill batches, and submit them round by round.

        Every record of a batch shares the batch's ack future. Within a partition the batches
        are submitted in record order, so one customer's events keep their order.
        """
        topic = self.events_topic
        await producer.partitions_for(topic)  # waits for the topic's metadata
        cluster = producer.client.cluster
        all_partitions = sorted(cluster.partitions_for_topic(topic))
        available = list(cluster.available_partitions_for_topic(topic))
        partition_of = self._partitioner
        groups: dict[int, list[tuple[int, Record]]] = {}
        for index, item in enumerate(items):
            if isinstance(item, asyncio.Future):
                continue
            if len(item.value) + len(item.key or b"") > MAX_REQUEST_SIZE:
                too_large.add(index)
                continue
            partition = partition_of(item.key, all_partitions, available)
            group = groups.get(partition)
            if group is None:
                groups[partition] = [(index, item)]
            else:
                group.append((index, item))
        rounds: list[list[tuple[int, object, list[int]]]] = []
        for partition, group in groups.items():
            builder = producer.create_batch()
            members: list[int] = []
            depth = 0
            for index, record in group:
                if (
                    builder.append(
                        key=record.key, value=record.value, timestamp=None, headers=record.headers
                    )
                    is None
                ):  # full: this one starts the next batch of the partition
                    _plan(rounds, depth, (partition, builder, members))
                    depth += 1
                    builder = producer.create_batch()
                    members = []
                    builder.append(
                        key=record.key, value=record.value, timestamp=None, headers=record.headers
                    )
                members.append(index)
            _plan(rounds, depth, (partition, builder, members))
        for batches in rounds:
            for partition, builder, members in batches:
                future = await producer.send_batch(builder, topic, partition=partition)
                for index in members:
                    futures[index] = future


def _plan(
    rounds: list[list[tuple[int, object, list[int]]]],
    depth: int,
    batch: tuple[int, object, list[int]],
) -> None:
    while len(rounds) <= depth:
        rounds.append([])
    rounds[depth].append(batch)
