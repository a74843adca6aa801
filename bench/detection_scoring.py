"""Scoring of alerts against the simulator's ground truth (definitions: bench/detection_quality.py)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, NamedTuple

TARGETS = {"recall": 0.8, "median_lead_days": 30.0, "precision": 0.5}
SEVERITY = {"info": 0, "watch": 1, "warning": 2, "critical": 3}
NON_CHURN_NEGATIVES = ("normal", "noisy_loyal")
CREDIT = "credit_deterioration"


class AlertMark(NamedTuple):
    """The part of one alert that scoring needs."""

    customer_id: str
    day: date  # event-time day in China Standard Time
    kind: str  # "churn_risk" | "anomaly"
    rule_id: str
    severity: int  # 0 info .. 3 critical


Qualifies = Callable[[AlertMark], bool]

VARIANTS: dict[str, tuple[str, Qualifies]] = {
    "churn_risk_warning": (
        "churn-risk alerts (composite score) at warning or above",
        lambda a: a.kind == "churn_risk" and a.severity >= 2,
    ),
    "any_alert_warning": (
        "any alert (anomaly or churn risk) at warning or above",
        lambda a: a.severity >= 2,
    ),
    "churn_risk_watch": (
        "churn-risk alerts at watch or above",
        lambda a: a.kind == "churn_risk" and a.severity >= 1,
    ),
}


# --- scoring (pure) ------------------------------------------------------------------------------


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _by_customer(alerts: Iterable[AlertMark], qualifies: Qualifies) -> dict[str, list[AlertMark]]:
    found: dict[str, list[AlertMark]] = defaultdict(list)
    for a in alerts:
        if qualifies(a):
            found[a.customer_id].append(a)
    for marks in found.values():
        marks.sort(key=lambda a: a.day)
    return found


def first_lead(*, label: dict[str, Any], marks: list[AlertMark], window: str) -> int | None:
    """Days from the first qualifying alert in the window to the churn date (None: missed)."""
    churn = date.fromisoformat(label["churn_date"])
    drift = label.get("drift_start_date")
    start = date.fromisoformat(drift) if window == "drift" and drift else date.min
    for a in marks:  # sorted by day
        if start <= a.day < churn:
            return (churn - a.day).days
    return None


def score_detection(
    *,
    labels: list[dict[str, Any]],
    alerts: Iterable[AlertMark],
    qualifies: Qualifies,
    window: str = "drift",
) -> dict[str, Any]:
    """Precision, recall, F1, lead times and false-positive rates of one alert definition."""
    if window not in ("drift", "start"):
        raise ValueError("window must be 'drift' or 'start'")
    flagged = _by_customer(alerts, qualifies)
    leads: list[int] = []
    churn_day_only = 0
    per_pattern: dict[str, dict[str, Any]] = {}
    pattern_leads: dict[str, list[int]] = defaultdict(list)
    negatives: dict[str, list[int]] = {p: [0, 0] for p in (*NON_CHURN_NEGATIVES, CREDIT)}
    for label in labels:
        cid, pattern = label["customer_id"], label["pattern"]
        marks = flagged.get(cid, [])
        if label["churns"]:
            row = per_pattern.setdefault(pattern, {"customers": 0, "detected": 0})
            row["customers"] += 1
            lead = first_lead(label=label, marks=marks, window=window)
            if lead is None:
                churn = date.fromisoformat(label["churn_date"])
                churn_day_only += any(a.day == churn for a in marks)
                continue
            row["detected"] += 1
            leads.append(lead)
            pattern_leads[pattern].append(lead)
        elif pattern in negatives:
            negatives[pattern][0] += 1
            negatives[pattern][1] += bool(marks)
    churners = sum(r["customers"] for r in per_pattern.values())
    tp = len(leads)
    fp = sum(negatives[p][1] for p in NON_CHURN_NEGATIVES)
    recall, precision = _ratio(tp, churners), _ratio(tp, tp + fp)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision and recall else 0.0
    for pattern, row in per_pattern.items():
        row["recall"] = _ratio(row["detected"], row["customers"])
        row["median_lead_days"] = _median(pattern_leads[pattern])
    return {
        "window": window,
        "churners": churners,
        "detected": tp,
        "false_positives": fp,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "median_lead_days": _median(leads),
        "recall_with_lead_30d": _ratio(sum(1 for x in leads if x >= 30), churners),
        "missed_but_alerted_on_churn_day": churn_day_only,
        "fp_rate_noisy_loyal": _ratio(negatives["noisy_loyal"][1], negatives["noisy_loyal"][0]),
        "fp_rate_normal": _ratio(negatives["normal"][1], negatives["normal"][0]),
        "credit_deterioration_flagged_rate": _ratio(negatives[CREDIT][1], negatives[CREDIT][0]),
        "per_pattern": dict(sorted(per_pattern.items())),
    }


def credit_risk_detection(*, labels: list[dict[str, Any]], alerts: Iterable[AlertMark]) -> dict:
    """Credit-deterioration customers: share with a risk.* alert after drift start, and delay."""
    risk = _by_customer(alerts, lambda a: a.rule_id.startswith("risk."))
    delays: list[int] = []
    customers = 0
    for label in labels:
        if label["pattern"] != CREDIT or not label.get("drift_start_date"):
            continue
        customers += 1
        drift = date.fromisoformat(label["drift_start_date"])
        days = [(a.day - drift).days for a in risk.get(label["customer_id"], []) if a.day >= drift]
        if days:
            delays.append(min(days))
    false_risk = sum(1 for cid, marks in risk.items() if marks) - len(delays)
    return {
        "customers": customers,
        "detected": len(delays),
        "recall": _ratio(len(delays), customers),
        "median_days_from_drift_to_first_risk_alert": _median(delays),
        "customers_with_risk_alerts_outside_credit_pattern": false_risk,
    }


def rule_breakdown(*, labels: list[dict[str, Any]], alerts: Iterable[AlertMark]) -> dict:
    """Per pattern and rule@severity: share of customers hit and churners' median lead (drift window)."""
    rules_of: dict[str, dict[str, list[date]]] = defaultdict(lambda: defaultdict(list))
    for a in sorted(alerts, key=lambda a: a.day):
        sev = "warning+" if a.severity >= 2 else "watch-"
        rules_of[a.customer_id][f"{a.rule_id}@{sev}"].append(a.day)
    out: dict[str, dict[str, Any]] = {}
    sizes: dict[str, int] = defaultdict(int)
    hits: dict[str, dict[str, list[int | None]]] = defaultdict(lambda: defaultdict(list))
    for label in labels:
        pattern = label["pattern"]
        sizes[pattern] += 1
        for rule, days in rules_of.get(label["customer_id"], {}).items():
            if label["churns"]:
                churn = date.fromisoformat(label["churn_date"])
                drift = date.fromisoformat(label["drift_start_date"])
                inside = [d for d in days if drift <= d < churn]
                if inside:
                    hits[pattern][rule].append((churn - inside[0]).days)
                elif any(d == churn for d in days):
                    hits[pattern][f"{rule} (churn day only)"].append(None)
            else:
                hits[pattern][rule].append(None)
    for pattern in sorted(sizes):
        rows = {}
        for rule, leads in sorted(hits[pattern].items(), key=lambda kv: -len(kv[1])):
            known = [x for x in leads if x is not None]
            rows[rule] = {
                "share": _ratio(len(leads), sizes[pattern]),
                "median_lead_days": _median(known),
            }
        out[pattern] = {"customers": sizes[pattern], "rules": rows}
    return out


def target_check(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """PASS/MISS per issue-6 target with the signed margin (measured minus target)."""
    checks = {}
    for name, target in TARGETS.items():
        value = result.get(name)
        margin = None if value is None else round(value - target, 4)
        checks[name] = {
            "target": target,
            "value": value,
            "margin": margin,
            "status": "PASS" if margin is not None and margin >= 0 else "MISS",
        }
    return checks


# --- generation and replay -----------------------------------------------------------------------
