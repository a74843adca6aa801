"""Training time of the churn model (issue 16): simulate a bank, train on it, report the cost.

    python bench/model_train_bench.py [--customers 10000 100000] [--days 365] [--workdir DIR]
    python bench/run.py --mode full --only model_training   (also part of make bench-full)

For each size (full mode: 10,000 customers for reference, then 100,000, both one year, in the
same run) it generates the realistic simulator profile (events NDJSON + ground truth), writes
OUTCOMES.csv from the truth's churn dates and runs the training CLI (default 90-day horizon,
monthly as-of grid) in a child process. Each step reports wall seconds, CPU seconds (user +
system of the child) and the child's peak resident memory; the machine's load average before and
after is kept beside them, because on a shared machine wall time says more about the neighbours
than about training. On the first size it also times the feature rows alone, in this process:
the registry's feature functions against the one-pass rows training uses (model/feature_rows.py),
on the same replayed states, CPU microseconds a row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = {"short": ((2_000,), 365), "full": ((10_000, 100_000), 365)}
ROW_SAMPLE_DATES = 3  # as-of dates whose rows are timed both ways (the first three monthly ones)


def _measured(argv: list[str], *, log: Path) -> dict[str, float]:
    """Run ``argv`` to completion; its wall, CPU and peak memory (from the child's rusage)."""
    t0 = time.monotonic()
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{argv[:4]} exited {code}; see {log}")
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
    }


def _outcomes(truth: Path, out: Path) -> int:
    labels = json.loads(truth.read_bytes())["labels"]
    rows = ["customer_id,churned_at"]
    rows.extend(f"{t['customer_id']},{t['churn_date'] or ''}" for t in labels)
    out.write_text("\n".join(rows) + "\n")
    return sum(1 for t in labels if t["churn_date"])


