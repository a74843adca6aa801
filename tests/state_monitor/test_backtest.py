"""The backtest CLI replays a file through the same code path as the worker."""

from __future__ import annotations

from pathlib import Path

import orjson

from churnwatch_shared.alerts import Alert
from churnwatch_shared.customer_state import CustomerStateSnapshot
from churnwatch_state_monitor.backtest import main
from tests.state_monitor.events import at, outflow, snapshot


def test_backtest_writes_alerts_and_states(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    lines = [
        snapshot("s1", "c1", at(0), demand="100000.00"),
        outflow("e1", "c1", at(1), "80000.00"),
        outflow("e1", "c1", at(1), "80000.00"),
    ]
    events.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n{bad\n")
    out, states = tmp_path / "alerts.ndjson", tmp_path / "states.ndjson"
    assert main([str(events), "--out", str(out), "--states", str(states)]) == 0
    alerts = [Alert.model_validate_json(x) for x in out.read_bytes().splitlines()]
    assert [a.rule_id for a in alerts] == ["account_flow.large_interbank_outflow"]
    [snap] = [
        CustomerStateSnapshot.model_validate_json(x) for x in states.read_bytes().splitlines()
    ]
    assert snap.events_applied == 2

    # a replay yields the same alert ids
    again = tmp_path / "again.ndjson"
    assert main([str(events), "--out", str(again)]) == 0
    assert [Alert.model_validate_json(x).alert_id for x in again.read_bytes().splitlines()] == [
        a.alert_id for a in alerts
    ]
