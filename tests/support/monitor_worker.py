"""State-monitor workers as real subprocesses for integration tests, and the waits around them.

One place for what the worker, two-worker, recovery, outage, repartition and silence tests each
set up: a worker on a namespace with its own port and data dir, two workers that have split the
partitions, the applied-event count from /metrics, and the usual large-outflow feed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from churnwatch_shared import topics
from tests.state_monitor.events import at, outflow, snapshot, wire
from tests.support.processes import ServiceProcess, free_port

APPLIED = 'churnwatch_monitor_events_total{outcome="applied"}'


def monitor_worker(
    *,
    namespace: str,
    bootstrap: str,
    port: int,
    tmp_path: Path,
    extra_env: dict[str, str] | None = None,
    data: str = "monitor",
    host: str = "127.0.0.1",
) -> ServiceProcess:
    """A ``python -m churnwatch_state_monitor`` process (not started) on ``namespace``, serving
    on ``host``:``port`` with its data under ``tmp_path / data``."""
    return ServiceProcess(
        name="state-monitor",
        module="churnwatch_state_monitor",
        env={
            "CHURNWATCH_KAFKA_BOOTSTRAP": bootstrap,
            "CHURNWATCH_TOPIC_NAMESPACE": namespace,
            "CHURNWATCH_ENV": "test",
            "CHURNWATCH_MONITOR_HOST": host,
            "CHURNWATCH_MONITOR_WEB_PORT": str(port),
            "CHURNWATCH_MONITOR_DATA_DIR": str(tmp_path / data),
            "CHURNWATCH_MONITOR_SESSION_TIMEOUT_S": "6",
            **(extra_env or {}),
        },
        health_url=f"http://{host}:{port}/healthz",
    )


async def until_split(ports: list[int]) -> None:
    """Wait until the group has spread all source partitions over the workers on ``ports``."""
    owned: list[list[int]] = []
    for _ in range(300):
        owned = []
        for port in ports:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                owned.append((await client.get("/readyz")).json()["assigned_partitions"])
        if all(owned) and sorted(p for parts in owned for p in parts) == list(
            range(topics.CUSTOMER_PARTITIONS)
        ):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"partitions never split over both workers: {owned}")


async def start_split_workers(
    *, namespace: str, bootstrap: str, tmp_path: Path, count: int = 2
) -> tuple[list[ServiceProcess], list[int]]:
    """``count`` started workers (data dirs w0, w1...) once they have split the partitions.

    The caller stops them (``worker.stop()`` for each, in a ``finally``); they are stopped here
    when the split never happens.
    """
    ports = [free_port() for _ in range(count)]
    workers = [
        monitor_worker(
            namespace=namespace, bootstrap=bootstrap, port=port, tmp_path=tmp_path, data=f"w{i}"
        )
        for i, port in enumerate(ports)
    ]
    try:
        for worker in workers:
            worker.start(timeout=90)
        await until_split(ports)
    except BaseException:
        for worker in workers:
            worker.stop()
        raise
    return workers, ports


async def applied_total(port: int) -> float:
    """Events the worker on ``port`` has applied (its /metrics counter)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        text = (await client.get("/metrics")).text
    line = next(x for x in text.splitlines() if x.startswith(APPLIED))
    return float(line.rsplit(" ", 1)[1])


def outflow_records(customers: list[str]) -> list[tuple[bytes, bytes]]:
    """Per customer a 100,000.00 balance, then an 80,000.00 interbank outflow (alerts once)."""
    return [
        (c.encode(), wire(e))
        for c in customers
        for e in (
            snapshot(f"{c}-bal", c, at(0), demand="100000.00"),
            outflow(f"{c}-out", c, at(1), "80000.00"),
        )
    ]
