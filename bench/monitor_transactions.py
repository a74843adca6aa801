"""What the fenced writers cost: the monitor's events/s with transactions on and off, same run.

    python bench/monitor_transactions.py [--mode short|full] [--rounds N]

Each round produces the simulator's events (as ``monitor_bench``'s throughput part: full rule
set) to a fresh namespace, measures the raw consume+decode reference over them, then runs one
worker with ``CHURNWATCH_MONITOR_TRANSACTIONS=on`` and one with ``off`` over the same topic
(each with its own app id, so its own group and changelog; the order alternates between rounds so
neither always runs on a warmer broker). Figure per worker: events / (time of the last applied
event - time of the first), from its /metrics every 0.1 s. Reported: per-round and median
events/s of both, their ratio to the raw reference, and on/off.
``make bench`` measures the monitor with the default (on) in ``monitor_bench``; this file is never
part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import delete_namespaces

from bench.kafka_reference import raw_consume_decode, raw_produce
from bench.monitor_bench import _CREATED, MODES, _drain, _namespace
from bench.monitor_worker import Worker, simulated_events
from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings


async def _worker_rate(
    *, bootstrap: str, namespace: str, data: Path, events: int, transactions: str
) -> float:
    worker = Worker(
        bootstrap=bootstrap,
        namespace=namespace,
        data_dir=data / f"{namespace}-{transactions}",
        extra_env={
            "CHURNWATCH_MONITOR_TRANSACTIONS": transactions,
            "CHURNWATCH_MONITOR_APP_ID": f"{namespace}-monitor-txn-{transactions}",
        },
    )
    worker.start()
    try:
        first, last = await _drain(worker, expected=events, timeout=600)
    finally:
        worker.stop()
    return events / (last - first)


async def _round(
    *, bootstrap: str, records: list[tuple[bytes, bytes]], data: Path, order: tuple[str, ...]
) -> dict:
    namespace = await _namespace(bootstrap)
    topic = topics.EVENTS.name(namespace)
    try:
        await raw_produce(bootstrap=bootstrap, topic=topic, records=records)
        raw = await raw_consume_decode(bootstrap=bootstrap, topic=topic, expected=len(records))
        rates = {
            mode: await _worker_rate(
                bootstrap=bootstrap,
                namespace=namespace,
                data=data,
                events=len(records),
                transactions=mode,
            )
            for mode in order
        }
    finally:
        await delete_namespaces(bootstrap=bootstrap, namespaces={namespace})
    print(
        f"round: on {rates['on']:,.0f}/s ({rates['on'] / raw:.3f}x raw), off {rates['off']:,.0f}/s "
        f"({rates['off'] / raw:.3f}x), raw {raw:,.0f}/s, on/off {rates['on'] / rates['off']:.3f}",
        flush=True,
    )
    return {"on": rates["on"], "off": rates["off"], "raw": raw}


async def compare(*, bootstrap: str, events: int, customers: int, rounds: int) -> dict:
    """Transactions on vs off beside raw consume+decode, ``rounds`` rounds; medians and rounds."""
    records = simulated_events(count=events, customers=customers)
    data = Path(tempfile.mkdtemp(prefix="monitor-txn-bench-"))
    try:
        runs = [
            await _round(
                bootstrap=bootstrap,
                records=records,
                data=data,
                order=("on", "off") if n % 2 == 0 else ("off", "on"),
            )
            for n in range(rounds)
        ]
    finally:
        shutil.rmtree(data, ignore_errors=True)
        await delete_namespaces(bootstrap=bootstrap, namespaces=_CREATED)
    on, off, raw = (statistics.median(r[k] for r in runs) for k in ("on", "off", "raw"))
    return {
        "events": events,
        "customers": customers,
        "rounds": rounds,
        "transactions_on_events_per_s": round(on),
        "transactions_off_events_per_s": round(off),
        "raw_consume_decode_events_per_s": round(raw),
        "on_ratio_to_raw": round(on / raw, 3),
        "off_ratio_to_raw": round(off / raw, 3),
        "on_over_off": round(on / off, 3),
        "on_ratio_to_raw_per_round": [round(r["on"] / r["raw"], 3) for r in runs],
        "off_ratio_to_raw_per_round": [round(r["off"] / r["raw"], 3) for r in runs],
        "on_over_off_per_round": [round(r["on"] / r["off"], 3) for r in runs],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="short")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    cfg = MODES[args.mode]
    result = asyncio.run(
        compare(
            bootstrap=CommonSettings().kafka_bootstrap,
            events=cfg["events"],
            customers=cfg["customers"],
            rounds=args.rounds or cfg["rounds"],
        )
    )
    print(json.dumps(result, indent=2))
