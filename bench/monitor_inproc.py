"""The monitor's per-event CPU without Kafka: the worker's batch loop in-process, decode excluded.

    python bench/monitor_inproc.py [--events N] [--customers N] [--skip N] [--batch N] [--rounds N]

The simulator's events (``monitor_bench``'s seed) are decoded once up front; then each round
feeds them, in batches of ``--batch`` records split over the events topic's partitions, through
``engine.batch.apply_records`` (the worker's compiled per-event loop: state lookups, decode of
stored states, ``Monitor.process``, the batch's bookkeeping) and encodes each batch's changed
states (``Work.seal``), as the worker does before delivery. The stores start empty each round;
a batch's states become the next batch's ``prior`` and are written to the store, as delivery
would. Reported per round, in CPU time (``time.process_time``): µs per event of the loop, µs per
changed state of the encode and their sum per event. The contract decode is not in the figure:
``apply_records``' decode call (``decode_event``, or ``parse_event`` in older trees) is replaced by
the identity and each record carries the event decoded by it before the clock starts
(``bench/decode_bench.py`` measures the decode).

Used to A/B engine changes (run it in the two checkouts in alternation) and under ``perf record``
to see where the engine's time goes. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from bench.monitor_worker import simulated_events
from churnwatch_shared.events import parse_event
from churnwatch_shared.partitioning import key_hash
from churnwatch_shared.topics import CUSTOMER_PARTITIONS
from churnwatch_state_monitor.engine import batch as batch_module
from churnwatch_state_monitor.engine.batch import BatchEffects, apply_records
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset
from churnwatch_state_monitor.worker.store import MemoryStore
from churnwatch_state_monitor.worker.work import Work


class _Record:
    """What ``apply_records`` reads of an aiokafka ConsumerRecord (value: the decoded event)."""

    __slots__ = ("headers", "key", "offset", "value")

    def __init__(self, key: bytes, value: Any, offset: int) -> None:
        self.key, self.value, self.offset, self.headers = key, value, offset, None


def _identity(value: Any) -> Any:
    return value


def _reject(record: Any, reason: str) -> None:
    raise RuntimeError(f"the harness's events are valid: {reason}")


def _late(event: Any) -> None:
    pass


# what the batch loop decodes with: the wire fast path where the tree has it
_DECODE_NAME = "decode_event" if hasattr(batch_module, "decode_event") else "parse_event"
_DECODE: Any = getattr(batch_module, _DECODE_NAME, parse_event)
_GC = {"s": 0.0, "started": 0.0, "collections": 0}


def _gc_clock(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _GC["started"] = time.process_time()
    else:
        _GC["s"] += time.process_time() - _GC["started"]
        _GC["collections"] += 1


def prepare(*, events: int, customers: int, skip: int) -> list[tuple[int, list[_Record]]]:
    """The simulated events after the first ``skip``, decoded, as per-partition record lists."""
    raw = simulated_events(count=skip + events, customers=customers)[skip:]
    by_partition: dict[int, list[_Record]] = {}
    for key, value in raw:
        partition = key_hash(key) % CUSTOMER_PARTITIONS
        records = by_partition.setdefault(partition, [])
        records.append(_Record(key, _DECODE(value), len(records)))
    return sorted(by_partition.items())


def one_round(
    partitions: list[tuple[int, list[_Record]]], *, batch: int, monitor: Monitor
) -> dict[str, float]:
    """CPU seconds of the loop and of the encode over every event, batch by batch."""
    stores = {p: MemoryStore(p) for p, _ in partitions}
    total = sum(len(r) for _, r in partitions)
    per_batch = max(1, batch // len(partitions))  # each batch takes a slice of every partition
    now = datetime.now(UTC)
    prior: dict[str, Any] = {}
    loop_s = encode_s = 0.0
    changed = snapshots = alerts = 0
    start = 0
    gc_before, collections_before = _GC["s"], _GC["collections"]
    while any(start < len(r) for _, r in partitions):
        work = Work()
        fx = BatchEffects(
            states=work.states,
            dirty=work.dirty,
            snapshots=work.snapshots,
            prior=prior,
            reject=_reject,
            late=_late,
            event_ids=None,
        )
        t0 = time.process_time()
        for partition, records in partitions:
            end = min(start + per_batch, len(records))
            if start < end:
                apply_records(records, start, end, partition, stores[partition], monitor, now, fx)
        t1 = time.process_time()
        sealed = work.seal()
        t2 = time.process_time()
        loop_s += t1 - t0
        encode_s += t2 - t1
        changed += len(work.dirty)
        snapshots += len(work.snapshots)
        alerts += len(fx.fired)
        for partition, states in sealed.items():
            stores[partition].write(states, changelog_next=0)
        prior = work.states
        start += per_batch
    return {
        "loop_us_per_event": loop_s / total * 1e6,
        "encode_us_per_state": encode_s / max(1, changed) * 1e6,
        "encode_us_per_event": encode_s / total * 1e6,
        "total_us_per_event": (loop_s + encode_s) / total * 1e6,
        "gc_us_per_event": (_GC["s"] - gc_before) / total * 1e6,
        "gc_collections": _GC["collections"] - collections_before,
        "events": total,
        "changed_states": changed,
        "snapshots": snapshots,
        "alerts": alerts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--skip", type=int, default=0, help="events generated, not fed")
    parser.add_argument("--batch", type=int, default=20_000, help="records per batch")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    partitions = prepare(events=args.events, customers=args.customers, skip=args.skip)
    # the decoded events live through every round; a worker's records live for one batch: kept
    # out of the collector's scans, so its cost is the loop's own garbage and states
    setattr(batch_module, _DECODE_NAME, _identity)  # decoded up front
    gc.collect()
    gc.freeze()
    gc.callbacks.append(_gc_clock)
    control = os.environ.get("PERF_CTL_FIFO")  # perf record -D -1 --control fifo:PATH
    if control:
        with open(control, "w") as fifo:
            fifo.write("enable\n")
    monitor = Monitor(ruleset=load_ruleset(None))
    rounds = [one_round(partitions, batch=args.batch, monitor=monitor) for _ in range(args.rounds)]
    if control:
        with open(control, "w") as fifo:
            fifo.write("disable\n")
    summary = {
        "engine": batch_module.__file__,
        "decoded_with": _DECODE_NAME,
        "rounds": rounds,
        "median_total_us_per_event": statistics.median(r["total_us_per_event"] for r in rounds),
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
