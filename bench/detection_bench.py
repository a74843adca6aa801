"""Detection benchmark (issue 15, deliverable 4): per-customer ranking and warnings on ground truth.

    python bench/detection_bench.py --mode short            (realistic 3,000 + classic 1,500, 240 d)
    python bench/detection_bench.py --mode full             (10,000 each, 365 days)
    python bench/detection_bench.py --seed 5                (a tuning seed: see below)
    python bench/detection_bench.py --rules my.yaml         (another rules file)

A seeded population of the **realistic** simulator profile (the default; the classic one beside
it for comparison) is generated in-process and replayed through the backtest's ``replay``
(``bench.detection_replay``), recording every customer's churn score and level over event time.
Each customer is judged on the window before its churn date (leavers) or the end of the run
(stayers): definitions in ``bench/detection_metrics.py``. Reported overall, per realistic
customer kind (card-centred, low activity, busy, bill payer, multi-currency, overdraft,
regular), per fate, and per classic pattern. Beside the realistic profile's rule score, its
**ceiling** on the same measure (``bench.detection_ceiling``): the Bayes posterior under the
simulator's own model with each customer's true rate, and the hidden-truth oracle, each at the
warning line that puts 10% of the stayers at warning (``--no-ceiling`` skips it).

Seeds: tune the engine on ``TUNING_SEEDS`` (or any seed other than ``EVAL_SEED``); the benchmark
always evaluates on ``EVAL_SEED``, which nobody tunes on, so its figures are out-of-sample. If the
evaluation seed has ever been used for tuning, pick a new one here and say so in the commit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import orjson

from bench.detection_ceiling import ceilings
from bench.detection_metrics import WARMUP_DAYS, WINDOW_DAYS, by_group, judge, summarise
from bench.detection_replay import record
from churnwatch_shared.fx import FxRate, FxTable
from churnwatch_simulator.bank import CHINA_STANDARD_TIME, SimulatedBank, SimulationConfig
from churnwatch_simulator.realistic import RealisticBank, RealisticConfig, realistic_truth
from churnwatch_simulator.truth import ground_truth
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset

# 356741 (drawn at random, 06 Dec) replaced 915015: that seed's figures were looked at while the
# score was tuned in session 6, so it was no longer out-of-sample
EVAL_SEED = 356_741
TUNING_SEEDS = (5, 7, 42, 101, 202)
START = datetime(2025, 1, 1, tzinfo=CHINA_STANDARD_TIME)
# (customers, days) per profile and mode
SIZES: dict[str, dict[str, tuple[int, int]]] = {
    "short": {"realistic": (3_000, 240), "classic": (1_500, 240)},
    "full": {"realistic": (10_000, 365), "classic": (10_000, 365)},
}
# issue 15 "Done when", on the realistic profile's evaluation seed
TARGETS = {
    "roc_auc": (">=", 0.90),
    "stayers_warning_share": ("<=", 0.10),
    "recall_warning": (">=", 0.80),
    "median_lead_days": (">=", 30.0),
}


def population(*, profile: str, customers: int, days: int, seed: int) -> tuple[list[bytes], dict]:
    """The profile's events as JSON lines (occurred_at order) and its ground truth."""
    if profile == "realistic":
        bank: Any = RealisticBank(
            config=RealisticConfig(customers=customers, days=days, seed=seed, start=START)
        )
        lines = [orjson.dumps(e) for e in bank.events()]
        return lines, realistic_truth(bank=bank)
    if profile == "classic":
        bank = SimulatedBank(
            config=SimulationConfig(customers=customers, days=days, seed=seed, start=START)
        )
        lines = [orjson.dumps(e) for e in bank.events()]
        return lines, ground_truth(bank=bank)
    raise ValueError(f"unknown profile {profile!r}; accepted: realistic, classic")


