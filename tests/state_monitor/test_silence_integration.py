"""A customer who goes silent gets dormancy and missing-payroll alerts from the worker's timer."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from churnwatch_shared import topics
from churnwatch_shared.alerts import Alert
from churnwatch_state_monitor.engine import account_flow, stability
from tests.state_monitor.events import at, txn, wire
from tests.state_monitor.test_silence import grid_day, payday, same_partition_customers
from tests.support.kafka import consume_until, produce
from tests.support.monitor_auth import MONITOR_AUTH
from tests.support.monitor_worker import monitor_worker
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

SILENCE_RULES = (stability.DORMANCY, account_flow.PAYROLL_MISSING)


async def _silence_alerts(
    *, bootstrap: str, namespace: str, want: int, settle: float
) -> list[Alert]:
    records = await consume_until(
        bootstrap=bootstrap,
        topic=topics.ALERTS.name(namespace),
        predicate=lambda recs: (
            sum(1 for r in recs if Alert.model_validate_json(r.value).rule_id in SILENCE_RULES)
            >= want
        ),
        timeout=90,
        settle=settle,
    )
    return [
        a
        for a in (Alert.model_validate_json(r.value) for r in records)
        if a.rule_id in SILENCE_RULES
    ]


def _counted(metrics_text: str, name: str) -> int:
    """The value of an unlabelled counter on a /metrics page."""
    for line in metrics_text.splitlines():
        if line.startswith(f"{name} "):
            return int(float(line.split()[1]))
    raise AssertionError(f"{name} not on /metrics")


def _alerts_counted(metrics_text: str) -> dict[str, float]:
    """``churnwatch_monitor_alerts_total`` by rule id, from a /metrics page."""
    counted: dict[str, float] = {}
    for line in metrics_text.splitlines():
        if line.startswith("churnwatch_monitor_alerts_total{"):
            labels, value = line.rsplit(" ", 1)
            rule = labels.split('rule_id="', 1)[1].split('"', 1)[0]
            counted[rule] = counted.get(rule, 0.0) + float(value)
    return counted


async def _until_applied(*, port: int, customer: str, events: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(120):
            found = await client.get(f"/v1/customers/{customer}/state", headers=MONITOR_AUTH)
            if found.status_code == 200 and found.json()["events_applied"] >= events:
                return
            await asyncio.sleep(0.5)
    raise AssertionError(f"worker did not apply {events} events of {customer}")


async def test_silent_customer_alerted_once_as_other_customers_advance_event_time(
    make_namespace,
    kafka_bootstrap: str,
    tmp_path,
) -> None:
    namespace = await make_namespace()
    silent, other = same_partition_customers(2, prefix=namespace)
    events_topic = topics.EVENTS.name(namespace)
    # the silent customer: a card payment and three monthly salaries, then nothing at all
    first = [txn("s-card", silent, at(0))] + [payday(silent, d) for d in (0, 30, 60)]
    # another customer on the same partition keeps event time moving to day 130
    traffic = [txn(f"o-{d}", other, at(d)) for d in range(1, 131, 3)]
    records = [
        (e["customer_id"].encode(), wire(e))
        for e in sorted(first + traffic, key=lambda e: e["occurred_at"])
    ]
    port = free_port()
    env = {"CHURNWATCH_MONITOR_SCAN_INTERVAL_S": "1"}
    with monitor_worker(
        namespace=namespace, bootstrap=kafka_bootstrap, port=port, tmp_path=tmp_path, extra_env=env
    ):
        await produce(bootstrap=kafka_bootstrap, topic=events_topic, records=records)
        alerts = await _silence_alerts(
            bootstrap=kafka_bootstrap, namespace=namespace, want=2, settle=5.0
        )  # several more ticks
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            metrics = (await client.get("/metrics")).text
        published = _counted(metrics, "churnwatch_monitor_snapshots_total")
        snapshots = await consume_until(
            bootstrap=kafka_bootstrap,
            topic=topics.CUSTOMER_STATE.name(namespace),
            predicate=lambda recs: len(recs) >= published,
            timeout=30,
            settle=2.0,
        )
    # the timer's snapshots (one per customer it alerted) are counted too
    assert len(snapshots) == published
    # the timer's alerts are counted like the events' (issue 14: 9,714 counted, 9,992 sent)
    counted = _alerts_counted(metrics)
    assert {rule: counted.get(rule, 0.0) for rule in SILENCE_RULES} == dict.fromkeys(
        SILENCE_RULES, 1.0
    )
    by_rule = {a.rule_id: a for a in alerts}
    assert sorted(a.rule_id for a in alerts) == sorted(SILENCE_RULES)  # each exactly once
    assert all(a.customer_id == silent for a in alerts)
    assert by_rule[stability.DORMANCY].occurred_at == grid_day(60 + 60)  # a salary is activity
    assert by_rule[account_flow.PAYROLL_MISSING].occurred_at == grid_day(100)

    # a restart rebuilds the index from the table: the episode is not alerted again, even as
    # event time moves on
    with monitor_worker(
        namespace=namespace, bootstrap=kafka_bootstrap, port=port, tmp_path=tmp_path, extra_env=env
    ):
        more = [txn(f"o2-{d}", other, at(d)) for d in range(131, 160, 7)]
        await produce(
            bootstrap=kafka_bootstrap,
            topic=events_topic,
            records=[(other.encode(), wire(e)) for e in more],
        )
        await _until_applied(port=port, customer=other, events=len(traffic) + len(more))
        again = await _silence_alerts(
            bootstrap=kafka_bootstrap, namespace=namespace, want=2, settle=5.0
        )
    assert sorted(a.rule_id for a in again) == sorted(SILENCE_RULES)
