"""The Fineract bridge: consume Fineract's external-event topic, publish ChurnWatch events.

Per batch: decode and map every record, produce the mapped events to EVENTS (key customer_id,
headers ``event_type`` and ``producer=fineract:<tenant>``) and malformed records to DEAD_LETTER
(original key, value and headers, plus ``dlq.reason`` / ``dlq.source``), wait for every ack
(acks=all, idempotent producer), persist new account ownership, and only then commit the
consumer offsets. A crash before the commit replays the batch; ``event_id`` is Fineract's
idempotency key, so the replay is caught as a duplicate downstream. Unsupported Fineract event
types are counted in ``stats.skipped`` and committed past.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from churnwatch_ingest.adapters.accounts import AccountOwners
from churnwatch_ingest.adapters.fineract.decode import MalformedRecord, decode_message
from churnwatch_ingest.adapters.fineract.mapping import FineractMapper, FineractMappingConfig
from churnwatch_shared.events import encode_event
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.topics import (
    HEADER_DLQ_REASON,
    HEADER_DLQ_SOURCE,
    HEADER_EVENT_TYPE,
    HEADER_PRODUCER,
)

log = structlog.get_logger(__name__)

DEFAULT_SOURCE_TOPIC = "external-events"


@dataclass(slots=True)
class BridgeStats:
    """Counters for /metrics and tests."""

    records: int = 0
    published: Counter[str] = field(default_factory=Counter)  # by our event_type
    skipped: Counter[str] = field(default_factory=Counter)  # by reason (unsupported type ...)
    dead_lettered: Counter[str] = field(default_factory=Counter)  # by reason code


class FineractBridge:
    """Consumes ``source_topic`` (Fineract MessageV1 records) and produces to our EVENTS topic."""

    def __init__(
        self,
        *,
        bootstrap: str,
        events_topic: str,
        dead_letter_topic: str,
        owners: AccountOwners,
        group_id: str,
        source_topic: str = DEFAULT_SOURCE_TOPIC,
        config: FineractMappingConfig | None = None,
        max_batch: int = 500,
    ) -> None:
        self._bootstrap = bootstrap
        self._events_topic = events_topic
        self._dlq_topic = dead_letter_topic
        self._source_topic = source_topic
        self._group_id = group_id
        self._owners = owners
        self._mapper = FineractMapper(owners=owners, config=config)
        self._max_batch = max_batch
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self.stats = BridgeStats()

    async def start(self) -> None:
        """Connect and start the consume loop in the background."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            **client_kwargs(),
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            self._source_topic,
            bootstrap_servers=self._bootstrap,
            **client_kwargs(),
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="fineract-bridge")

    async def stop(self) -> None:
        """Stop the loop (uncommitted work is replayed on the next start) and disconnect."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    @property
    def running(self) -> bool:
        """True while the consume loop is alive."""
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=500, max_records=self._max_batch)
            records = [r for part in batch.values() for r in part]
            if not records:
                continue
            try:
                await self.process(records)
            except Exception:
                # Nothing committed: seek back so the same records are retried, not skipped.
                log.exception("fineract_batch_failed", records=len(records))
                for tp, part in batch.items():
                    self._consumer.seek(tp, part[0].offset)
                await asyncio.sleep(1.0)
                continue
            await self._consumer.commit()

    async def process(self, records: list[ConsumerRecord]) -> None:
        """Map, produce and wait for acks of one batch (the caller commits afterwards).

        Statistics are counted only once every record of the batch was acknowledged, so a batch
        that fails and is replayed is counted once.
        """
        assert self._producer is not None
        futures: list[asyncio.Future[object]] = []
        tally = BridgeStats()
        for record in records:
            tally.records += 1
            futures.extend(await self._handle(record, tally))
        for future in futures:
            await future
        await self._owners.flush()
        self.stats.records += tally.records
        self.stats.published.update(tally.published)
        self.stats.skipped.update(tally.skipped)
        self.stats.dead_lettered.update(tally.dead_lettered)

    async def _handle(
        self, record: ConsumerRecord, tally: BridgeStats
    ) -> list[asyncio.Future[object]]:
        assert self._producer is not None
        try:
            message = decode_message(record.value)
            mapped = self._mapper.map(message)
        except MalformedRecord as exc:
            code = exc.reason.split(":", 1)[0]
            tally.dead_lettered[code] += 1
            log.warning(
                "fineract_dead_letter",
                reason=code,
                partition=record.partition,
                offset=record.offset,
            )
            headers = [
                *list(record.headers or []),
                (HEADER_DLQ_REASON, exc.reason.encode()[:1000]),
                (HEADER_DLQ_SOURCE, f"fineract:{self._source_topic}".encode()),
            ]
            future = await self._producer.send(
                self._dlq_topic, key=record.key, value=record.value, headers=headers
            )
            return [future]
        if mapped.skipped is not None:
            tally.skipped[mapped.skipped] += 1
            return []
        futures = []
        for event in mapped.events:
            tally.published[event.event_type] += 1
            headers = [
                (HEADER_EVENT_TYPE, event.event_type.encode()),
                (HEADER_PRODUCER, (event.producer or "fineract").encode()),
            ]
            futures.append(
                await self._producer.send(
                    self._events_topic,
                    key=event.customer_id.encode(),
                    value=encode_event(event),
                    headers=headers,
                )
            )
        return futures
