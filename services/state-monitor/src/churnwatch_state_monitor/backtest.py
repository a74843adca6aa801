"""Offline backtest: replay an NDJSON file of events through the same Monitor code path.

    python -m churnwatch_state_monitor.backtest events.ndjson --out alerts.ndjson \
        [--states states.ndjson] [--rules rules.yaml]
        [--model MODEL_DIR [--cutoffs 0.2,0.4,0.7 | --model-budget watch=0.15,warning=0.08,...]
        [--levels model|rules] [--hysteresis 0.2] [--level-days 7]]

Events are applied in file order; each customer is placed on the EVENTS partition Kafka would give
it, and silence rules (dormancy, missing payroll) run whenever that partition's event-time
watermark passes a customer's due time, exactly as the worker's timer does. Invalid lines are
counted and reported with their line number, never silently skipped.

With ``--model`` every ``--states`` line is scored by the churn model (one predict call for all
customers, each at their newest event's time) and carries ``churn_probability``,
``model_version``, the top reasons, and the churn level; with ``--levels model`` (the default) the
model also decides the churn level and raises the churn-risk alerts (``model/levels.py``), at the
same event-time checkpoints as the worker. The level's cut-offs are the model's (its manifest),
``--cutoffs``, or those an alert budget gives on the model's validation distribution
(``--model-budget``, model/budget.py); the summary line shows them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError

from churnwatch_shared import topics
from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.settings import CommonSettings
from churnwatch_shared.wire_decode import decode_event
from churnwatch_state_monitor.engine.monitor import Monitor, Status
from churnwatch_state_monitor.engine.silence import SilenceIndex
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.ruleset import RuleSetError, load_ruleset


def replay(
    *,
    lines: IO[bytes],
    monitor: Monitor,
    alerts_out: IO[bytes],
    errors: IO[str],
    annotate: Callable[[bytes, CustomerState, int], bytes] | None = None,
    levels: Any = None,
    flush_every: int = 256,
) -> tuple[dict[str, CustomerState], Counter[str]]:
    """Apply every event line; write each alert as one JSON line; return states and counts.

    ``annotate(alert JSON, state, as-of)``: rewrites an alert when it fires (the churn model's
    reasons, from the customer's state at that moment). ``levels``: a ``model.levels.ModelLevels``
    installed on ``monitor``, flushed whenever ``flush_every`` checkpoints are pending and at the
    end (its alerts do not depend on when it is flushed)."""
    states: dict[str, CustomerState] = {}
    counts: Counter[str] = Counter()
    # silence watermarks per partition, as the worker keeps them: the configured count
    # (CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS), not a fixed 8
    partitions = CommonSettings().partitions(topics.EVENTS)
    indexes = [SilenceIndex() for _ in range(partitions)]

    def emit(alert, state: CustomerState | None = None, at: int = 0) -> None:
        counts[f"alert:{alert.rule_id}"] += 1
        line = alert.model_dump_json().encode()
        if annotate is not None and state is not None:
            line = annotate(line, state, at)
        alerts_out.write(line + b"\n")

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = decode_event(line)
        except ValidationError as exc:
            counts["invalid"] += 1
            errors.write(f"line {number}: {exc.errors()[0]['msg']}\n")
            continue
        outcome = monitor.process(
            states.get(event.customer_id), event, now=event.occurred_at.astimezone(UTC)
        )
        counts[outcome.status.value] += 1
        for alert in outcome.alerts:
            emit(
                alert,
                outcome.state or states.get(event.customer_id),
                int(event.occurred_at.timestamp()),
            )
        if outcome.status is Status.ERASED:  # an erasure: the customer's state goes
            states.pop(event.customer_id, None)
            indexes[partition_of(customer_id=event.customer_id, partitions=partitions)].schedule(
                event.customer_id, None
            )
        if outcome.status is Status.APPLIED and outcome.state is not None:
            states[event.customer_id] = outcome.state
            index = indexes[partition_of(customer_id=event.customer_id, partitions=partitions)]
            index.observe(int(event.occurred_at.timestamp()))
            index.schedule(event.customer_id, monitor.silence_due(outcome.state))
            for customer_id, _ in index.pop_due(limit=1 << 30):
                state = states[customer_id]
                for alert in monitor.scan(state, customer_id, watermark=index.watermark):
                    emit(alert, state, max(state.newest, index.watermark))
                index.schedule(customer_id, monitor.silence_due(state))
        if levels is not None and len(levels.pending) >= flush_every:
            for alert in levels.flush(current=states.get):
                emit(alert)
    if levels is not None:
        for alert in levels.flush(current=states.get):
            emit(alert)
    return states, counts


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description="Replay events through the state monitor rules.")
    parser.add_argument("events", type=Path, help="NDJSON file of events (one per line)")
    parser.add_argument("--out", type=Path, help="alerts NDJSON (default: stdout)")
    parser.add_argument("--states", type=Path, help="final customer-state snapshots NDJSON")
    parser.add_argument("--rules", type=Path, help="rules YAML (default: the packaged one)")
    parser.add_argument("--model", type=Path, help="churn MODEL_DIR: score every --states line")
    parser.add_argument(
        "--cutoffs", help="watch,warning,critical probabilities (default: the model's)"
    )
    parser.add_argument(
        "--model-budget",
        "--budget",
        dest="model_budget",
        help="share of the book at watch, warning, critical or above, e.g. "
        "watch=0.15,warning=0.08,critical=0.02 (instead of --cutoffs)",
    )
    parser.add_argument(
        "--levels",
        choices=("model", "rules"),
        default="model",
        help="with --model: who decides the churn level and raises churn-risk alerts",
    )
    parser.add_argument(
        "--hysteresis", help="a model level is left only below cut-off x (1 - this); 0.2"
    )
    parser.add_argument(
        "--level-days",
        type=int,
        default=7,
        choices=range(1, 93),
        metavar="1..92",
        help="the model judges the level at a customer's first event of each such period",
    )
    args = parser.parse_args(argv)
    try:
        monitor = Monitor(ruleset=load_ruleset(args.rules))
        if (args.cutoffs or args.model_budget) and not args.model:
            raise ValueError(
                "--cutoffs and --model-budget apply to a model: give --model MODEL_DIR"
            )
        scorer, cut = (
            _scorer(args.model, args.cutoffs, args.model_budget) if args.model else (None, None)
        )
        levels = (
            _levels(scorer, monitor, args.hysteresis, args.level_days)
            if scorer is not None and args.levels == "model"
            else None
        )
    except (RuleSetError, ValueError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    started = time.perf_counter()
    out = args.out.open("wb") if args.out else sys.stdout.buffer
    try:
        with args.events.open("rb") as lines:
            states, counts = replay(
                lines=lines,
                monitor=monitor,
                alerts_out=out,
                errors=sys.stderr,
                annotate=_explainer(scorer) if scorer and levels is None else None,
                levels=levels,
            )
    finally:
        if args.out:
            out.close()
    if args.states:
        with args.states.open("wb") as fh:
            if scorer is None:
                for customer_id, state in sorted(states.items()):
                    fh.write(monitor.snapshot_bytes(customer_id, state) + b"\n")
            else:
                scored = scorer.snapshots(
                    monitor=monitor,
                    customers=[(c, st, st.newest) for c, st in sorted(states.items())],
                )
                fh.writelines(snapshot + b"\n" for _, snapshot, _ in scored)
    elapsed = time.perf_counter() - started
    events = sum(v for k, v in counts.items() if not k.startswith("alert:"))
    summary = {
        "events": events,
        "customers": len(states),
        "seconds": round(elapsed, 3),
        "events_per_s": round(events / elapsed) if elapsed else None,
        "ruleset_version": monitor.rs.version,
        "model_version": scorer.version if scorer else None,
        **({"model_cutoffs": list(cut.cutoffs), "model_cutoffs_from": cut.source} if cut else {}),
        "finished_at": datetime.now(UTC).isoformat(),
        **counts,
    }
    sys.stderr.write(orjson.dumps(summary).decode() + "\n")
    return 0


def _scorer(model: Path, cutoffs: str | None, budget: str | None) -> tuple[Any, Any]:
    """The churn model's scorer and its level cut-offs (imported here: numpy and LightGBM only
    when a model is used)."""
    from churnwatch_state_monitor.model.artifact import ChurnModel
    from churnwatch_state_monitor.model.budget import resolve_levels
    from churnwatch_state_monitor.model.serving import Scorer

    loaded = ChurnModel(model)
    cut = resolve_levels(
        model=loaded,
        cutoffs=cutoffs,
        budget=budget,
        cutoffs_name="--cutoffs",
        budget_name="--model-budget",
    )
    return Scorer(model=loaded, cutoffs=cut.cutoffs), cut


def _levels(scorer: Any, monitor: Monitor, hysteresis: str | None, every_days: int) -> Any:
    """The model's levels installed on ``monitor`` (model/levels.py)."""
    from churnwatch_state_monitor.model.levels import (
        DEFAULT_HYSTERESIS,
        ModelLevels,
        parse_hysteresis,
    )

    scorer.levels_from_state = True
    return ModelLevels(
        model=scorer.model,
        cutoffs=scorer.cutoffs,
        monitor=monitor,
        hysteresis=parse_hysteresis(hysteresis) if hysteresis else DEFAULT_HYSTERESIS,
        every_days=every_days,
    )


def _explainer(scorer: Any) -> Callable[[bytes, CustomerState, int], bytes]:
    """Adds the model's reasons to a churn-risk alert as it fires (others pass unchanged)."""
    from churnwatch_state_monitor.model.alert_reasons import explain_alerts

    def annotate(line: bytes, state: CustomerState, at: int) -> bytes:
        alerts = explain_alerts(
            model=scorer.model, alerts=[(b"", line)], state_of=lambda _: (state, at)
        )
        return alerts[0][1]

    return annotate


if __name__ == "__main__":
    sys.exit(main())