def measure(*, customers: int, days: int, seed: int, workdir: Path) -> dict[str, object]:
    """Generate, label and train once; the figures of each step."""
    workdir.mkdir(parents=True, exist_ok=True)
    events, truth = workdir / "events.ndjson", workdir / "truth.json"
    outcomes, model = workdir / "outcomes.csv", workdir / "model"
    log = workdir / "log.txt"
    load_before = os.getloadavg()
    py = sys.executable
    generate = _measured(
        [
            *(py, "-m", "churnwatch_simulator", "generate", "--profile", "realistic"),
            *("--customers", str(customers), "--days", str(days), "--seed", str(seed)),
            *("--out", str(events), "--truth", str(truth)),
        ],
        log=log,
    )
    churners = _outcomes(truth, outcomes)
    with events.open("rb") as fh:
        lines = sum(1 for _ in fh)
    load_mid = os.getloadavg()
    engine = subprocess.run(
        [py, "-c", "from churnwatch_state_monitor import ENGINE_BUILD; print(ENGINE_BUILD)"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    ).stdout.strip()
    train = _measured(
        [
            *(py, "-m", "churnwatch_state_monitor.model", "train", str(events)),
            *("--outcomes", str(outcomes), "--out", str(model)),
        ],
        log=log,
    )
    manifest = json.loads((model / "manifest.json").read_bytes())
    return {
        "customers": customers,
        "days": days,
        "seed": seed,
        "events": lines,
        "feature_rows": manifest.get("feature_rows"),
        "churners": churners,
        "events_file_mb": round(events.stat().st_size / 2**20, 1),
        "generate": generate,
        "train": train,
        "train_cpu_us_per_event": round(train["cpu_s"] / lines * 1e6, 1),
        "monitor_engine": engine,  # compiled or interpreted (stale sources): training replays it
        "grid": "90-day horizon, monthly as-of (the CLI's defaults)",
        "manifest_timing_s": manifest.get("timing_seconds"),
        "test_metrics": {
            k: manifest.get("metrics", {}).get("test", {}).get(k)
            for k in ("rows", "auc", "rule_score_auc", "ece")
        },
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after_generate": [round(x, 2) for x in load_mid],
            "after_train": [round(x, 2) for x in os.getloadavg()],
        },
        "cpus": os.cpu_count(),
        "nice": os.nice(0),
        "self_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def row_cost(*, events: Path) -> dict[str, object]:
    """CPU microseconds a feature row: registry functions vs one-pass rows, same states."""
    from churnwatch_state_monitor.engine.monitor import Monitor
    from churnwatch_state_monitor.model.feature_rows import matrix
    from churnwatch_state_monitor.model.features import REGISTRY, feature_names
    from churnwatch_state_monitor.model.replay import load_events, monthly_as_of, replay_states
    from churnwatch_state_monitor.ruleset import load_ruleset

    history = load_events(events)
    due = monthly_as_of(first=history.first, last=history.last, horizon_days=90)
    due = due[:ROW_SAMPLE_DATES]
    names = feature_names()
    fns = [REGISTRY[n].fn for n in names]
    spent = {"registry": 0.0, "one_pass": 0.0}
    rows = 0
    for at, states in replay_states(
        events=history.events(), monitor=Monitor(ruleset=load_ruleset(None))
    ):
        if not due:
            break
        if at <= due[0]:
            continue
        t, sts = due.pop(0), list(states.values())
        for _ in range(2):  # taking turns: a neighbour's burst lands on both
            t0 = time.process_time()
            registry = [[f(st, t) for f in fns] for st in sts]
            t1 = time.process_time()
            fused = matrix(sts, t, names)
            t2 = time.process_time()
            spent["registry"] += t1 - t0
            spent["one_pass"] += t2 - t1
            rows += len(sts)
        if np.array(registry, dtype=np.float64).tobytes() != fused.tobytes():
            raise RuntimeError(f"one-pass rows differ from the registry's at {t}")
    per = {k: round(v / rows * 1e6, 2) for k, v in spent.items()}
    return {
        "rows_timed": rows,
        "registry_cpu_us_per_row": per["registry"],
        "one_pass_cpu_us_per_row": per["one_pass"],
        "ratio": round(per["one_pass"] / per["registry"], 3),
    }


def measure_all(
    *, sizes: tuple[int, ...], days: int, seed: int, workdir: Path
) -> dict[str, object]:
    """Every size in turn (the first also times feature rows); the engine build in the header."""
    measured: dict[str, object] = {}
    out: dict[str, object] = {
        "monitor_engine_env": os.environ.get("CHURNWATCH_MONITOR_NATIVE", "auto"),
        "sizes": measured,
    }
    for i, customers in enumerate(sizes):
        here = workdir / f"{customers}x{days}"
        figures = measure(customers=customers, days=days, seed=seed, workdir=here)
        if i == 0:
            figures["feature_row_cost"] = row_cost(events=here / "events.ndjson")
        measured[f"{customers}x{days}"] = figures
        for name in ("events.ndjson", "truth.json"):  # the 100k file is ~5 GB
            (here / name).unlink(missing_ok=True)
    return out


def run(*, mode: str) -> dict[str, object]:
    """bench/run.py entry: the mode's sizes (full: 10,000 and 100,000 customers x 1 year)."""
    sizes, days = DEFAULTS[mode]
    with tempfile.TemporaryDirectory(prefix="cw-train-bench-") as tmp:
        return measure_all(sizes=sizes, days=days, seed=915015, workdir=Path(tmp))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=915015)
    parser.add_argument("--workdir", type=Path, help="keep the files here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    sizes = tuple(args.customers)
    if args.workdir is None:
        with tempfile.TemporaryDirectory(prefix="cw-train-bench-") as tmp:
            figures = measure_all(sizes=sizes, days=args.days, seed=args.seed, workdir=Path(tmp))
    else:
        figures = measure_all(sizes=sizes, days=args.days, seed=args.seed, workdir=args.workdir)
    text = json.dumps(figures, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
