"""The engine makes exactly the same with wire_decode's structs as with the pydantic models.

A seeded bank's stream (with re-sent, redelivered and late events, as native_digest.py builds it)
is run through ``Monitor.process`` twice, once decoded by ``parse_event`` and once by
``decode_event``: every status, alert, snapshot and stored state must be byte-identical. Run in
whatever build the environment selects (compiled under ``make test``), so the compiled engine's
enforced annotations see the structs too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from churnwatch_shared.events import parse_event
from churnwatch_shared.wire_decode import decode_event, decode_fast
from churnwatch_state_monitor.engine.monitor import Monitor, Status
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.ruleset import load_ruleset
from tests.state_monitor.native_digest import NOW, stream


def _replay(records: list[tuple[int, bytes]], decode: Callable[[bytes], Any]) -> list[bytes]:
    monitor = Monitor(ruleset=load_ruleset())
    states: dict[str, bytes] = {}
    out: list[bytes] = []
    for offset, raw in records:
        event = decode(raw)
        stored = states.get(event.customer_id)
        state = CustomerState.decode(stored) if stored is not None else None
        outcome = monitor.process(state, event, now=NOW, offset=offset)
        out.append(outcome.status.value.encode())
        out.extend(b"alert " + alert.model_dump_json().encode() for alert in outcome.alerts)
        if outcome.snapshot is not None:
            out.append(outcome.snapshot)
        if outcome.status is Status.APPLIED and outcome.state is not None:
            states[event.customer_id] = encoded = outcome.state.encode()
            out.append(encoded)
    return out


def test_the_engine_makes_the_same_from_either_decode() -> None:
    records = stream(60, 150)
    fast = sum(decode_fast(raw) is not None for _, raw in records)
    assert fast > 0.9 * len(records)  # the structs really carried the replay
    slow_out, fast_out = _replay(records, parse_event), _replay(records, decode_event)
    statuses = Counter(line for line in slow_out if line.isalpha())
    assert all(statuses[s.value.encode()] > 0 for s in Status if s is not Status.ERASED)
    assert sum(line.startswith(b"alert ") for line in slow_out) > 10
    assert len(fast_out) == len(slow_out)
    for i, (a, b) in enumerate(zip(fast_out, slow_out, strict=True)):
        assert a == b, f"output {i} differs"
