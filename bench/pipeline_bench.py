"""Whole-pipeline benchmark: ingest -> Kafka -> state monitor -> alerts (PostgreSQL), all real.

    python bench/pipeline_bench.py [--mode short|full]

1. End-to-end latency at a stated sustained rate: background transactions at ``rate`` events/s
   through ``POST /v1/events/batch``, with one "probe" per batch — a large interbank outflow of a
   fresh, assigned customer that fires ``account_flow.large_interbank_outflow``. For each probe:
   acknowledged = when ingest answered its batch; stored = the alert row's ``received_at`` in the
   alerts database; notified = the ``delivered_at`` of the assigned manager's inbox notification.
   All processes share this machine's clock. Every background customer sends one event first
   (warm-up), so the figures are the steady state rather than the cold start.
2. The knee: steps of increasing rate, each with probes as above; a step holds when the client
   achieved >=95% of the rate and the state monitor's consumer lag did not grow over the step
   (end lag <= one second's worth of events). Steps continue past 20,000/s until one fails; in
   full mode one more step halfway between the last held and the first failed rate narrows it.
   The knee is the highest rate that held; the report says what stopped the next step (the load
   generator/ingest not reaching the rate, or the monitor's lag growing) and the end-to-end
   latency (ingest acknowledgement -> alert stored, -> inbox notification) p50/p99 of every step,
   named for 20,000/s and for the knee. Beside the probes, each step reports the alerts service's
   own histogram churnwatch_alerts_e2e_latency_seconds over the step (``e2e_metric_*``: every new
   alert, from its event's ingested_at header; bench/e2e_histogram.py), as Grafana shows it.
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
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

import httpx
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.ext.asyncio import create_async_engine

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import create_topics, delete_namespaces

from bench import e2e_histogram
from bench.pipeline_feed import Feed
from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.settings import CommonSettings
from tests.support.infra import create_database, ensure_postgres
from tests.support.stack import running_services

DEV_KEY = {"X-API-Key": "cw-dev-producer-key", "Content-Type": "application/x-ndjson"}


class _Mode(TypedDict):
    customers: int
    latency_rate: int  # events/s while probes measure end-to-end latency
    latency_seconds: float
    steps: tuple[int, ...]  # offered rates of the throughput staircase, events/s
    step_seconds: float
    refine: bool  # one more step between the last held and the first failed rate


MODES: dict[str, _Mode] = {
    "short": {
        "customers": 2_000,
        "latency_rate": 2_000,
        "latency_seconds": 15,
        "steps": (2_000, 5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 40_000),
        "step_seconds": 8,
        "refine": False,
    },
    "full": {
        "customers": 20_000,
        "latency_rate": 2_000,
        "latency_seconds": 60,
        "steps": (
            *(2_000, 4_000, 6_000, 8_000, 10_000, 12_000, 14_000, 16_000, 20_000),
            *(24_000, 28_000, 32_000, 40_000, 48_000, 64_000),
        ),
        "step_seconds": 30,
        "refine": True,
    },
}
REFERENCE_RATE = 20_000  # the rate the previous benchmark stopped at, still held
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


async def _wait_lag(*, bootstrap: str, group: str, topic: str, below: int) -> None:
    """Wait (at most 120 s) until the monitor's lag is at most ``below`` events."""
    deadline = time.monotonic() + 120
    while (
        time.monotonic() < deadline
        and await monitor_lag(bootstrap=bootstrap, group=group, topic=topic) > below
    ):
        await asyncio.sleep(1)


def _knee(steps: list[dict], *, held_rates: list[int], failed: int | None) -> dict:
    """The highest rate that held, what stopped the next one, and the latency there and at
    20,000/s."""
    knee = max(held_rates, default=0)
    by_rate = {s["rate_per_s"]: s for s in steps}
    latency_keys = (
        "e2e_stored_p50_ms",
        "e2e_stored_p99_ms",
        "e2e_notified_p50_ms",
        "e2e_notified_p99_ms",
        "probes",
        "probes_stored",
        "probes_notified",
        "e2e_metric_alerts",
        "e2e_metric_p50_ms",
        "e2e_metric_p99_ms",
    )

    def latency(rate: int) -> dict | None:
        found = by_rate.get(rate)
        return {k: found.get(k) for k in latency_keys} | {"held": found["held"]} if found else None

    return {
        "steps": sorted(steps, key=lambda s: s["rate_per_s"]),
        "highest_sustained_rate_per_s": knee,
        "knee_rate_per_s": knee,
        "knee_found": failed is not None,
        "first_failed_rate_per_s": failed,
        "stopped_by": by_rate[failed]["stopped_by"] if failed is not None else None,
        "latency_at_knee": latency(knee),
        f"latency_at_{REFERENCE_RATE}": latency(REFERENCE_RATE),
    }


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


