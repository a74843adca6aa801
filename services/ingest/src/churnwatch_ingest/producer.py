"""Publishing validated events to Kafka: one idempotent producer, acks=all, keyed by customer_id.

Nothing is answered as accepted before the broker acknowledged it. The producer connects in the
background so the HTTP API starts (and answers 503) while the broker is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from churnwatch_shared import topics
from churnwatch_shared.events import Event, encode_event

from churnwatch_ingest.metrics import IngestMetrics
from churnwatch_ingest.settings import IngestSettings

log = structlog.get_logger(__name__)


class BrokerUnavailable(Exception):
    """The broker is unreachable or did not acknowledge in time; the client should retry."""


class Outcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record ready to send."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def event_record(event: Event) -> Record:
    """The EVENTS-topic record of an event: key customer_id, headers event_type and producer."""
    return Record(
        key=event.customer_id.encode(),
        value=encode_event(event),
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
        topic = self.events_topic
        send = producer.send

        async def stage() -> None:
            for index, item in enumerate(items):
                if isinstance(item, asyncio.Future):
                    continue
                try:
                    futures[index] = await send(
                        topic, key=item.key, value=item.value, headers=item.headers
                    )
                except MessageSizeTooLargeError:
                    too_large.add(index)
            pending = [f for f in futures if f is not None and not f.done()]
            if pending:
                await asyncio.wait(pending)

        started = time.perf_counter()
        task = asyncio.create_task(stage())
        done, _ = await asyncio.wait({task}, timeout=self.timeout)
        if not done:
            task.cancel()
        task.add_done_callback(_swallow)
        self._metrics.produce_latency.labels("batch" if len(items) > 1 else "event").observe(
            time.perf_counter() - started
        )
        answers: list[tuple[Outcome, asyncio.Future[object] | None]] = []
        unavailable = 0
        for index, future in enumerate(futures):
            if index in too_large:
                answers.append((Outcome.TOO_LARGE, None))
            elif (
                future is not None
                and future.done()
                and not future.cancelled()
                and future.exception() is None
            ):
                answers.append((Outcome.ACKNOWLEDGED, future))
            else:
                if future is not None:
                    future.add_done_callback(_swallow)
                unavailable += 1
                answers.append((Outcome.UNAVAILABLE, future))
        if unavailable:
            log.warning("produce_unacknowledged", count=unavailable, timeout=self.timeout)
        return answers
