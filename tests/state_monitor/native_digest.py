"""Run a seeded simulated bank through ``Monitor.process`` and print one digest of everything it made.

    python tests/state_monitor/native_digest.py CUSTOMERS DAYS

Used by test_native to compare the compiled rule engine with the interpreted one: statuses, alert
JSON, snapshot bytes and the encoded state after every event all go into the digest. The stream
also carries re-sent events (same event id), redelivered offsets and events older than the
allowed lateness, so every branch of ``process`` is taken. Prints JSON: digest, outputs (the
same without the state records: what a stored-format change must leave unchanged), counts, build.

The digest changes deliberately with a stored-format change: schema 8 (compact bytes,
``engine/state_codec``) moved it at 200 customers x 120 days from e43274b8... to 1899c33b...
while ``outputs`` stayed ec7533b1... (the engine decides exactly as before).
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson

from churnwatch_shared.events import parse_event
from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_state_monitor import ENGINE_BUILD
from churnwatch_state_monitor.engine.monitor import Monitor, Status
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.ruleset import load_ruleset

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def stream(customers: int, days: int) -> list[tuple[int, bytes]]:
    """(source offset, event bytes): the bank's events plus re-sends, redeliveries, late ones."""
    bank = SimulatedBank(config=SimulationConfig(customers=customers, days=days, seed=7))
    events = [orjson.dumps(e) for e in bank.events()]
    out: list[tuple[int, bytes]] = []
    for offset, raw in enumerate(events):
        out.append((offset, raw))
        if offset % 97 == 0:  # the producer re-sent it: new offset, same event id
            out.append((len(events) + offset, raw))
        if offset % 89 == 0 and offset:  # a consumer restart redelivers an applied offset
            out.append((offset - 1, events[offset - 1]))
        if offset % 83 == 0:  # arrives long after its customer moved on
            late = orjson.loads(raw)
            late["event_id"] += "-late"
            at = datetime.fromisoformat(late["occurred_at"]) - timedelta(days=60)
            late["occurred_at"] = at.isoformat()
            out.append((2 * len(events) + offset, orjson.dumps(late)))
    return out


def main() -> int:
    customers, days = (int(a) for a in sys.argv[1:3])
    monitor = Monitor(ruleset=load_ruleset())
    states: dict[str, bytes] = {}
    digest = hashlib.sha256()
    outputs = hashlib.sha256()  # statuses, alerts and snapshots only
    counts: Counter[str] = Counter()
    for offset, raw in stream(customers, days):
        event = parse_event(raw)
        stored = states.get(event.customer_id)
        state = CustomerState.decode(stored) if stored is not None else None
        outcome = monitor.process(state, event, now=NOW, offset=offset)
        counts[outcome.status.value] += 1
        digest.update(outcome.status.value.encode())
        outputs.update(outcome.status.value.encode())
        for alert in outcome.alerts:
            counts["alerts"] += 1
            digest.update(alert.model_dump_json().encode())
            outputs.update(alert.model_dump_json().encode())
        if outcome.snapshot is not None:
            digest.update(outcome.snapshot)
            outputs.update(outcome.snapshot)
        if outcome.status is Status.APPLIED and outcome.state is not None:
            states[event.customer_id] = encoded = outcome.state.encode()
            digest.update(encoded)
    for customer_id in sorted(states):
        snapshot = monitor.snapshot_bytes(customer_id, CustomerState.decode(states[customer_id]))
        digest.update(snapshot)
        outputs.update(snapshot)
    result = {
        "digest": digest.hexdigest(),
        "outputs": outputs.hexdigest(),
        "counts": dict(counts),
        "build": ENGINE_BUILD,
    }
    print(orjson.dumps(result).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
