"""The detection benchmark's ceiling (bench/detection_ceiling.py): its posterior on hand-made
observations, its daily points, its warning line and that it is judged by detection_metrics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import orjson

import bench.detection_ceiling as ceiling
import bench.detection_metrics as metrics

DAYS = 200
RATE = 20 / 30  # customer-initiated transactions a day
START = date(2025, 1, 1)


def _steady(days: int = DAYS) -> np.ndarray:
    """Exactly the expected activity, spread evenly: 20 a month."""
    return np.diff(np.floor(np.arange(days + 1) * RATE))


def _posterior(rows: list[np.ndarray], contacts: list[np.ndarray] | None = None) -> np.ndarray:
    spend = np.stack(rows)
    contact = np.stack(contacts) if contacts else np.zeros_like(spend)
    out = ceiling.posterior_series(
        spend=spend, contact=contact, rates=np.full(len(rows), RATE), horizons=(90,)
    )
    return out[90]


def test_the_posterior_rises_with_a_fade_and_falls_back_after_a_holiday() -> None:
    steady = _steady()
    fading = steady.copy()
    fading[100:] = 0  # a fade (faster than the simulator's) from day 100: nothing from day 130
    for d in range(100, 130):
        fading[d] = steady[d] if (d - 100) % 3 == 0 else 0
    holiday = steady.copy()
    holiday[100:125] = 0  # 25 days away, then as before
    post = _posterior([steady, fading, holiday])
    assert post[0, 160] < 0.1  # steady at the own rate: the prior (a fade may still begin)
    assert post[1, 99] < 0.1 and post[1, 110] < post[1, 129] and post[1, 135] > 0.5  # it grows
    # ten silent days after the last sign of life: some of the mass says "already left" (not a
    # churn still ahead), so the posterior of a churn to come falls again
    assert post[1, 140] < post[1, 135]
    # a busy customer who stops dead is on holiday (a fade keeps 15% of the activity until the
    # end), and one who comes back never was a leaver
    assert post[2, 115] < post[1, 115] and post[2, 160] < 0.01


def test_contacts_raise_the_posterior_and_no_posterior_leaves_0_1() -> None:
    steady = _steady()
    calls = np.zeros(DAYS)
    calls[[120, 130, 140]] = 1  # a contact leaver's pace (1.5 a month), not the usual 0.03
    post = _posterior([steady, steady], [np.zeros(DAYS), calls])
    assert post[1, 141] > 3 * post[0, 141]
    assert ((post >= 0) & (post <= 1)).all()


def test_observations_count_only_what_the_customer_chose() -> None:
    def line(day: int, event_type: str, payload: dict) -> bytes:
        at = datetime(2025, 1, 1, 10, tzinfo=UTC) + timedelta(days=day)
        return orjson.dumps(
            {
                "customer_id": "c",
                "occurred_at": at.isoformat(),
                "event_type": event_type,
                "payload": payload,
            }
        )

    lines = [
        line(1, "transaction.posted", {"category": "card_spend", "direction": "debit"}),
        line(1, "transaction.posted", {"category": "cash", "direction": "debit"}),
        line(2, "transaction.posted", {"category": "cash", "direction": "credit"}),  # income
        line(2, "transaction.posted", {"category": "payroll_credit", "direction": "credit"}),
        line(
            3,
            "transaction.posted",
            {"category": "interbank_transfer", "counterparty_kind": "person"},
        ),
        line(
            3,
            "transaction.posted",
            {"category": "interbank_transfer", "counterparty_kind": "own_account"},
        ),
        line(4, "contact.logged", {"initiated_by": "customer"}),
        line(4, "complaint.filed", {}),
        line(5, "contact.logged", {"initiated_by": "bank"}),
    ]
    spend, contact = ceiling.observations(lines=lines, ids={"c": 0}, start=START, days=7, tz=UTC)
    assert spend[0].tolist() == [0, 2, 0, 1, 0, 0, 0]
    assert contact[0].tolist() == [0, 0, 0, 0, 1, 0, 0]  # at most one a day, as simulated


def test_the_warning_line_spends_the_stayer_budget() -> None:
    def judged(score: float, leaver: bool) -> metrics.Judged:
        return metrics.Judged("x", "g", leaver, score, None, False, None)

    rows = [judged(float(s), False) for s in range(1, 21)] + [judged(50.0, True)]
    cut = ceiling.cut_for_share(rows, share=0.1)
    assert sum(1 for r in rows if not r.leaver and r.score >= cut) == 2  # 10% of 20
    assert 18.0 < cut <= 18.0 + 1e-9  # just above the stayer outside the budget


def test_the_ceiling_is_judged_by_the_benchmarks_own_windows() -> None:
    # shared, not copied: the very functions of detection_metrics
    assert ceiling.judge is metrics.judge and ceiling.summarise is metrics.summarise
    labels = [
        {
            "customer_id": "L",
            "kind": "k",
            "fate": "quiet_leaver",
            "churns": True,
            "churn_date": "2025-05-01",
            "drift_start_date": "2025-03-01",
        },
        {
            "customer_id": "S",
            "kind": "k",
            "fate": "stays",
            "churns": False,
            "churn_date": None,
            "drift_start_date": None,
        },
    ]
    scores = np.zeros((2, 150))
    churn = (date(2025, 5, 1) - START).days
    scores[0, churn - 1] = 0.9  # the day before churn: inside the window
    scores[0, churn] = 1.0  # the churn day itself: outside (no look-ahead)
    scores[1, 100] = 0.5
    series = ceiling.daily_points(scores=scores, ids=["L", "S"], start=START, tz=UTC)
    end = START + timedelta(days=149)
    cut, by = ceiling.judged_at_budget(
        series=series, labels=labels, run_start=START, run_end=end, tz=UTC
    )
    leaver = next(j for j in by["kind"] if j.leaver)
    assert leaver.score == 0.9 and leaver.warned_day == date(2025, 4, 30)
    direct = metrics.judge(
        labels=labels,
        series=ceiling.at_cut(series, cut=cut),
        run_start=START,
        run_end=end,
        tz=UTC,
        group_key="kind",
    )
    assert direct == by["kind"]


def test_the_oracle_is_the_fade_progress() -> None:
    labels: list[dict[str, Any]] = [
        {"churns": True, "drift_start_date": "2025-01-11", "churn_date": "2025-01-21"},
        {"churns": False},
    ]
    oracle = ceiling.oracle_series(labels=labels, start=START, days=30)
    assert oracle[1].max() == 0.0
    assert oracle[0, 10] == 0.0 and oracle[0, 15] == 0.5 and oracle[0, 19] == 0.9
    assert oracle[0, 20] == 0.0  # churned: nothing to judge


def test_the_ideal_score_of_issue_15_cause_2s_customer_rises_less_than_10_points() -> None:
    # tests/state_monitor/test_detection_causes.py cause 2 (strict xfail): two postings a month
    # (days 4 and 18) until day 150, then one at day 178; judged at day 206. Under the
    # simulator's own model, with the true rate, P(leaves within 90 days) rises 12.4% -> 18.6%
    days = 207
    spend = np.zeros((1, days))
    for day in range(days):
        spend[0, day] = day < 150 and day % 30 in (4, 18)
    spend[0, 178] = 1
    post = ceiling.posterior_series(
        spend=spend, contact=np.zeros((1, days)), rates=np.array([2 / 30]), horizons=(90,)
    )[90][0]
    assert post[206] > post[149] + 0.03  # the fade is seen
    assert post[206] < post[149] + 0.10  # but not as 10 points on a calibrated scale
