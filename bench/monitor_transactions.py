"""What the fenced writers cost: the monitor's events/s with transactions on and off, same run.

    python bench/monitor_transactions.py [--mode short|full] [--rounds N]

Each round produces the simulator's events (as ``monitor_bench``'s throughput part: full rule
set) to a fresh namespace, measures the raw consume+decode reference over them, then runs one
worker with ``CHURNWATCH_MONITOR_TRANSACTIONS=on`` and one with ``off`` over the same topic
(each with its own app id, so its own group and changelog; the order alternates between rounds so
neither always runs on a warmer broker). Figure per worker: events / (time of the last applied
event - time of the first), from its /metrics every 0.1 s. Reported: per-round and median
events/s of both, their ratio to the raw reference, and on/off.
``make bench-full`` runs it (``bench/run.py``: ``monitor_transactions``); ``monitor_bench`` measures
the monitor with the default (on). This file is never part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import delete_namespaces

from bench.baseline_tree import BaselineTree
from bench.kafka_reference import raw_consume_decode, raw_produce
from bench.monitor_bench import _CREATED, MODES, _namespace
from bench.monitor_worker import bench_worker, run_until_applied, simulated_events
from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings

LOGS = REPO / ".local" / "bench-logs"  # one log per worker run


async def _worker_rate(
    *,
    bootstrap: str,
    namespace: str,
    data: Path,
    events: int,
    transactions: str,
    tree: BaselineTree | None,
) -> float | str:
    """Events/s of one worker over the topic, or why it stopped before applying them all."""
    extra_env = {
        "CHURNWATCH_MONITOR_TRANSACTIONS": transactions,
        "CHURNWATCH_MONITOR_APP_ID": f"{namespace}-monitor-txn-{transactions}",
    }
    worker = bench_worker(
        bootstrap=bootstrap,
        namespace=namespace,
        data_dir=data / f"{namespace}-{transactions}",
        extra_env=extra_env,
        tree=tree,
    )
    log = LOGS / f"{namespace}-{transactions}.log"
    drained = await run_until_applied(worker, log=log, expected=events, timeout=600)
    if isinstance(drained, str):
        return drained
    first, last = drained
    return events / (last - first)


async def _round(
    *,
    bootstrap: str,
    records: list[tuple[bytes, bytes]],
    data: Path,
    order: tuple[str, ...],
    tree: BaselineTree | None,
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
                tree=tree,
            )
            for mode in order
        }
    finally:
        await delete_namespaces(bootstrap=bootstrap, namespaces={namespace})
    raw_s = f"raw {raw:,.0f}/s"
    print(
        "round: "
        + ", ".join(
            f"{mode} {rate:,.0f}/s ({rate / raw:.3f}x raw)"
            if isinstance(rate, float)
            else f"{mode} FAILED ({rate})"
            for mode, rate in rates.items()
        )
        + f", {raw_s}",
        flush=True,
    )
    return {**rates, "raw": raw}


async def compare(
    *, bootstrap: str, events: int, customers: int, rounds: int, tree: BaselineTree | None = None
) -> dict:
    """Transactions on vs off beside raw consume+decode, ``rounds`` rounds; medians and rounds."""
    records = simulated_events(count=events, customers=customers)
    data = Path(tempfile.mkdtemp(prefix="monitor-txn-bench-"))
    LOGS.mkdir(parents=True, exist_ok=True)
    try:
        runs = [
            await _round(
                bootstrap=bootstrap,
                records=records,
                data=data,
                order=("on", "off") if n % 2 == 0 else ("off", "on"),
                tree=tree,
            )
            for n in range(rounds)
        ]
    finally:
        shutil.rmtree(data, ignore_errors=True)
        await delete_namespaces(bootstrap=bootstrap, namespaces=_CREATED)
    ok = [r for r in runs if isinstance(r["on"], float) and isinstance(r["off"], float)]
    failed = {
        mode: [r[mode] for r in runs if not isinstance(r[mode], float)] for mode in ("on", "off")
    }
    if not ok:
        return {"events": events, "rounds": rounds, "failed": failed}
    on, off, raw = (statistics.median(r[k] for r in ok) for k in ("on", "off", "raw"))
    return {
        "events": events,
        "customers": customers,
        "rounds": rounds,
        "rounds_with_both": len(ok),
        "failed": failed,  # a worker that stopped itself (e.g. the lease guard, off only)
        "transactions_on_events_per_s": round(on),
        "transactions_off_events_per_s": round(off),
        "raw_consume_decode_events_per_s": round(raw),
        "on_ratio_to_raw": round(on / raw, 3),
        "off_ratio_to_raw": round(off / raw, 3),
        "on_over_off": round(on / off, 3),
        "on_ratio_to_raw_per_round": [round(r["on"] / r["raw"], 3) for r in ok],
        "off_ratio_to_raw_per_round": [round(r["off"] / r["raw"], 3) for r in ok],
        "on_over_off_per_round": [round(r["on"] / r["off"], 3) for r in ok],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def run(*, bootstrap: str, mode: str) -> dict:
    """``make bench``'s entry: transactions on vs off in ``mode`` (short|full), working tree."""
    cfg = MODES[mode]
    result = asyncio.run(
        compare(
            bootstrap=bootstrap,
            events=cfg["events"],
            customers=cfg["customers"],
            rounds=cfg["rounds"],
        )
    )
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="short")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument(
        "--ref",
        default=None,
        help="run the workers from a worktree of this commit with its own compiled engine "
        "(bench/baseline_tree.py): the working tree's engine may be stale while others edit it",
    )
    args = parser.parse_args()
    cfg = MODES[args.mode]
    with contextlib.ExitStack() as stack:
        checkout = stack.enter_context(BaselineTree(ref=args.ref)) if args.ref else None
        result = asyncio.run(
            compare(
                bootstrap=CommonSettings().kafka_bootstrap,
                events=cfg["events"],
                customers=cfg["customers"],
                rounds=args.rounds or cfg["rounds"],
                tree=checkout,
            )
        )
    if args.ref:
        result["commit"] = checkout.commit if checkout else args.ref
    print(json.dumps(result, indent=2))
