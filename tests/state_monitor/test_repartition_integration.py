"""8 -> 16 partitions on the real broker: state re-keyed from the changelog, nothing lost.

A worker fills the state of CUSTOMERS customers on an 8-partition namespace; the migration tool
is refused while that worker is still a group member, then (worker stopped) copies the state to a
16-partition namespace through its command line. Every customer's state record is on the
partition the shared function gives for 16 and equal to the old one (but the old-topic offset
mark); a worker started on the new topics serves every customer's state exactly as the old worker
did, and a new event per customer is applied on top.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from churnwatch_shared import topics
from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.settings import CommonSettings
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.repartition import MigrationRefused, Plan, migrate
from churnwatch_state_monitor.worker.changelog import changelog_topic, ensure_changelog
from tests.conftest import _new_namespace, create_topics
from tests.state_monitor.events import at, outflow, snapshot, txn, wire
from tests.support.infra import REPO
from tests.support.kafka import produce
from tests.support.monitor_auth import MONITOR_AUTH
from tests.support.monitor_worker import monitor_worker
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

CUSTOMERS = 240


async def _caught_up(bootstrap: str, group: str, topic: str, timeout: float = 120) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(topics.CUSTOMER_PARTITIONS)]
        ends = await consumer.end_offsets(tps)
        for _ in range(int(timeout * 4)):
            committed = await admin.list_consumer_group_offsets(group)
            if all(committed.get(tp) and committed[tp].offset >= ends[tp] for tp in tps):
                return
            await asyncio.sleep(0.25)
        raise AssertionError(f"group {group} never committed the end of {topic}")
    finally:
        await consumer.stop()
        await admin.close()


async def _states(bootstrap: str, topic: str) -> dict[str, tuple[int, bytes]]:
    """Latest (partition, state record) per customer of a changelog topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        count = len(described["partitions"])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: dict[str, tuple[int, bytes]] = {}
    try:
        tps = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for r in records:
                    out[r.key.decode()] = (tp.partition, r.value)
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return out


async def _served(port: int, customers: list[str]) -> dict[str, dict]:
    """Each customer's state as the worker serves it (None until it owns and restored it)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        out = {}
        for customer in customers:
            answer = await client.get(f"/v1/customers/{customer}/state", headers=MONITOR_AUTH)
            out[customer] = answer.json() if answer.status_code == 200 else None
        return out


async def _until_applied(port: int, customers: list[str], want: int) -> dict[str, dict]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        served = await _served(port, customers)
        if all(s is not None and s["events_applied"] >= want for s in served.values()):
            return served
        await asyncio.sleep(0.3)
    missing = [c for c, s in served.items() if s is None or s["events_applied"] < want]
    raise AssertionError(f"{len(missing)} customers never reached {want} events: {missing[:5]}")


def _without_offset(raw: bytes) -> tuple:
    state = CustomerState.decode(raw)
    state.off = -1
    return state.field_values()


async def test_state_moves_from_8_to_16_partitions_and_new_events_apply_on_top(
    make_namespace, kafka_bootstrap: str, tmp_path: Path
) -> None:
    source = await make_namespace()
    target = _new_namespace()
    common16 = CommonSettings(kafka_customer_partitions=16)
    await create_topics(bootstrap=kafka_bootstrap, namespace=target, common=common16)
    run = uuid.uuid4().hex[:6]
    customers = [f"r{run}-{n:04d}" for n in range(CUSTOMERS)]
    await produce(
        bootstrap=kafka_bootstrap,
        topic=topics.EVENTS.name(source),
        records=[
            (c.encode(), wire(e))
            for c in customers
            for e in (
                snapshot(f"{c}-bal", c, at(0), demand="100000.00"),
                outflow(f"{c}-out", c, at(1), "80000.00"),
                txn(f"{c}-card", c, at(2), amount="12.50"),
            )
        ],
    )
    old_port = free_port()
    old = monitor_worker(
        namespace=source, bootstrap=kafka_bootstrap, port=old_port, tmp_path=tmp_path
    )
    old.start(timeout=90)
    plan = Plan(
        bootstrap=kafka_bootstrap,
        from_namespace=source,
        to_namespace=target,
        to_partitions=16,
        from_app_id=f"{source}-state-monitor",
        to_app_id=f"{target}-state-monitor",
    )
    try:
        await _caught_up(kafka_bootstrap, plan.from_app_id, topics.EVENTS.name(source))
        before = await _until_applied(old_port, customers, 3)
        with pytest.raises(MigrationRefused, match="still has 1 member"):
            await migrate(plan=plan, common=CommonSettings())
    finally:
        old.stop()
    old_states = await _states(kafka_bootstrap, changelog_topic(plan.from_app_id))
    assert set(old_states) == set(customers)

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "churnwatch_state_monitor.repartition",
        "--bootstrap",
        kafka_bootstrap,
        "--from-namespace",
        source,
        "--to-namespace",
        target,
        "--to-partitions",
        "16",
        cwd=REPO,
        env={**os.environ, "CHURNWATCH_KAFKA_BOOTSTRAP": kafka_bootstrap},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    assert f"copied {CUSTOMERS} keys" in stdout.decode()

    new_states = await _states(kafka_bootstrap, changelog_topic(plan.to_app_id))
    assert set(new_states) == set(customers)
    for customer in customers:
        partition, raw = new_states[customer]
        assert partition == partition_of(customer_id=customer, partitions=16)
        assert _without_offset(raw) == _without_offset(old_states[customer][1]), customer
    assert len({p for p, _ in new_states.values()}) == 16

    new_port = free_port()
    new = monitor_worker(
        namespace=target, bootstrap=kafka_bootstrap, port=new_port, tmp_path=tmp_path, data="new"
    )
    new.start(timeout=90)
    try:
        restored = await _until_applied(new_port, customers, 3)
        assert restored == before  # every customer's state as the old worker served it
        await produce(
            bootstrap=kafka_bootstrap,
            topic=topics.EVENTS.name(target),
            records=[
                (c.encode(), wire(txn(f"{c}-new", c, at(3), amount="7.00"))) for c in customers
            ],
        )
        after = await _until_applied(new_port, customers, 4)
    finally:
        new.stop()
    for customer in customers:
        assert after[customer]["events_applied"] == 4, after[customer]
        assert before[customer]["events_applied"] == 3


async def test_a_changelog_with_another_partition_count_stops_the_worker(
    make_namespace, kafka_bootstrap: str
) -> None:
    namespace = await make_namespace()
    topic = changelog_topic(f"{namespace}-state-monitor")
    events = topics.EVENTS.name(namespace)
    assert await ensure_changelog(bootstrap=kafka_bootstrap, topic=topic, source=events) == 8
    assert await ensure_changelog(bootstrap=kafka_bootstrap, topic=topic, source=events) == 8
    other = f"{topic}-4"
    await ensure_changelog(bootstrap=kafka_bootstrap, topic=other, partitions=4)
    with pytest.raises(RuntimeError, match=r"has 4 partitions but .* has 8"):
        await ensure_changelog(bootstrap=kafka_bootstrap, topic=other, source=events)
