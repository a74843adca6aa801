"""Ingest benchmark: batch events/s beside raw aiokafka, and single-event latency at a set rate.

    python bench/ingest_bench.py [--events 50000] [--batch 5000] [--concurrency 2]
                                 [--rate 1000] [--seconds 5]

One ingest process (``python -m churnwatch_ingest``) on the local broker in a fresh namespace. The
reference is bench.kafka_reference.raw_produce of the same records in the same run. Single-event
latency is measured open-loop: requests are started on a fixed schedule at ``--rate`` per second
whether or not earlier ones have finished, so a slow answer cannot hide by delaying the next send.
The load generator shares the machine's cores with the broker and ingest. ``bench/run.py`` may call
:func:`run` (or :func:`bench_ingest`); this file never runs in the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import create_topics, delete_namespaces

from bench.kafka_reference import raw_produce, sample_events
from bench.monitor_worker import process_cpu_seconds
from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings

DEV_KEY = {"X-API-Key": "cw-dev-producer-key"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_ingest(*, bootstrap: str, namespace: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CHURNWATCH_ENV": "development",
        "CHURNWATCH_KAFKA_BOOTSTRAP": bootstrap,
        "CHURNWATCH_TOPIC_NAMESPACE": namespace,
        "CHURNWATCH_LOG_LEVEL": "WARNING",
        "CHURNWATCH_INGEST_PORT": str(port),
        "CHURNWATCH_INGEST_RAW_VALIDATOR_ENABLED": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "churnwatch_ingest"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far, None where /proc cannot tell."""
    try:
        return process_cpu_seconds(pid)
    except OSError:
        return None


async def _wait_ready(base: str, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"ingest at {base} not ready after {timeout}s")


async def batch_throughput(
    *, base: str, records: list[tuple[bytes, bytes]], batch: int, concurrency: int
) -> float:
    """Events/s of NDJSON batches posted by ``concurrency`` clients, all answered accepted."""
    bodies = [
        b"\n".join(v for _, v in records[i : i + batch]) for i in range(0, len(records), batch)
    ]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    accepted = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal accepted
        while not queue.empty():
            body = queue.get_nowait()
            response = await client.post(
                "/v1/events/batch",
                content=body,
                headers={**DEV_KEY, "Content-Type": "application/x-ndjson"},
            )
            response.raise_for_status()
            accepted += response.json()["accepted"]

    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if accepted != len(records):
        raise RuntimeError(f"only {accepted} of {len(records)} events accepted")
    return len(records) / elapsed


async def single_latency(*, base: str, rate: float, seconds: float) -> dict[str, float]:
    """p50/p99/max (ms) of POST /v1/events sent open-loop at ``rate`` per second (aiohttp)."""
    count = int(rate * seconds)
    values = [v.replace(b'"bench-', b'"single-') for _, v in sample_events(count)]
    latencies: list[float] = []
    failures = 0
    headers = {**DEV_KEY, "Content-Type": "application/json"}

    async def one(session: aiohttp.ClientSession, body: bytes) -> None:
        nonlocal failures
        started = time.perf_counter()
        async with session.post(f"{base}/v1/events", data=body, headers=headers) as response:
            await response.read()
            failures += response.status != 202
        latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = []
        origin = time.perf_counter()
        for n, body in enumerate(values):
            delay = origin + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, body)))
        await asyncio.gather(*tasks)
        achieved = count / (time.perf_counter() - origin)
    ordered = sorted(latencies)
    return {
        "single_target_rate_per_s": rate,
        "single_achieved_rate_per_s": achieved,
        "single_p50_ms": statistics.median(ordered),
        "single_p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)],
        "single_max_ms": ordered[-1],
        "single_non_202": float(failures),
    }


async def bench_ingest(
    *,
    bootstrap: str,
    events: int,
    batch: int = 5000,
    concurrency: int = 2,
    rate: float = 1000.0,
    seconds: float = 5.0,
) -> dict[str, float]:
    """All ingest figures of one run, each beside the raw reference of the same records."""
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap=bootstrap, namespace=namespace)
    records = sample_events(events)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = _start_ingest(bootstrap=bootstrap, namespace=namespace, port=port)
    try:
        await _wait_ready(base)
        # Warm-up with ids bench-*; the measured batches use batch-* ids so none is a duplicate.
        await batch_throughput(
            base=base, records=sample_events(2000, customers=500), batch=batch, concurrency=1
        )
        measured = [(k, v.replace(b'"bench-', b'"batch-')) for k, v in records]
        cpu_before = _cpu_seconds(process.pid)
        ingest_rate = await batch_throughput(
            base=base, records=measured, batch=batch, concurrency=concurrency
        )
        cpu_after = _cpu_seconds(process.pid)
        latency = await single_latency(base=base, rate=rate, seconds=seconds)
    finally:
        process.terminate()
        process.wait(timeout=30)
    try:
        raw_rate = await raw_produce(
            bootstrap=bootstrap, topic=topics.EVENTS.name(namespace), records=records
        )
    finally:
        await delete_namespaces(bootstrap=bootstrap, namespaces={namespace})
    # CPU per event is what a shared, busy machine distorts least; the load average says how busy.
    cpu = (
        {"ingest_server_cpu_us_per_event": (cpu_after - cpu_before) / len(records) * 1e6}
        if cpu_before is not None and cpu_after is not None
        else {}
    )
    return {
        "load_average_1m": os.getloadavg()[0],
        **cpu,
        "ingest_batch_events_per_s": ingest_rate,
        "raw_produce_events_per_s": raw_rate,
        "ingest_to_raw_ratio": ingest_rate / raw_rate,
        **latency,
    }


RUN_SIZES = {"short": 50_000, "full": 200_000}


def run(*, bootstrap: str, mode: str) -> dict[str, float]:
    """Entry point for bench/run.py: the ingest figures for ``mode`` (short | full)."""
    seconds = 5.0 if mode == "short" else 15.0
    return asyncio.run(bench_ingest(bootstrap=bootstrap, events=RUN_SIZES[mode], seconds=seconds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    figures = asyncio.run(
        bench_ingest(
            bootstrap=CommonSettings().kafka_bootstrap,
            events=args.events,
            batch=args.batch,
            concurrency=args.concurrency,
            rate=args.rate,
            seconds=args.seconds,
        )
    )
    sys.stdout.write(json.dumps({k: round(v, 3) for k, v in figures.items()}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