def target_check(overall: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each issue-15 target: value, target and PASS/MISS."""
    out = {}
    for name, (op, target) in TARGETS.items():
        value = overall.get(name)
        ok = value is not None and (value >= target if op == ">=" else value <= target)
        out[name] = {"value": value, "target": f"{op} {target}", "status": "PASS" if ok else "MISS"}
    return out


def evaluate_profile(
    *,
    profile: str,
    customers: int,
    days: int,
    seed: int,
    rules_path: Path | None,
    ceiling: bool = True,
) -> dict[str, Any]:
    """Generate, replay, judge one profile; every figure of the benchmark for it."""
    t0 = time.perf_counter()
    lines, truth = population(profile=profile, customers=customers, days=days, seed=seed)
    generated = time.perf_counter() - t0
    ruleset = load_ruleset(rules_path)
    # the simulator's FX configuration (truth file) into the rule set's reporting currency
    rates = [FxRate.model_validate(r) for r in truth.get("fx_rates", [])]
    fx = FxTable(reporting=ruleset.fx.reporting, rates=rates) if rates else None
    monitor = Monitor(ruleset=ruleset, fx=fx)
    rec = record(lines=lines, monitor=monitor)
    if rec.counts.get("invalid"):
        raise RuntimeError(f"{profile}: the backtest refused events: {rec.errors[:3]}")
    run_start = START.date()
    run_end = date.fromisoformat(truth["end"])
    labels = truth["labels"]
    result: dict[str, Any] = {
        "population": {
            "profile": profile,
            "customers": customers,
            "days": days,
            "seed": seed,
            "evaluation_seed": seed == EVAL_SEED,
            "events": len(lines),
            "generation_seconds": round(generated, 1),
        },
        "backtest": {
            "ruleset_version": monitor.rs.version,
            "seconds": round(rec.seconds, 1),
            "events_per_s": round(rec.events / rec.seconds) if rec.seconds else None,
            "alerts": len(rec.alerts),
            "alerts_by_rule": {
                k[6:]: v for k, v in sorted(rec.counts.items()) if k.startswith("alert:")
            },
        },
    }
    keys = ("kind", "fate") if profile == "realistic" else ("pattern",)
    judged = {
        key: judge(
            labels=labels,
            series=rec.series,
            run_start=run_start,
            run_end=run_end,
            tz=CHINA_STANDARD_TIME,
            group_key=key,
        )
        for key in keys
    }
    result["overall"] = summarise(judged[keys[0]])
    for key in keys:
        result[f"per_{key}"] = by_group(judged[key])
    if profile == "realistic":
        result["targets"] = target_check(result["overall"])
        if ceiling:
            t1 = time.perf_counter()
            result["ceiling"] = ceilings(
                lines=lines,
                truth=truth,
                rule_series=rec.series,
                run_start=run_start,
                run_end=run_end,
                tz=CHINA_STANDARD_TIME,
            )
            result["ceiling"]["seconds"] = round(time.perf_counter() - t1, 1)
    return result


def run(
    *,
    mode: str,
    seed: int = EVAL_SEED,
    rules_path: Path | None = None,
    profiles=None,
    ceiling: bool = True,
) -> dict[str, Any]:
    """Both profiles (or ``profiles``) in ``mode``; the machine-readable results."""
    out: dict[str, Any] = {
        "definition": (
            f"score = max churn score in the window [churn date (leavers) or run end (stayers) "
            f"- {WINDOW_DAYS} d, that date), not before day {WARMUP_DAYS}; churn day excluded; "
            f"leavers positive. Evaluation seed {EVAL_SEED}; tuning seeds {list(TUNING_SEEDS)}"
        ),
    }
    for profile in profiles or ("realistic", "classic"):
        customers, days = SIZES[mode][profile]
        out[profile] = evaluate_profile(
            profile=profile,
            customers=customers,
            days=days,
            seed=seed,
            rules_path=rules_path,
            ceiling=ceiling,
        )
    return out


def _f(value: Any, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


COLUMNS = (
    ("roc_auc", "AUC", ".3f"),
    ("pr_auc", "PR AUC", ".3f"),
    ("precision_top10", "P@10%", ".3f"),
    ("recall_warning", "recall", ".3f"),
    ("median_lead_days", "lead d", ".0f"),
    ("stayers_warning_share", "stay W+", ".3f"),
    ("stayers_warning_at_end_share", "stay W+end", ".3f"),
)


def print_table(result: dict[str, Any]) -> None:
    """One row per profile and group: the figures of ``summarise``."""
    header = f"{'group':34s} {'n':>6s} {'leave':>5s} " + " ".join(
        f"{title:>10s}" for _, title, _ in COLUMNS
    )
    for profile in ("realistic", "classic"):
        res = result.get(profile)
        if not res:
            continue
        pop, bt = res["population"], res["backtest"]
        print(
            f"\n{profile}: {pop['customers']:,} customers x {pop['days']} d, seed {pop['seed']}"
            f"{' (evaluation)' if pop['evaluation_seed'] else ' (NOT the evaluation seed)'}, "
            f"{pop['events']:,} events, rules {bt['ruleset_version']}, {bt['alerts']:,} alerts"
        )
        print(header)
        rows = [("overall", res["overall"])]
        for key in ("per_kind", "per_fate", "per_pattern"):
            rows += [(f"{key[4:]} {g}", v) for g, v in res.get(key, {}).items()]
        for name, row in rows:
            cells = " ".join(f"{_f(row[k], spec):>10s}" for k, _, spec in COLUMNS)
            print(f"{name:34s} {row['customers']:6d} {row['leavers']:5d} {cells}")
        for name, check in res.get("targets", {}).items():
            print(f"  target {name} {check['target']}: {_f(check['value'])} {check['status']}")
        if "ceiling" in res:
            print_ceiling(res["ceiling"])


CEILING_ROWS = (
    ("rule_at_budget", "rule score"),
    ("bayes_h30", "Bayes H=30"),
    ("bayes_h90", "Bayes H=90"),
    ("bayes_h365", "Bayes H=365"),
    ("bayes_fading", "Bayes fading"),
    ("bayes_fading_own_rate", "fading, own rate"),
    ("oracle", "oracle"),
)


def print_ceiling(ceiling: dict[str, Any]) -> None:
    """Rule score against its ceilings, each at the line that puts 10% of stayers at warning:
    AUC / recall / median lead, overall and per kind and fate."""
    present = [(key, title) for key, title in CEILING_ROWS if key in ceiling]
    print("\nceiling (warning line at 10% of stayers): AUC / recall / lead d")
    print(f"{'group':34s} " + " ".join(f"{title:>18s}" for _, title in present))
    first = ceiling[present[0][0]]
    groups = [("overall", None, None)] + [
        (f"{key[4:]} {g}", key, g) for key in ("per_kind", "per_fate") for g in first[key]
    ]
    for name, key, group in groups:
        cells = []
        for block, _ in present:
            row = ceiling[block]["overall"] if key is None else ceiling[block][key][group]
            cell = f"{_f(row['roc_auc'])}/{_f(row['recall_warning'])}/"
            cells.append(f"{cell}{_f(row['median_lead_days'], '.0f')}")
        print(f"{name:34s} " + " ".join(f"{c:>18s}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: print the table and write JSON under bench/results/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(SIZES), default="short")
    parser.add_argument("--seed", type=int, default=EVAL_SEED)
    parser.add_argument("--rules", type=Path, help="rules YAML (default: the packaged one)")
    parser.add_argument("--profile", action="append", choices=("realistic", "classic"))
    parser.add_argument(
        "--no-ceiling", action="store_true", help="skip the Bayes and oracle ceilings"
    )
    args = parser.parse_args(argv)
    from bench.run import machine  # lazy: keeps this module importable without the harness

    started = time.monotonic()
    results = run(
        mode=args.mode,
        seed=args.seed,
        rules_path=args.rules,
        profiles=args.profile,
        ceiling=not args.no_ceiling,
    )
    report = {
        "benchmark": "detection",
        "mode": args.mode,
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "rules_file": str(args.rules) if args.rules else "(packaged)",
        "results": results,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    print_table(results)
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.seed == EVAL_SEED else f"-seed{args.seed}"
    out = out_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-detection-{args.mode}{suffix}.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"written: {out.relative_to(REPO)}  ({report['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
