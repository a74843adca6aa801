"""`--outcomes derive`: churn from the history itself (all accounts closed, or funds drained)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson

from churnwatch_state_monitor.model.labels import derive_outcomes
from churnwatch_state_monitor.model.replay import load_events
from tests.state_monitor.events import at, raw, snapshot


def _load(tmp_path: Path, events: list[dict]) -> dict[str, str]:
    path = tmp_path / "e.ndjson"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    got = derive_outcomes(load_events(path))
    return {c: datetime.fromtimestamp(t, UTC).date().isoformat() for c, t in got.items()}


def _opened(eid: str, c: str, when: str, account: str) -> dict:
    return raw(eid, c, when, "account.opened", {"product_kind": "demand", "currency": "CNY"},
               account_id=account)  # fmt: skip


def _closed(eid: str, c: str, when: str, account: str) -> dict:
    return raw(eid, c, when, "account.closed", {"product_kind": "demand"}, account_id=account)


def test_churned_when_the_last_open_account_closes(tmp_path: Path) -> None:
    events = [
        _opened("o1", "A", at(0), "A-1"),
        _opened("o2", "A", at(1), "A-2"),
        _closed("c1", "A", at(10), "A-1"),  # one account still open: not churn
        _closed("c2", "A", at(40), "A-2"),
        _opened("o3", "B", at(0), "B-1"),
        _opened("o4", "B", at(0), "B-2"),
        _closed("c3", "B", at(20), "B-1"),
    ]
    assert _load(tmp_path, events) == {"A": at(40)[:10]}


def test_churned_when_funds_stay_drained_for_60_days(tmp_path: Path) -> None:
    def series(c: str, values: list[str]) -> list[dict]:
        return [snapshot(f"{c}{i}", c, at(i * 15), demand=v) for i, v in enumerate(values)]

    drained = series("D", ["10000.00", "12000.00", "1500.00", "1000.00", "900.00", "1200.00",
                           "800.00"])  # fmt: skip
    recovered = series("R", ["10000.00", "12000.00", "1500.00", "1000.00", "9000.00", "9000.00",
                             "9000.00"])  # fmt: skip
    too_short = series("S", ["10000.00", "12000.00", "1500.00", "1000.00"])  # < 60 days seen
    assert _load(tmp_path, drained + recovered + too_short) == {"D": at(30)[:10]}
