"""The model's point-in-time replay treats erasures and partitions as the worker does.

- An erased customer's state leaves the replay, so nothing of theirs reaches a training sample
  (issue 19: erasure everywhere).
- Silence watermarks are sharded by the configured partition count, not a fixed 8, so dormancy in
  the features fires at the same event time as in the worker (issue 18: nothing hard-codes 8).
"""

from __future__ import annotations

import pytest

from churnwatch_shared.events import parse_event
from churnwatch_state_monitor.engine import stability
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model.replay import replay_states
from churnwatch_state_monitor.ruleset import load_ruleset
from tests.state_monitor.events import at, txn, wire
from tests.state_monitor.test_backtest_partitions import _apart_under_16
from tests.state_monitor.test_silence import busy


def _final_states(events: list[dict]) -> dict:
    parsed = [parse_event(wire(e)) for e in events]
    states: dict = {}
    for _, live in replay_states(events=parsed, monitor=Monitor(ruleset=load_ruleset())):
        states = live
    return states


def test_an_erased_customer_leaves_the_replay() -> None:
    erasure = {
        "event_id": "er-1",
        "event_type": "customer.erasure_requested",
        "occurred_at": at(5),
        "customer_id": "gone-1",
        "payload": {"erasure_id": "er-1"},
    }
    events = [txn("g0", "gone-1", at(0)), txn("k0", "kept-1", at(1)), erasure]
    states = _final_states(events)
    assert "gone-1" not in states
    assert "kept-1" in states


def _dormant(state: CustomerState) -> bool:
    """The state remembers a dormancy alert (its cooldown entry)."""
    monitor = Monitor(ruleset=load_ruleset())
    return monitor.registry.code_of[stability.DORMANCY] in state.cool


def test_silence_follows_the_configured_partition_count(monkeypatch: pytest.MonkeyPatch) -> None:
    silent, other = _apart_under_16()
    events = [txn("s0", silent, at(0)), *busy(other, range(90))]
    assert _dormant(_final_states(events)[silent])  # one shared watermark under 8
    monkeypatch.setenv("CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS", "16")
    assert not _dormant(_final_states(events)[silent])  # its own partition saw nothing later
