"""The one-pass feature rows (model/feature_rows.py) equal the registry's feature functions,
bit for bit, on replays of both simulator profiles at as-of times across weeks and periods."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import pytest

from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_simulator.realistic import RealisticBank, RealisticConfig
from churnwatch_state_monitor.engine.buckets import DAY, WEEK
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.state import MONTH, CustomerState
from churnwatch_state_monitor.model.feature_rows import FUSED, matrix
from churnwatch_state_monitor.model.features import REGISTRY, Feature, feature_names, row
from churnwatch_state_monitor.model.replay import load_events, replay_states
from churnwatch_state_monitor.ruleset import load_ruleset

START = datetime(2025, 1, 1, tzinfo=UTC)


def _registry(st: CustomerState, at: int, names: list[str]) -> list[float]:
    return [REGISTRY[n].fn(st, at) for n in names]


def _samples(path: Path, step: float) -> Iterator[tuple[int, list[CustomerState]]]:
    """(as-of, every known state) each ``step`` days from day 3 (odd hours: mid week, mid period)."""
    history = load_events(path)
    due = history.first + 3 * DAY + 7_777
    for at, states in replay_states(
        events=history.events(), monitor=Monitor(ruleset=load_ruleset(None))
    ):
        while at > due and due < history.last + 40 * DAY:
            yield due, [states[c] for c in sorted(states)]
            due += int(step * DAY)


def _write(path: Path, events: Iterator[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


@pytest.fixture(scope="module")
def populations(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("rows")
    realistic = RealisticBank(config=RealisticConfig(customers=300, days=300, seed=8, start=START))
    classic = SimulatedBank(config=SimulationConfig(customers=150, days=200, seed=16))
    return [
        _write(root / "realistic.ndjson", realistic.events()),
        _write(root / "classic.ndjson", classic.events()),
    ]


def test_the_fused_names_are_the_registry_in_order() -> None:
    assert list(FUSED) == feature_names()


def test_fused_rows_equal_the_registry_functions_bit_for_bit(populations: list[Path]) -> None:
    names = feature_names()
    subset = names[::-3]  # another order and a subset: the per-name path
    seen: list[set[float]] = [set() for _ in names]
    compared = 0
    for path in populations:
        for at, states in _samples(path, step=9.37):
            want = np.array([_registry(st, at, names) for st in states], dtype=np.float64)
            got = matrix(states, at, names)
            if got.tobytes() != want.tobytes():
                bad = np.flatnonzero(
                    ~((got == want) | (np.isnan(got) & np.isnan(want))).all(axis=0)
                )
                pytest.fail(f"{path.name} at {at}: {[names[j] for j in bad]} differ")
            part = np.array([_registry(st, at, subset) for st in states], dtype=np.float64)
            assert matrix(states, at, subset).tobytes() == part.tobytes()
            for st in states[:: max(1, len(states) // 25)]:
                assert (
                    np.array(row(st, at, names)).tobytes()
                    == np.array(_registry(st, at, names)).tobytes()
                )
            for j, col in enumerate(want.T):
                seen[j].update(np.unique(col[~np.isnan(col)])[:50].tolist())
            compared += len(states)
    assert compared > 5_000
    # every feature took several values (moved_to_time_deposits stays 0 in both simulators:
    # the random states below cover it)
    flat = [names[j] for j, values in enumerate(seen) if len(values) < 2]
    assert flat in ([], ["moved_to_time_deposits"]), flat


def _random_state(rng: random.Random, at: int) -> CustomerState:
    """Fields the features read, drawn wide: zero, negative, missing, stale and fresh values."""

    def stamp() -> int:
        return at - rng.choice((0, 1, DAY, 30 * DAY, 89 * DAY, 91 * DAY, 400 * DAY, -DAY))

    def money() -> int:
        return rng.choice((0, -500, 1, rng.randrange(10**9)))

    st = CustomerState()
    st.demand, st.time_dep = money(), money()  # assets: their sum with investments
    st.invest, st.loans, st.peak_assets = money(), money(), money()
    st.liquid = rng.choice((None, money()))
    st.since = rng.choice((None, 0, stamp()))
    st.assets_base = rng.choice((0.0, rng.uniform(-10.0, 1e9)))
    st.adb30, st.adb90, st.adb_at = rng.uniform(-1e5, 1e8), rng.uniform(0, 1e8), rng.choice((0, 5))
    st.act_mean, st.card_mean = rng.choice((0.0, rng.uniform(0, 30))), rng.uniform(0, 1e6)
    st.weeks = rng.choice((0, 1, 20))
    st.last_act, st.newest = rng.choice((0, stamp())), stamp()
    st.payroll_last, st.payroll_gap = rng.choice((0, stamp())), rng.choice((0.0, 30.4))
    st.time_shift, st.overdue, st.penalty = money(), money(), money()
    st.dpd, st.worst_class, st.open_complaints = (
        rng.randrange(200),
        rng.randrange(5),
        rng.randrange(3),
    )
    st.products, st.accounts = rng.randrange(1 << 12), rng.randrange(-1, 6)
    st.complaints = tuple(stamp() for _ in range(rng.randrange(4)))
    st.bounces = tuple(stamp() for _ in range(rng.randrange(4)))
    st.cancels = tuple(stamp() for _ in range(rng.randrange(4)))
    st.contacts = tuple(stamp() for _ in range(rng.randrange(5)))
    top = at // WEEK
    st.flow = [
        [top - w, *(rng.choice((0, rng.randrange(10**7))) for _ in range(8))]
        for w in sorted(rng.sample(range(-1, 9), rng.randrange(8)), reverse=True)
    ]
    kept = rng.randrange(14)
    st.mtx = [rng.choice((0, rng.randrange(40))) for _ in range(kept)]
    st.mamt = [rng.randrange(10**8) for _ in range(kept)]
    st.mon = at // MONTH - rng.choice((0, 0, 1, 3, 14))
    st.mfirst = st.mon - rng.randrange(kept + 3)
    st.events = rng.randrange(1, 500)
    return st


def test_fused_rows_equal_the_registry_on_random_states() -> None:
    rng = random.Random(16)
    names = feature_names()
    for k in range(3_000):
        at = 1_735_689_600 + rng.randrange(400 * DAY)
        st = _random_state(rng, at)
        want = np.array([_registry(st, at, names)], dtype=np.float64)
        assert matrix([st], at, names).tobytes() == want.tobytes(), k


def test_a_feature_registered_later_is_computed_by_its_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    extra = Feature(name="x_later", state="scale", label="", unit="", fn=lambda s, t: 42.0 + t)
    monkeypatch.setitem(REGISTRY, "x_later", extra)
    st = CustomerState()
    names = ["assets", "x_later", "txns_4w"]
    assert matrix([st], 7, names).tolist() == [[_registry(st, 7, ["assets"])[0], 49.0, 0.0]]
    assert row(st, 7, names)[1] == 49.0
