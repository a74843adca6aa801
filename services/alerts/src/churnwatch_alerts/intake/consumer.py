"""The intake loop: read a batch, apply it in one transaction, commit offsets only after the DB."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.clock import Clock
from churnwatch_alerts.intake.handlers import IntakeTopics, apply_batch
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared import topics

log = structlog.get_logger(__name__)


def intake_topics(settings: AlertsSettings) -> IntakeTopics:
    """The three topic names under the configured namespace."""
    common = settings.common
    return IntakeTopics(
        alerts=common.topic(topics.ALERTS),
        customer_state=common.topic(topics.CUSTOMER_STATE),
        events=common.topic(topics.EVENTS),
    )


class Intake:
    """Owns the consumer; ``run()`` loops until cancelled."""

    def __init__(
        self,
        *,
        settings: AlertsSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        on_batch: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.topics = intake_topics(settings)
        self.on_batch = on_batch
        self.consumer = AIOKafkaConsumer(
            self.topics.alerts,
            self.topics.customer_state,
            self.topics.events,
            bootstrap_servers=settings.common.kafka_bootstrap,
            group_id=settings.effective_group_id,
            client_id=f"{settings.effective_group_id}-intake",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=settings.intake_batch_size,
        )
        self.running = False

    async def start(self) -> None:
        """Connect and join the group."""
        await self.consumer.start()
        self.running = True

    async def stop(self) -> None:
        """Leave the group (uncommitted records are re-read by the next owner)."""
        self.running = False
        await self.consumer.stop()

    async def _apply(self, records: list[ConsumerRecord]) -> None:
        async with self.sessionmaker() as session, session.begin():
            result = await apply_batch(
                session,
                records=records,
                topics=self.topics,
                now=self.clock.now(),
                sla_seconds=self.settings.sla_seconds,
            )
        log.info(
            "intake.batch",
            records=len(records),
            alerts_new=result.alerts_new,
            alerts_duplicate=result.alerts_duplicate,
            snapshots=result.snapshots,
            assignments=result.assignments,
            rejected=result.rejected,
        )

    async def run(self) -> None:
        """Poll, apply, then commit; on a database error rewind and retry the same batch."""
        while True:
            batch = await self.consumer.getmany(
                timeout_ms=500, max_records=self.settings.intake_batch_size
            )
            if not batch:
                continue
            records = [r for partition_records in batch.values() for r in partition_records]
            try:
                await self._apply(records)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("intake.batch_failed", records=len(records))
                for tp, partition_records in batch.items():
                    self.consumer.seek(tp, partition_records[0].offset)
                await asyncio.sleep(1.0)
                continue
            # The database has the batch: only now may the group move past it.
            await self.consumer.commit(
                {
                    TopicPartition(tp.topic, tp.partition): partition_records[-1].offset + 1
                    for tp, partition_records in batch.items()
                }
            )
            if self.on_batch is not None:
                self.on_batch()
