"""State-monitor benchmark: events/s per worker beside raw aiokafka, state bytes, kill -9 recovery.

    python bench/monitor_bench.py [--mode short|full]

1. Throughput: the simulator's events (full rule set: transactions, snapshots, products, loans,
   complaints...) are produced to a fresh namespace's EVENTS topic; one worker subprocess is
   started; the figure is events / (time of the last applied event - time of the first), read from
   its /metrics every 0.1 s, and "time to lag 0" is when its committed offsets reach the end
   offsets. The reference is ``raw_consume_decode`` over the same topic in the same run.
   A second reference decodes every record into the event contract (``parse_event``), which the
   worker must do too.
2. State size: every customer's latest record on the changelog (mean, p99 bytes).
3. Scale-out: 1, 2 and 4 workers on a 16-partition topic (``bench/monitor_scaleout.py``; on
   this 2-core machine the ratio to one worker shows overhead, not speed-up).
4. Recovery, per store (memory, RocksDB): a fresh namespace gets one event for each of N
   customers; the worker applies them all (its resident memory is read before and after), is
   killed with SIGKILL and restarted on the same data dir with the same static group membership
   id (``CHURNWATCH_MONITOR_INSTANCE_ID``, as a restarted pod would have); the figures are the time from the
   restart to /readyz listing the partitions and to the first applied probe event (startup,
   group join, changelog restore, silence-index build).
``bench/run.py`` calls :func:`run`; this file is never part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TypedDict

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import create_topics, delete_namespaces

from bench.kafka_reference import raw_consume_decode, raw_produce, sample_events

# monitor_scaleout imports Worker and simulated_events from here
from bench.monitor_worker import Worker, drain_applied, simulated_events
from churnwatch_shared import topics
from churnwatch_shared.events import parse_event
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.settings import CommonSettings


class _Mode(TypedDict):
    events: int  # through the worker
    customers: int  # simulated
    rounds: int
    recovery: list[tuple[str, int]]  # (store, customers) per recovery run


MODES: dict[str, _Mode] = {
    "short": {
        "events": 40_000,
        "customers": 2_000,
        "rounds": 3,
        "recovery": [("memory://", 20_000), ("rocksdb://", 20_000)],
    },
    "full": {
        "events": 200_000,
        "customers": 10_000,
        "rounds": 3,
        "recovery": [("memory://", 100_000), ("rocksdb://", 1_000_000)],
    },
}


async def committed_total(*, bootstrap: str, group: str, topic: str) -> tuple[int, int]:
    """(sum of the group's committed offsets, sum of end offsets) over the topic's partitions."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **client_kwargs()
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(topics.CUSTOMER_PARTITIONS)]
        ends = await consumer.end_offsets(tps)
        done = 0
        for tp in tps:
            done += (await consumer.committed(tp)) or 0
        return done, sum(ends.values())
    finally:
        await consumer.stop()


