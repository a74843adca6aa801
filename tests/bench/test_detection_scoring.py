"""Scoring of detection quality against a hand-built ground truth (pure, no Kafka)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bench.detection_quality import WHAT_IFS, AlertSink, what_if_rules
from bench.detection_scoring import (
    VARIANTS,
    AlertMark,
    credit_risk_detection,
    rule_breakdown,
    score_detection,
    target_check,
)
from churnwatch_state_monitor.ruleset import load_ruleset

RISK = "churn.composite_score"


def label(cid: str, pattern: str, *, churn: str | None = None, drift: str | None = None) -> dict:
    return {
        "customer_id": cid,
        "pattern": pattern,
        "churns": churn is not None,
        "churn_date": churn,
        "drift_start_date": drift,
    }


LABELS = [
    label("c1", "interbank_outflow", churn="2025-05-01", drift="2025-03-01"),
    label("c2", "interbank_outflow", churn="2025-05-01", drift="2025-03-01"),
    label("c3", "activity_fade", churn="2025-06-10", drift="2025-04-01"),
    label("c4", "activity_fade", churn="2025-06-10", drift="2025-04-01"),
    label("n1", "noisy_loyal"),
    label("n2", "noisy_loyal"),
    label("n3", "noisy_loyal"),
    label("n4", "noisy_loyal"),
    label("m1", "normal"),
    label("m2", "normal"),
    label("k1", "credit_deterioration", drift="2025-02-01"),
]


def mark(
    cid: str, day: str, *, kind: str = "churn_risk", rule: str = RISK, severity: int = 2
) -> AlertMark:
    return AlertMark(cid, date.fromisoformat(day), kind, rule, severity)


ALERTS = [
    mark("c1", "2025-03-22"),  # 40 days before churn
    mark("c1", "2025-04-20"),  # later alert: the first one sets the lead
    mark("c2", "2025-05-01"),  # on the churn day: too late, never counts
    mark("c3", "2025-03-15"),  # before drift start: counts only in the "start" window
    mark("c3", "2025-06-09"),  # 1 day before churn
    mark("c4", "2025-05-20", severity=1),  # watch: not qualifying for "warning"
    mark("n1", "2025-02-10"),  # noisy-but-loyal false positive
    mark("n2", "2025-02-10", kind="anomaly", rule="scale.tier_critical_band", severity=3),
    mark("m1", "2025-07-01", severity=1),
    mark("k1", "2025-02-08", kind="anomaly", rule="risk.loan_overdue", severity=1),
    mark("k1", "2025-03-01"),  # churn alert on a credit customer: not a churn false positive
]

CHURN_WARNING = VARIANTS["churn_risk_warning"][1]
ANY_WARNING = VARIANTS["any_alert_warning"][1]


def test_precision_recall_and_lead_in_drift_window() -> None:
    r = score_detection(labels=LABELS, alerts=ALERTS, qualifies=CHURN_WARNING)
    assert r["churners"] == 4
    assert r["detected"] == 2  # c1 (lead 40) and c3 (lead 1); c2 only on churn day; c4 watch
    assert r["false_positives"] == 1  # n1
    assert r["recall"] == 0.5
    assert r["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert r["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5), abs=1e-4)
    assert r["median_lead_days"] == pytest.approx((40 + 1) / 2)
    assert r["recall_with_lead_30d"] == 0.25
    assert r["missed_but_alerted_on_churn_day"] == 1
    assert r["fp_rate_noisy_loyal"] == 0.25
    assert r["fp_rate_normal"] == 0.0
    assert r["credit_deterioration_flagged_rate"] == 1.0
    assert r["per_pattern"]["interbank_outflow"] == {
        "customers": 2,
        "detected": 1,
        "recall": 0.5,
        "median_lead_days": 40.0,
    }
    assert r["per_pattern"]["activity_fade"]["median_lead_days"] == 1.0


def test_start_window_counts_alerts_before_drift() -> None:
    r = score_detection(labels=LABELS, alerts=ALERTS, qualifies=CHURN_WARNING, window="start")
    # c3's first qualifying alert is now the pre-drift one: 87 days before its churn
    assert r["per_pattern"]["activity_fade"]["median_lead_days"] == 87.0
    assert r["detected"] == 2


def test_churn_day_alert_alone_is_a_miss() -> None:
    only = [mark("c2", "2025-05-01", severity=3)]
    r = score_detection(labels=LABELS, alerts=only, qualifies=ANY_WARNING)
    assert r["detected"] == 0
    assert r["median_lead_days"] is None
    assert r["precision"] is None  # nothing flagged at all
    assert r["f1"] == 0.0


def test_any_alert_variant_counts_anomalies_and_severity_floor() -> None:
    r = score_detection(labels=LABELS, alerts=ALERTS, qualifies=ANY_WARNING)
    assert r["fp_rate_noisy_loyal"] == 0.5  # n1 churn alert + n2 tier-band anomaly
    assert r["fp_rate_normal"] == 0.0  # m1's alert is only watch
    assert r["precision"] == 0.5


def test_bad_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        score_detection(labels=LABELS, alerts=ALERTS, qualifies=ANY_WARNING, window="later")


def test_credit_risk_detection_measures_delay_from_drift() -> None:
    r = credit_risk_detection(labels=LABELS, alerts=ALERTS)
    assert r == {
        "customers": 1,
        "detected": 1,
        "recall": 1.0,
        "median_days_from_drift_to_first_risk_alert": 7.0,
        "customers_with_risk_alerts_outside_credit_pattern": 0,
    }


def test_rule_breakdown_marks_churn_day_only_rules() -> None:
    b = rule_breakdown(labels=LABELS, alerts=ALERTS)
    rules = b["interbank_outflow"]["rules"]
    assert rules[f"{RISK}@warning+"] == {"share": 0.5, "median_lead_days": 40.0}
    assert rules[f"{RISK}@warning+ (churn day only)"]["share"] == 0.5
    assert b["noisy_loyal"]["rules"]["scale.tier_critical_band@warning+"]["share"] == 0.25


def test_target_check_reports_margin() -> None:
    checks = target_check({"recall": 0.75, "median_lead_days": 31.0, "precision": 0.5})
    assert checks["recall"] == {"target": 0.8, "value": 0.75, "margin": -0.05, "status": "MISS"}
    assert checks["median_lead_days"]["status"] == "PASS"
    assert checks["precision"]["status"] == "PASS"  # exactly on target passes
    assert (
        target_check({"recall": None, "median_lead_days": None, "precision": None})["recall"][
            "status"
        ]
        == "MISS"
    )


def test_alert_days_are_china_standard_time() -> None:
    sink = AlertSink()
    for stamp in ("2025-03-01T17:00:00+00:00", "2025-03-01T23:30:00+08:00"):
        sink.write(
            b'{"customer_id": "c1", "kind": "anomaly", "severity": "critical", '
            b'"rule_id": "x", "occurred_at": "' + stamp.encode() + b'"}'
        )
    assert [m.day for m in sink.marks] == [date(2025, 3, 2), date(2025, 3, 1)]
    assert sink.marks[0].severity == 3


def test_what_if_rules_file_loads_through_the_monitor_loader(tmp_path: Path) -> None:
    _, patch = WHAT_IFS["tuned"]
    rs = load_ruleset(what_if_rules(patch=patch, directory=tmp_path))
    assert rs.version == "what-if-tuned"
    assert rs.churn.levels.warning == 35
    assert rs.rules.large_interbank_outflow.min_share == 0.6
    assert rs.rules.payroll_missing.grace_days == 10  # untouched keys keep the packaged value
