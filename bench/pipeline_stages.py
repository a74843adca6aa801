"""Where the end-to-end latency goes: the pipeline at one steady rate, each probe timed per stage.

    python bench/pipeline_stages.py [--rate 2000] [--seconds 30] [--ref REV] [--repeat N]

Runs ingest, the state monitor and the alerts service (real broker, PostgreSQL) as
``bench/pipeline_bench.py`` does (same load: 50 ms batches of background card spends, one
alert-firing probe per batch) and times each probe at every stage, on this machine's clock:

- ``ack``: the bench client got ingest's answer for the probe's batch;
- ``ingested``: ingest handed the record to Kafka (its ``ingested_at`` header);
- ``in_kafka``: a ``read_uncommitted`` tap (fetch wait 5 ms) saw the EVENTS record;
- ``alert_created``: the monitor appended the alert record (its CreateTime): after the poll, the
  batch applied and the previous batch's transaction committed (batches are pipelined);
- ``alert_in_kafka``: a ``read_uncommitted`` tap saw the alert record (produced, not committed);
- ``alert_committed``: a ``read_committed`` tap saw it (transaction committed, marker written);
- ``stored``: the alert row's ``received_at`` (the alerts intake polled and committed it);
- ``notified``: the inbox notification's ``delivered_at``.

The report gives each stage's p50/p99 and the end-to-end figures pipeline_bench reports. With
``--ref`` (repeatable) the three services run from a worktree of each commit
(``bench/baseline_tree.py``, its own compiled engine, untouched by uncommitted edits), so a
commit and its parent are measured back to back under the same load (``--repeat`` alternates
them, the order reversed every other round). The taps cost the broker three more fetchers.
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
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import create_async_engine

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import delete_namespaces

from bench import e2e_histogram
from bench.baseline_tree import BaselineTree
from bench.pipeline_feed import Feed
from bench.pipeline_stack import drive, full_stack, post_batch, wait_lag
from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.observability.lineage import HEADER_INGESTED_AT
from churnwatch_shared.settings import CommonSettings

PROBE_RULE = b"large_interbank_outflow"
STAGES = (
    ("ack", "stored"),
    ("ingested", "stored"),
    ("ingested", "in_kafka"),
    ("in_kafka", "alert_created"),
    ("alert_created", "alert_in_kafka"),
    ("alert_in_kafka", "alert_committed"),
    ("alert_committed", "stored"),
    ("stored", "notified"),
)


class Tap:
    """A group-less consumer from the end of ``topic``: when each probe's record was first seen."""

    def __init__(
        self, *, bootstrap: str, spec: topics.TopicSpec, namespace: str, isolation: str
    ) -> None:
        self.topic, self.alerts = spec.name(namespace), spec is topics.ALERTS
        self.partitions = CommonSettings().partitions(spec)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            **client_kwargs(),
            isolation_level=isolation,
            fetch_max_wait_ms=5,
            enable_auto_commit=False,
        )
        self.seen: dict[str, float] = {}
        self.created: dict[str, float] = {}  # record CreateTime, s
        self.ingested: dict[str, float] = {}  # EVENTS' ingested_at header, s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:  # resolve the positions now, not at the first record
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batch.values():
                for r in records:
                    if not r.key or not r.key.startswith(b"BP"):
                        continue
                    if self.alerts and PROBE_RULE not in (r.value or b""):
                        continue
                    customer = r.key.decode()
                    self.seen.setdefault(customer, now)
                    self.created.setdefault(customer, r.timestamp / 1000)
                    for name, value in r.headers or ():
                        if name == HEADER_INGESTED_AT:
                            self.ingested.setdefault(customer, int(value) / 1000)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.consumer.stop()


async def _rows(*, db_url: str, probes: dict[str, float], timeout: float) -> dict[str, tuple]:
    engine = create_async_engine(db_url)
    query = sa.text(
        "select a.customer_id, a.received_at, min(n.delivered_at) from alerts a "
        "left join notifications n on n.alert_id = a.id and n.channel = 'inbox' "
        "where a.rule_id = 'account_flow.large_interbank_outflow' group by a.customer_id, "
        "a.received_at"
    )
    found: dict[str, tuple] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                for customer, received, delivered in (await conn.execute(query)).all():
                    if customer in probes:
                        found[customer] = (
                            received.timestamp(),
                            delivered.timestamp() if delivered else None,
                        )
            if len(found) == len(probes) and all(v[1] for v in found.values()):
                break
            await asyncio.sleep(1.0)
    finally:
        await engine.dispose()
    return found


def service_cpu() -> dict[str, float]:
    """CPU seconds (user + system) so far of this process's service children, by service."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if fields[1] != me:  # ppid
            continue
        for name in ("state_monitor", "ingest", "alerts"):
            if f"churnwatch_{name} " in cmdline + " ":
                out[name] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)


def breakdown(times: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per stage (``a->b``): probes timed at both ends, p50/p90/p99 of ``b - a`` in ms."""
    out: dict[str, dict[str, float]] = {}
    for a, b in STAGES:
        values = [t[b] - t[a] for t in times.values() if a in t and b in t]
        if values:
            out[f"{a}->{b}"] = {
                "n": len(values),
                "p50_ms": _pct(values, 0.5),
                "p90_ms": _pct(values, 0.9),
                "p99_ms": _pct(values, 0.99),
                "mean_ms": round(1000 * sum(values) / len(values), 1),
            }
    return out


