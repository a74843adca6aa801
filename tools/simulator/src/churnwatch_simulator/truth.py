"""Ground truth of a run: per customer, the pattern, whether and when it churns, when drift began."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from churnwatch_simulator.bank import SimulatedBank
from churnwatch_simulator.plans import CHURN_PATTERNS, Pattern, pattern_counts


def ground_truth(*, bank: SimulatedBank) -> dict[str, Any]:
    """The labels of a finished run (call after ``bank.events()`` is exhausted)."""
    cfg = bank.config
    customers: list[dict[str, Any]] = []
    for c in bank.customers:
        plan = c.plan
        churn_date = bank.day_date(c.closed_day).isoformat() if c.closed_day is not None else None
        drift = (
            bank.day_date(plan.drift_start).isoformat() if plan.drift_start is not None else None
        )
        if drift is not None and plan.drift_start is not None and plan.drift_start >= cfg.days:
            drift = None
        customers.append(
            {
                "customer_id": c.customer_id,
                "pattern": plan.pattern.value,
                "churns": c.closed_day is not None,
                "churn_date": churn_date,
                "drift_start_date": drift,
                "credit_risk": plan.pattern is Pattern.CREDIT_DETERIORATION,
                "segment": c.segment,
                "tier": c.tier,
                "relationship_manager_id": c.manager_id,
                "marks": {
                    k: bank.day_date(v).isoformat()
                    for k, v in sorted(plan.marks.items())
                    if k != "slide_step"
                },
            }
        )
    counts: dict[str, int] = {}
    for row in customers:
        counts[row["pattern"]] = counts.get(row["pattern"], 0) + 1
    return {
        "seed": cfg.seed,
        "customers": cfg.customers,
        "days": cfg.days,
        "start": cfg.start.isoformat(),
        "end": bank.day_date(cfg.days - 1).isoformat(),
        "events": bank.events_emitted,
        "churn_patterns": sorted(p.value for p in CHURN_PATTERNS),
        "pattern_counts": dict(sorted(counts.items())),
        "expected_pattern_counts": {
            p.value: n
            for p, n in pattern_counts(customers=cfg.customers, fractions=cfg.fractions).items()
        },
        "labels": customers,
    }


def write_truth(*, truth: dict[str, Any], path: Path) -> None:
    """Write the ground truth as indented JSON."""
    path.write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2) + b"\n")
