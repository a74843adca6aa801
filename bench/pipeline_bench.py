"""Whole-pipeline benchmark: ingest -> Kafka -> state monitor -> alerts (PostgreSQL), all real.

    python bench/pipeline_bench.py [--mode short|full]

1. End-to-end latency at a stated sustained rate: background transactions at ``rate`` events/s
   through ``POST /v1/events/batch``, with one "probe" per batch — a large interbank outflow of a
   fresh, assigned customer that fires ``account_flow.large_interbank_outflow``. For each probe:
   acknowledged = when ingest answered its batch; stored = the alert row's ``received_at`` in the
   alerts database; notified = the ``delivered_at`` of the assigned manager's inbox notification.
   All processes share this machine's clock. Every background customer sends one event first
   (warm-up), so the figures are the steady state rather than the cold start.
2. Highest sustained rate: steps of increasing rate; a step holds when the client achieved ≥95% of
   the rate and the state monitor's consumer lag did not grow over the step (end lag ≤ one
   second's worth of events). The figure is the highest step that held.
The load generator, broker, three services and PostgreSQL share the machine's two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypedDict

import httpx
import orjson
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.ext.asyncio import create_async_engine

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import create_topics, delete_namespaces

from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.settings import CommonSettings
from tests.support.infra import create_database, ensure_postgres
from tests.support.stack import running_services

DEV_KEY = {"X-API-Key": "cw-dev-producer-key", "Content-Type": "application/x-ndjson"}
MANAGER = "rm.bench"


class _Mode(TypedDict):
    customers: int
    latency_rate: int  # events/s while probes measure end-to-end latency
    latency_seconds: float
    steps: tuple[int, ...]  # offered rates of the throughput staircase, events/s
    step_seconds: float


MODES: dict[str, _Mode] = {
    "short": {
        "customers": 2_000,
        "latency_rate": 2_000,
        "latency_seconds": 15,
        "steps": (2_000, 4_000, 6_000, 8_000, 10_000),
        "step_seconds": 8,
    },
    "full": {
        "customers": 20_000,
        "latency_rate": 2_000,
        "latency_seconds": 60,
        "steps": (2_000, 4_000, 6_000, 8_000, 10_000, 12_000, 14_000, 16_000, 20_000),
        "step_seconds": 30,
    },
}
TICK = 0.05  # seconds between batches; rate/20 events per batch


def _now_iso(offset_s: float = -60.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat()


class Feed:
    """Builds NDJSON lines: background card spends and alert-firing probes."""

    def __init__(self, *, customers: int, tag: str) -> None:
        self.customers = customers
        self.tag = tag
        self.n = 0
        self.probes = 0

    def _id(self) -> str:
        self.n += 1
        return f"pb-{self.tag}-{self.n}"

    def assignment(self, customer: str) -> bytes:
        return orjson.dumps(
            {
                "event_id": self._id(),
                "event_type": "customer.assigned",
                "occurred_at": _now_iso(),
                "customer_id": customer,
                "payload": {"relationship_manager_id": MANAGER, "branch_id": "BR001"},
            }
        )

    def spend(self) -> bytes:
        customer = f"BC{self.n % self.customers:06d}"
        return orjson.dumps(
            {
                "event_id": self._id(),
                "event_type": "transaction.posted",
                "occurred_at": _now_iso(),
                "customer_id": customer,
                "payload": {
                    "direction": "debit",
                    "amount": f"{(self.n % 300) + 10}.00",
                    "currency": "CNY",
                    "channel": "pos",
                    "category": "card_spend",
                    "counterparty_is_own_bank": True,
                    "balance_after": "500000.00",
                },
            }
        )

    def probe(self) -> tuple[str, bytes]:
        self.probes += 1
        customer = f"BP{self.tag}{self.probes:06d}"
        return customer, orjson.dumps(
            {
                "event_id": self._id(),
                "event_type": "transaction.posted",
                "occurred_at": _now_iso(),
                "customer_id": customer,
                "payload": {
                    "direction": "debit",
                    "amount": "700000.00",
                    "currency": "CNY",
                    "channel": "online",
                    "category": "interbank_transfer",
                    "counterparty_bank": "ICBKCNBJ",
                    "counterparty_is_own_bank": False,
                    "balance_after": "300000.00",
                },
            }
        )


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
        partitions = [TopicPartition(topic, p) for p in range(topics.EVENTS.partitions)]
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group)
        return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in partitions)
    finally:
        await consumer.stop()
        await admin.close()


async def collect_latencies(*, db_url: str, probes: dict[str, float], timeout: float) -> dict:
    """Wait for every probe's alert and inbox notification; latency figures in ms."""
    engine = create_async_engine(db_url)
    stored: dict[str, float] = {}
    notified: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    query = sa.text(
        "select a.customer_id, a.received_at, min(n.delivered_at) from alerts a "
        "left join notifications n on n.alert_id = a.id and n.channel = 'inbox' "
        "where a.rule_id = 'account_flow.large_interbank_outflow' group by a.customer_id, "
        "a.received_at"
    )
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                for customer, received_at, delivered_at in (await conn.execute(query)).all():
                    if customer in probes:
                        stored[customer] = received_at.timestamp() - probes[customer]
                        if delivered_at is not None:
                            notified[customer] = delivered_at.timestamp() - probes[customer]
            if len(stored) == len(probes) and len(notified) == len(probes):
                break
            await asyncio.sleep(1.0)
    finally:
        await engine.dispose()

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else -1.0

    out: dict[str, float] = {
        "probes": len(probes),
        "probes_stored": len(stored),
        "probes_notified": len(notified),
    }
    for name, values in (("stored", list(stored.values())), ("notified", list(notified.values()))):
        out.update(
            {
                f"e2e_{name}_p50_ms": pct(values, 0.50),
                f"e2e_{name}_p95_ms": pct(values, 0.95),
                f"e2e_{name}_p99_ms": pct(values, 0.99),
            }
        )
    return out


