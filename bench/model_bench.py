"""What a loaded churn model costs the monitor: events/s with a model and without, same run.

    python bench/model_bench.py [--mode short|full] [--rounds N] [--model MODEL_DIR]

A model is trained first (unless ``--model`` or $CHURNWATCH_BENCH_MODEL_DIR names one) on the
same seeded classic simulator the monitor benchmarks replay: 1,000 customers x 240 days, 60-day
horizon, twice-monthly as-of dates. Each round produces ``monitor_bench``'s events to a fresh
namespace and runs one worker with ``CHURNWATCH_MONITOR_MODEL_DIR`` (levels and alerts from the
model, the default) and one without, over the same topic (own app id each; the order alternates
between rounds). Figures per worker: events / (time of the last applied event - time of the first)
from /metrics every 0.1 s, and the worker's CPU seconds over the same span (on a shared machine
the CPU ratio is the steadier one). Reported: medians, with/without ratios (the bar of issue 16
is >= 0.5) and per round. ``make bench-full`` runs it (``bench/run.py``: ``monitor_model``).
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

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import delete_namespaces

from bench.baseline_tree import BaselineTree
from bench.kafka_reference import raw_produce
from bench.monitor_bench import _CREATED, MODES, _namespace
from bench.monitor_worker import bench_worker, run_until_applied, simulated_events
from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings

LOGS = REPO / ".local" / "bench-logs"
MODEL_ENV = "CHURNWATCH_BENCH_MODEL_DIR"
AS_OF = [f"2025-{m:02d}-{d:02d}" for m in range(2, 8) for d in (1, 15)]


def train_model(out: Path) -> Path:
    """A model on the classic simulator (the events the monitor benchmarks replay)."""
    from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
    from churnwatch_simulator.truth import ground_truth
    from churnwatch_state_monitor.model.cli import main

    out.mkdir(parents=True, exist_ok=True)
    bank = SimulatedBank(config=SimulationConfig(customers=1_000, days=240, seed=16))
    events, outcomes = out / "events.ndjson", out / "outcomes.csv"
    events.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in bank.events()))
    rows = ["customer_id,churned_at"]
    rows.extend(
        f"{t['customer_id']},{t['churn_date'] or ''}" for t in ground_truth(bank=bank)["labels"]
    )
    outcomes.write_text("\n".join(rows) + "\n")
    model = out / "model"
    argv = ["train", str(events), "--outcomes", str(outcomes), "--out", str(model)]
    if main([*argv, "--horizon-days", "60", "--as-of", *AS_OF]) != 0:
        raise RuntimeError("training the benchmark's model failed")
    return model


async def _rate(
    *,
    bootstrap: str,
    namespace: str,
    data: Path,
    events: int,
    model: Path | None,
    tree: BaselineTree | None = None,
) -> tuple[float, float] | str:
    """(events/s, events per CPU second) of one worker over the topic, or why it stopped."""
    label = "model" if model else "rules"
    extra_env = {"CHURNWATCH_MONITOR_APP_ID": f"{namespace}-monitor-{label}"}
    if model is not None:
        extra_env["CHURNWATCH_MONITOR_MODEL_DIR"] = str(model)
    worker = bench_worker(
        bootstrap=bootstrap,
        namespace=namespace,
        data_dir=data / label,
        extra_env=extra_env,
        tree=tree,
    )
    log = LOGS / f"{namespace}-{label}.log"
    cpu: list[float] = []
    drained = await run_until_applied(worker, log=log, expected=events, timeout=900, cpu=cpu)
    if isinstance(drained, str):
        return drained
    first, last = drained
    return events / (last - first), events / max(cpu[1] - cpu[0], 1e-9)


async def compare(
    *,
    bootstrap: str,
    events: int,
    customers: int,
    rounds: int,
    model: Path,
    tree: BaselineTree | None = None,
) -> dict:
    """With vs without the model, ``rounds`` rounds: medians, ratios and per-round figures."""
    records = simulated_events(count=events, customers=customers)
    data = Path(tempfile.mkdtemp(prefix="monitor-model-bench-"))
    LOGS.mkdir(parents=True, exist_ok=True)
    runs: list[dict] = []
    try:
        for n in range(rounds):
            namespace = await _namespace(bootstrap)
            try:
                await raw_produce(
                    bootstrap=bootstrap, topic=topics.EVENTS.name(namespace), records=records
                )
                order = (model, None) if n % 2 == 0 else (None, model)
                got = {
                    ("model" if m else "rules"): await _rate(
                        bootstrap=bootstrap,
                        namespace=namespace,
                        data=data / namespace,
                        events=len(records),
                        model=m,
                        tree=tree,
                    )
                    for m in order
                }
            finally:
                await delete_namespaces(bootstrap=bootstrap, namespaces={namespace})
            print(f"round {n}: {got}", flush=True)
            runs.append(got)
    finally:
        shutil.rmtree(data, ignore_errors=True)
        await delete_namespaces(bootstrap=bootstrap, namespaces=_CREATED)
    ok = [r for r in runs if all(isinstance(v, tuple) for v in r.values())]
    failed = [v for r in runs for v in r.values() if not isinstance(v, tuple)]
    if not ok:
        return {"events": events, "rounds": rounds, "failed": failed}
    wall = [r["model"][0] / r["rules"][0] for r in ok]
    cpu = [r["model"][1] / r["rules"][1] for r in ok]
    manifest = orjson.loads((model / "manifest.json").read_bytes())
    return {
        "events": events,
        "customers": customers,
        "rounds": rounds,
        "rounds_ok": len(ok),
        "failed": failed,
        "model_version": manifest["version"],
        "model_features": len(manifest["features"]),
        "with_model_events_per_s": round(statistics.median(r["model"][0] for r in ok)),
        "without_model_events_per_s": round(statistics.median(r["rules"][0] for r in ok)),
        "with_over_without": round(statistics.median(wall), 3),
        "with_over_without_cpu": round(statistics.median(cpu), 3),
        "with_over_without_per_round": [round(x, 3) for x in wall],
        "with_over_without_cpu_per_round": [round(x, 3) for x in cpu],
        "bar": 0.5,
        "passed": statistics.median(cpu) >= 0.5,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _model(given: str | None, scratch: Path) -> Path:
    given = given or os.environ.get(MODEL_ENV)
    return Path(given) if given else train_model(scratch)


def run(*, bootstrap: str, mode: str) -> dict:
    """``make bench-full``'s entry: with vs without a model in ``mode`` (short|full)."""
    cfg = MODES[mode]
    with tempfile.TemporaryDirectory(prefix="cw-model-bench-") as tmp:
        model = _model(None, Path(tmp))
        result = asyncio.run(
            compare(
                bootstrap=bootstrap,
                events=cfg["events"],
                customers=cfg["customers"],
                rounds=cfg["rounds"],
                model=model,
            )
        )
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="short")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--model", default=None, help="MODEL_DIR (default: train one)")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--ref", default=None, help="run the workers from this commit's worktree")
    args = parser.parse_args()
    cfg = MODES[args.mode]
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="cw-model-bench-"))
        checkout = stack.enter_context(BaselineTree(ref=args.ref)) if args.ref else None
        result = asyncio.run(
            compare(
                bootstrap=CommonSettings().kafka_bootstrap,
                events=args.events or cfg["events"],
                customers=cfg["customers"],
                rounds=args.rounds or cfg["rounds"],
                model=_model(args.model, Path(tmp)),
                tree=checkout,
            )
        )
    print(json.dumps(result, indent=2))
