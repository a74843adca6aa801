"""Command line of the churn model.

    python -m churnwatch_state_monitor.model train EVENTS.ndjson --outcomes OUTCOMES.csv|derive \
        --out MODEL_DIR [--horizon-days 90] [--as-of DATE ...]
    python -m churnwatch_state_monitor.model diff --events EVENTS.ndjson --live A --candidate B \
        [--outcomes OUTCOMES.csv|derive] [--horizon-days 90]
    python -m churnwatch_state_monitor.model report --events EVENTS.ndjson --model MODEL_DIR \
        [--cutoffs 0.2,0.4,0.7 | --model-budget watch=0.15,warning=0.08,critical=0.02] \
        [--hysteresis 0.2]

``report`` shows the churn levels' cut-offs (the manifest's, the given ones, or those the budget
gives on the model's validation distribution) with the share of the validation rows and of the
report's rows at or above each.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.model.artifact import DEFAULT_CUTOFFS, ModelDirError, parse_cutoffs
from churnwatch_state_monitor.model.budget import BudgetError, resolve_levels
from churnwatch_state_monitor.model.labels import OutcomesError
from churnwatch_state_monitor.model.levels import DEFAULT_HYSTERESIS, parse_hysteresis
from churnwatch_state_monitor.model.replay import EventsError, parse_as_of
from churnwatch_state_monitor.model.train import TrainingError
from churnwatch_state_monitor.ruleset import RuleSetError, load_ruleset


def _as_of(text: str) -> int:
    try:
        return parse_as_of(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _cutoffs(text: str) -> tuple[float, float, float]:
    try:
        return parse_cutoffs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _hysteresis(text: str) -> float:
    try:
        return parse_hysteresis(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _horizon(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 730:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole days between 1 and 730")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m churnwatch_state_monitor.model")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train, validate and write MODEL_DIR")
    train.add_argument("events", type=Path, help="NDJSON events (the history)")
    train.add_argument(
        "--outcomes", required=True, help="OUTCOMES.csv (customer_id,churned_at) or 'derive'"
    )
    train.add_argument("--out", type=Path, required=True, help="MODEL_DIR to write")
    train.add_argument("--horizon-days", type=_horizon, default=90)
    train.add_argument(
        "--as-of",
        type=_as_of,
        nargs="+",
        action="extend",
        help="as-of dates (default: monthly through the history)",
    )
    train.add_argument("--calibration", choices=("isotonic", "platt"), default="isotonic")
    train.add_argument(
        "--cutoffs",
        type=_cutoffs,
        default=DEFAULT_CUTOFFS,
        help="watch,warning,critical probabilities (default 0.2,0.4,0.7)",
    )
    train.add_argument("--rules", type=Path, help="rules YAML (default: the packaged one)")
    diff = sub.add_parser(
        "diff", help="alerts a candidate model adds and drops against the live one"
    )
    diff.add_argument("--events", type=Path, required=True)
    diff.add_argument("--live", type=Path, required=True, help="the live MODEL_DIR")
    diff.add_argument("--candidate", type=Path, required=True, help="the candidate MODEL_DIR")
    diff.add_argument("--outcomes", help="OUTCOMES.csv or 'derive' (for the AUC change)")
    diff.add_argument("--horizon-days", type=_horizon, default=None)
    diff.add_argument("--as-of", type=_as_of, nargs="+", action="extend")
    diff.add_argument("--rules", type=Path)
    diff.add_argument(
        "--model-budget",
        "--budget",
        dest="model_budget",
        help="warning from this alert budget on each model's own distribution (as the worker "
        "and its shadow apply CHURNWATCH_MONITOR_MODEL_BUDGET), not the manifests' cut-offs",
    )
    report = sub.add_parser("report", help="drift (PSI) of features and score vs training")
    report.add_argument("--events", type=Path, required=True)
    report.add_argument("--model", type=Path, required=True)
    report.add_argument(
        "--as-of",
        type=_as_of,
        nargs="+",
        action="extend",
        help="as-of dates to score (default: the latest month start in the history)",
    )
    report.add_argument("--rules", type=Path)
    report.add_argument("--cutoffs", help="watch,warning,critical probabilities to report on")
    report.add_argument(
        "--model-budget",
        "--budget",
        dest="model_budget",
        help="share of the book at watch, warning, critical or above, e.g. "
        "watch=0.15,warning=0.08,critical=0.02: the cut-offs it gives on this model",
    )
    report.add_argument("--hysteresis", type=_hysteresis, default=DEFAULT_HYSTERESIS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2: bad input, with the reason on stderr)."""
    args = _parser().parse_args(argv)
    try:
        monitor = Monitor(ruleset=load_ruleset(args.rules))
        if args.command == "train":
            from churnwatch_state_monitor.model.build import train_model

            manifest = train_model(
                events=args.events,
                outcomes=args.outcomes,
                out=args.out,
                monitor=monitor,
                horizon_days=args.horizon_days,
                as_of=args.as_of,
                calibration=args.calibration,
                cutoffs=args.cutoffs,
            )
            result = {
                "model_dir": str(args.out),
                "version": manifest["version"],
                "metrics": manifest["metrics"],
                "timing_seconds": manifest["timing_seconds"],
            }
        elif args.command == "diff":
            from churnwatch_state_monitor.model.compare import diff_models

            result = diff_models(
                events=args.events,
                live=args.live,
                candidate=args.candidate,
                outcomes=args.outcomes,
                horizon_days=args.horizon_days,
                as_of=args.as_of,
                monitor=monitor,
                budget=args.model_budget,
            )
        else:
            from churnwatch_state_monitor.model.artifact import ChurnModel
            from churnwatch_state_monitor.model.compare import drift

            loaded = ChurnModel(args.model)
            levels = resolve_levels(
                model=loaded,
                cutoffs=args.cutoffs,
                budget=args.model_budget,
                cutoffs_name="--cutoffs",
                budget_name="--model-budget",
            )
            result = drift(
                events=args.events,
                model=args.model,
                as_of=args.as_of,
                monitor=monitor,
                levels=levels.record(model=loaded, hysteresis=args.hysteresis),
            )
    except (
        EventsError,
        OutcomesError,
        TrainingError,
        ModelDirError,
        BudgetError,
        RuleSetError,
        FileNotFoundError,
    ) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
