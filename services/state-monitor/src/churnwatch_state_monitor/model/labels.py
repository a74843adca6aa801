"""Churn outcomes: read from the bank's OUTCOMES.csv or derived from the history itself.

A customer is positive at as-of T when their ``churned_at`` falls in (T, T + horizon]; their rows
after churn are dropped (a customer who has left is not scored for leaving again).
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

from churnwatch_shared.events import EventType
from churnwatch_state_monitor.engine.buckets import DAY
from churnwatch_state_monitor.engine.facts import cents
from churnwatch_state_monitor.model.replay import History

DERIVE: Final = "derive"
DERIVE_RULE: Final = (
    "derived from the history: churned at the account.closed that leaves the customer no open "
    "account (accounts opened in the history minus closed, or the first closure when none was "
    "seen opening), or on the first day their financial assets (balance snapshots: demand + time "
    "deposits + investments) stand at or below 20% of their highest level in the 182 days before "
    "and stay there for at least 60 days (a snapshot 60+ days later still at or below it)"
)
FILE_RULE: Final = "OUTCOMES.csv (customer_id,churned_at; empty or absent = stayed)"
_DROP_SHARE: Final = 0.2
_HIGH_DAYS: Final = 182
_STAY_DAYS: Final = 60


class OutcomesError(ValueError):
    """The outcomes file is unusable (what, where, what is accepted)."""


def read_outcomes(path: Path) -> dict[str, int]:
    """customer_id -> churned_at (epoch s) for every customer who left; refuse malformed rows."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise OutcomesError(f"{path}: cannot read outcomes ({exc.strerror})") from exc
    out: dict[str, int] = {}
    with handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or [f.strip() for f in reader.fieldnames[:2]] != [
            "customer_id",
            "churned_at",
        ]:
            raise OutcomesError(
                f"{path}:1: header must be 'customer_id,churned_at', got {reader.fieldnames!r}"
            )
        for number, rec in enumerate(reader, start=2):
            customer = (rec.get("customer_id") or "").strip()
            when = (rec.get("churned_at") or "").strip()
            if not customer:
                raise OutcomesError(f"{path}:{number}: customer_id is empty")
            if not when:
                continue  # stayed
            out[customer] = _instant(when, where=f"{path}:{number}")
    return out


def _instant(text: str, *, where: str) -> int:
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise OutcomesError(
            f"{where}: churned_at {text!r} is not an ISO date (YYYY-MM-DD) or date-time"
        ) from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp())


def derive_outcomes(history: History) -> dict[str, int]:
    """customer_id -> churned_at by ``DERIVE_RULE`` (uses the whole history: labels may)."""
    opened: dict[str, int] = {}
    closed_at: dict[str, int] = {}
    assets: dict[str, list[tuple[int, int]]] = {}
    for ev in history.events():
        kind = ev.event_type
        at = int(ev.occurred_at.timestamp())
        cid = ev.customer_id
        if kind == EventType.ACCOUNT_OPENED.value:
            opened[cid] = opened.get(cid, 0) + 1
        elif kind == EventType.ACCOUNT_CLOSED.value:
            left = opened.get(cid, 0) - 1
            opened[cid] = max(0, left)
            if left <= 0 and cid not in closed_at:
                closed_at[cid] = at
        elif kind == EventType.BALANCE_SNAPSHOT.value:
            total = sum(
                cents(b.balance)
                for b in ev.payload.balances
                if b.product_kind.value in ("demand", "time_deposit", "investment")
            )
            assets.setdefault(cid, []).append((at, total))
    out = dict(closed_at)
    for cid, series in assets.items():
        drained = _drained_at(series)
        if drained is not None and (cid not in out or drained < out[cid]):
            out[cid] = drained
    return out


def _drained_at(series: list[tuple[int, int]]) -> int | None:
    """The first snapshot at or below 20% of the 182-day high that stays so for 60 days."""
    for i, (at, value) in enumerate(series):
        high = max(v for t, v in series[: i + 1] if t >= at - _HIGH_DAYS * DAY)
        if high <= 0 or value > _DROP_SHARE * high:
            continue
        later = [(t, v) for t, v in series[i + 1 :] if t <= at + _STAY_DAYS * DAY + DAY]
        reached = any(t >= at + _STAY_DAYS * DAY for t, _ in series[i + 1 :])
        if reached and all(v <= _DROP_SHARE * high for _, v in later):
            return at
    return None


def label(*, churned_at: int | None, as_of: int, horizon_days: int) -> int | None:
    """1 when churn falls in (as_of, as_of + horizon], 0 otherwise, None once churned."""
    if churned_at is None:
        return 0
    if churned_at <= as_of:
        return None
    return 1 if churned_at <= as_of + horizon_days * DAY else 0
