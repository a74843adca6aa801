"""The monitor's domain logic without Kafka: state updates, rules, duplicates, lateness, cooldown."""

from __future__ import annotations

import hashlib
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from churnwatch_shared.alerts import Alert, Severity, alert_id_for
from churnwatch_shared.customer_state import CustomerStateSnapshot
from churnwatch_state_monitor.engine import account_flow
from churnwatch_state_monitor.engine.monitor import Monitor, Outcome, Status
from churnwatch_state_monitor.engine.state import (
    SCHEMA_4_COOLDOWN_ORDER,
    STATE_SCHEMA,
    CustomerState,
)
from churnwatch_state_monitor.ruleset import load_ruleset
from tests.state_monitor.events import at, model, outflow, raw, snapshot, txn

NOW = datetime(2025, 12, 1, tzinfo=UTC)
C = "cust-1"


class Feed:
    """Runs events through one Monitor, keeping the customer's state like the table would."""

    def __init__(self, monitor: Monitor | None = None) -> None:
        self.monitor = monitor or Monitor(ruleset=load_ruleset())
        self.state: CustomerState | None = None
        self.alerts: list[Alert] = []

    def send(self, obj: dict[str, Any]) -> Outcome:
        out = self.monitor.process(self.state, model(obj), now=NOW)
        if out.state is not None:
            # round-trip through the table encoding, as the worker does
            self.state = CustomerState.decode(out.state.encode())
        self.alerts.extend(out.alerts)
        return out

    def rule_ids(self) -> list[str]:
        return [a.rule_id for a in self.alerts]


def test_large_interbank_outflow_from_balance_after() -> None:
    feed = Feed()
    out = feed.send(outflow("e1", C, at(0), "60000.00", balance_after="40000.00"))
    assert out.status is Status.APPLIED
    [alert] = out.alerts
    assert alert.rule_id == account_flow.LARGE_INTERBANK_OUTFLOW
    assert alert.alert_id == alert_id_for(customer_id=C, rule_id=alert.rule_id, condition_key="e1")
    assert alert.observed == pytest.approx(0.6)
    assert alert.baseline == "100000.00"
    assert alert.window == "event"
    assert alert.evidence_event_ids == ["e1"]
    assert alert.severity is Severity.WARNING
    assert alert.ruleset_version == feed.monitor.rs.version
    assert alert.reasons[0].state == "account_flow"


def test_large_interbank_outflow_from_last_known_snapshot_balance() -> None:
    feed = Feed()
    feed.send(snapshot("s1", C, at(0), demand="100000.00"))
    out = feed.send(outflow("e1", C, at(1), "95000.00"))
    assert [a.rule_id for a in out.alerts] == [account_flow.LARGE_INTERBANK_OUTFLOW]
    assert out.alerts[0].severity is Severity.CRITICAL  # >= critical_share (0.9)


@pytest.mark.parametrize(
    "event",
    [
        outflow("e1", C, at(1), "40000.00"),  # below half of the balance
        txn("e1", C, at(1), amount="80000.00", category="internal_transfer", own_bank=True),
        txn("e1", C, at(1), direction="credit", amount="80000.00", own_bank=False),
    ],
)
def test_no_large_outflow_alert_when_not_interbank_debit_over_share(event: dict) -> None:
    feed = Feed()
    feed.send(snapshot("s1", C, at(0), demand="100000.00"))
    out = feed.send(event)
    assert account_flow.LARGE_INTERBANK_OUTFLOW not in [a.rule_id for a in out.alerts]


def test_no_alert_without_a_known_balance() -> None:
    assert Feed().send(outflow("e1", C, at(0), "80000.00")).alerts == []


def test_duplicate_event_changes_nothing_and_alerts_once() -> None:
    feed = Feed()
    feed.send(snapshot("s1", C, at(0), demand="100000.00"))
    first = feed.send(outflow("e1", C, at(1), "80000.00"))
    encoded = feed.state.encode()
    again = feed.send(outflow("e1", C, at(1), "80000.00"))
    assert len(first.alerts) == 1
    assert again.status is Status.DUPLICATE and again.state is None and again.alerts == []
    assert feed.state.encode() == encoded


