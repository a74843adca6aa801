"""`model diff` (candidate against live on a replay) and `model report` (drift against training)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.model.artifact import ChurnModel
from churnwatch_state_monitor.model.budget import resolve_levels
from churnwatch_state_monitor.model.drift import drift_report
from churnwatch_state_monitor.model.labels import DERIVE, derive_outcomes, label, read_outcomes
from churnwatch_state_monitor.model.replay import (
    History,
    load_events,
    monthly_as_of,
    sample_features,
)

PSI_READING = "PSI < 0.1 stable; 0.1-0.25 moderate shift; > 0.25 shift worth retraining for"
SHOWN = 20  # customers listed per side of a diff


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _rows(
    *, history: History, monitor: Monitor, as_of: list[int], names: list[str]
) -> tuple[np.ndarray, list[int], list[str]]:
    x: list[list[float]] = []
    ts: list[int] = []
    cs: list[str] = []
    for s in sample_features(history=history, monitor=monitor, as_of=as_of, names=names):
        x.extend(s.rows)
        ts.extend([s.as_of] * len(s.rows))
        cs.extend(s.customer_ids)
    return np.array(x, dtype=float).reshape(len(x), len(names)), ts, cs


def diff_models(
    *,
    events: Path,
    live: Path,
    candidate: Path,
    outcomes: str | None,
    horizon_days: int | None,
    as_of: list[int] | None,
    monitor: Monitor,
    budget: str | None = None,
) -> dict[str, Any]:
    """Alerts (warning or above) the candidate adds and drops at each as-of date; AUC change.

    Warning is each model's manifest cut-off, or with ``budget`` (as the worker's
    ``CHURNWATCH_MONITOR_MODEL_BUDGET``) the cut-off that budget gives on that model's own
    validation distribution, as the live worker and its shadow would apply it."""
    a, b = ChurnModel(live), ChurnModel(candidate)
    warn_a, warn_b = (
        resolve_levels(
            model=m, cutoffs=None, budget=budget, cutoffs_name="", budget_name="--model-budget"
        ).cutoffs[1]
        for m in (a, b)
    )
    horizon = horizon_days or int(a.manifest["horizon_days"])
    history = load_events(events)
    dates = as_of or monthly_as_of(
        first=history.first, last=history.last, horizon_days=horizon if outcomes else 0
    )
    names = list(dict.fromkeys([*a.names, *b.names]))
    x, ts, cs = _rows(history=history, monitor=monitor, as_of=dates, names=names)
    pa = a.probabilities(x[:, [names.index(n) for n in a.names]])
    pb = b.probabilities(x[:, [names.index(n) for n in b.names]])
    alert_a, alert_b = pa >= warn_a, pb >= warn_b
    added = [(cs[i], ts[i]) for i in np.flatnonzero(alert_b & ~alert_a)]
    dropped = [(cs[i], ts[i]) for i in np.flatnonzero(alert_a & ~alert_b)]
    result: dict[str, Any] = {
        "live": a.version,
        "candidate": b.version,
        "as_of": [_iso(t) for t in sorted(set(ts))],
        "rows": len(ts),
        "warning_from": "budget" if budget else "manifest",
        "warning_cutoff_live": warn_a,
        "warning_cutoff_candidate": warn_b,
        "alerts_live": int(alert_a.sum()),
        "alerts_candidate": int(alert_b.sum()),
        "added": len(added),
        "dropped": len(dropped),
        "added_examples": [{"customer_id": c, "as_of": _iso(t)} for c, t in added[:SHOWN]],
        "dropped_examples": [{"customer_id": c, "as_of": _iso(t)} for c, t in dropped[:SHOWN]],
    }
    if outcomes:
        from sklearn.metrics import roc_auc_score

        churned = derive_outcomes(history) if outcomes == DERIVE else read_outcomes(Path(outcomes))
        y = [
            label(churned_at=churned.get(c), as_of=t, horizon_days=horizon)
            for c, t in zip(cs, ts, strict=True)
        ]
        keep = np.array([v is not None for v in y])
        labels = np.array([v for v in y if v is not None], dtype=int)
        if 0 < labels.sum() < len(labels):
            auc_a = float(roc_auc_score(labels, pa[keep]))
            auc_b = float(roc_auc_score(labels, pb[keep]))
            result |= {
                "horizon_days": horizon,
                "auc_live": round(auc_a, 4),
                "auc_candidate": round(auc_b, 4),
                "auc_change": round(auc_b - auc_a, 4),
                "note": "rows inside either model's training window flatter that model: "
                "give --as-of dates after both windows for a fair comparison",
            }
        else:
            result["auc_change"] = None
            result["note"] = "the labelled rows hold one class only: no AUC"
    return result


def drift(
    *,
    events: Path,
    model: Path,
    as_of: list[int] | None,
    monitor: Monitor,
    levels: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """PSI of every feature and of the score at the as-of dates against the training window;
    ``levels`` (model/budget.py ``Levels.record``): each level's share of these rows is added."""
    m = ChurnModel(model)
    history = load_events(events)
    # default: the latest month start, the grid the training rows were sampled on
    dates = as_of or (
        monthly_as_of(first=history.first, last=history.last, horizon_days=0)[-1:] or [history.last]
    )
    x, ts, _ = _rows(history=history, monitor=monitor, as_of=dates, names=m.names)
    scores = m.probabilities(x)
    psi = drift_report(reference=m.reference, x=x, names=m.names, scores=scores)
    ordered = dict(sorted(psi.items(), key=lambda kv: -kv[1]))
    if levels is not None:  # the book's share now beside the validation share (budget drift)
        served = np.round(scores, 4)
        for level in levels["levels"]:
            level["share_now"] = round(float((served >= level["cutoff"]).mean()), 4)
    return {
        "model_version": m.version,
        "as_of": [_iso(t) for t in sorted(set(ts))],
        "rows": len(ts),
        "score_psi": psi["score"],
        "psi": ordered,
        "shifted": [k for k, v in ordered.items() if v > 0.25],
        "reading": PSI_READING,
        **({"churn_levels": levels} if levels is not None else {}),
    }
