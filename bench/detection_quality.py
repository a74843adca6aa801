"""Detection quality of the state monitor on the simulator's ground truth (issue 6, items 3-4).

    python bench/detection_quality.py --mode short        (~1,500 customers x 240 days, < 2 min)
    python bench/detection_quality.py --mode full         (10,000 customers x 365 days)
    python bench/detection_quality.py --rules my.yaml     (score another rules file)
    python bench/detection_quality.py --what-if           (also score the built-in rule what-ifs)
    python bench/detection_quality.py --seed 7            (another population: check for overfitting)

A seeded population is generated in-process, its events are replayed through the state monitor's
offline backtest (``churnwatch_state_monitor.backtest.replay``: the same ``Monitor.process`` the
worker runs) and every alert is scored per customer against the ground truth.

Definitions (all per customer, days are China Standard Time calendar days, as in the truth):
- churner: ground-truth ``churns``; its churn date is the day the last money leaves.
- detected churner: at least one qualifying alert on a day in [drift start, churn date). Alerts on
  the churn day itself are too late (every churner's last day fires the outflow rule) and never
  count; the "start" window variant counts alerts from the first simulated day instead.
- lead time: churn date minus the day of the first qualifying alert in the window.
- false positive: a normal or noisy_loyal customer with a qualifying alert on any day. Credit-
  deterioration customers are not churners: they are left out of precision and reported apart
  (their risk alerts, and how many of them churn alerts flag).
- precision = detected churners / (detected churners + false positives).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import orjson
import yaml

from bench.detection_scoring import (
    SEVERITY,
    VARIANTS,
    AlertMark,
    credit_risk_detection,
    rule_breakdown,
    score_detection,
    target_check,
)
from churnwatch_simulator.bank import CHINA_STANDARD_TIME, SimulatedBank, SimulationConfig
from churnwatch_simulator.truth import ground_truth
from churnwatch_state_monitor.backtest import replay
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset, packaged_rules_text

SIZES: dict[str, tuple[int, int]] = {"short": (1_500, 240), "full": (10_000, 365)}
SEED = 20251122


class AlertSink:
    """Receives the backtest's alert lines and keeps only what scoring needs."""

    def __init__(self) -> None:
        self.marks: list[AlertMark] = []

    def write(self, line: bytes) -> int:
        a = orjson.loads(line)
        day = datetime.fromisoformat(a["occurred_at"]).astimezone(CHINA_STANDARD_TIME).date()
        self.marks.append(
            AlertMark(a["customer_id"], day, a["kind"], a["rule_id"], SEVERITY[a["severity"]])
        )
        return len(line)


class _Errors:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.lines.append(text)
        return len(text)


def generate(*, customers: int, days: int, seed: int) -> tuple[list[bytes], dict[str, Any], float]:
    """The population's events as JSON lines, its ground truth, and generation seconds."""
    started = time.perf_counter()
    start = datetime(2025, 1, 1, tzinfo=CHINA_STANDARD_TIME)
    bank = SimulatedBank(
        config=SimulationConfig(customers=customers, days=days, seed=seed, start=start)
    )
    lines = [orjson.dumps(e) for e in bank.events()]
    return lines, ground_truth(bank=bank), time.perf_counter() - started


def backtest(*, lines: list[bytes], rules_path: Path | None = None) -> tuple[list[AlertMark], dict]:
    """Replay through the monitor's offline path; alerts and throughput of that path."""
    monitor = Monitor(ruleset=load_ruleset(rules_path))
    sink, errors = AlertSink(), _Errors()
    started = time.perf_counter()
    # replay takes files; a list of lines and these two sinks serve the same calls.
    states, counts = replay(
        lines=lines,  # type: ignore[arg-type]
        monitor=monitor,
        alerts_out=sink,  # type: ignore[arg-type]
        errors=errors,  # type: ignore[arg-type]
    )
    seconds = time.perf_counter() - started
    events = sum(v for k, v in counts.items() if not k.startswith("alert:"))
    stats = {
        "ruleset_version": monitor.rs.version,
        "events": events,
        "customers": len(states),
        "alerts": len(sink.marks),
        "invalid": counts.get("invalid", 0),
        "seconds": round(seconds, 2),
        "events_per_s": round(events / seconds),
        "alerts_by_rule": {k[6:]: v for k, v in sorted(counts.items()) if k.startswith("alert:")},
    }
    if errors.lines:
        stats["first_errors"] = errors.lines[:3]
    return sink.marks, stats