async def run_once(
    *, bootstrap: str, rate: int, seconds: float, customers: int, env: dict[str, str]
) -> dict[str, Any]:
    """One stack, warm-up, ``seconds`` at ``rate`` with probes; the stage breakdown."""
    namespace, db_url, data_dir, stack = await full_stack(
        bootstrap=bootstrap, prefix="stage", env=env
    )
    urls = stack.__enter__()
    taps = [
        Tap(bootstrap=bootstrap, spec=spec, namespace=namespace, isolation=isolation)
        for spec, isolation in (
            (topics.EVENTS, "read_uncommitted"),
            (topics.ALERTS, "read_uncommitted"),
            (topics.ALERTS, "read_committed"),
        )
    ]
    feed = Feed(customers=customers, tag=uuid.uuid4().hex[:4])
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            base = urls["ingest"]
            probe_customers = [f"BP{feed.tag}{i + 1:06d}" for i in range(int(seconds / 0.05))]
            for start in range(0, len(probe_customers), 2000):
                chunk = probe_customers[start : start + 2000]
                assert await post_batch(client, base, [feed.assignment(c) for c in chunk])
            for _ in range(0, customers, 1000):
                assert await post_batch(client, base, [feed.spend() for _ in range(1000)])
            await wait_lag(
                bootstrap=bootstrap,
                group=f"{namespace}-state-monitor",
                topic=topics.EVENTS.name(namespace),
                below=100,
            )
            await asyncio.sleep(3)  # the alerts service takes the assignments first
            for tap in taps:
                await tap.start()
            before = await e2e_histogram.scrape(client=client, base=urls["alerts"])
            cpu0 = os.times()
            services0 = service_cpu()
            load = os.getloadavg()
            probes: dict[str, float] = {}
            achieved = await drive(
                client=client,
                base=base,
                feed=feed,
                rate=rate,
                seconds=seconds,
                probes=probes,
                pre_assign=probe_customers,
            )
            rows = await _rows(db_url=db_url, probes=probes, timeout=120)
            after = await e2e_histogram.scrape(client=client, base=urls["alerts"])
            cpu1 = os.times()
            services1 = service_cpu()
    finally:
        for tap in taps:
            await tap.stop()
        stack.__exit__(None, None, None)
        await delete_namespaces(bootstrap=bootstrap, namespaces={namespace})
        shutil.rmtree(data_dir, ignore_errors=True)
    events, alerts_uc, alerts_rc = taps
    times: dict[str, dict[str, float]] = {}
    for customer, acked in probes.items():
        t: dict[str, float] = {"ack": acked}
        for name, source in (
            ("ingested", events.ingested),
            ("in_kafka", events.seen),
            ("alert_created", alerts_uc.created),
            ("alert_in_kafka", alerts_uc.seen),
            ("alert_committed", alerts_rc.seen),
        ):
            if customer in source:
                t[name] = source[customer]
        if customer in rows:
            t["stored"] = rows[customer][0]
            if rows[customer][1] is not None:
                t["notified"] = rows[customer][1]
        times[customer] = t
    return {
        "rate_per_s": rate,
        "achieved_per_s": round(achieved),
        "seconds": seconds,
        "probes": len(probes),
        "probes_stored": len(rows),
        "load_average_at_start": [round(x, 2) for x in load],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "bench_process_cpu_s": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 2),
        "service_cpu_s": {
            name: round(services1[name] - services0.get(name, 0.0), 2) for name in services1
        },
        "stages": breakdown(times),
        **e2e_histogram.figures(before, after),
    }


async def run_async(
    *, bootstrap: str, rate: int, seconds: float, customers: int, refs: list[str], repeat: int
) -> dict[str, Any]:
    """``repeat`` rounds over the codes (the current tree, or each of ``refs`` from its own
    worktree), the order reversed every other round."""
    runs: list[dict[str, Any]] = []
    with ExitStack() as stack:
        codes: list[tuple[str, dict[str, str]]] = [("current tree", {})]
        if refs:
            trees = [stack.enter_context(BaselineTree(ref=ref)) for ref in refs]
            codes = [
                (
                    f"{ref} ({tree.commit[:10]})",
                    {**tree.env, "CHURNWATCH_MONITOR_NATIVE": "require"},
                )
                for ref, tree in zip(refs, trees, strict=True)
            ]
        for round_no in range(repeat):
            for code, env in codes if round_no % 2 == 0 else codes[::-1]:
                figures = await run_once(
                    bootstrap=bootstrap, rate=rate, seconds=seconds, customers=customers, env=env
                )
                figures["code"], figures["round"] = code, round_no + 1
                e2e = figures["stages"].get("ack->stored", {})
                print(
                    f"[stages] round {round_no + 1} {code}: ack->stored p50/p99 "
                    f"{e2e.get('p50_ms')}/{e2e.get('p99_ms')} ms, monitor CPU "
                    f"{figures['service_cpu_s'].get('state_monitor')} s, load "
                    f"{figures['load_average_at_start']}",
                    file=sys.stderr,
                    flush=True,
                )
                runs.append(figures)
    return {"runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2_000, help="events/s (default 2000)")
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds")
    parser.add_argument("--customers", type=int, default=2_000, help="background customers")
    parser.add_argument(
        "--ref",
        action="append",
        default=[],
        help="run the services of this commit (repeatable); default: the current tree",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds (alternating with --ref)")
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0 or args.repeat <= 0:
        parser.error("--rate, --seconds and --repeat must be positive")
    os.environ.setdefault("CHURNWATCH_LOG_LEVEL", "WARNING")
    figures = asyncio.run(
        run_async(
            bootstrap=CommonSettings().kafka_bootstrap,
            rate=args.rate,
            seconds=args.seconds,
            customers=args.customers,
            refs=args.ref,
            repeat=args.repeat,
        )
    )
    sys.stdout.write(json.dumps(figures, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
