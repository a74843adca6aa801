"""Fit the churn score's logistic model, cohort table and alert-budget levels offline.

    python bench/fit_score.py --seed 5 [--seed 7 ...] [--budget 0.08] > fitted.yaml

Replays simulated histories of the TUNING seeds (never ``EVAL_SEED``) through the engine with
the packaged rules, samples every customer's engagement signals and five-state composite at the
end of its judged window (a week before the churn date, or the run's end), and fits a logistic
regression of "left" on them: its coefficients become ``churn.engagement``. The cohort table is
the median recent transactions per period by ``segment:tier``; the levels are the quantiles of
the stayers' fitted scores that keep ``--budget`` of them at warning or above (watch at twice
that share, critical at a fifth). A bank runs the same with its own history and outcomes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression

from bench.detection_bench import EVAL_SEED, START, population
from bench.detection_metrics import WARMUP_DAYS, WINDOW_DAYS, judge
from bench.detection_replay import record
from churnwatch_shared.fx import FxRate, FxTable
from churnwatch_simulator.bank import CHINA_STANDARD_TIME
from churnwatch_state_monitor.engine.engagement import Signals, linear, probability, signals
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.scoring import score_with
from churnwatch_state_monitor.ruleset import limits_of, load_ruleset, packaged_rules_text

WINDOW_S = WINDOW_DAYS * 86_400
NAMES = ("own", "sustained", "amount", "inactive", "recency", "peers", "contacts", "complaints",
         "states")  # fmt: skip
KEYS = ("own_history", "sustained", "amount", "inactive_months", "recency", "peers", "contacts",
        "complaints", "states")  # fmt: skip


class Sampler:
    """Wraps the monitor: keeps each customer's features as of its sample time."""

    def __init__(self, monitor: Monitor, targets: dict[str, int]) -> None:
        self.m, self.targets = monitor, targets
        self.rows: dict[str, Any] = {}
        self.window: dict[str, list[list[float]]] = {}  # features at each event in the window
        self.warm = 0  # epoch s of the end of the warm-up (set by ``sample``)
        self.rs = monitor.rs
        self.lim = limits_of(monitor.rs)

    def _take(self, customer_id: str, at: int, st: Any) -> None:
        target = self.targets.get(customer_id)
        if target is None or at > target:
            return
        # the judged window (detection_metrics: 90 days before the close, from day 28)
        eng = self.lim.engagement
        if eng is None:
            raise SystemExit("fit_score: the rule set has no churn.engagement model to sample")
        sig = signals(st, eng, Signals())
        scores = score_with(st, self.lim)
        # the states' composite: the engagement model's input (score_with folds it in)
        eng_off = self.lim.engagement
        self.lim.engagement = None
        states = score_with(st, self.lim).churn
        self.lim.engagement = eng_off
        complaints = st.recent(st.complaints) if st.complaints else 0
        features = [
            sig.own,
            sig.sustained,
            sig.amount,
            sig.inactive,
            sig.recency,
            sig.peers,
            min(sig.contacts, 4),
            min(complaints, 3),
            states / 100.0,
        ]
        if at >= max(target - WINDOW_S, self.warm):
            self.window.setdefault(customer_id, []).append(features)
        self.rows[customer_id] = (
            features,
            sig.rate,
            st.segment,
            st.tier,
            scores.churn,
        )

    def process(self, state: Any, event: Any, *, now: Any, offset: int | None = None) -> Any:
        out = self.m.process(state, event, now=now, offset=offset)
        if out.state is not None and out.status.value == "applied":
            at = int(event.occurred_at.astimezone(UTC).timestamp())
            self._take(event.customer_id, at, out.state)
        return out

    def scan(self, state: Any, customer_id: str, *, watermark: int, now: Any = None) -> Any:
        found = self.m.scan(state, customer_id, watermark=watermark, now=now)
        self._take(customer_id, watermark, state)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.m, name)


def sample(seed: int, customers: int, days: int) -> tuple[list, list, list]:
    """(rows, labels, window feature rows) of one tuning seed."""
    if seed == EVAL_SEED:
        raise SystemExit(f"seed {seed} is the evaluation seed: never fit on it")
    lines, truth = population(profile="realistic", customers=customers, days=days, seed=seed)
    end = date.fromisoformat(truth["end"])
    targets, label = {}, {}
    for row in truth["labels"]:
        close = date.fromisoformat(row["churn_date"]) if row["churns"] else end
        at = datetime.combine(close - timedelta(days=7), time(), START.tzinfo)
        targets[row["customer_id"]] = int(at.timestamp())
        label[row["customer_id"]] = bool(row["churns"])
    sampler = Sampler(Monitor(ruleset=load_ruleset()), targets)
    sampler.warm = int((START + timedelta(days=WARMUP_DAYS)).timestamp())
    record(lines=lines, monitor=sampler)  # type: ignore[arg-type]
    ids = sorted(sampler.rows)
    windows = [sampler.window.get(c) or [sampler.rows[c][0]] for c in ids]
    return [sampler.rows[c] for c in ids], [label[c] for c in ids], windows


