"""The alert record's origin headers name the event that fired it (worker/lineage.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from churnwatch_shared.alerts import Alert, AlertKind, CustomerStateName, Reason, Severity
from churnwatch_state_monitor.worker.lineage import alert_records
from tests.state_monitor.events import KafkaRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _record(
    customer: str, event_id: str, offset: int, ingested: int, spaced: bool = False
) -> KafkaRecord:
    body = {"event_id": event_id, "customer_id": customer}
    value = orjson.dumps(body) if not spaced else b'{"event_id": "' + event_id.encode() + b'"}'
    return KafkaRecord(
        key=customer.encode(),
        value=value,
        offset=offset,
        headers=(("ingested_at", str(ingested).encode()),),
    )


def _alert(customer: str, evidence: list[str]) -> Alert:
    return Alert(
        alert_id="al_0123456789",
        kind=AlertKind.ANOMALY,
        customer_id=customer,
        state=CustomerStateName.STABILITY,
        rule_id="stability.complaint_filed",
        severity=Severity.WARNING,
        priority=50,
        title="t",
        reasons=[Reason(code="c", state=CustomerStateName.STABILITY, text="t")],
        evidence_event_ids=evidence,
        ruleset_version="v",
        occurred_at=NOW,
        detected_at=NOW,
    )


def test_the_firing_event_among_a_customers_several_events_in_the_batch() -> None:
    batch = {
        0: [
            _record("c1", "e1", 0, 1000),
            _record("c2", "x1", 1, 1500),
            _record("c1", "e2", 2, 2000),
            _record("c1", "e3", 3, 3000),
        ]
    }
    fired = [(b"c1", _alert("c1", ["e2"])), (b"c2", _alert("c2", ["x1"]))]
    out = alert_records(batch=batch, fired=fired, started_ns=0)
    assert [(k, dict(h)) for k, _, h in out] == [
        (b"c1", {"ingested_at": b"2000", "event_id": b"e2"}),
        (b"c2", {"ingested_at": b"1500", "event_id": b"x1"}),
    ]
    assert orjson.loads(out[0][1])["alert_id"] == "al_0123456789"


def test_a_differently_encoded_event_is_found_by_parsing() -> None:
    batch = {
        0: [_record("c1", "e1", 0, 1000, spaced=True), _record("c1", "e2", 1, 2000, spaced=True)]
    }
    (out,) = alert_records(batch=batch, fired=[(b"c1", _alert("c1", ["e1"]))], started_ns=0)
    assert dict(out[2])["ingested_at"] == b"1000"


def test_no_alerts_and_tracing_off_cost_nothing() -> None:
    assert alert_records(batch={0: [_record("c1", "e1", 0, 1)]}, fired=[], started_ns=0) == []
