"""Publishing validated events to Kafka: one idempotent producer, acks=all, keyed by customer_id.

Nothing is answered as accepted before the broker acknowledged it. The producer connects in the
background so the HTTP API starts (and answers 503) while the broker is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, NamedTuple

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from churnwatch_ingest.metrics import IngestMetrics
from churnwatch_ingest.partitioning import KeyPartitioner
from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared import topics
from churnwatch_shared.events import Event

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


_ACKNOWLEDGED = Outcome.ACKNOWLEDGED


class Record(NamedTuple):
    """One Kafka record ready to send (a tuple: built once per event, so construction is cheap)."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


# Records are built once per event: tuple.__new__ skips the NamedTuple's Python-level __new__.
_new_record = functools.partial(tuple.__new__, Record)
# The headers of a record depend only on (event_type, producer): one shared list per pair. The
# producer only reads them; nothing may mutate a record's headers.
_HEADERS: dict[tuple[str, str | None], list[tuple[str, bytes]]] = {}
_MAX_HEADER_SETS = 1024  # raw-topic writers name their own producer; keep the memo bounded


def _headers(event_type: str, producer: str | None) -> list[tuple[str, bytes]]:
    headers = _HEADERS.get((event_type, producer))
    if headers is None:
        if len(_HEADERS) >= _MAX_HEADER_SETS:
            _HEADERS.clear()
        headers = _HEADERS[(event_type, producer)] = [
            (topics.HEADER_EVENT_TYPE, event_type.encode()),
            (topics.HEADER_PRODUCER, (producer or "").encode()),
        ]
    return headers


def event_record(event: Event) -> Record:
    """The EVENTS-topic record of an event: key customer_id, headers event_type and producer.

    The value is the canonical ``encode_event`` form, produced as bytes by the model's serializer
    directly (``encode_event`` goes through a str and back; tests hold the two byte-identical).
    """
    return _new_record(
        (
            event.customer_id.encode(),
            event.__pydantic_serializer__.to_json(event, exclude_none=True),
            _headers(event.event_type, event.producer),
        )
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
        self._partitioner = KeyPartitioner()
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
        # A batch future serves many records: settle each distinct future once.
        acknowledged = {
            f: f.done() and not f.cancelled() and f.exception() is None
            for f in set(futures)
            if f is not None
        }
        if all(acknowledged.values()) and None not in futures:
            return [(_ACKNOWLEDGED, f) for f in futures]  # the usual case: every record acked
        answers: list[tuple[Outcome, asyncio.Future[object] | None]] = []
        unavailable = 0
        for index, future in enumerate(futures):
            if future is None:
                outcome = Outcome.TOO_LARGE if index in too_large else Outcome.UNAVAILABLE
                unavailable += outcome is Outcome.UNAVAILABLE
                answers.append((outcome, None))
            elif acknowledged[future]:
                answers.append((_ACKNOWLEDGED, future))
            else:
                unavailable += 1
                answers.append((Outcome.UNAVAILABLE, future))
        for future, ok in acknowledged.items():
            if not ok:
                future.add_done_callback(_swallow)
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
        rounds: list[list[tuple[int, object, list[int]]]] = []
        # partition -> (its open batch, the record indexes in it, how many it filled before)
        open_batches: dict[int, tuple[Any, list[int], int]] = {}
        for index, item in enumerate(items):
            if isinstance(item, asyncio.Future):
                continue
            key, value, headers = item
            if len(value) + len(key or b"") > MAX_REQUEST_SIZE:
                too_large.add(index)
                continue
            partition = partition_of(key, all_partitions, available)
            current = open_batches.get(partition)
            if current is None:
                current = open_batches[partition] = (producer.create_batch(), [], 0)
            builder, members, depth = current
            if builder.append(key=key, value=value, timestamp=None, headers=headers) is None:
                # full: this record starts the partition's next batch
                _plan(rounds, depth, (partition, builder, members))
                builder, members, depth = producer.create_batch(), [], depth + 1
                open_batches[partition] = (builder, members, depth)
                builder.append(key=key, value=value, timestamp=None, headers=headers)
            members.append(index)
        for partition, (builder, members, depth) in open_batches.items():
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