def evaluate(*, labels: list[dict[str, Any]], alerts: list[AlertMark]) -> dict[str, Any]:
    """Every variant in both windows, targets checked on the drift window."""
    variants = {}
    for name, (definition, qualifies) in VARIANTS.items():
        drift = score_detection(labels=labels, alerts=alerts, qualifies=qualifies, window="drift")
        start = score_detection(labels=labels, alerts=alerts, qualifies=qualifies, window="start")
        variants[name] = {
            "definition": definition,
            "drift_window": drift,
            "from_start_window": {
                k: start[k]
                for k in ("precision", "recall", "f1", "median_lead_days", "recall_with_lead_30d")
            },
            "targets": target_check(drift),
        }
    return {
        "variants": variants,
        "credit_deterioration": credit_risk_detection(labels=labels, alerts=alerts),
    }


# --- what-ifs: modified copies of the packaged rules file ----------------------------------------

# Tier floors of the simulated bank (CNY): the packaged thresholds (gold 500k, platinum 2M,
# diamond 4M) sit above most gold/platinum/diamond customers' assets, so they are "below the band"
# on every snapshot from day one.
_TIERS_ALIGNED = {
    "gold": {"threshold": "50000", "critical_band": "10000"},
    "platinum": {"threshold": "300000", "critical_band": "60000"},
    "diamond": {"threshold": "1000000", "critical_band": "200000"},
    "private_banking": {"threshold": "6000000", "critical_band": "1000000"},
}
_LEVELS_LOW = {"churn": {"levels": {"watch": 25, "warning": 35, "critical": 55}, "hysteresis": 5}}
WHAT_IFS: dict[str, tuple[str, dict[str, Any]]] = {
    "tiers_aligned": (
        "tier thresholds at the simulated tiers' floors",
        {"version": "what-if-tiers", "tiers": _TIERS_ALIGNED},
    ),
    "tiers_levels": (
        "tiers aligned + churn levels watch 25 / warning 35 / critical 55",
        {"version": "what-if-levels", "tiers": _TIERS_ALIGNED, **_LEVELS_LOW},
    ),
    "tuned": (
        (
            "tiers + levels + complaint 40 pts, outflow share 30d 0.5 / 7d 0.65, large "
            "outflow 0.6, dormancy 30 d"
        ),
        {
            "version": "what-if-tuned",
            "tiers": _TIERS_ALIGNED,
            "churn": {**_LEVELS_LOW["churn"], "complaint_points": 40},
            "rules": {
                "account_flow.interbank_outflow_share": {
                    "min_share_30d": 0.5,
                    "min_share_7d": 0.65,
                },
                "account_flow.large_interbank_outflow": {"min_share": 0.6},
                "stability.dormancy": {"dormant_days": 30},
            },
        },
    ),
}


