"""Refill the duplicate cache after a restart from the tail of the events topic.

Without this, an ingest restart forgets every (producer, event_id) it acknowledged, and a
producer's retry of an event sent just before the restart would be written again (harmless, as the
state monitor deduplicates, but it answers "accepted" instead of "duplicate"). At start-up the
last ``capacity / partitions`` records of each partition are read back, without a consumer group,
within a time budget; requests are served meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import orjson
import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from churnwatch_ingest.recent_ids import RecentEventIds
from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs

log = structlog.get_logger(__name__)


async def warm_recent_ids(
    *,
    bootstrap: str,
    topic: str,
    partition_ids: set[int],
    recent: RecentEventIds,
    capacity: int,
    budget_seconds: float,
) -> int:
    """Load recent (producer, event_id) pairs from ``topic``; returns how many were read."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        group_id=None,
        enable_auto_commit=False,
        client_id="churnwatch-ingest-cache-warmup",
        max_partition_fetch_bytes=4 << 20,
    )
    await consumer.start()
    loaded = 0
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(partition_ids)]
        if not partitions:
            return 0
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        begins = await consumer.beginning_offsets(partitions)
        per_partition = max(1, capacity // len(partitions))
        remaining = {}
        for tp in partitions:
            start = max(begins[tp], ends[tp] - per_partition)
            if ends[tp] > start:
                consumer.seek(tp, start)
                remaining[tp] = ends[tp]
        deadline = time.monotonic() + budget_seconds
        while remaining and time.monotonic() < deadline:
            batches = await consumer.getmany(*remaining, timeout_ms=500, max_records=10_000)
            for tp, records in batches.items():
                for record in records:
                    loaded += _remember(recent, record.headers, record.value)
                if records and records[-1].offset + 1 >= remaining.get(tp, 0):
                    remaining.pop(tp, None)
        return loaded
    finally:
        await _stop(consumer)


async def _stop(consumer: AIOKafkaConsumer) -> None:
    # aiokafka 0.14's group-less consumer may surface its own internal task's CancelledError
    # from stop(); re-raise only when this task is really being cancelled.
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


def _remember(
    recent: RecentEventIds, headers: Iterable[tuple[str, bytes]] | None, value: bytes | None
) -> int:
    producer = next(
        (v.decode(errors="replace") for k, v in headers or () if k == topics.HEADER_PRODUCER),
        None,
    )
    try:
        event_id = orjson.loads(value or b"{}").get("event_id")
    except (orjson.JSONDecodeError, AttributeError):
        return 0
    if producer and isinstance(event_id, str):
        recent.remember(producer=producer, event_id=event_id)
        return 1
    return 0


async def run_warmup(
    *,
    bootstrap: str,
    topic: str,
    partition_ids: set[int],
    recent: RecentEventIds,
    capacity: int,
    budget_seconds: float,
    done: asyncio.Event,
) -> None:
    """Background task body: warm up once, log the outcome, and always set ``done``."""
    started = time.monotonic()
    try:
        loaded = await warm_recent_ids(
            bootstrap=bootstrap,
            topic=topic,
            partition_ids=partition_ids,
            recent=recent,
            capacity=capacity,
            budget_seconds=budget_seconds,
        )
        log.info(
            "duplicate_cache_warmed", loaded=loaded, seconds=round(time.monotonic() - started, 2)
        )
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a cold cache only costs a resend; monitor dedups
        log.warning(
            "duplicate_cache_warmup_failed", error=type(exc).__name__, detail=str(exc)[:200]
        )
    finally:
        done.set()
