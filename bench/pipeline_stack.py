"""The stack every pipeline benchmark drives and the load it sends (``pipeline_bench``,
``pipeline_stages``): a fresh namespace with ingest, monitor and alerts on it, batches posted to
ingest at a stated rate, and the monitor's consumer lag."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import NamedTuple

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import create_topics

from bench.pipeline_feed import Feed
from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.settings import CommonSettings
from tests.support.infra import create_database, ensure_postgres
from tests.support.stack import running_services

DEV_KEY = {"X-API-Key": "cw-dev-producer-key", "Content-Type": "application/x-ndjson"}
TICK = 0.05  # seconds between batches; rate/20 events per batch


async def post_batch(client: httpx.AsyncClient, base: str, lines: list[bytes]) -> bool:
    response = await client.post(
        f"{base}/v1/events/batch", content=b"\n".join(lines), headers=DEV_KEY
    )
    return response.status_code == 200


async def drive(
    *,
    client: httpx.AsyncClient,
    base: str,
    feed: Feed,
    rate: int,
    seconds: float,
    probes: dict[str, float] | None,
    pre_assign: list[str] | None = None,
) -> float:
    """Send ``rate`` events/s for ``seconds`` (open loop); returns the achieved rate."""
    per_batch = max(1, int(rate * TICK))
    in_flight: set[asyncio.Task[None]] = set()
    sent = 0
    started = time.perf_counter()

    async def one(lines: list[bytes], probe_customer: str | None) -> None:
        nonlocal sent
        if await post_batch(client, base, lines):
            sent += len(lines)
            if probe_customer and probes is not None:
                probes[probe_customer] = time.time()

    ticks = int(seconds / TICK)
    for tick in range(ticks):
        lines = [feed.spend() for _ in range(per_batch)]
        probe_customer = None
        if probes is not None and pre_assign:
            probe_customer, line = feed.probe()
            lines[-1] = line
        task = asyncio.create_task(one(lines, probe_customer))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        target = started + (tick + 1) * TICK
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
    if in_flight:
        await asyncio.gather(*in_flight)
    return sent / (time.perf_counter() - started)


async def monitor_lag(*, bootstrap: str, group: str, topic: str) -> int:
    """Events on the topic not yet committed by the state monitor's consumer group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **client_kwargs())
    await admin.start()
    await consumer.start()
    try:
        count = CommonSettings().partitions(topics.EVENTS)  # CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS
        partitions = [TopicPartition(topic, p) for p in range(count)]
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group)
        return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in partitions)
    finally:
        await consumer.stop()
        await admin.close()


async def wait_lag(*, bootstrap: str, group: str, topic: str, below: int) -> None:
    """Wait (at most 120 s) until the monitor's lag is at most ``below`` events."""
    deadline = time.monotonic() + 120
    while (
        time.monotonic() < deadline
        and await monitor_lag(bootstrap=bootstrap, group=group, topic=topic) > below
    ):
        await asyncio.sleep(1)


class BenchStack(NamedTuple):
    namespace: str
    db_url: str
    data_dir: Path
    services: AbstractContextManager[dict[str, str]]


async def full_stack(*, bootstrap: str, prefix: str, env: dict[str, str]) -> BenchStack:
    """A fresh namespace's topics and database, and ingest, monitor and alerts on them (not yet
    entered): the stack every pipeline benchmark drives; ``env`` goes to all three services."""
    namespace = f"{prefix}{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap=bootstrap, namespace=namespace)
    ensure_postgres()
    db_url = create_database(f"cw_bench_{uuid.uuid4().hex[:8]}")
    data_dir = REPO / ".local" / "bench" / namespace
    services = running_services(
        names=("alerts", "monitor", "ingest"),
        bootstrap=bootstrap,
        namespace=namespace,
        data_dir=data_dir,
        label=prefix,
        log_level="WARNING",
        env={
            "alerts": {**env, "CHURNWATCH_ALERTS_DATABASE_URL": db_url},
            "monitor": env,
            "ingest": env,
        },
    )
    return BenchStack(namespace, db_url, data_dir, services)
