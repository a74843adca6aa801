"""Model quality on held-out rows: AUC, PR AUC, ECE, Brier, the rule score's AUC, lead time."""

from __future__ import annotations

from typing import Any

import numpy as np

from churnwatch_state_monitor.engine.buckets import DAY

ECE_BINS = 10


def ece(p: np.ndarray, y: np.ndarray, *, bins: int = ECE_BINS) -> float:
    """Expected calibration error: row-weighted |mean probability - observed rate| over equal-width
    probability bins."""
    if not len(p):
        return float("nan")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total)


def evaluate(
    *,
    p: np.ndarray,
    y: np.ndarray,
    rule: np.ndarray,
    as_of: np.ndarray,
    customers: np.ndarray,
    churned_at: np.ndarray,
    horizon_days: int,
    warning: float,
) -> dict[str, Any]:
    """Metrics of probabilities ``p`` on held-out rows (and the rule score on the same rows)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    two = 0 < y.sum() < len(y)
    alerted = p >= warning
    top = np.argsort(-p)[: max(1, len(p) // 10)]
    return {
        "rows": len(y),
        "positives": int(y.sum()),
        "customers": len(set(customers.tolist())),
        "auc": round(float(roc_auc_score(y, p)), 4) if two else None,
        "pr_auc": round(float(average_precision_score(y, p)), 4) if two else None,
        "rule_score_auc": round(float(roc_auc_score(y, rule)), 4) if two else None,
        "ece": round(ece(p, y), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "precision_top_10pct": round(float(y[top].mean()), 4),
        "precision_at_warning": round(float(y[alerted].mean()), 4) if alerted.any() else None,
        "recall_at_warning": round(float(alerted[y == 1].mean()), 4) if y.any() else None,
        **lead_time(
            p=p,
            as_of=as_of,
            customers=customers,
            churned_at=churned_at,
            horizon_days=horizon_days,
            warning=warning,
        ),
    }


def lead_time(
    *,
    p: np.ndarray,
    as_of: np.ndarray,
    customers: np.ndarray,
    churned_at: np.ndarray,
    horizon_days: int,
    warning: float,
) -> dict[str, Any]:
    """Days from the first as-of date at which a leaver was at warning or above (within the
    horizon before their churn) to the churn; the grid is the as-of dates (monthly by default)."""
    first: dict[str, int] = {}
    leavers: set[str] = set()
    for prob, t, c, churn in zip(p, as_of, customers, churned_at, strict=True):
        if not churn or not t < churn <= t + horizon_days * DAY:
            continue
        leavers.add(c)
        if prob >= warning and (c not in first or t < first[c]):
            first[c] = int(t)
    churn_of = {c: int(ch) for c, ch in zip(customers, churned_at, strict=True) if ch}
    leads = sorted((churn_of[c] - t) / DAY for c, t in first.items())
    return {
        "leavers": len(leavers),
        "leavers_warned": len(leads),
        "lead_days_median": round(float(np.median(leads)), 1) if leads else None,
        "lead_days_p25": round(float(np.percentile(leads, 25)), 1) if leads else None,
    }
