"""Churn model quality (issue 16, Done when): the learned model on the realistic simulator against
the rule score on the same rows and against what the simulator's labels allow.

    python bench/model_quality.py [--mode short|full] [--seed 356741]
    python bench/run.py --only model_quality --mode full     (the same, inside make bench)

A seeded realistic population (1 year from 2025-01-01; short 2,000 customers, full 5,000) is
written as EVENTS.ndjson with OUTCOMES.csv (the simulator's churn dates) and trained by the model
CLI's own ``train_model`` twice: 30-day horizon on weekly as-of Mondays, and the default 90-day
horizon on the default monthly grid. Each run's MODEL_DIR (manifest, MODEL_CARD.md and its PNG
charts) is kept under bench/results/model-<stamp>/; every figure is the model card's own (the
held-out half of the validation customers, latest third of the as-of dates).

Beside each model, on exactly its held-out rows (``bench/model_ceiling.py``):
- ``oracle_auc``: the simulator's hidden truth itself as the score (how far each leaver's fade
  has gone at T). Positives whose fade has not begun at T look exactly like stayers, so no
  scorer can beat this.
- ``bayes_auc``: the posterior of the label under the simulator's own generative model (linear
  fade, its floors, lengths and contact rates) given what is observable at T (the customer's
  own-initiated transactions per day over 120 days and contacts), with each customer's true
  activity rate: near the best any model of this behaviour can rank.

Seeds: the evaluation seed is detection's (``bench/detection_bench.EVAL_SEED``): nobody tuned the
model on it; features were developed on seed 4242.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import orjson

from bench.detection_bench import EVAL_SEED
from bench.model_ceiling import append_to_card, ceilings
from churnwatch_simulator.bank import CHINA_STANDARD_TIME
from churnwatch_simulator.realistic import RealisticBank, RealisticConfig, realistic_truth
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.model.build import train_model
from churnwatch_state_monitor.model.replay import parse_as_of
from churnwatch_state_monitor.ruleset import load_ruleset

SIZES = {"short": 2_000, "full": 5_000}
DAYS = 365
START = date(2025, 1, 1)
# issue 16 "Done when"
TARGETS = {"auc": (">=", 0.95), "ece": ("<=", 0.05)}


def weekly_mondays(*, first: date, last: date) -> list[str]:
    """ISO dates of every Monday from ``first`` to ``last``."""
    day = first + timedelta(days=(7 - first.weekday()) % 7)
    out = []
    while day <= last:
        out.append(day.isoformat())
        day += timedelta(days=7)
    return out


def _population(*, root: Path, customers: int, seed: int) -> tuple[Path, Path, dict[str, Any]]:
    start = datetime(START.year, START.month, START.day, tzinfo=CHINA_STANDARD_TIME)
    config = RealisticConfig(customers=customers, days=DAYS, seed=seed, start=start)
    bank = RealisticBank(config=config)
    events = root / "events.ndjson"
    with events.open("wb") as fh:
        for event in bank.events():
            fh.write(orjson.dumps(event) + b"\n")
    truth = realistic_truth(bank=bank)
    outcomes = root / "outcomes.csv"
    rows = ["customer_id,churned_at"]
    rows.extend(f"{t['customer_id']},{t['churn_date'] or ''}" for t in truth["labels"])
    outcomes.write_text("\n".join(rows) + "\n")
    return events, outcomes, truth


def _verdict(value: float | None, target: tuple[str, float]) -> bool | None:
    if value is None:
        return None
    op, bar = target
    return value >= bar if op == ">=" else value <= bar


def run(*, mode: str = "short", seed: int = EVAL_SEED) -> dict[str, Any]:
    """Train both horizons on one seeded population; the model cards' figures and the ceilings."""
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    root = REPO / "bench" / "results" / f"model-{stamp}-{mode}"
    root.mkdir(parents=True, exist_ok=True)
    customers = SIZES[mode]
    t0 = time.process_time()
    events, outcomes, truth = _population(root=root, customers=customers, seed=seed)
    generate_cpu = time.process_time() - t0
    last = START + timedelta(days=DAYS - 1)
    grids = {
        30: weekly_mondays(first=START + timedelta(days=28), last=last - timedelta(days=31)),
        90: None,  # the CLI's default: the first of each month
    }
    monitor = Monitor(ruleset=load_ruleset(None))
    horizons: dict[str, Any] = {}
    for horizon, grid in grids.items():
        out = root / f"h{horizon}"
        t1 = time.process_time()
        manifest = train_model(
            events=events,
            outcomes=str(outcomes),
            out=out,
            monitor=monitor,
            horizon_days=horizon,
            as_of=[parse_as_of(d) for d in grid] if grid else None,
        )
        test = manifest["metrics"]["test"]
        bounds = ceilings(
            truth=truth,
            events=events,
            as_of=manifest["training_window"]["validation_as_of"],
            horizon_days=horizon,
        )
        horizons[f"{horizon}d"] = {
            "grid": "weekly Mondays" if grid else "monthly (default)",
            "model_dir": str(out.relative_to(REPO)),
            "model_version": manifest["version"],
            "auc": test["auc"],
            "rule_score_auc": test["rule_score_auc"],
            "ece": test["ece"],
            "pr_auc": test["pr_auc"],
            "recall_at_warning": test["recall_at_warning"],
            "lead_days_median": test["lead_days_median"],
            "lead_days_p25": test["lead_days_p25"],
            "leavers": test["leavers"],
            "leavers_warned": test["leavers_warned"],
            "rows": manifest["metrics"]["rows"],
            "train_auc": manifest["metrics"]["train_auc"],
            "best_iteration": manifest["best_iteration"],
            "ceiling": bounds,
            "targets": {
                "auc_0.95": _verdict(test["auc"], TARGETS["auc"]),
                "above_rule": (test["auc"] or 0) > (test["rule_score_auc"] or 0),
                "ece_0.05": _verdict(test["ece"], TARGETS["ece"]),
            },
            "cpu_seconds": round(time.process_time() - t1, 1),
            "timing_seconds": manifest["timing_seconds"],
        }
        append_to_card(out=out, bounds=bounds, horizon_days=horizon)
    events.unlink()  # 100-250 MB; the seed regenerates it byte for byte
    report = {
        "seed": seed,
        "customers": customers,
        "days": DAYS,
        "start": START.isoformat(),
        "events": truth["events"],
        "generate_cpu_seconds": round(generate_cpu, 1),
        "horizons": horizons,
    }
    (root / "model_quality.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def print_table(result: dict[str, Any]) -> None:
    """One line per horizon: the model, the rule score and the two ceilings."""
    print(f"model quality, realistic seed {result['seed']}, {result['customers']} customers")
    for name, h in result["horizons"].items():
        c = h["ceiling"]
        print(
            f"  {name:4s} {h['grid']:18s} AUC {h['auc']} (rule {h['rule_score_auc']}; "
            f"bayes {c['bayes_auc']}; oracle {c['oracle_auc']}) ECE {h['ece']} "
            f"lead {h['lead_days_median']} d"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(SIZES), default="short")
    parser.add_argument("--seed", type=int, default=EVAL_SEED)
    args = parser.parse_args()
    result = run(mode=args.mode, seed=args.seed)
    out = REPO / "bench" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-model-quality.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