def test_cooldown_suppresses_same_rule_unless_severity_rises() -> None:
    feed = Feed()
    feed.send(snapshot("s1", C, at(0), demand="100000.00"))
    feed.send(outflow("e1", C, at(1), "60000.00"))  # warning
    feed.send(snapshot("s2", C, at(2), demand="100000.00"))
    feed.send(outflow("e2", C, at(3), "60000.00"))  # warning again: within cooldown
    feed.send(snapshot("s3", C, at(4), demand="100000.00"))
    feed.send(outflow("e3", C, at(5), "95000.00"))  # critical: severity rises
    large = [a for a in feed.alerts if a.rule_id == account_flow.LARGE_INTERBANK_OUTFLOW]
    assert [(a.evidence_event_ids, a.severity) for a in large] == [
        (["e1"], Severity.WARNING),
        (["e3"], Severity.CRITICAL),
    ]


def test_late_event_is_counted_not_merged() -> None:
    feed = Feed()
    feed.send(snapshot("s1", C, at(10), demand="100000.00"))
    before = feed.state.encode()
    out = feed.send(outflow("old", C, at(5), "90000.00", balance_after="10000.00"))
    assert out.status is Status.LATE and out.alerts == []
    assert feed.state.encode() == before


def test_out_of_order_within_lateness_lands_in_its_window() -> None:
    feed = Feed()
    feed.send(txn("t2", C, at(8), direction="credit", amount="500.00", category="other"))
    feed.send(txn("t1", C, at(6), direction="credit", amount="200.00", category="other"))
    inflow = feed.state.window(column=1, buckets=5)
    assert inflow == 70000  # both, in cents
    assert [row[0] for row in feed.state.flow] == sorted(row[0] for row in feed.state.flow)


def test_state_record_stays_under_one_kib_when_full() -> None:
    feed = Feed()
    feed.send(
        raw(
            "p",
            C,
            at(0),
            "customer.profile",
            {
                "segment": "retail",
                "tier": "private_banking",
                "branch_id": "BR001",
                "customer_since": "2015-01-01",
            },
        )
    )
    day = 0.0
    for i in range(200):
        day += 0.35
        feed.send(
            txn(
                f"event-{i:06d}-{'x' * 24}",
                C,
                at(day),
                amount="1234.56",
                balance_after="7000000.00",
            )
        )
    for i in range(10):
        feed.send(raw(f"cx{i}", C, at(day), "product.cancelled", {"product": "fund"}))
        feed.send(
            raw(
                f"cp{i}",
                C,
                at(day),
                "complaint.filed",
                {"complaint_id": f"k{i}", "category": "service"},
            )
        )
        feed.send(
            raw(
                f"pb{i}",
                C,
                at(day),
                "payment.bounced",
                {"amount": "10.00", "currency": "CNY", "reason": "insufficient"},
            )
        )
    feed.send(
        snapshot(
            "s1",
            C,
            at(day),
            demand="5500000.00",
            time_deposit="100000.00",
            investment="50000.00",
            loan="300000.00",
        )
    )
    size = len(feed.state.encode())
    assert size <= 1024, size


def test_snapshot_matches_the_wire_contract() -> None:
    feed = Feed()
    out = feed.send(snapshot("s1", C, at(0), demand="120000.50", time_deposit="30000.00"))
    snap = CustomerStateSnapshot.model_validate_json(out.snapshot)
    assert snap.customer_id == C and snap.events_applied == 1
    assert snap.states["scale"].metrics["financial_assets"] == "150000.50"
    assert set(snap.states) == {"scale", "stability", "risk", "account_flow", "product_usage"}