def engine_levels(
    *, seed: int, customers: int, days: int, churn: dict[str, Any], budget: float
) -> dict[str, float]:
    """The alert budget on the engine's own score: replay the tuning seed with the fitted
    ``churn`` settings and take the quantiles of the stayers' highest score in their 90-day
    window (the benchmark's definition), which keep ``budget`` of them at warning or above,
    twice that at watch, a fifth at critical. The score includes what the fit does not see
    (the corroborated states' floor, silence ticks), so this is the budget a bank would get."""
    rules = yaml.safe_load(packaged_rules_text())
    rules["churn"]["engagement"].update(churn["engagement"])
    rules["churn"]["levels"] = churn["levels"]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as out:
        yaml.safe_dump(rules, out)
    ruleset = load_ruleset(Path(out.name))
    Path(out.name).unlink()
    lines, truth = population(profile="realistic", customers=customers, days=days, seed=seed)
    rates = [FxRate.model_validate(r) for r in truth.get("fx_rates", [])]
    fx = FxTable(reporting=ruleset.fx.reporting, rates=rates) if rates else None
    rec = record(lines=lines, monitor=Monitor(ruleset=ruleset, fx=fx))
    judged = judge(
        labels=truth["labels"], series=rec.series, run_start=START.date(),
        run_end=date.fromisoformat(truth["end"]), tz=CHINA_STANDARD_TIME, group_key="fate",
    )  # fmt: skip
    stay = np.array([j.score for j in judged if not j.leaver])
    q = lambda share: round(float(np.quantile(stay, 1.0 - share)), 1)  # noqa: E731
    return {"watch": q(2 * budget), "warning": q(budget), "critical": q(budget / 5)}


def fit_non_negative(x: Any, y: Any) -> tuple[LogisticRegression, list[str]]:
    """Logistic regression whose weights are all >= 0: a feature fitted negative is left out
    and the rest refitted (a worse signal must never lower the score); returns the names left
    out. The model's coefficient array keeps every feature (0 for those left out)."""
    keep = list(range(x.shape[1]))
    while True:
        model = LogisticRegression(C=1.0, max_iter=1000).fit(x[:, keep], y)
        worst = int(np.argmin(model.coef_[0]))
        if model.coef_[0][worst] >= 0:
            break
        del keep[worst]
    full = np.zeros((1, x.shape[1]))
    full[0, keep] = model.coef_[0]
    model.coef_ = full
    model.n_features_in_ = x.shape[1]
    return model, [KEYS[i] for i in range(x.shape[1]) if i not in keep]


def main(argv: list[str] | None = None) -> int:
    """Fit and print the ``churn`` settings as YAML."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, action="append", required=True)
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--days", type=int, default=240)
    parser.add_argument("--budget", type=float, default=0.08)
    args = parser.parse_args(argv)
    rows: list[Any] = []
    labels: list[bool] = []
    windows: list[list[list[float]]] = []
    for seed in args.seed:
        sampled, left, window = sample(seed, args.customers, args.days)
        rows += sampled
        labels += left
        windows += window
    x = np.array([r[0] for r in rows])
    y = np.array(labels)
    model, clamped = fit_non_negative(x, y)
    coef = dict(zip(KEYS, (round(float(c), 3) for c in model.coef_[0]), strict=True))
    cohorts: dict[str, list[float]] = {}
    for r, leaver in zip(rows, labels, strict=True):
        if not leaver:
            cohorts.setdefault(f"{r[2] or 'retail'}:{r[3] or 'mass'}", []).append(r[1])
    z = model.decision_function(x)
    # the alert budget is judged like the benchmark judges stayers: the highest score in the
    # 90-day window, not one point in time (a score that crosses once is an alert)
    peak = np.array([float(model.decision_function(np.array(w)).max()) for w in windows])
    stay = np.sort(100.0 / (1.0 + np.exp(-peak[~y])))
    q = lambda share: round(float(np.quantile(stay, 1.0 - share)), 1)  # noqa: E731
    out: dict[str, Any] = {
        "engagement": {
            "intercept": round(float(model.intercept_[0]), 3),
            **coef,
            "cohorts_version": f"simulator seeds {args.seed}",
            "cohorts": {
                k: round(statistics.median(v), 2)
                for k, v in sorted(cohorts.items())
                if len(v) >= 20
            },
        },
        "levels": {
            "watch": q(2 * args.budget),
            "warning": q(args.budget),
            "critical": q(args.budget / 5),
        },
        "provenance": {
            "fitted_by": "bench/fit_score.py",
            "seeds": args.seed,
            "customers_per_seed": args.customers,
            "days": args.days,
            "budget_stayers_warning": args.budget,
            "levels_from": "stayers' highest fitted score in the 90-day window (quantiles)",
            "left_out_fitted_negative": clamped,
            "fitted_at": datetime.now(UTC).date().isoformat(),
        },
    }
    # levels on the engine's own score (the levels do not move the score: one pass)
    out["levels"] = engine_levels(
        seed=args.seed[0], customers=args.customers, days=args.days, churn=out,
        budget=args.budget,
    )  # fmt: skip
    out["provenance"]["levels_from"] = (
        f"the engine's replay of seed {args.seed[0]} with these weights: quantiles of the "
        "stayers' highest churn score in their 90-day window"
    )
    from sklearn.metrics import roc_auc_score

    print(f"# fitted on {len(y)} customers, {int(y.sum())} leavers; in-sample AUC "
          f"{roc_auc_score(y, z):.3f}", file=sys.stderr)  # fmt: skip
    yaml.safe_dump(out, sys.stdout, sort_keys=False)
    _ = (linear, probability)
    return 0


if __name__ == "__main__":
    sys.exit(main())
