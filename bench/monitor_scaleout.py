"""State-monitor scale-out: 1, 2 and 4 workers sharing a 16-partition EVENTS topic.

    python bench/monitor_scaleout.py [--mode short|full]

Per worker count k (each on a fresh namespace whose customer-keyed topics have 16 partitions,
``CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS=16``, with the same simulator events):

1. the k workers start with static group membership ids and a 60 s session timeout and wait until
   the group has spread the 16 partitions over all of them; then they are stopped (a static
   member does not leave the group, so the assignment stays);
2. the events are produced while no worker runs;
3. the same k workers (same ids, same ports, so the same group metadata) start again and get
   their partitions back at once, without a rebalance; every worker's /metrics is read every
   0.05 s. The figure is events / (moment the workers' applied counts sum to all events - moment
   the first poll that saw an event applied; events applied before it are left out), so
   start-up skew between workers counts against scale-out.

The ratio to one worker is the point: on this 2-core machine (broker and bench included) the
workers share the same two cores, so k workers cannot be faster than one; the ratio shows the
cost of k workers (k processes' fetch, delivery, commit and heartbeat overheads on the same
CPUs), not the speed-up k machines would give. ``bench/run.py`` calls :func:`run` through
``monitor_bench``; this file is never part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TypedDict

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import create_topics, delete_namespaces

from bench.kafka_reference import raw_produce
from bench.monitor_bench import Worker, simulated_events
from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings

PARTITIONS = 16
WORKER_COUNTS = (1, 2, 4)
SESSION_TIMEOUT_S = "60"  # the stop -> produce -> restart window must stay within it
NOTE = (
    "not a speed-up: the broker, the bench and every worker share this machine's 2 cores, so k "
    "workers cannot beat one by more than the second core; a ratio above that comes from other "
    "load on the machine (k processes get a larger share of an oversubscribed CPU than one; see "
    "load_average), below it is the overhead of k workers on the same cores. Scale-out needs "
    "more machines"
)


class _Mode(TypedDict):
    events: int
    customers: int
    rounds: int


MODES: dict[str, _Mode] = {
    "short": {"events": 100_000, "customers": 5_000, "rounds": 1},
    "full": {"events": 400_000, "customers": 20_000, "rounds": 3},
}


async def _wait_split(
    workers: list[Worker], *, logs: list[Path], timeout: float = 180
) -> list[list[int]]:
    """Until the group has assigned all partitions, each worker some, stable for 2 s."""
    deadline = time.perf_counter() + timeout
    stable_since: float | None = None
    previous: list[list[int]] = []
    async with httpx.AsyncClient() as client:
        while time.perf_counter() < deadline:
            owned = [await w.assigned(client) for w in workers]
            for worker, log in zip(workers, logs, strict=True):
                if worker.proc is not None and worker.proc.poll() is not None:
                    tail = log.read_text(errors="replace").splitlines()[-5:]
                    raise RuntimeError(f"a worker exited ({worker.proc.returncode}): {tail}")
            split = all(owned) and sorted(p for o in owned for p in o) == list(range(PARTITIONS))
            if split and owned == previous:
                stable_since = stable_since or time.perf_counter()
                if time.perf_counter() - stable_since >= 2.0:
                    return owned
            else:
                stable_since = None
            previous = owned
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{len(workers)} workers never split {PARTITIONS} partitions: {previous}")


async def _drain_all(workers: list[Worker], *, expected: int, timeout: float) -> dict:
    """Poll every worker's applied count (concurrently, every 0.05 s) until they sum to
    ``expected``. The rate counts from the first poll that saw any event applied: what was
    applied before it (start-up, the first batch) is left out of both events and time."""
    first: tuple[float, float] | None = None  # (time, events applied by then)
    per_first: list[tuple[float, float] | None] = [None] * len(workers)
    per_last: list[tuple[float, float] | None] = [None] * len(workers)
    counts = [0.0] * len(workers)
    deadline = time.perf_counter() + timeout
    async with httpx.AsyncClient() as client:
        while time.perf_counter() < deadline:
            answers = await asyncio.gather(*(w.applied(client) for w in workers))
            now = time.perf_counter()
            for i, applied in enumerate(answers):
                if applied is None:
                    continue
                if applied and per_first[i] is None:
                    per_first[i] = (now, applied)
                if applied > counts[i]:
                    per_last[i] = (now, applied)
                counts[i] = applied
            if first is None and sum(counts) > 0:
                first = (now, sum(counts))
            if sum(counts) >= expected:
                assert first is not None
                if now <= first[0]:
                    raise RuntimeError("all events were applied before the first poll saw any")
                return {
                    "events": expected - first[1],
                    "seconds": now - first[0],
                    "per_worker_events": [int(c) for c in counts],
                    "per_worker_events_per_s": [
                        round((b[1] - a[1]) / (b[0] - a[0]))
                        if a is not None and b is not None and b[0] > a[0]
                        else 0
                        for a, b in zip(per_first, per_last, strict=True)
                    ],
                }
            await asyncio.sleep(0.05)
    raise TimeoutError(f"workers applied {sum(counts):.0f} of {expected} events in {timeout}s")


async def one_run(
    *, bootstrap: str, records: list[tuple[bytes, bytes]], workers: int, data: Path
) -> dict:
    """One measurement with ``workers`` workers on a fresh 16-partition namespace."""
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    layout = CommonSettings(kafka_customer_partitions=PARTITIONS)
    await create_topics(bootstrap=bootstrap, namespace=namespace, common=layout)
    pool = [
        Worker(
            bootstrap=bootstrap,
            namespace=namespace,
            data_dir=data / namespace / f"w{i}",
            instance_id=f"scaleout-{i}",
        )
        for i in range(workers)
    ]
    for worker in pool:
        worker.env["CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS"] = str(PARTITIONS)
        worker.env["CHURNWATCH_MONITOR_SESSION_TIMEOUT_S"] = SESSION_TIMEOUT_S
    try:
        (data / namespace).mkdir(parents=True, exist_ok=True)
        logs = [data / namespace / f"w{i}.log" for i in range(workers)]
        for worker, log in zip(pool, logs, strict=True):
            worker.start(log=log)
        owned = await _wait_split(pool, logs=logs)
        for worker in pool:
            worker.stop()
        topic = topics.EVENTS.name(namespace)
        await raw_produce(bootstrap=bootstrap, topic=topic, records=records)
        for worker, log in zip(pool, logs, strict=True):
            worker.start(log=log)
        drained = await _drain_all(pool, expected=len(records), timeout=900)
        async with httpx.AsyncClient() as client:
            after = [await w.assigned(client) for w in pool]
    finally:
        for worker in pool:
            worker.stop()
        await delete_namespaces(bootstrap=bootstrap, namespaces={namespace})
    rate = drained["events"] / drained["seconds"]
    load = os.getloadavg()[0]
    print(f"[scale-out] {workers} worker(s): {rate:,.0f} events/s", flush=True)
    return {
        "events_per_s": rate,
        "partitions_per_worker": [len(o) for o in owned],
        "rebalanced_during_run": after != owned,
        "load_average": round(load, 1),
        "per_worker_events": drained["per_worker_events"],
        "per_worker_events_per_s": drained["per_worker_events_per_s"],
    }


async def scaleout(*, bootstrap: str, events: int, customers: int, rounds: int) -> dict:
    """Events/s with 1, 2 and 4 workers on 16 partitions and the ratio to one worker."""
    records = simulated_events(count=events, customers=customers)
    with tempfile.TemporaryDirectory(prefix="monitor-scaleout-") as tmp:
        runs: dict[int, list[dict]] = {k: [] for k in WORKER_COUNTS}
        for _ in range(rounds):  # interleaved, so slow phases of the machine hit every k alike
            for k in WORKER_COUNTS:
                runs[k].append(
                    await one_run(bootstrap=bootstrap, records=records, workers=k, data=Path(tmp))
                )
    rates = {k: statistics.median(r["events_per_s"] for r in runs[k]) for k in WORKER_COUNTS}
    out: dict = {
        "partitions": PARTITIONS,
        "events": events,
        "customers": customers,
        "rounds": rounds,
        "note": NOTE,
    }
    for k in WORKER_COUNTS:
        out[f"workers_{k}"] = {
            "events_per_s": round(rates[k]),
            "ratio_to_one_worker": round(rates[k] / rates[1], 3),
            "events_per_s_per_round": [round(r["events_per_s"]) for r in runs[k]],
            "partitions_per_worker": runs[k][-1]["partitions_per_worker"],
            "per_worker_events_per_s": runs[k][-1]["per_worker_events_per_s"],
            "rebalanced_during_run": any(r["rebalanced_during_run"] for r in runs[k]),
            "load_average_per_round": [r["load_average"] for r in runs[k]],
        }
    summary = ", ".join(
        f"{k}: {rates[k]:,.0f}/s ({rates[k] / rates[1]:.2f}x)" for k in WORKER_COUNTS
    )
    print(f"[scale-out] {summary} — {NOTE}", flush=True)
    return out


def run(*, bootstrap: str, mode: str) -> dict:
    """Run the scale-out benchmark in ``mode`` (short|full); print and return the figures."""
    cfg = MODES[mode]
    return asyncio.run(
        scaleout(
            bootstrap=bootstrap,
            events=cfg["events"],
            customers=cfg["customers"],
            rounds=cfg["rounds"],
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="short")
    parser.add_argument("--events", type=int, default=None, help="override the mode's count")
    args = parser.parse_args()
    os.environ.setdefault("CHURNWATCH_LOG_LEVEL", "WARNING")
    mode = MODES[args.mode]
    figures = asyncio.run(
        scaleout(
            bootstrap=CommonSettings().kafka_bootstrap,
            events=args.events or mode["events"],
            customers=mode["customers"],
            rounds=mode["rounds"],
        )
    )
    print(json.dumps(figures, indent=2))