def test_redelivered_offset_is_skipped_even_beyond_the_dedup_window() -> None:
    monitor = Monitor(ruleset=load_ruleset())
    state = None
    for offset in range(30):  # more events than the event-id dedup window remembers
        out = monitor.process(
            state, model(txn(f"t{offset}", C, at(0, hours=offset))), now=NOW, offset=offset
        )
        assert out.status is Status.APPLIED
        state = CustomerState.decode(out.state.encode())
    again = monitor.process(state, model(txn("t0", C, at(0))), now=NOW, offset=0)
    assert again.status is Status.REDELIVERED
    assert again.state.events == 30 and not again.alerts
    fresh = monitor.process(state, model(txn("t30", C, at(2))), now=NOW, offset=30)
    assert fresh.status is Status.APPLIED and fresh.state.off == 30


def test_largest_interbank_debit_is_kept_per_week_and_old_records_still_decode() -> None:
    feed = Feed()
    feed.send(txn("own", C, at(0), amount="900.00", balance_after="1000.00"))
    assert len(feed.state.flow[-1]) == 8  # no interbank debit yet: no extra column
    feed.send(outflow("o1", C, at(0.1), "30.00", balance_after="70.00"))
    feed.send(outflow("o2", C, at(0.2), "50.00", balance_after="20.00"))
    assert feed.state.flow[-1][8] == 50  # the largest single transfer, whole units
    assert feed.state.month_flow()[4] == 50  # the 30-day window's largest
    old = orjson.loads(_schema3(_json(feed.state), ["own", "o1", "o2"]))
    old[0] = 2
    for row in old[_position("flow")]:
        del row[8:]
    state = CustomerState.decode(orjson.dumps(old))
    assert state.v == STATE_SCHEMA and state.month_flow()[4] == 0


def _json(state: CustomerState) -> bytes:
    """The record as schema 1-7 stored it: its field values as a JSON array."""
    return orjson.dumps(state.field_values())


def _position(name: str) -> int:
    return [f.name for f in fields(CustomerState)].index(name)


def _schema3(record: bytes, event_ids: list[str]) -> bytes:
    """The record as schema 3 wrote it: the remembered event ids as 48-bit blake2b integers."""
    old = orjson.loads(record)
    del old[_position("fading") + 1 :]  # schema 3-5 records end at `fading`
    old[0] = 3
    old[_position("seen")] = [
        int.from_bytes(hashlib.blake2b(e.encode(), digest_size=6).digest(), "big")
        for e in event_ids
    ]
    old[_position("cool")] = {  # cooldowns by the rule's position (schema 1-4)
        str(SCHEMA_4_COOLDOWN_ORDER.index(code)): memory
        for code, memory in old[_position("cool")].items()
    }
    return orjson.dumps(old)


def test_schema3_record_decodes_to_the_same_state_and_still_catches_resent_events() -> None:
    feed = Feed()
    ids = [f"e{i}" for i in range(15)]
    for i, event_id in enumerate(ids):
        feed.send(txn(event_id, C, at(i / 10)))
    current = feed.state.encode()
    window = feed.monitor.rs.dedup_window
    state = CustomerState.decode(_schema3(_json(feed.state), ids[-window:]))
    # the same record, but for the fields added after schema 5 (a schema-3 record had none)
    expected = orjson.loads(_json(feed.state))
    newer = _position("fading") + 1
    expected[newer:] = orjson.loads(_json(CustomerState()))[newer:]
    assert orjson.loads(_json(state)) == expected
    for event_id in ids[-window:]:
        resent = feed.monitor.process(
            CustomerState.decode(current), model(txn(event_id, C, at(1))), now=NOW
        )
        assert resent.status is Status.DUPLICATE, event_id
    upgraded = feed.monitor.process(state, model(txn(ids[-1], C, at(1))), now=NOW)
    assert upgraded.status is Status.DUPLICATE
    forgotten = feed.monitor.process(state, model(txn(ids[0], C, at(1))), now=NOW)
    assert forgotten.status is Status.APPLIED  # older than the dedup window
