"""The broker stops under a running worker and comes back: nothing lost, nothing doubled.

On a private broker (the shared one is never touched): the worker applies a first wave, the broker
is stopped and started again, a second wave follows. A worker that cannot make a batch durable
stops (exit 1) and is started again, as its supervisor would. In the end every customer's state
holds every event exactly once and each condition has exactly one alert id.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from create_topics import create_topics

from churnwatch_shared import topics
from churnwatch_shared.alerts import Alert
from tests.state_monitor.events import at, raw, wire
from tests.state_monitor.test_recovery_integration import _state
from tests.support.kafka import consume_until, produce
from tests.support.monitor_worker import monitor_worker, outflow_records
from tests.support.private_broker import PrivateBroker
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

CUSTOMERS = 30
LARGE = "account_flow.large_interbank_outflow"
COMPLAINT = "stability.complaint_filed"


def _rules(records: list) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for record in records:
        alert = Alert.model_validate_json(record.value)
        out.setdefault(alert.rule_id, set()).add(alert.customer_id)
    return out


async def test_worker_survives_a_broker_restart(private_broker: PrivateBroker, tmp_path) -> None:
    bootstrap = private_broker.bootstrap
    namespace = f"o{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap=bootstrap, namespace=namespace)
    events, alerts = topics.EVENTS.name(namespace), topics.ALERTS.name(namespace)
    customers = [f"c-{n:03d}" for n in range(CUSTOMERS)]
    port = free_port()

    def start():
        worker = monitor_worker(
            namespace=namespace, bootstrap=bootstrap, port=port, tmp_path=tmp_path
        )
        worker.start(timeout=90)
        return worker

    worker = start()
    try:
        await produce(
            bootstrap=bootstrap,
            topic=events,
            records=outflow_records(customers),
        )
        await consume_until(
            bootstrap=bootstrap,
            topic=alerts,
            timeout=60,
            predicate=lambda r: len(_rules(r).get(LARGE, ())) == CUSTOMERS,
        )

        await asyncio.to_thread(private_broker.run, "stop")
        await asyncio.sleep(3)
        await asyncio.to_thread(private_broker.run, "start")

        await produce(
            bootstrap=bootstrap,
            topic=events,
            records=[
                (
                    c.encode(),
                    wire(
                        raw(
                            f"{c}-cmp",
                            c,
                            at(2),
                            "complaint.filed",
                            {"complaint_id": f"cp-{c}", "category": "fees", "severity": "medium"},
                        )
                    ),
                )
                for c in customers
            ],
        )
        for _ in range(3):  # a stopped worker is started again, as a supervisor would
            try:
                records = await consume_until(
                    bootstrap=bootstrap,
                    topic=alerts,
                    timeout=60,
                    settle=3.0,
                    predicate=lambda r: len(_rules(r).get(COMPLAINT, ())) == CUSTOMERS,
                )
                break
            except TimeoutError:
                if worker.proc.poll() is None:
                    raise
                worker = start()
        applied = [(await _state(port, c))["events_applied"] for c in customers]
    finally:
        worker.stop()

    assert applied == [3] * CUSTOMERS
    parsed = [Alert.model_validate_json(r.value) for r in records]
    for rule in (LARGE, COMPLAINT):
        ids = {a.alert_id for a in parsed if a.rule_id == rule}
        assert len(ids) == CUSTOMERS  # one alert id per customer and condition
