"""The worker as a real subprocess on the real broker: events in, alert and snapshot out."""

from __future__ import annotations

import uuid

import httpx
import orjson
import pytest

from churnwatch_shared import topics
from churnwatch_shared.alerts import Alert
from churnwatch_shared.customer_state import CustomerStateSnapshot
from churnwatch_state_monitor import ENGINE_BUILD
from tests.state_monitor.events import at, outflow, snapshot, wire
from tests.support.kafka import consume_until, produce
from tests.support.monitor_auth import MONITOR_AUTH
from tests.support.monitor_worker import monitor_worker
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


# tests of other areas (model, fencing) still import it from here
_worker = monitor_worker


async def test_large_interbank_outflow_alerts_once_and_publishes_state(
    make_namespace,
    kafka_bootstrap: str,
    tmp_path,
) -> None:
    namespace = await make_namespace()
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    port = free_port()
    events_topic = topics.EVENTS.name(namespace)
    balance = snapshot("ev-bal-1", customer, at(0), demand="100000.00")
    transfer = outflow("ev-out-1", customer, at(1), "80000.00")
    key = customer.encode()
    with monitor_worker(
        namespace=namespace,
        bootstrap=kafka_bootstrap,
        port=port,
        tmp_path=tmp_path,
        extra_env={"CHURNWATCH_MONITOR_WATCHDOG_INTERVAL_S": "0.5"},
    ):
        await produce(
            bootstrap=kafka_bootstrap,
            topic=events_topic,
            records=[
                (key, wire(balance)),
                (key, wire(transfer)),
                (key, wire(transfer)),
                (key, b"{not json"),
            ],
        )

        alerts = await consume_until(
            bootstrap=kafka_bootstrap,
            topic=topics.ALERTS.name(namespace),
            predicate=lambda recs: len(recs) >= 1,
            timeout=90,
            settle=4.0,
        )
        parsed = [Alert.model_validate_json(r.value) for r in alerts]
        assert [a.rule_id for a in parsed] == ["account_flow.large_interbank_outflow"]
        alert = parsed[0]
        assert alerts[0].key == key
        assert alert.customer_id == customer
        assert alert.evidence_event_ids == ["ev-out-1"]
        assert alert.observed == pytest.approx(0.8)
        assert alert.baseline == "100000.00"
        assert alert.ruleset_version

        states = await consume_until(
            bootstrap=kafka_bootstrap,
            topic=topics.CUSTOMER_STATE.name(namespace),
            predicate=lambda recs: any(orjson.loads(r.value)["events_applied"] == 2 for r in recs),
            timeout=30,
        )
        latest = CustomerStateSnapshot.model_validate_json(states[-1].value)
        assert states[-1].key == key
        assert latest.events_applied == 2  # the re-sent transfer changed nothing
        assert latest.states["account_flow"].metrics["interbank_outflow_30d"] == "80000.00"

        dead = await consume_until(
            bootstrap=kafka_bootstrap,
            topic=topics.DEAD_LETTER.name(namespace),
            predicate=lambda recs: len(recs) >= 1,
            timeout=30,
        )
        headers = dict(dead[0].headers)
        assert dead[0].value == b"{not json"
        assert headers[topics.HEADER_DLQ_SOURCE] == b"state-monitor"
        assert headers[topics.HEADER_DLQ_REASON]

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            found = await client.get(f"/v1/customers/{customer}/state", headers=MONITOR_AUTH)
            missing = await client.get("/v1/customers/nobody-here/state", headers=MONITOR_AUTH)
            ready = await client.get("/readyz")
            metrics = await client.get("/metrics")
        assert found.status_code == 200
        assert CustomerStateSnapshot.model_validate_json(found.content).events_applied == 2
        assert missing.status_code == 404
        assert ready.status_code == 200 and ready.json()["dependencies"]["broker"]["reachable"]
        assert ready.json()["rule_engine"] == ENGINE_BUILD  # "compiled" under make test
        text = metrics.text
        assert 'churnwatch_monitor_events_total{outcome="duplicate"} 1.0' in text
        assert 'churnwatch_monitor_events_total{outcome="applied"} 2.0' in text
        assert 'rule_id="account_flow.large_interbank_outflow"' in text
        assert 'churnwatch_monitor_events_total{outcome="invalid"} 1.0' in text
        assert "churnwatch_monitor_batch_seconds_count" in text
        assert "churnwatch_monitor_restore_seconds_count 1.0" in text  # the one assignment
        assert 'churnwatch_monitor_consumer_lag{partition="' in text