async def run_async(*, bootstrap: str, mode: str) -> dict[str, object]:
    cfg = MODES[mode]
    namespace, db_url, data_dir, stack = await full_stack(
        bootstrap=bootstrap, prefix="bench", env={}
    )
    urls = stack.__enter__()
    base, alerts_base = urls["ingest"], urls["alerts"]
    group = f"{namespace}-state-monitor"
    events_topic = topics.EVENTS.name(namespace)
    feed = Feed(customers=cfg["customers"], tag=uuid.uuid4().hex[:4])
    result: dict[str, object] = {"namespace": namespace}
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            steps_max = len(cfg["steps"]) + (1 if cfg["refine"] else 0)
            probe_count = int(cfg["latency_seconds"] / TICK) + steps_max * int(
                cfg["step_seconds"] / TICK
            )
            probe_customers = [f"BP{feed.tag}{i + 1:06d}" for i in range(probe_count)]
            for start in range(0, len(probe_customers), 2000):
                chunk = probe_customers[start : start + 2000]
                assert await post_batch(client, base, [feed.assignment(c) for c in chunk])
            # Warm-up: every background customer's first event (which also publishes the first
            # snapshot) before measuring, so latency is the steady state, not the cold start.
            for _ in range(0, cfg["customers"], 1000):
                assert await post_batch(client, base, [feed.spend() for _ in range(1000)])
            await _wait_lag(bootstrap=bootstrap, group=group, topic=events_topic, below=100)
            await asyncio.sleep(3)  # let the alerts service take the assignments first
            probes: dict[str, float] = {}
            histogram = await e2e_histogram.scrape(client=client, base=alerts_base)
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
            after = await e2e_histogram.scrape(client=client, base=alerts_base)
            result["latency"] = {
                "target_rate_per_s": cfg["latency_rate"],
                "achieved_rate_per_s": round(achieved),
                **latency,
                **e2e_histogram.figures(histogram, after),
            }

            async def step(rate: int) -> dict:
                lag_before = await monitor_lag(bootstrap=bootstrap, group=group, topic=events_topic)
                step_probes: dict[str, float] = {}
                histogram = await e2e_histogram.scrape(client=client, base=alerts_base)
                achieved = await drive(
                    client=client,
                    base=base,
                    feed=feed,
                    rate=rate,
                    seconds=cfg["step_seconds"],
                    probes=step_probes,
                    pre_assign=probe_customers,
                )
                await asyncio.sleep(2)
                lag_after = await monitor_lag(bootstrap=bootstrap, group=group, topic=events_topic)
                reached = achieved >= 0.95 * rate
                kept_up = lag_after <= max(rate, lag_before)
                figures: dict[str, Any] = {
                    "rate_per_s": rate,
                    "achieved_per_s": round(achieved),
                    "monitor_lag_before": lag_before,
                    "monitor_lag_after": lag_after,
                    "held": reached and kept_up,
                    "stopped_by": None
                    if reached and kept_up
                    else "load generator / ingest below 95% of the rate"
                    if not reached
                    else "state monitor lag grew",
                }
                # probes of a step that did not hold wait behind its backlog: bounded wait
                figures |= await collect_latencies(db_url=db_url, probes=step_probes, timeout=90)
                # the alerts service's own histogram over the step (what Grafana shows)
                figures |= e2e_histogram.figures(
                    histogram, await e2e_histogram.scrape(client=client, base=alerts_base)
                )
                print(
                    f"[pipeline] step {rate}/s: achieved {achieved:,.0f}/s, lag {lag_before} -> "
                    f"{lag_after}, e2e stored p50/p99 {figures['e2e_stored_p50_ms']:.0f}/"
                    f"{figures['e2e_stored_p99_ms']:.0f} ms: "
                    f"{'held' if figures['held'] else 'NOT held: ' + str(figures['stopped_by'])}",
                    flush=True,
                )
                # drain before the next step so each step starts from a clean lag
                await _wait_lag(
                    bootstrap=bootstrap, group=group, topic=events_topic, below=rate // 10
                )
                return figures

            steps = []
            for rate in cfg["steps"]:
                steps.append(await step(rate))
                if not steps[-1]["held"]:
                    break
            held_rates = [s["rate_per_s"] for s in steps if s["held"]]
            failed = next((s["rate_per_s"] for s in steps if not s["held"]), None)
            if cfg["refine"] and failed is not None and held_rates:
                middle = round((max(held_rates) + failed) / 2, -3)
                if max(held_rates) < middle < failed:
                    steps.append(await step(int(middle)))
                    if steps[-1]["held"]:
                        held_rates.append(int(middle))
                    else:
                        failed = int(middle)
            result["sustained"] = _knee(steps, held_rates=held_rates, failed=failed)
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
