"""kill -9 inside the alert/state window on the real broker: the alert is never lost.

The worker is crashed by its test-only fault hook (CHURNWATCH_MONITOR_FAULT_KILL_AT) at the two
points that matter (see churnwatch_state_monitor.worker.app): after the event's alert is acked but before
its state record is written, and after the state record is durable on the changelog but before
the source offset is committed. After a restart the alert must be on ALERTS (once, or repeated
with the same alert_id and content apart from detected_at) and the event applied exactly once.
With transactions (the default) both points are inside the partition's transaction (the second
one after its commit): a read_committed reader sees the alert exactly once.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from churnwatch_shared import topics
from churnwatch_shared.alerts import Alert
from tests.state_monitor.events import at, outflow, snapshot, wire
from tests.state_monitor.test_recovery_integration import _state
from tests.state_monitor.test_worker_integration import _worker
from tests.support.kafka import consume_until, produce
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

LARGE = "account_flow.large_interbank_outflow"


def _content(alert: Alert) -> dict:
    return alert.model_dump(mode="json", exclude={"detected_at"})


@pytest.mark.parametrize(
    ("point", "transactions", "copies"),
    [
        # in one transaction with the state and the offset: the crashed one is aborted
        ("after_state_durable", "on", {1}),
        ("after_alerts_acked", "on", {1}),
        # without transactions the alert acknowledged before the crash is sent again
        ("after_state_durable", "off", {1}),
        ("after_alerts_acked", "off", {1, 2}),
    ],
)
async def test_crash_between_alert_and_state_loses_nothing(
    point: str,
    transactions: str,
    copies: set[int],
    make_namespace,
    kafka_bootstrap: str,
    tmp_path,
) -> None:
    namespace = await make_namespace()
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    key = customer.encode()
    port = free_port()
    mode = {"CHURNWATCH_MONITOR_TRANSACTIONS": transactions}
    fault = {"CHURNWATCH_MONITOR_FAULT_KILL_AT": f"{point}:ev-out-1", **mode}
    crashing = _worker(
        namespace=namespace,
        bootstrap=kafka_bootstrap,
        port=port,
        tmp_path=tmp_path,
        extra_env=fault,
    )
    crashing.start(timeout=90)
    try:
        await produce(
            bootstrap=kafka_bootstrap,
            topic=topics.EVENTS.name(namespace),
            records=[
                (key, wire(snapshot("ev-bal-1", customer, at(0), demand="100000.00"))),
                (key, wire(outflow("ev-out-1", customer, at(1), "80000.00"))),
            ],
        )
        returncode = await asyncio.to_thread(crashing.proc.wait, 90)
        assert returncode == -9, crashing.tail()  # the fault hook fired: SIGKILL mid-event
    finally:
        crashing.kill()

    restarted = _worker(
        namespace=namespace,
        bootstrap=kafka_bootstrap,
        port=port,
        tmp_path=tmp_path,
        extra_env=mode,
    )
    restarted.start(timeout=90)
    try:
        for _ in range(100):
            view = await _state(port, customer)
            if view["events_applied"] >= 2:
                break
            await asyncio.sleep(0.3)
        assert view["events_applied"] == 2  # the transfer applied exactly once
        records = await consume_until(
            bootstrap=kafka_bootstrap,
            topic=topics.ALERTS.name(namespace),
            predicate=lambda recs: len(recs) >= 1,
            timeout=60,
            settle=4.0,
        )
    finally:
        restarted.stop()
    alerts = [Alert.model_validate_json(r.value) for r in records]
    assert {a.rule_id for a in alerts} == {LARGE}
    assert len({a.alert_id for a in alerts}) == 1
    assert len(alerts) in copies
    assert all(_content(a) == _content(alerts[0]) for a in alerts)