def _deep_merge(base: dict, patch: dict) -> dict:
    out = dict(base)
    for key, value in patch.items():
        out[key] = (
            _deep_merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def what_if_rules(*, patch: dict[str, Any], directory: Path) -> Path:
    """Write the packaged rules with ``patch`` merged in; returns the file (loaded like any other)."""
    data = _deep_merge(yaml.safe_load(packaged_rules_text()), patch)
    path = directory / f"rules-{abs(hash(json.dumps(patch, sort_keys=True)))}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --- entry points --------------------------------------------------------------------------------


def run(
    *,
    mode: str,
    rules_path: Path | None = None,
    what_ifs: bool = False,
    breakdown: bool = True,
    seed: int = SEED,
) -> dict[str, Any]:
    """Generate, replay and score one mode; returns the machine-readable results."""
    customers, days = SIZES[mode]
    lines, truth, gen_seconds = generate(customers=customers, days=days, seed=seed)
    labels = truth["labels"]
    alerts, stats = backtest(lines=lines, rules_path=rules_path)
    result: dict[str, Any] = {
        "population": {
            "customers": customers,
            "days": days,
            "seed": seed,
            "events": len(lines),
            "pattern_counts": truth["pattern_counts"],
            "generation_seconds": round(gen_seconds, 2),
        },
        "backtest": stats,
        **evaluate(labels=labels, alerts=alerts),
    }
    if breakdown:
        result["rule_breakdown"] = rule_breakdown(labels=labels, alerts=alerts)
    if what_ifs and WHAT_IFS:
        result["what_ifs"] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, (note, patch) in WHAT_IFS.items():
                path = what_if_rules(patch=patch, directory=Path(tmp))
                wi_alerts, wi_stats = backtest(lines=lines, rules_path=path)
                scored = evaluate(labels=labels, alerts=wi_alerts)
                result["what_ifs"][name] = {
                    "note": note,
                    "patch": patch,
                    "alerts": wi_stats["alerts"],
                    **scored,
                    "rule_breakdown": rule_breakdown(labels=labels, alerts=wi_alerts),
                }
    return result


def _fmt(value: Any, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def print_table(result: dict[str, Any]) -> None:
    """Human-readable summary of ``run``'s results."""
    pop, bt = result["population"], result["backtest"]
    print(
        f"population {pop['customers']:,} customers x {pop['days']} days, seed {pop['seed']}, "
        f"{pop['events']:,} events; rules {bt['ruleset_version']}; {bt['alerts']:,} alerts"
    )
    print(f"backtest throughput (parse + Monitor.process, 1 core): {bt['events_per_s']:,} events/s")
    header = (
        f"{'variant (drift window)':24s} {'prec':>6s} {'recall':>6s} {'f1':>6s} "
        f"{'lead':>5s} {'r@30d':>6s} {'FP noisy':>8s} {'FP norm':>7s}"
    )
    sections = [("", result)] + [
        (f"what-if {n}: ", w) for n, w in result.get("what_ifs", {}).items()
    ]
    for prefix, res in sections:
        print()
        if prefix:
            print(f"{prefix}{res['note']}")
        print(header)
        for name, v in res["variants"].items():
            d = v["drift_window"]
            print(
                f"{name:24s} {_fmt(d['precision'])} {_fmt(d['recall']):>6s} {_fmt(d['f1'])} "
                f"{_fmt(d['median_lead_days'], '5.0f')} {_fmt(d['recall_with_lead_30d']):>6s} "
                f"{_fmt(d['fp_rate_noisy_loyal']):>8s} {_fmt(d['fp_rate_normal']):>7s}"
            )
        for name, v in res["variants"].items():
            marks = ", ".join(
                f"{k} {c['status']} ({c['value']} vs {c['target']}, {c['margin']:+})"
                if c["margin"] is not None
                else f"{k} MISS"
                for k, c in v["targets"].items()
            )
            print(f"  targets {name}: {marks}")
        _print_patterns(res)


def _print_patterns(res: dict[str, Any]) -> None:
    primary = res["variants"]["churn_risk_warning"]["drift_window"]["per_pattern"]
    anyw = res["variants"]["any_alert_warning"]["drift_window"]["per_pattern"]
    print(
        f"  {'pattern':22s} {'n':>4s} {'recall risk':>11s} {'lead':>5s} {'recall any':>10s} "
        f"{'lead':>5s}"
    )
    for pattern, row in primary.items():
        other = anyw[pattern]
        print(
            f"  {pattern:22s} {row['customers']:4d} {_fmt(row['recall']):>11s} "
            f"{_fmt(row['median_lead_days'], '5.0f')} {_fmt(other['recall']):>10s} "
            f"{_fmt(other['median_lead_days'], '5.0f')}"
        )
    cd = res["credit_deterioration"]
    print(
        f"  credit_deterioration: risk alerts for {cd['detected']}/{cd['customers']}, median "
        f"{_fmt(cd['median_days_from_drift_to_first_risk_alert'], '.0f')} days after drift start"
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: print the table and write JSON under bench/results/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(SIZES), default="short")
    parser.add_argument("--rules", type=Path, help="rules YAML (default: the packaged one)")
    parser.add_argument("--what-if", action="store_true", help="also score the rule what-ifs")
    parser.add_argument("--seed", type=int, default=SEED, help=f"population seed (default {SEED})")
    args = parser.parse_args(argv)
    from bench.run import machine  # lazy: keeps this module importable without the harness

    started = time.monotonic()
    results = run(mode=args.mode, rules_path=args.rules, what_ifs=args.what_if, seed=args.seed)
    report = {
        "benchmark": "detection_quality",
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
    suffix = "" if args.seed == SEED else f"-seed{args.seed}"
    out = out_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-detection-{args.mode}{suffix}.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"written: {out.relative_to(REPO)}  ({report['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
