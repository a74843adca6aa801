"""Per-customer detection metrics (pure): score windows, ROC AUC, PR AUC, precision in the top 10%.

Definitions (issue 15, deliverable 4):
- A customer's **window** ends at its churn date (leavers; the churn day itself excluded, so no
  score from the day the money left or later counts) or after the last simulated day (stayers),
  and starts ``WINDOW_DAYS`` earlier, but never before ``WARMUP_DAYS`` after the run's start
  (baselines need history; an early-churning leaver gets a shorter window, never look-ahead).
- The score **in force** at the window's start (the last one before it) counts as if set then.
- **Score** per customer: the maximum churn score in its window. Leavers are the positives.
- **Warning** per customer: its churn level was warning or above at some moment of its window.
  Recall at warning: share of leavers at warning; stayers at warning: share of stayers at warning
  (the false alarms a manager sees); "at end": the level in force when the window closes.
- **Lead**: churn date minus the day the leaver was first at warning or above in its window.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

WINDOW_DAYS = 90
WARMUP_DAYS = 28
WARNING = 2
TOP_FRACTION = 0.10

Point = tuple[int, float, int]  # (epoch seconds, score, level index)


@dataclass(frozen=True, slots=True)
class Judged:
    """One customer's outcome and what the engine showed in its window."""

    customer_id: str
    group: str
    leaver: bool
    score: float  # max in window
    warned_day: date | None  # first day at warning or above in the window
    warning_at_end: bool
    churn_date: date | None


def window_of(*, points: Sequence[Point], start: int, end: int) -> tuple[float, int | None, int]:
    """(max score, first epoch at warning+ or None, level in force at end) over [start, end)."""
    best, first, level = 0.0, None, 0
    for at, score, lvl in points:  # in time order
        if at >= end:
            break
        if at < start:
            best, level = score, lvl  # in force when the window opens
            first = start if lvl >= WARNING else None
            continue
        best, level = max(best, score), lvl
        if first is None and lvl >= WARNING:
            first = at
    return best, first, level


def midnight(day: date, tz: tzinfo) -> int:
    """Epoch seconds of ``day``'s start in ``tz``."""
    return int(datetime.combine(day, time(), tzinfo=tz).timestamp())


def judge(
    *,
    labels: Sequence[dict[str, Any]],
    series: dict[str, list[Point]],
    run_start: date,
    run_end: date,
    tz: tzinfo,
    group_key: str,
) -> list[Judged]:
    """Every labelled customer judged on its window (definitions in the module docstring)."""
    earliest = run_start + timedelta(days=WARMUP_DAYS)
    out = []
    for label in labels:
        leaver = bool(label["churns"])
        close = date.fromisoformat(label["churn_date"]) if leaver else run_end + timedelta(days=1)
        opens = max(earliest, close - timedelta(days=WINDOW_DAYS))
        if opens >= close:
            continue  # churned during the warm-up: nothing fair to judge
        best, first, level = window_of(
            points=series.get(label["customer_id"], []),
            start=midnight(opens, tz),
            end=midnight(close, tz),
        )
        warned = datetime.fromtimestamp(first, tz).date() if first is not None else None
        out.append(
            Judged(
                customer_id=label["customer_id"],
                group=str(label[group_key]),
                leaver=leaver,
                score=best,
                warned_day=warned,
                warning_at_end=level >= WARNING,
                churn_date=close if leaver else None,
            )
        )
    return out


def roc_auc(*, positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """Probability that a random positive outscores a random negative (ties count half)."""
    if not positives or not negatives:
        return None
    ranked = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + 1 + j) / 2  # average 1-based rank of the tie group
        rank_sum += mid * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    p, n = len(positives), len(negatives)
    return round((rank_sum - p * (p + 1) / 2) / (p * n), 4)


def _tie_groups(scored: Sequence[tuple[float, bool]]) -> list[tuple[int, int]]:
    """(size, positives) per distinct score, highest score first."""
    groups: list[tuple[int, int]] = []
    last = None
    for score, positive in sorted(scored, key=lambda x: -x[0]):
        if groups and score == last:
            size, pos = groups[-1]
            groups[-1] = (size + 1, pos + positive)
        else:
            groups.append((1, int(positive)))
        last = score
    return groups


def pr_auc(scored: Sequence[tuple[float, bool]]) -> float | None:
    """Average precision: precision at each distinct threshold weighted by the recall it adds."""
    total = sum(1 for _, p in scored if p)
    if not total:
        return None
    seen = hits = 0
    ap = 0.0
    for size, pos in _tie_groups(scored):
        seen += size
        hits += pos
        ap += (pos / total) * (hits / seen)
    return round(ap, 4)


def precision_at(scored: Sequence[tuple[float, bool]], *, fraction: float) -> float | None:
    """Share of positives among the top ``fraction`` (ties at the cut split evenly, in expectation)."""
    if not scored:
        return None
    k = max(1, math.ceil(fraction * len(scored)))
    taken = hits = 0.0
    for size, pos in _tie_groups(scored):
        room = k - taken
        if room <= 0:
            break
        take = min(size, room)
        hits += pos * take / size
        taken += take
    return round(hits / k, 4)


def _share(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarise(judged: Sequence[Judged], *, others: Sequence[Judged] = ()) -> dict[str, Any]:
    """ROC AUC, PR AUC, precision in the top 10%, recall at warning, lead, stayers at warning.

    A group of one class only (e.g. one fate) is ranked against ``others``' opposite class for
    its AUC; its PR AUC and precision are then left out (they would say nothing).
    """
    leavers = [j for j in judged if j.leaver]
    stayers = [j for j in judged if not j.leaver]
    mixed = bool(leavers) and bool(stayers)
    scored = [(j.score, j.leaver) for j in judged]
    pos = leavers or [j for j in others if j.leaver]
    neg = stayers or [j for j in others if not j.leaver]
    leads = [
        (j.churn_date - j.warned_day).days
        for j in leavers
        if j.warned_day is not None and j.churn_date is not None
    ]
    return {
        "customers": len(judged),
        "leavers": len(leavers),
        "roc_auc": roc_auc(positives=[j.score for j in pos], negatives=[j.score for j in neg]),
        "pr_auc": pr_auc(scored) if mixed else None,
        "precision_top10": precision_at(scored, fraction=TOP_FRACTION) if mixed else None,
        "recall_warning": _share(len(leads), len(leavers)),
        "median_lead_days": float(statistics.median(leads)) if leads else None,
        "recall_warning_lead_30d": _share(sum(1 for x in leads if x >= 30), len(leavers)),
        "stayers_warning_share": _share(sum(1 for j in stayers if j.warned_day), len(stayers)),
        "stayers_warning_at_end_share": _share(
            sum(1 for j in stayers if j.warning_at_end), len(stayers)
        ),
        "mean_score_leavers": round(statistics.fmean(j.score for j in leavers), 2)
        if leavers
        else None,
        "mean_score_stayers": round(statistics.fmean(j.score for j in stayers), 2)
        if stayers
        else None,
    }


def by_group(judged: Sequence[Judged]) -> dict[str, dict[str, Any]]:
    """``summarise`` per group (customer kind, fate or pattern); one-class groups vs the rest."""
    groups: dict[str, list[Judged]] = {}
    for j in judged:
        groups.setdefault(j.group, []).append(j)
    return {g: summarise(rows, others=judged) for g, rows in sorted(groups.items())}