async def run_async(*, bootstrap: str, mode: str) -> dict[str, object]:
    cfg = MODES[mode]
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap=bootstrap, namespace=namespace)
    ensure_postgres()
    db_url = create_database(f"cw_bench_{uuid.uuid4().hex[:8]}")
    data_dir = REPO / ".local" / "bench" / namespace
    stack = running_services(
        names=("alerts", "monitor", "ingest"),
        bootstrap=bootstrap,
        namespace=namespace,
        data_dir=data_dir,
        label="bench",
        log_level="WARNING",
        env={"alerts": {"CHURNWATCH_ALERTS_DATABASE_URL": db_url}},
    )
    base = stack.__enter__()["ingest"]
    group = f"{namespace}-state-monitor"
    events_topic = topics.EVENTS.name(namespace)
    feed = Feed(customers=cfg["customers"], tag=uuid.uuid4().hex[:4])
    result: dict[str, object] = {"namespace": namespace}
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            probe_count = int(cfg["latency_seconds"] / TICK)
            probe_customers = [f"BP{feed.tag}{i + 1:06d}" for i in range(probe_count)]
            for start in range(0, len(probe_customers), 2000):
                chunk = probe_customers[start : start + 2000]
                assert await post_batch(client, base, [feed.assignment(c) for c in chunk])
            # Warm-up: every background customer's first event (which also publishes the first
            # snapshot) before measuring, so latency is the steady state, not the cold start.
            for _ in range(0, cfg["customers"], 1000):
                assert await post_batch(client, base, [feed.spend() for _ in range(1000)])
            deadline = time.monotonic() + 120
            while (
                time.monotonic() < deadline
                and await monitor_lag(bootstrap=bootstrap, group=group, topic=events_topic) > 100
            ):
                await asyncio.sleep(1)
            await asyncio.sleep(3)  # let the alerts service take the assignments first
            probes: dict[str, float] = {}
            achieved = await drive(
                client=client,
                base=base,
                feed=feed,
                rate=cfg["latency_rate"],
                seconds=cfg["latency_seconds"],
                probes=probes,
                pre_assign=probe_customers,
            )
            latency = await collect_latencies(db_url=db_url, probes=probes, timeout=120)
            result["latency"] = {
                "target_rate_per_s": cfg["latency_rate"],
                "achieved_rate_per_s": round(achieved),
                **latency,
            }
            steps = []
            for rate in cfg["steps"]:
                lag_before = await monitor_lag(bootstrap=bootstrap, group=group, topic=events_topic)
                achieved = await drive(
                    client=client,
                    base=base,
                    feed=feed,
                    rate=rate,
                    seconds=cfg["step_seconds"],
                    probes=None,
                )
                await asyncio.sleep(2)
                lag_after = await monitor_lag(bootstrap=bootstrap, group=group, topic=events_topic)
                held = achieved >= 0.95 * rate and lag_after <= max(rate, lag_before)
                steps.append(
                    {
                        "rate_per_s": rate,
                        "achieved_per_s": round(achieved),
                        "monitor_lag_before": lag_before,
                        "monitor_lag_after": lag_after,
                        "held": held,
                    }
                )
                print(
                    f"[pipeline] step {rate}/s: achieved {achieved:,.0f}/s, lag "
                    f"{lag_before} -> {lag_after}: {'held' if held else 'NOT held'}",
                    flush=True,
                )
                if not held:
                    break
                # drain before the next step so each step starts from a clean lag
                deadline = time.monotonic() + 60
                while (
                    time.monotonic() < deadline
                    and await monitor_lag(bootstrap=bootstrap, group=group, topic=events_topic)
                    > rate // 10
                ):
                    await asyncio.sleep(1)
            held_rates = [s["rate_per_s"] for s in steps if s["held"]]
            result["sustained"] = {
                "steps": steps,
                "highest_sustained_rate_per_s": max(held_rates, default=0),
            }
    finally:
        stack.__exit__(None, None, None)
        await delete_namespaces(bootstrap=bootstrap, namespaces={namespace})
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def run(*, bootstrap: str, mode: str) -> dict[str, object]:
    """Entry point for bench/run.py."""
    return asyncio.run(run_async(bootstrap=bootstrap, mode=mode))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="short")
    args = parser.parse_args()
    os.environ.setdefault("CHURNWATCH_LOG_LEVEL", "WARNING")
    figures = run(bootstrap=CommonSettings().kafka_bootstrap, mode=args.mode)
    sys.stdout.write(json.dumps(figures, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
