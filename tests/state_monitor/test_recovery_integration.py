"""kill -9 the worker on the real broker: state survives via the changelog, no alert repeats."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from churnwatch_shared import topics
from churnwatch_shared.alerts import Alert
from tests.state_monitor.events import at, outflow, snapshot, txn, wire
from tests.support.kafka import consume_until, produce
from tests.support.monitor_auth import MONITOR_AUTH
from tests.support.monitor_worker import monitor_worker
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


async def _state(port: int, customer: str) -> dict:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(300):
            resp = await client.get(f"/v1/customers/{customer}/state", headers=MONITOR_AUTH)
            if resp.status_code == 200:
                return resp.json()
            await asyncio.sleep(0.3)
    raise AssertionError(f"no state for {customer}")


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_kill_9_restart_keeps_state_and_alerts_once(
    store: str,
    make_namespace,
    kafka_bootstrap: str,
    tmp_path,
) -> None:
    namespace = await make_namespace()
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    key = customer.encode()
    events_topic = topics.EVENTS.name(namespace)
    alerts_topic = topics.ALERTS.name(namespace)
    port = free_port()
    env = {"CHURNWATCH_MONITOR_STORE": store}
    worker = monitor_worker(
        namespace=namespace, bootstrap=kafka_bootstrap, port=port, tmp_path=tmp_path, extra_env=env
    )
    transfer = outflow("ev-out-1", customer, at(1), "80000.00")
    worker.start()
    try:
        await produce(
            bootstrap=kafka_bootstrap,
            topic=events_topic,
            records=[
                (key, wire(snapshot("ev-bal-1", customer, at(0), demand="100000.00"))),
                (key, wire(transfer)),
            ],
        )
        await consume_until(
            bootstrap=kafka_bootstrap,
            topic=alerts_topic,
            predicate=lambda recs: len(recs) >= 1,
            timeout=90,
        )
        before = await _state(port, customer)
        assert before["events_applied"] == 2
    finally:
        worker.kill()

    restarted = monitor_worker(
        namespace=namespace, bootstrap=kafka_bootstrap, port=port, tmp_path=tmp_path, extra_env=env
    )
    restarted.start(timeout=90)
    try:
        after = await _state(port, customer)
        assert after == before  # rebuilt from the changelog, byte for byte the same view
        await produce(
            bootstrap=kafka_bootstrap,
            topic=events_topic,
            records=[
                (key, wire(transfer)),  # re-sent by a producer after the crash
                (key, wire(txn("ev-card-1", customer, at(2), amount="50.00"))),
            ],
        )
        for _ in range(100):
            latest = await _state(port, customer)
            if latest["events_applied"] == 3:
                break
            await asyncio.sleep(0.3)
        assert latest["events_applied"] == 3
        alerts = await consume_until(
            bootstrap=kafka_bootstrap,
            topic=alerts_topic,
            predicate=lambda recs: len(recs) >= 1,
            timeout=30,
            settle=3.0,
        )
        large = [
            a
            for a in (Alert.model_validate_json(r.value) for r in alerts)
            if a.rule_id == "account_flow.large_interbank_outflow"
        ]
        assert len({a.alert_id for a in large}) == 1
        assert len(large) == 1
    finally:
        restarted.stop()