async def changelog_sizes(*, bootstrap: str, topic: str) -> list[int]:
    """Byte size of the latest value of every key on a changelog topic."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 << 20,
        isolation_level="read_committed",  # the monitor writes in transactions
    )
    await consumer.start()
    latest: dict[bytes, int] = {}
    try:
        tps = [TopicPartition(topic, p) for p in range(topics.CUSTOMER_PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            for records in (await consumer.getmany(timeout_ms=500, max_records=20_000)).values():
                for record in records:
                    latest[record.key] = len(record.value or b"")
    finally:
        await consumer.stop()
    return sorted(latest.values())


_CREATED: set[str] = set()  # namespaces of this run, deleted when it ends


async def _namespace(bootstrap: str) -> str:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    _CREATED.add(namespace)
    await create_topics(bootstrap=bootstrap, namespace=namespace)
    return namespace


async def _throughput_round(
    *, bootstrap: str, records: list[tuple[bytes, bytes]], data: Path
) -> dict:
    """One round on a fresh topic: raw consume+decode, consume+contract decode, then the worker."""
    namespace = await _namespace(bootstrap)
    topic = topics.EVENTS.name(namespace)
    events = len(records)
    try:
        await raw_produce(bootstrap=bootstrap, topic=topic, records=records)
        raw = await raw_consume_decode(bootstrap=bootstrap, topic=topic, expected=events)
        contract = await raw_consume_decode(
            bootstrap=bootstrap, topic=topic, expected=events, decode=parse_event
        )
        worker = Worker(bootstrap=bootstrap, namespace=namespace, data_dir=data / namespace)
        started = worker.start()
        try:
            cpu: list[float] = []
            first, last = await drain_applied(worker, expected=events, timeout=600, cpu=cpu)
            group = f"{namespace}-state-monitor"
            while True:
                done, end = await committed_total(bootstrap=bootstrap, group=group, topic=topic)
                if done >= end:
                    break
                await asyncio.sleep(0.1)
            lag0 = time.perf_counter()
        finally:
            worker.stop()
        sizes = await changelog_sizes(
            bootstrap=bootstrap, topic=f"{namespace}-state-monitor-customer-state-changelog"
        )
    finally:
        await delete_namespaces(bootstrap=bootstrap, namespaces={namespace})
    rate = events / (last - first)
    # the worker's own CPU per million events between the same two moments: unlike events/s,
    # it hardly moves with other load on the machine (the poll adds ~1 ms of /metrics serving)
    cpu_per_m = (cpu[1] - cpu[0]) / events * 1e6
    print(
        f"throughput round: worker {rate:,.0f} events/s, raw {raw:,.0f} ({rate / raw:.3f}x), "
        f"contract decode {contract:,.0f}, worker CPU {cpu_per_m:.1f} s per 1M events",
        flush=True,
    )
    return {
        "worker": rate,
        "cpu_per_m": cpu_per_m,
        "raw": raw,
        "contract": contract,
        "sizes": sizes,
        "startup_to_first_event_s": first - started,
        "first_event_to_lag_0_s": lag0 - first,
    }


async def throughput(
    *, bootstrap: str, events: int, customers: int, data: Path, rounds: int
) -> dict:
    """Worker events/s and time to lag 0, beside raw consume+decode of the same topic.

    The raw loop's rate moves a lot between runs on a shared 2-core machine (320k-500k/s seen in
    one day), so each round measures all three on its own fresh copy of the same events and the
    figures reported are the medians over the rounds, with every round's ratio beside them.
    """
    records = simulated_events(count=events, customers=customers)
    runs = [
        await _throughput_round(bootstrap=bootstrap, records=records, data=data)
        for _ in range(rounds)
    ]
    rate, raw, contract, cpu_per_m = (
        statistics.median(r[k] for r in runs) for k in ("worker", "raw", "contract", "cpu_per_m")
    )
    sizes = runs[-1]["sizes"]
    return {
        "events": events,
        "customers": customers,
        "rounds": rounds,
        "worker_events_per_s": round(rate),
        "raw_consume_decode_events_per_s": round(raw),
        "ratio_to_raw": round(rate / raw, 3),
        "ratio_to_raw_per_round": [round(r["worker"] / r["raw"], 3) for r in runs],
        "consume_contract_decode_events_per_s": round(contract),
        "ratio_to_contract_decode": round(rate / contract, 3),
        "worker_events_per_s_per_round": [round(r["worker"]) for r in runs],
        "worker_cpu_s_per_million_events": round(cpu_per_m, 1),
        "worker_cpu_s_per_million_events_per_round": [round(r["cpu_per_m"], 1) for r in runs],
        "raw_events_per_s_per_round": [round(r["raw"]) for r in runs],
        "startup_to_first_event_s": round(runs[-1]["startup_to_first_event_s"], 2),
        "first_event_to_lag_0_s": round(runs[-1]["first_event_to_lag_0_s"], 2),
        "state_bytes_mean": round(sum(sizes) / len(sizes), 1),
        "state_bytes_p99": sizes[min(len(sizes) - 1, int(len(sizes) * 0.99))],
        "state_records": len(sizes),
    }


async def recovery(*, bootstrap: str, customers: int, data: Path, store: str) -> dict:
    """Restart after kill -9 with ``customers`` states in ``store``: seconds to readiness and to
    the first new event applied, and resident memory per customer before the crash.

    The restarted worker keeps its data dir (as a restarted pod with its volume would), so a
    RocksDB store replays only the changelog past its stored offset; a memory store replays all.
    """
    namespace = await _namespace(bootstrap)
    topic = topics.EVENTS.name(namespace)
    data_dir = data / f"rec-{store.split(':')[0]}"
    worker = Worker(
        bootstrap=bootstrap,
        namespace=namespace,
        data_dir=data_dir,
        store=store,
        instance_id="bench-worker-0",
    )
    worker.start()
    try:
        async with httpx.AsyncClient() as client:
            while not await worker.assigned(client):
                await asyncio.sleep(0.1)
        rss_empty = worker.rss_bytes()
        for start in range(0, customers, 200_000):  # bounded memory in the producer process
            chunk = sample_events(min(200_000, customers - start), customers=customers, first=start)
            await raw_produce(bootstrap=bootstrap, topic=topic, records=chunk)
        first, last = await drain_applied(worker, expected=customers, timeout=1800)
        await asyncio.sleep(1.0)  # let the last batch finish before the crash
        rss_full = worker.rss_bytes()
    finally:
        worker.kill()
    restarted = Worker(
        bootstrap=bootstrap,
        namespace=namespace,
        data_dir=data_dir,
        store=store,
        instance_id="bench-worker-0",
    )
    probe_key, probe = sample_events(customers + 1, customers=customers + 1)[-1]
    t0 = restarted.start()
    try:
        await raw_produce(bootstrap=bootstrap, topic=topic, records=[(probe_key, probe)])
        ready = None
        async with httpx.AsyncClient() as client:
            while time.perf_counter() - t0 < 900:
                if ready is None and await restarted.assigned(client):
                    ready = time.perf_counter()
                applied = await restarted.applied(client)
                if applied:
                    break
                await asyncio.sleep(0.1)
        probe_at = time.perf_counter()
    finally:
        restarted.stop()
    print(
        f"recovery {store} {customers:,}: first event {probe_at - t0:.1f} s after restart",
        flush=True,
    )
    return {
        "store": store,
        "customers": customers,
        "initial_fill_events_per_s": round(customers / (last - first)),
        "rss_bytes_per_customer": round((rss_full - rss_empty) / customers),
        "rss_mib_after_fill": round(rss_full / 2**20),
        "restart_to_ready_s": round((ready or probe_at) - t0, 2),
        "restart_to_first_event_s": round(probe_at - t0, 2),
    }


async def _run(bootstrap: str, mode: str, parts: tuple[str, ...]) -> dict:
    cfg = MODES[mode]
    data = Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    results: dict = {}
    try:
        if "throughput" in parts:
            results["throughput"] = await throughput(
                bootstrap=bootstrap,
                events=cfg["events"],
                customers=cfg["customers"],
                data=data,
                rounds=cfg["rounds"],
            )
        if "scaleout" in parts:  # 1, 2 and 4 workers on 16 partitions (monitor_scaleout.py)
            from bench import monitor_scaleout  # imports this module: not at the top

            scale = monitor_scaleout.MODES[mode]
            try:
                results["scaleout"] = await monitor_scaleout.scaleout(
                    bootstrap=bootstrap,
                    events=scale["events"],
                    customers=scale["customers"],
                    rounds=scale["rounds"],
                )
            except (TimeoutError, RuntimeError) as exc:
                # a failed scale-out must not throw away the throughput and recovery figures
                results["scaleout"] = {"error": f"{type(exc).__name__}: {exc}"}
        if "recovery" in parts:
            results["recovery"] = {
                store.split(":")[0]: await recovery(
                    bootstrap=bootstrap, customers=n, data=data, store=store
                )
                for store, n in cfg["recovery"]
            }
    finally:
        shutil.rmtree(data, ignore_errors=True)
        await delete_namespaces(bootstrap=bootstrap, namespaces=_CREATED)
    return results


PARTS = ("throughput", "scaleout", "recovery")


def run(*, bootstrap: str, mode: str, parts: tuple[str, ...] = PARTS) -> dict:
    """Run the monitor benchmark in ``mode`` (short|full); print and return the figures."""
    results = asyncio.run(_run(bootstrap, mode, parts))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="short")
    parser.add_argument("--only", choices=PARTS, default=None, help="run one part only")
    args = parser.parse_args()
    run(
        bootstrap=CommonSettings().kafka_bootstrap,
        mode=args.mode,
        parts=(args.only,) if args.only else PARTS,
    )
