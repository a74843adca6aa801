"""The ingest producer's connection: connect in the background, re-create after a failed send.

The API starts (and answers 503) while the broker is down: the producer connects in the
background. A failed send re-creates the producer (see ``producer_health`` for why): the old
producer's unfinished sends fail (their requests answer 503, so nothing unacknowledged is ever
answered as accepted) and a new producer id starts its sequence numbers afresh. Readiness is
answered from the producer's state and a metadata request. ``producer.EventPublisher`` builds
the publishing on top of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from churnwatch_ingest.metrics import IngestMetrics
from churnwatch_ingest.partitioning import KeyPartitioner
from churnwatch_ingest.producer_health import ProducerHealth
from churnwatch_ingest.records import MAX_REQUEST_SIZE, Record
from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs

log = structlog.get_logger("churnwatch_ingest.producer")
# A producer being replaced first gets this long to deliver what it still can (its healthy
# partitions answer in milliseconds); what is left then fails and is answered 503.
RETIRE_FLUSH_SECONDS = 2.0


class BrokerUnavailable(Exception):
    """The broker is unreachable or did not acknowledge in time; the client should retry."""


class ProducerRecreated(KafkaError):
    """A send of a producer that was replaced before the broker acknowledged it."""


class ProducerConnection:
    """Owns the AIOKafkaProducer of the process: connects, replaces it after a failure, stops it."""

    def __init__(self, *, settings: IngestSettings, metrics: IngestMetrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._producer: AIOKafkaProducer | None = None
        self._connector: asyncio.Task[None] | None = None
        self._recreator: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()  # replaced producers being stopped
        self._recreated_at = 0.0
        self.events_topic = settings.common.topic(topics.EVENTS)
        self.timeout = settings.produce_timeout_seconds
        # The producer's partitioner (murmur2 like the Java client), also used to group records
        # when a publish builds its own batches, so a key lands where send() would put it.
        self._partitioner = KeyPartitioner()
        self._event_latency = metrics.produce_latency.labels("event")
        self._batch_latency = metrics.produce_latency.labels("batch")
        self._partitions: list[int] = []  # the events topic's, as last seen (for messages)
        self.health = ProducerHealth(timeout=self.timeout)

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
                **client_kwargs(settings.common),
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
                self.health.connect_failed(
                    error=type(exc).__name__, retry_in=settings.connect_retry_seconds
                )
                with contextlib.suppress(Exception):
                    await producer.stop()
                await asyncio.sleep(settings.connect_retry_seconds)
                continue
            self._producer = producer
            self.health.connect_succeeded()
            log.info("producer_connected", bootstrap=settings.common.kafka_bootstrap)

    async def stop(self) -> None:
        """Flush what is pending and close the producer."""
        for task in (self._connector, self._recreator):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()
        if self._retiring:
            await asyncio.wait(self._retiring, timeout=self.timeout)

    def _require(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise BrokerUnavailable(f"{self.health.reason()}; retry")
        return self._producer

    def unavailable_reason(self, record: Record | None = None) -> str:
        """Why a send (of ``record``, when given: its partition is named) was not acknowledged."""
        partition = None
        if record is not None and record.key is not None and self._partitions:
            partition = self._partitioner(record.key, self._partitions, self._partitions)
        return self.health.reason(partition=partition)

    def _settled(
        self, producer: AIOKafkaProducer, partitions: set[int], future: asyncio.Future[object]
    ) -> None:
        """Done-callback of a send that was not acknowledged in time (or at all)."""
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self._failed(producer, exc, partitions)

    def _failed(self, producer: AIOKafkaProducer, exc: BaseException, partitions: set[int]) -> None:
        if isinstance(exc, ProducerRecreated):
            return  # failed on purpose by _recreate
        if producer is not self._producer:  # a replaced producer's: its incident is under way
            if self.health.failure is not None:
                self.health.failure.note(count=1, partitions=partitions)
            return
        self.health.failed(cause=type(exc).__name__, partitions=partitions)
        self._metrics.producer_recreated.labels(type(exc).__name__).inc()
        self._producer = None  # new requests answer 503 at once, saying why
        self._recreator = asyncio.create_task(
            self._recreate(producer), name="ingest-producer-recreate"
        )

    async def _recreate(self, old: AIOKafkaProducer) -> None:
        """Replace a producer whose sequence numbers the broker no longer accepts."""
        flush = asyncio.ensure_future(old.flush())
        await asyncio.wait({flush}, timeout=RETIRE_FLUSH_SECONDS)
        # aiokafka has no public call for this: fail every send the old producer still holds, so
        # each waiting request answers 503 and frees its event id for a resend, and the old
        # producer refuses new sends.
        old._message_accumulator.fail_all(ProducerRecreated("producer re-created"))
        retire = asyncio.create_task(self._retire(old, flush), name="ingest-producer-retire")
        self._retiring.add(retire)
        retire.add_done_callback(self._retiring.discard)
        # one re-creation at most every connect_retry_seconds: a broker that refuses every
        # batch for another reason must not make a new producer id per request
        pause = self._recreated_at + self._settings.connect_retry_seconds - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        self.health.connected = False
        await self._connect_loop()
        self._recreated_at = time.monotonic()
        self.health.recreated()

    @staticmethod
    async def _retire(old: AIOKafkaProducer, flush: asyncio.Future[None]) -> None:
        with contextlib.suppress(Exception):
            await flush
        with contextlib.suppress(Exception):
            await old.stop()

    async def readiness(self, *, timeout: float = 2.0) -> tuple[dict[str, bool], dict[str, str]]:
        """Readiness checks by name, and the reason of each failing one (partitions named)."""
        producing, why = self.health.readiness()
        if self._producer is None:
            checks = {"broker": False, "events_topic": False, "producer": False}
            return checks, {"producer": why or "producer not connected"}
        client = self._producer.client
        try:
            cluster = await asyncio.wait_for(client.fetch_all_metadata(), timeout)
        except (KafkaError, TimeoutError, OSError):
            checks = {"broker": False, "events_topic": False, "producer": producing}
            reasons: dict[str, str] = {
                "broker": "the broker did not answer a metadata request: no partition "
                f"can be produced to (waited {timeout:g} s)"
            }
            return checks, reasons
        topic = self.events_topic
        partitions = cluster.partitions_for_topic(topic) or set()
        leaderless = partitions - set(cluster.available_partitions_for_topic(topic) or ())
        if partitions:
            self._partitions = sorted(partitions)
        checks = {
            "broker": True,
            "events_topic": bool(partitions),
            "events_partitions": bool(partitions) and not leaderless,
            "producer": producing,
        }
        reasons = {}
        if not partitions:
            reasons["events_topic"] = f"topic {topic} does not exist"
        if leaderless:
            listed = ", ".join(str(p) for p in sorted(leaderless))
            reasons["events_partitions"] = f"partitions {listed} have no leader"
        if why is not None:
            reasons["producer"] = why
        return checks, reasons

    async def events_partitions(self) -> set[int]:
        """Partition ids of the events topic (waits for its metadata)."""
        return set(await self._require().partitions_for(self.events_topic))
