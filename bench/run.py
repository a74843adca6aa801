"""`make bench`: measure, print a table, write JSON under bench/results/ (machine, git revision).

    python bench/run.py --mode short   (under 5 minutes)
    python bench/run.py --mode full

Each benchmark runs in a fresh topic namespace on the local broker and reports its figure beside
the reference measured in the same run. Benchmarks are never part of `make test`.

Full mode also measures the monitor's throughput against a baseline commit in the same run
(``bench/monitor_compare.py``: the parent commit unless ``--baseline REF`` or
$CHURNWATCH_BENCH_BASELINE names another; ``--no-baseline`` skips it); short mode does so only
when a baseline is named. ``--current REF`` measures a commit instead of the working tree.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from create_topics import create_topics, delete_namespaces

from bench import monitor_compare
from bench.kafka_reference import raw_consume_decode, raw_produce, sample_events
from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings
from churnwatch_state_monitor import ENGINE_BUILD

SIZES = {"short": 50_000, "full": 200_000}


def machine() -> dict[str, object]:
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()
    )
    return {
        "git_revision": revision,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "kafka": (REPO / ".local/kafka/lib/.version").read_text().strip()
        if (REPO / ".local/kafka/lib/.version").exists()
        else None,
        "monitor_engine": ENGINE_BUILD,  # compiled (mypyc) or interpreted, and why
    }


async def reference(bootstrap: str, count: int) -> dict[str, float]:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap=bootstrap, namespace=namespace)
    topic = topics.EVENTS.name(namespace)
    records = sample_events(count)
    try:
        produced = await raw_produce(bootstrap=bootstrap, topic=topic, records=records)
        consumed = await raw_consume_decode(bootstrap=bootstrap, topic=topic, expected=count)
    finally:
        await delete_namespaces(bootstrap=bootstrap, namespaces={namespace})
    return {"raw_produce_events_per_s": produced, "raw_consume_decode_events_per_s": consumed}


# (name, module, how to call its run()): each returns a dict of figures measured in one run.
BENCHES: tuple[tuple[str, str], ...] = (
    ("ingest", "bench.ingest_bench"),
    ("state_monitor", "bench.monitor_bench"),
    ("monitor_transactions", "bench.monitor_transactions"),  # fenced writers on vs off (issue 19)
    ("pipeline", "bench.pipeline_bench"),
    # per-customer ranking and warnings, realistic simulator profile (issue 15) + classic beside it
    ("detection", "bench.detection_bench"),
    ("berka", "bench.berka_bench"),  # the real Berka shapes through the backtest (issue 15)
    ("detection_alerts", "bench.detection_quality"),  # alert-based precision/recall (issue 6)
    # the churn model on the realistic simulator against the rule score and the labels' ceilings
    ("model_quality", "bench.model_quality"),
    ("monitor_model", "bench.model_bench"),  # a loaded churn model vs none, same run (issue 16)
    ("model_training", "bench.model_train_bench"),  # train on 100k customers x 1 year (issue 16)
)
# Benchmarks without the broker (in-process backtest), and those run in full mode only.
OFFLINE = frozenset(
    {
        "bench.detection_bench",
        "bench.berka_bench",
        "bench.detection_quality",
        "bench.model_quality",
        "bench.model_train_bench",
    }
)
FULL_ONLY = frozenset(
    {"detection_alerts", "monitor_transactions", "model_quality", "monitor_model", "model_training"}
)
COMPARE = "monitor_vs_baseline"  # bench/monitor_compare.py, see the docstring


def run_one(module_name: str, *, bootstrap: str, mode: str) -> dict[str, object]:
    module = importlib.import_module(module_name)
    if module_name in OFFLINE:
        return module.run(mode=mode)
    return module.run(bootstrap=bootstrap, mode=mode)


# Detail kept in the JSON but left out of the printed table.
TABLE_SKIPS = (
    "rule_breakdown",
    "per_pattern",
    "from_start_window",
    "pattern_counts",
    "alerts_by_rule",
    "definition",
    "namespace",
    ".targets.",
)


def flatten(prefix: str, value: object) -> list[tuple[str, object]]:
    if isinstance(value, dict):
        rows: list[tuple[str, object]] = []
        for key, inner in value.items():
            rows.extend(flatten(f"{prefix}.{key}" if prefix else str(key), inner))
        return rows
    if isinstance(value, list):
        return [(prefix, f"[{len(value)} items, see JSON]")]
    return [(prefix, value)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(SIZES), default="short")
    parser.add_argument("--only", action="append", help="run only these benchmarks (repeatable)")
    parser.add_argument(
        "--baseline",
        default=os.environ.get(monitor_compare.BASELINE_ENV),
        help="monitor throughput against this commit too (full mode: HEAD~1 by default)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline comparison")
    parser.add_argument("--current", default=None, help="compare this commit, not the working tree")
    args = parser.parse_args()
    bootstrap = CommonSettings().kafka_bootstrap
    count = SIZES[args.mode]
    started = time.monotonic()
    results: dict[str, object] = {}
    failed: list[str] = []
    if not args.only or "reference" in args.only:
        results["reference"] = asyncio.run(reference(bootstrap, count))
    for name, module_name in BENCHES:
        if args.only and name not in args.only:
            continue
        if name in FULL_ONLY and args.mode != "full" and not args.only:
            continue
        print(f"[bench] {name} ...", flush=True)
        t0 = time.monotonic()
        try:
            results[name] = run_one(module_name, bootstrap=bootstrap, mode=args.mode)
        except Exception as exc:  # noqa: BLE001 -- one broken benchmark must not hide the others' figures
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            failed.append(name)
        print(f"[bench] {name} done in {time.monotonic() - t0:.0f}s", flush=True)
    compare_wanted = not args.no_baseline and (
        bool(args.baseline) or (args.mode == "full" and not args.only)
    )
    if compare_wanted or (args.only and COMPARE in args.only and not args.no_baseline):
        print(f"[bench] {COMPARE} ...", flush=True)
        try:
            compared = monitor_compare.run(
                bootstrap=bootstrap,
                mode=args.mode,
                baseline_ref=args.baseline,
                current_ref=args.current,
            )
            results[COMPARE] = compared
            if not compared["passed"]:
                failed.append(COMPARE)  # below the bar: `make bench-full` fails
        except Exception as exc:  # noqa: BLE001 -- the other figures are still written
            traceback.print_exc()
            results[COMPARE] = {"error": f"{type(exc).__name__}: {exc}"}
            failed.append(COMPARE)
    report = {
        "mode": args.mode,
        "events": count,
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "results": results,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{args.mode}.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    tabled = []  # benchmarks that print their own table
    for name, module_name in BENCHES:
        module = sys.modules.get(module_name)
        outcome = results.get(name)
        if (
            module is not None
            and hasattr(module, "print_table")
            and isinstance(outcome, dict)
            and "error" not in outcome
        ):
            module.print_table(outcome)
            tabled.append(name)
    outcome = results.get(COMPARE)
    if isinstance(outcome, dict) and "error" not in outcome:
        monitor_compare.print_table(outcome)
        tabled.append(COMPARE)
    print(f"{'benchmark':70s} {'value':>16s}")
    for key, value in flatten("", results):
        if any(skip in key for skip in TABLE_SKIPS) or key.split(".", 1)[0] in tabled:
            continue
        if isinstance(value, float):
            shown = f"{value:16,.0f}" if abs(value) >= 100 else f"{value:16.4g}"
        else:
            shown = f"{value!s:>16s}"
        print(f"{key:70s} {shown}")
    print(f"written: {out.relative_to(REPO)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
