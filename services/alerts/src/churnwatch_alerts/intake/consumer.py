"""The intake loops: read a poll, apply it in one transaction, commit offsets only after the DB.

Two consumers, each with its own group and task, so an alert never waits behind context:
- alerts: the alert topic alone (group ``effective_group_id``); a poll is stored with a few
  multi-row statements and the outbox dispatcher is woken right after the commit;
- context: customer-state snapshots and customer events (group ``context_group_id``), heavy
  and bursty; a poll keeps only the newest snapshot per customer.
Ordering between an alert and its customer's assignment is kept by per-customer locks
(``customers.locks``): whichever commits second sees the first.

A record no retry can store (``intake.poison``) never blocks the ones behind it: when the
database refuses a batch for data reasons, the records are applied one by one and the refused
ones, like undecodable ones, go to the dead-letter topic. The order per batch is: database
commit, dead letters acknowledged, then the offset commit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.clock import Clock
from churnwatch_alerts.intake import lineage
from churnwatch_alerts.intake.handlers import BatchResult, IntakeTopics, apply_alerts, apply_context
from churnwatch_alerts.intake.poison import (
    REASON_DATABASE_REFUSED,
    DeadLetters,
    Poison,
    database_detail,
    refused_by_database,
    sqlstate_of,
)
from churnwatch_alerts.intake.progress import Progress
from churnwatch_alerts.metrics import INTAKE_LAG
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs

log = structlog.get_logger(__name__)

Apply = Callable[[AsyncSession, list[ConsumerRecord]], Awaitable[BatchResult]]


def intake_topics(settings: AlertsSettings) -> IntakeTopics:
    """The three topic names under the configured namespace."""
    common = settings.common
    return IntakeTopics(
        alerts=common.topic(topics.ALERTS),
        customer_state=common.topic(topics.CUSTOMER_STATE),
        events=common.topic(topics.EVENTS),
    )


class TopicIntake:
    """One consumer group over some topics; ``run()`` loops until cancelled."""

    def __init__(
        self,
        *,
        name: str,
        topic_names: list[str],
        group_id: str,
        settings: AlertsSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        apply: Apply,
        dead_letters: DeadLetters,
        on_batch: Callable[[BatchResult], None] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.apply = apply
        self.dead_letters = dead_letters
        self.on_batch = on_batch
        self.progress = Progress()
        self.consumer = AIOKafkaConsumer(
            *topic_names,
            bootstrap_servers=settings.common.kafka_bootstrap,
            **client_kwargs(settings.common),
            group_id=group_id,
            client_id=f"{group_id}-intake",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=settings.intake_batch_size,
        )
        self.running = False
        self._lag_series: set[tuple[str, str]] = set()

    async def start(self) -> None:
        """Connect and join the group."""
        await self.consumer.start()
        self.running = True

    async def stop(self) -> None:
        """Leave the group (uncommitted records are re-read by the next owner)."""
        self.running = False
        await self.consumer.stop()

    async def _apply(self, records: list[ConsumerRecord]) -> BatchResult:
        async with self.sessionmaker() as session, session.begin():
            result = await self.apply(session, records)
        log.debug(
            "intake.batch",
            intake=self.name,
            records=len(records),
            alerts_new=result.alerts_new,
            alerts_duplicate=result.alerts_duplicate,
            snapshots=result.snapshots,
            assignments=result.assignments,
            rejected=result.rejected,
        )
        return result

    async def _apply_isolating_poison(self, records: list[ConsumerRecord]) -> BatchResult:
        """Apply the batch; if the database refuses its data, apply record by record instead."""
        try:
            return await self._apply(records)
        except Exception as exc:
            if not refused_by_database(exc):
                raise
            log.warning(
                "intake.batch_refused",
                intake=self.name,
                records=len(records),
                error=type(exc).__name__,
                detail="applying the records one by one to find the refused ones",
            )
        total = BatchResult()
        # The order the batch handler applies in (event time, then position).
        for record in sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset)):
            try:
                total.add(await self._apply([record]))
            except Exception as exc:
                if not refused_by_database(exc):
                    raise  # transient after all: the whole batch is retried (stores are upserts)
                total.poison.append(
                    Poison(
                        record=record, reason=REASON_DATABASE_REFUSED, detail=database_detail(exc)
                    )
                )
        return total

    async def _report_lag(self) -> None:
        """churnwatch_alerts_intake_lag per assigned partition: no broker request, the end
        offset is the last stable offset the latest fetch response carried."""
        series: set[tuple[str, str]] = set()
        for tp in self.consumer.assignment():
            end = self.consumer.last_stable_offset(tp)  # read_committed: the readable end
            if end is None or end < 0:
                end = self.consumer.highwater(tp)
            if end is None:
                continue  # nothing fetched from it yet
            labels = (tp.topic, str(tp.partition))
            INTAKE_LAG.labels(*labels).set(max(0, end - await self.consumer.position(tp)))
            series.add(labels)
        for labels in self._lag_series - series:  # revoked: drop the series, don't freeze it
            INTAKE_LAG.remove(*labels)
        self._lag_series = series

    def _rewind(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        for tp, partition_records in batch.items():
            self.consumer.seek(tp, partition_records[0].offset)

    async def run(self) -> None:
        """Poll, apply, dead-letter poison, then commit; on other errors rewind and retry."""
        while True:
            batch = await self.consumer.getmany(
                timeout_ms=500, max_records=self.settings.intake_batch_size
            )
            if not batch:
                continue
            self.progress.polled()
            polled_ns = time.time_ns()
            records = [r for partition_records in batch.values() for r in partition_records]
            try:
                result = await self._apply_isolating_poison(records)
                if result.poison:
                    # Acknowledged dead letters first: a crash before the commit re-sends them.
                    await self.dead_letters.send(poisons=result.poison)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.progress.failed(error=exc, sqlstate=sqlstate_of(exc))
                log.exception("intake.batch_failed", intake=self.name, records=len(records))
                self._rewind(batch)
                await asyncio.sleep(1.0)
                continue
            # The database has the batch: only now may the group move past it.
            await self.consumer.commit(
                {
                    TopicPartition(tp.topic, tp.partition): partition_records[-1].offset + 1
                    for tp, partition_records in batch.items()
                }
            )
            self.progress.committed()
            if result.origins:  # stored: e2e latency and the alerts' spans (intake.lineage)
                lineage.stored(result.origins, polled_ns=polled_ns)
            await self._report_lag()
            if self.on_batch is not None:
                self.on_batch(result)


class Intake:
    """The alerts consumer and the context consumer of one service."""

    def __init__(
        self,
        *,
        settings: AlertsSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        on_alerts: Callable[[], None] | None = None,
    ) -> None:
        self.topics = intake_topics(settings)
        self.clock = clock
        self.stuck_after = settings.intake_stuck_after_seconds
        self.dead_letters = DeadLetters(
            bootstrap=settings.common.kafka_bootstrap,
            topic=settings.common.topic(topics.ALERTS_INTAKE_DEAD_LETTER),
            client_id=f"{settings.effective_group_id}-dead-letters",
        )

        async def alerts(session: AsyncSession, records: list[ConsumerRecord]) -> BatchResult:
            return await apply_alerts(
                session,
                records=records,
                now=clock.now(),
                sla_seconds=settings.sla_seconds,
                calendars=settings.calendars,
            )

        async def context(session: AsyncSession, records: list[ConsumerRecord]) -> BatchResult:
            return await apply_context(
                session, records=records, topics=self.topics, now=clock.now()
            )

        def stored(result: BatchResult) -> None:
            if result.alerts_new and on_alerts is not None:
                on_alerts()

        self.alerts = TopicIntake(
            name="alerts",
            topic_names=[self.topics.alerts],
            group_id=settings.effective_group_id,
            apply=alerts,
            on_batch=stored,
            settings=settings,
            sessionmaker=sessionmaker,
            dead_letters=self.dead_letters,
        )
        self.context = TopicIntake(
            name="context",
            topic_names=[self.topics.customer_state, self.topics.events],
            group_id=settings.effective_context_group_id,
            apply=context,
            settings=settings,
            sessionmaker=sessionmaker,
            dead_letters=self.dead_letters,
        )

    @property
    def running(self) -> bool:
        """Both consumers are in their groups."""
        return self.alerts.running and self.context.running

    def status(self) -> dict[str, Any]:
        """For /readyz: running, and every intake whose records are pending for too long."""
        stuck = [
            s
            for s in (
                self.alerts.progress.stuck(name=self.alerts.name, after=self.stuck_after),
                self.context.progress.stuck(name=self.context.name, after=self.stuck_after),
            )
            if s is not None
        ]
        status: dict[str, Any] = {
            "ok": self.running and not stuck,
            "enabled": True,
            "running": self.running,
            "stuck": stuck,
        }
        if not self.running:
            status["reason"] = "the intake consumers are not in their groups"
        elif stuck:
            status["reason"] = "; ".join(s["reason"] for s in stuck)
        return status

    async def start(self) -> None:
        """Connect the dead-letter producer, then join both groups."""
        await self.dead_letters.start()
        try:
            await self.alerts.start()
            try:
                await self.context.start()
            except BaseException:
                await self.alerts.stop()
                raise
        except BaseException:
            await self.dead_letters.stop()
            raise

    async def stop(self) -> None:
        """Leave both groups, then flush the dead-letter producer."""
        await self.alerts.stop()
        await self.context.stop()
        await self.dead_letters.stop()
