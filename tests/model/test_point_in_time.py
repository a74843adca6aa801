"""Features at an as-of time T depend only on events at or before T, whatever the file holds after."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_state_monitor.engine.buckets import DAY
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.model.features import REGISTRY, Feature, feature_names, register
from churnwatch_state_monitor.model.replay import (
    EventsError,
    load_events,
    monthly_as_of,
    sample_features,
)
from churnwatch_state_monitor.ruleset import load_ruleset

T = int(datetime(2025, 3, 15, tzinfo=UTC).timestamp())
T2 = int(datetime(2025, 4, 20, tzinfo=UTC).timestamp())


def _at(line: bytes) -> int:
    return int(datetime.fromisoformat(orjson.loads(line)["occurred_at"]).timestamp())


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    bank = SimulatedBank(config=SimulationConfig(customers=40, days=150, seed=3))
    return [orjson.dumps(e) for e in bank.events()]


def _features(path: Path, as_of: list[int]) -> dict[int, dict[str, list[float]]]:
    names = feature_names()
    samples = sample_features(
        history=load_events(path),
        monitor=Monitor(ruleset=load_ruleset(None)),
        as_of=as_of,
        names=names,
    )
    return {s.as_of: dict(zip(s.customer_ids, s.rows, strict=True)) for s in samples}


def _same(a: list[float], b: list[float]) -> bool:
    return all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_features_at_t_ignore_later_events(lines: list[bytes], tmp_path: Path) -> None:
    before = [x for x in lines if _at(x) <= T]
    after = [x for x in lines if _at(x) > T]
    assert before and after
    # later events shuffled and some placed before earlier ones in the file: time order decides
    mixed = after[:]
    random.Random(5).shuffle(mixed)
    mixed = mixed[:200] + before + mixed[200:]
    full = _features(_write(tmp_path / "full.ndjson", lines), [T, T2])
    cut = _features(_write(tmp_path / "cut.ndjson", before), [T])
    shuffled = _features(_write(tmp_path / "mixed.ndjson", mixed), [T])
    assert sorted(full[T]) == sorted(cut[T]) == sorted(shuffled[T])
    for customer, row in cut[T].items():
        assert _same(row, full[T][customer]), customer
        assert _same(row, shuffled[T][customer]), customer
    # the later sample did see the later events: the check above is not vacuous
    changed = [c for c in cut[T] if not _same(cut[T][c], full[T2][c])]
    assert len(changed) >= len(cut[T]) // 2


def test_silence_is_judged_at_the_as_of_time(lines: list[bytes], tmp_path: Path) -> None:
    before = [x for x in lines if _at(x) <= T]
    later = T + 30 * DAY
    got = _features(_write(tmp_path / "cut.ndjson", before), [T, later])
    j = feature_names().index("days_since_activity")
    k = feature_names().index("txns_4w")
    for customer, row in got[T].items():
        if not math.isnan(row[j]):  # no event after T in this file: 30 more idle days
            assert got[later][customer][j] == pytest.approx(row[j] + 30)
        assert got[later][customer][k] == 0  # the 4-week window has emptied


def test_a_registered_feature_reaches_the_samples(lines: list[bytes], tmp_path: Path) -> None:
    register(
        Feature(
            name="events_seen",
            state="engagement",
            label="events seen",
            unit="",
            fn=lambda s, t: float(s.events),
        )
    )
    try:
        assert "events_seen" in feature_names()
        got = _features(_write(tmp_path / "e.ndjson", lines), [T])
        j = feature_names().index("events_seen")
        assert all(row[j] >= 1 for row in got[T].values())
    finally:
        del REGISTRY["events_seen"]


def test_default_as_of_dates_are_monthly_with_a_full_horizon() -> None:
    first = int(datetime(2025, 1, 10, tzinfo=UTC).timestamp())
    last = int(datetime(2025, 12, 31, tzinfo=UTC).timestamp())
    dates = [
        datetime.fromtimestamp(t, UTC).date().isoformat()
        for t in monthly_as_of(first=first, last=last, horizon_days=90)
    ]
    assert dates == [f"2025-{m:02d}-01" for m in range(3, 11)]  # Feb 1 is < 28 days in


def test_invalid_lines_are_refused_with_their_line_number(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.ndjson", [b"{}", b'{"event_type": "nope"}'])
    with pytest.raises(EventsError, match=r"bad.ndjson:1: no readable occurred_at"):
        load_events(path)
    path = _write(tmp_path / "bad.ndjson", [b'{"occurred_at": "2025-01-01T00:00:00+00:00"}'])
    history = load_events(path)  # indexed by time; the contract is checked during the replay
    with pytest.raises(EventsError, match=r"bad.ndjson:1: "):
        list(history.events())
