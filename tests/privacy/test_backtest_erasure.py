"""The backtest replays an erasure like the worker: the customer's state goes (later events
start a new one), and the other customers' states and alerts are exactly as without it."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson

from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_state_monitor.backtest import replay
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset
from tests.state_monitor.test_erasure_apply import _erasure


def _run(lines: list[bytes]) -> tuple[dict, list[dict], Counter[str]]:
    alerts = io.BytesIO()
    states, counts = replay(
        lines=io.BytesIO(b"\n".join(lines)),
        monitor=Monitor(ruleset=load_ruleset(None)),
        alerts_out=alerts,
        errors=io.StringIO(),
    )
    return states, [orjson.loads(x) for x in alerts.getvalue().splitlines()], counts


def test_backtest_drops_an_erased_customer() -> None:
    events = list(SimulatedBank(config=SimulationConfig(customers=6, days=200, seed=11)).events())
    customers = sorted({e["customer_id"] for e in events})
    gone = customers[0]
    middle = len(events) // 2
    at = datetime.fromisoformat(events[middle]["occurred_at"]).astimezone(UTC)
    lines = [orjson.dumps(e) for e in events]
    erased = [*lines[:middle], _erasure(gone, at + timedelta(seconds=1)), *lines[middle:]]
    mine_after = [e for e in events[middle:] if e["customer_id"] == gone]

    states, alerts, counts = _run(erased)
    baseline, base_alerts, _ = _run(lines)
    assert counts["erased"] == 1
    # the customer's state holds only what came after the erasure
    assert states[gone].events == len(mine_after) < baseline[gone].events
    for other in customers[1:]:
        assert states[other].encode() == baseline[other].encode()
    assert [a for a in alerts if a["customer_id"] != gone] == [
        a for a in base_alerts if a["customer_id"] != gone
    ]
