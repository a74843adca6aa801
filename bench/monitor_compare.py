"""Monitor throughput of the current checkout against a baseline commit, measured in the same run.

    python bench/monitor_compare.py [--mode short|full] [--baseline REF]

Issue 13's bar: the monitor's throughput within 5% of the previous commit's. Figures from two
runs on this shared 2-core machine differ by more than 5% on their own, so both are measured in
one run, alternately: the baseline commit is checked out and set up by
``bench/baseline_tree.py`` (its own code, its own compiled engine; ``CHURNWATCH_MONITOR_NATIVE=
require`` on both sides), then each round feeds the same seeded events (generated once, by the
current simulator) to a fresh namespace on the same broker and times one worker of each side,
in ABBA order (current, baseline / baseline, current / ...), so drift in the machine's load
lands on both. A worker's figure is events / (time all events were counted - time the first
was), from its /metrics polled every 0.05 s; every outcome is counted (an event the baseline's
contract refuses is work too) and the outcome counts are reported per side.

Reported: both sides' median events/s and per-round figures, their spread ((max - min) /
median), the ratio current / baseline of the medians and of each adjacent pair, and ``passed``:
the median ratio is at least 0.95 (the current code not more than 5% slower; faster passes).
``bench/run.py`` calls :func:`run` (full mode always, short mode with ``--baseline``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import create_topics, delete_namespaces

from bench.baseline_tree import BaselineTree, resolve
from bench.kafka_reference import raw_produce
from bench.monitor_worker import Worker, process_cpu_seconds, simulated_events
from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings

BAR = 0.95  # current / baseline at least this
MEASURE = (
    "verdict on events per CPU-second of the worker process (utime + stime between its first and "
    "last counted event): on a machine other work loads, wall-clock events/s mostly measure the "
    "share of the cores the worker got (an A/A run of two commits with identical monitor code "
    "differed by 15-30% per round); wall-clock figures and their verdict beside (wall_clock)"
)
BASELINE_ENV = "CHURNWATCH_BENCH_BASELINE"
DEFAULT_BASELINE = "HEAD~1"


class _Mode(TypedDict):
    events: int
    customers: int
    pairs: int  # rounds; each measures both sides once


# Enough events that a worker needs several seconds (the 0.05 s polling is then well under 1%).
MODES: dict[str, _Mode] = {
    "short": {"events": 300_000, "customers": 10_000, "pairs": 3},
    "full": {"events": 600_000, "customers": 10_000, "pairs": 5},
}


@dataclass
class Side:
    """One checkout to measure: how its worker is started, and what it measured."""

    label: str
    python: str
    cwd: Path
    env: dict[str, str]
    rates: list[float] = field(default_factory=list)  # events per wall-clock second
    cpu_rates: list[float] = field(default_factory=list)  # events per CPU-second of the worker
    outcomes: dict[str, float] = field(default_factory=dict)


def _load() -> float:
    return os.getloadavg()[0]


async def _drain(
    worker: Worker, *, expected: int, timeout: float
) -> tuple[float, float, dict[str, float]]:
    """Wall-clock and worker CPU seconds from the first event counted to all ``expected``
    counted, and the outcome counts."""
    assert worker.proc is not None
    first = None
    cpu_first = 0.0
    deadline = time.perf_counter() + timeout
    async with httpx.AsyncClient() as client:
        while time.perf_counter() < deadline:
            if worker.proc is not None and worker.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {worker.proc.returncode}")
            counted = await worker.outcomes(client)
            now = time.perf_counter()
            total = sum(counted.values()) if counted else 0
            if total and first is None:
                first, cpu_first = now, process_cpu_seconds(worker.proc.pid)
            if first is not None and total >= expected:
                return now - first, process_cpu_seconds(worker.proc.pid) - cpu_first, counted or {}
            await asyncio.sleep(0.05)
    raise TimeoutError(f"worker counted fewer than {expected} events in {timeout}s")


async def _measure(
    side: Side, *, bootstrap: str, records: list[tuple[bytes, bytes]], data: Path, log: Path
) -> tuple[float, float]:
    """(events per wall-clock second, events per CPU-second of the worker) of one worker."""
    namespace = f"cmp{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap=bootstrap, namespace=namespace)
    try:
        await raw_produce(bootstrap=bootstrap, topic=topics.EVENTS.name(namespace), records=records)
        worker = Worker(
            bootstrap=bootstrap,
            namespace=namespace,
            data_dir=data / namespace,
            python=side.python,
            cwd=side.cwd,
            base_env=side.env,
            # a 6 s session (the other benches') lapses the fencing lease of a batch on this
            # loaded machine and the worker stops (LeaseLapsed): 30 s on both sides
            extra_env={
                "CHURNWATCH_MONITOR_NATIVE": "require",
                "CHURNWATCH_MONITOR_SESSION_TIMEOUT_S": "30",
            },
        )
        worker.start(log=log)
        try:
            seconds, cpu, counted = await _drain(worker, expected=len(records), timeout=900)
        except (RuntimeError, TimeoutError) as exc:
            tail = _tail(log)
            raise RuntimeError(
                f"{side.label} worker ({side.cwd}): {exc}; its log ends:\n{tail}"
            ) from exc
        finally:
            worker.stop()
    finally:
        await delete_namespaces(bootstrap=bootstrap, namespaces={namespace})
    side.outcomes = counted
    return len(records) / seconds, len(records) / cpu


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def _preflight(side: Side) -> None:
    """Refuse to measure a side whose engine would not load compiled (stale or missing build)."""
    done = subprocess.run(
        [side.python, "-c", "import churnwatch_state_monitor"],
        cwd=side.cwd,
        env={**side.env, "CHURNWATCH_MONITOR_NATIVE": "require"},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output"
        raise RuntimeError(
            f"the {side.label} side ({side.cwd}) has no fresh compiled engine: {reason} "
            "(build it, or measure a commit with --current REF)"
        )


def _spread(values: list[float]) -> float:
    return round((max(values) - min(values)) / statistics.median(values), 3)


async def compare(
    *, bootstrap: str, mode: str, baseline: BaselineTree, checkout: BaselineTree | None
) -> dict:
    """Interleaved rounds of both sides on the same events; see the module docstring.

    ``checkout``: the current side as a commit of its own (None: this working tree as it is).
    """
    cfg = MODES[mode]
    if checkout is None:
        current = Side("current", sys.executable, REPO, dict(os.environ))
        current_setup: dict[str, object] = {"commit": "working tree", "path": str(REPO)}
    else:
        current = Side("current", checkout.python, checkout.tree, checkout.base_env())
        current_setup = checkout.setup
    base = Side("baseline", baseline.python, baseline.tree, baseline.base_env())
    for side in (current, base):
        _preflight(side)
    records = simulated_events(count=cfg["events"], customers=cfg["customers"])
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="monitor-compare-") as tmp:
        data = Path(tmp)
        for pair in range(cfg["pairs"]):
            order = (current, base) if pair % 2 == 0 else (base, current)
            for side in order:
                loads.append(_load())
                rate, cpu_rate = await _measure(
                    side, bootstrap=bootstrap, records=records, data=data, log=data / "worker.log"
                )
                side.rates.append(rate)
                side.cpu_rates.append(cpu_rate)
                print(
                    f"[compare] round {pair + 1} {side.label}: {rate:,.0f} events/s, "
                    f"{cpu_rate:,.0f} events per CPU-second",
                    flush=True,
                )
    return {
        "events": cfg["events"],
        "customers": cfg["customers"],
        "rounds": cfg["pairs"],
        "order": "ABBA: current first in odd rounds, baseline first in even ones",
        "current": {**current_setup, **_side_figures(current)},
        "baseline": {**baseline.setup, **_side_figures(base)},
        "measure": MEASURE,
        **verdict(current=current.cpu_rates, baseline=base.cpu_rates),
        "wall_clock": verdict(current=current.rates, baseline=base.rates),
        "load_average_1m": [round(v, 2) for v in loads],
    }


def verdict(*, current: list[float], baseline: list[float]) -> dict:
    """Ratio of the medians (current / baseline), each round's ratio, their spread, pass/fail.

    Round i's figures were measured next to each other, so their ratio is the least disturbed
    by load that changes during the run; the spread of those ratios is the run's noise.
    """
    per_round = [c / b for c, b in zip(current, baseline, strict=True)]
    ratio = statistics.median(current) / statistics.median(baseline)
    return {
        "ratio": round(ratio, 3),
        "ratio_per_round": [round(r, 3) for r in per_round],
        "ratio_median_of_rounds": round(statistics.median(per_round), 3),
        "ratio_spread": _spread(per_round),
        "bar": BAR,
        "passed": ratio >= BAR,
    }


def _side_figures(side: Side) -> dict:
    return {
        "events_per_cpu_s": round(statistics.median(side.cpu_rates)),
        "events_per_cpu_s_per_round": [round(r) for r in side.cpu_rates],
        "cpu_spread": _spread(side.cpu_rates),
        "events_per_s": round(statistics.median(side.rates)),
        "events_per_s_per_round": [round(r) for r in side.rates],
        "spread": _spread(side.rates),
        "outcomes_last_round": side.outcomes,
    }


def run(
    *, bootstrap: str, mode: str, baseline_ref: str | None = None, current_ref: str | None = None
) -> dict:
    """Measure the current checkout (or ``current_ref``) against ``baseline_ref`` (default
    $CHURNWATCH_BENCH_BASELINE or HEAD~1); print and return the figures."""
    ref = baseline_ref or os.environ.get(BASELINE_ENV) or DEFAULT_BASELINE
    # HEAD as it is now: others may commit while the checkouts are set up (minutes)
    head = resolve("HEAD")

    def pinned(given: str) -> str:
        return f"{head}{given[4:]}" if given.startswith("HEAD") else given

    ref = pinned(ref)
    current_ref = pinned(current_ref) if current_ref else None
    with contextlib.ExitStack() as trees:
        baseline = trees.enter_context(BaselineTree(ref=ref))
        checkout = trees.enter_context(BaselineTree(ref=current_ref)) if current_ref else None
        result = asyncio.run(
            compare(bootstrap=bootstrap, mode=mode, baseline=baseline, checkout=checkout)
        )
    print_table(result)
    return result


def print_table(result: dict) -> None:
    """The comparison as a few lines (bench/run.py prints it with the other tables)."""
    cur, base = result["current"], result["baseline"]
    print(
        f"monitor throughput of {cur['commit'][:12]} vs baseline {base['commit'][:10]} "
        f"({base['subject'][:60]})"
    )
    for name, side in (("current", cur), ("baseline", base)):
        cpu = ", ".join(f"{r:,}" for r in side["events_per_cpu_s_per_round"])
        wall = ", ".join(f"{r:,}" for r in side["events_per_s_per_round"])
        print(
            f"  {name:9s} {side['events_per_cpu_s']:>10,} events per CPU-s (median; rounds {cpu}; "
            f"spread {side['cpu_spread']:.1%})\n"
            f"  {'':9s} {side['events_per_s']:>10,} events/s wall-clock (rounds {wall}; "
            f"spread {side['spread']:.1%})"
        )
    wall = result["wall_clock"]
    print(
        f"  ratio per CPU-s {result['ratio']:.3f} (rounds {result['ratio_per_round']}, spread "
        f"{result['ratio_spread']:.1%}); bar {result['bar']}: "
        f"{'PASS' if result['passed'] else 'FAIL'}\n"
        f"  ratio wall-clock {wall['ratio']:.3f} (rounds {wall['ratio_per_round']}, spread "
        f"{wall['ratio_spread']:.1%}): {'pass' if wall['passed'] else 'fail'}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="short")
    parser.add_argument("--baseline", default=None, help=f"ref (${BASELINE_ENV}, else HEAD~1)")
    parser.add_argument(
        "--current", default=None, help="measure this ref instead of the working tree as it is"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    figures = run(
        bootstrap=CommonSettings().kafka_bootstrap,
        mode=args.mode,
        baseline_ref=args.baseline,
        current_ref=args.current,
    )
    if args.json:
        from bench.run import machine  # bench.run imports this module: not at the top

        report = {"mode": args.mode, "machine": machine(), "comparison": figures}
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(figures, indent=2))
