"""Validation of the raw topic: producers that write to Kafka directly get the same checks as HTTP.

A consumer (own group, manual commits) reads EVENTS_RAW. Each valid record goes to EVENTS keyed by
customer_id with the usual headers; each invalid one goes to DEAD_LETTER with its original key,
value bytes and headers, plus ``dlq.reason`` (reason code), ``dlq.detail`` (JSON field errors) and
``dlq.source`` (``topic/partition/offset``). Offsets are committed only after every routed record
of a poll was acknowledged, so a crash re-reads rather than loses (downstream dedups by event_id).

Producer identity: raw writers are trusted by topic ACL; the ``producer`` header wins, then the
body's ``producer`` field, then ``raw``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from churnwatch_ingest.metrics import IngestMetrics
from churnwatch_ingest.producer import EventPublisher, Record, event_record
from churnwatch_ingest.settings import IngestSettings
from churnwatch_ingest.validation import EventRejected, decode_json, validate_event
from churnwatch_shared import topics
from churnwatch_shared.events import Event
from churnwatch_shared.kafka_security import client_kwargs

log = structlog.get_logger(__name__)
HEADER_DLQ_DETAIL = "dlq.detail"
SOURCE_RAW = "raw"
_MAX_DETAIL_BYTES = 8 * 1024


def _header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name and value:
            try:
                return value.decode()
            except UnicodeDecodeError:
                return None
    return None


def dead_letter_record(record: ConsumerRecord, rejection: EventRejected) -> Record:
    """The dead letter of a raw record: original key, bytes and headers, plus the reason."""
    detail = orjson.dumps(
        {"message": rejection.message, "errors": [e.as_dict() for e in rejection.errors[:50]]}
    )[:_MAX_DETAIL_BYTES]
    headers = [
        *[(k, v) for k, v in (record.headers or ())],
        (topics.HEADER_DLQ_REASON, rejection.reason.encode()),
        (HEADER_DLQ_DETAIL, detail),
        (topics.HEADER_DLQ_SOURCE, f"{record.topic}/{record.partition}/{record.offset}".encode()),
    ]
    return Record(key=record.key, value=record.value or b"", headers=headers)


class RawValidator:
    """Background task of the ingest process: EVENTS_RAW -> EVENTS or DEAD_LETTER."""

    def __init__(
        self,
        *,
        settings: IngestSettings,
        publisher: EventPublisher,
        metrics: IngestMetrics,
        on_accepted: Callable[[Event], None] | None = None,
    ) -> None:
        self._on_accepted = on_accepted
        self._settings = settings
        self._publisher = publisher
        self._metrics = metrics
        self.raw_topic = settings.common.topic(topics.EVENTS_RAW)
        self.dead_letter_topic = settings.common.topic(topics.DEAD_LETTER)
        self._task: asyncio.Task[None] | None = None
        self._consuming = False

    @property
    def running(self) -> bool:
        return self._consuming and self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the consuming loop in the background."""
        self._task = asyncio.create_task(self._run(), name="ingest-raw-validator")

    async def stop(self) -> None:
        """Stop consuming; uncommitted records are re-read on the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = self._settings.connect_retry_seconds
        while True:
            if not await self._publisher.wait_ready(timeout=backoff):
                continue
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker trouble: restart from the last commit
                log.warning(
                    "raw_validator_restart", error=type(exc).__name__, detail=str(exc)[:200]
                )
                await asyncio.sleep(backoff)

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            self.raw_topic,
            bootstrap_servers=self._settings.common.kafka_bootstrap,
            **client_kwargs(self._settings.common),
            group_id=self._settings.effective_raw_group_id,
            client_id="churnwatch-ingest-raw-validator",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        self._consuming = True
        log.info("raw_validator_started", topic=self.raw_topic)
        try:
            while True:
                batches = await consumer.getmany(
                    timeout_ms=500, max_records=self._settings.raw_max_records
                )
                if batches:
                    await self._process(consumer, batches)
        finally:
            self._consuming = False
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _process(
        self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        now = datetime.now(UTC)
        skew = timedelta(seconds=self._settings.max_future_skew_seconds)
        futures: list[asyncio.Future[object]] = []
        accepted: list[Event] = []
        forwarded: Counter[str] = Counter()
        offsets: dict[TopicPartition, int] = {}
        for partition, records in batches.items():
            for record in records:
                future, event = await self._route(record, now=now, skew=skew)
                futures.append(future)
                if event is not None:
                    forwarded[event.event_type] += 1
                    accepted.append(event)
            offsets[partition] = records[-1].offset + 1
        await asyncio.gather(*futures)  # any failure: no commit, the poll is re-read
        await consumer.commit(offsets)
        for event_type, count in forwarded.items():
            self._metrics.accepted.labels(event_type, SOURCE_RAW).inc(count)
        if self._on_accepted is not None:
            for event in accepted:
                self._on_accepted(event)

    async def _route(
        self, record: ConsumerRecord, *, now: datetime, skew: timedelta
    ) -> tuple[asyncio.Future[object], Event | None]:
        """Hand the record to the producer: (ack future, the event when forwarded to EVENTS)."""
        try:
            if not record.value:
                raise EventRejected(422, "empty_value", "the record has no value")
            obj = decode_json(record.value)
            producer = _header(record, topics.HEADER_PRODUCER)
            if producer is None and isinstance(obj, dict):
                body_producer = obj.get("producer")
                producer = (
                    body_producer if isinstance(body_producer, str) and body_producer else None
                )
            event = validate_event(
                obj, producer=producer or SOURCE_RAW, allowed=None, now=now, max_future_skew=skew
            )
        except EventRejected as rejection:
            self._metrics.rejected.labels(rejection.event_type, rejection.reason, SOURCE_RAW).inc()
            self._metrics.dead_lettered.labels(rejection.reason).inc()
            log.info(
                "raw_dead_lettered",
                reason=rejection.reason,
                partition=record.partition,
                offset=record.offset,
            )
            future = await self._publisher.send(
                topic=self.dead_letter_topic, record=dead_letter_record(record, rejection)
            )
            return future, None
        future = await self._publisher.send(
            topic=self._publisher.events_topic, record=event_record(event)
        )
        return future, event
