"""Two workers share the partitions on the real broker and one takes over when the other stops.

Each phase waits for one specific alert per customer (never "N alert ids of any rule": churn-level
alerts would let that predicate pass while a worker is still processing its share).
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from churnwatch_shared import topics
from churnwatch_shared.alerts import Alert
from tests.state_monitor.events import at, raw, wire
from tests.support.kafka import consume_until, produce
from tests.support.monitor_auth import MONITOR_AUTH
from tests.support.monitor_worker import (
    applied_total,
    outflow_records,
    start_split_workers,
    until_split,
)

pytestmark = pytest.mark.integration

CUSTOMERS = 60
LARGE = "account_flow.large_interbank_outflow"
COMPLAINT = "stability.complaint_filed"


def _complaint(event_id: str, customer: str, when: str) -> dict:
    return raw(
        event_id,
        customer,
        when,
        "complaint.filed",
        {"complaint_id": f"cp-{event_id}", "category": "fees", "severity": "medium"},
    )


def _customers_with(records: list, rule_id: str) -> set[str]:
    alerts = (Alert.model_validate_json(r.value) for r in records)
    return {a.customer_id for a in alerts if a.rule_id == rule_id}


def _by_id(records: list) -> dict[str, list[Alert]]:
    out: dict[str, list[Alert]] = {}
    for record in records:
        alert = Alert.model_validate_json(record.value)
        out.setdefault(alert.alert_id, []).append(alert)
    return out


async def _applied(client: httpx.AsyncClient, customer: str, want: int) -> int:
    for _ in range(150):
        resp = await client.get(f"/v1/customers/{customer}/state", headers=MONITOR_AUTH)
        if resp.status_code == 200 and resp.json()["events_applied"] >= want:
            return resp.json()["events_applied"]
        await asyncio.sleep(0.2)
    return -1


# tests of other areas (fencing, model) still import them from here
_until_split, _applied_total = until_split, applied_total


async def test_two_workers_share_partitions_and_survivor_takes_over(
    make_namespace,
    kafka_bootstrap: str,
    tmp_path,
) -> None:
    namespace = await make_namespace()
    events = topics.EVENTS.name(namespace)
    alerts_topic = topics.ALERTS.name(namespace)
    run = uuid.uuid4().hex[:6]
    customers = [f"c{run}-{n:03d}" for n in range(CUSTOMERS)]
    workers, ports = await start_split_workers(
        namespace=namespace, bootstrap=kafka_bootstrap, tmp_path=tmp_path
    )
    try:
        await produce(
            bootstrap=kafka_bootstrap,
            topic=events,
            records=outflow_records(customers),
        )
        first = await consume_until(
            bootstrap=kafka_bootstrap,
            topic=alerts_topic,
            timeout=120,
            predicate=lambda r: len(_customers_with(r, LARGE)) == CUSTOMERS,
        )
        assert _customers_with(first, LARGE) == set(customers)
        shares = [await applied_total(port) for port in ports]
        assert all(share > 0 for share in shares), shares  # both workers own partitions
        assert sum(shares) == 2 * CUSTOMERS
        answers = []
        for port in ports:  # the owner serves the state, the other forwards to it
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                answers.append(
                    await client.get(f"/v1/customers/{customers[0]}/state", headers=MONITOR_AUTH)
                )
        assert [a.status_code for a in answers] == [200, 200]
        assert answers[0].content == answers[1].content

        workers[1].stop()  # graceful: leaves the group, the survivor gets all partitions
        await produce(
            bootstrap=kafka_bootstrap,
            topic=events,
            records=[(c.encode(), wire(_complaint(f"{c}-cmp", c, at(2)))) for c in customers],
        )
        records = await consume_until(
            bootstrap=kafka_bootstrap,
            topic=alerts_topic,
            timeout=120,
            settle=3.0,
            predicate=lambda r: len(_customers_with(r, COMPLAINT)) == CUSTOMERS,
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[0]}") as client:
            applied = [await _applied(client, c, 3) for c in customers]
    finally:
        for worker in workers:
            worker.stop()

    assert applied == [3] * CUSTOMERS  # every customer's state served by the survivor
    per_customer: dict[str, list[str]] = {}
    for alert_id, copies in _by_id(records).items():
        contents = {a.model_dump_json(exclude={"detected_at"}) for a in copies}
        assert len(contents) == 1, f"alert {alert_id} repeated with different content"
        per_customer.setdefault(copies[0].customer_id, []).append(copies[0].rule_id)
    assert sorted(per_customer) == customers
    for rule_ids in per_customer.values():  # one alert id per condition (plus churn-level rises)
        assert rule_ids.count(LARGE) == 1
        assert rule_ids.count(COMPLAINT) == 1
