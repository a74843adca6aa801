"""The detection benchmark's per-customer metrics on hand-computed cases."""

from __future__ import annotations

from datetime import UTC, date

import pytest

from bench.detection_metrics import judge, midnight, pr_auc, precision_at, roc_auc, window_of

DAY = 86_400


def test_roc_auc_counts_ties_half() -> None:
    assert roc_auc(positives=[3, 2], negatives=[1, 0]) == 1.0
    assert roc_auc(positives=[0, 1], negatives=[2, 3]) == 0.0
    assert roc_auc(positives=[1, 1], negatives=[1, 1]) == 0.5
    # pairs: (3>2) (3>1) (1<2) (1=1 half) -> 2.5 / 4
    assert roc_auc(positives=[3, 1], negatives=[2, 1]) == 0.625
    assert roc_auc(positives=[], negatives=[1]) is None


def test_pr_auc_is_average_precision_over_distinct_thresholds() -> None:
    assert pr_auc([(0.9, True), (0.8, False), (0.7, True)]) == pytest.approx((1 + 2 / 3) / 2, 1e-3)
    # a tie of one positive and one negative at the top: precision 1/2 for that recall step
    assert pr_auc([(5, True), (5, False)]) == 0.5
    assert pr_auc([(1, False)]) is None


def test_precision_in_the_top_fraction_splits_a_tie_at_the_cut() -> None:
    scored = [(9, True)] + [(5, True), (5, False), (5, False), (5, False)] + [(1, False)] * 5
    # top 10% of 10 = 1 customer: the single 9
    assert precision_at(scored, fraction=0.1) == 1.0
    # top 30% = 3: the 9 and two of four tied at 5 (one in four positive): (1 + 2/4) / 3
    assert precision_at(scored, fraction=0.3) == pytest.approx(0.5, abs=1e-4)


def test_window_takes_the_score_in_force_at_its_start_and_nothing_from_its_end() -> None:
    points = [(0, 40.0, 2), (50, 10.0, 0), (100, 99.0, 3)]
    # opens at 20: the warning score 40 from t=0 is in force, so the warning counts from 20
    assert window_of(points=points, start=20, end=100) == (40.0, 20, 0)
    # the 99 at t=100 is at the window's end (the churn moment): excluded
    assert window_of(points=points, start=60, end=100) == (10.0, None, 0)
    assert window_of(points=[], start=0, end=10) == (0.0, None, 0)


def test_judge_uses_only_scores_before_the_churn_day() -> None:
    start, end = date(2025, 1, 1), date(2025, 8, 31)
    churn = date(2025, 6, 1)
    at_churn = midnight(churn, UTC)
    series = {
        "L": [(at_churn - 40 * DAY, 30.0, 1), (at_churn + 3600, 90.0, 3)],  # critical on the day
        "S": [(midnight(end, UTC), 50.0, 2)],  # warning on the stayer's last day
    }
    labels = [
        {"customer_id": "L", "churns": True, "churn_date": churn.isoformat(), "kind": "k"},
        {"customer_id": "S", "churns": False, "churn_date": None, "kind": "k"},
    ]
    leaver, stayer = judge(
        labels=labels, series=series, run_start=start, run_end=end, tz=UTC, group_key="kind"
    )
    assert (leaver.score, leaver.warned_day) == (30.0, None)
    assert (stayer.score, stayer.warned_day, stayer.warning_at_end) == (50.0, end, True)
