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
from pathlib import Path
from typing import Any, TypedDict

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import delete_namespaces

from bench import e2e_histogram
from bench.pipeline_feed import Feed
from bench.pipeline_stack import TICK, drive, full_stack, monitor_lag, post_batch, wait_lag
from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings


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
            await wait_lag(bootstrap=bootstrap, group=group, topic=events_topic, below=100)
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
                await wait_lag(
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
