"""A paused ("zombie") monitor worker that wakes after losing its partitions writes nothing.

On the real broker, with transactions on: worker A applies the first events, then is paused with
SIGSTOP past its session timeout, either in the middle of a batch (applied, nothing of it written
yet: the test-only pause hook) or idle (SIGSTOP from the test). Worker B takes all partitions,
restores their state from the changelog and applies the new events. Then A gets SIGCONT.

A read_committed reader must then see no record A wrote after waking: each alert id once, one
state record and one snapshot per customer for the events B applied, and the final states and
alerts equal to one clean replay of the same events by the backtest. A carries on: it rejoins
the group and applies its share of a last wave of events.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import uuid
from collections import Counter

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from churnwatch_shared import topics
from churnwatch_shared.alerts import Alert
from churnwatch_state_monitor.backtest import replay
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.ruleset import load_ruleset
from churnwatch_state_monitor.worker.changelog import topic_partitions
from tests.state_monitor.events import at, outflow, raw, snapshot, wire
from tests.state_monitor.test_two_workers_integration import _applied_total, _until_split
from tests.state_monitor.test_worker_integration import _worker
from tests.support.kafka import produce
from tests.support.processes import ServiceProcess, free_port

pytestmark = pytest.mark.integration

CUSTOMERS = 16


def _complaint(event_id: str, customer: str, when: str) -> dict:
    payload = {"complaint_id": f"cp-{event_id}", "category": "fees", "severity": "medium"}
    return raw(event_id, customer, when, "complaint.filed", payload)


def _waves(customers: list[str]) -> list[list[dict]]:
    """Three waves: A applies the first, B the second (A paused), the group the third."""
    return [
        [
            e
            for c in customers
            for e in (
                snapshot(f"{c}-bal", c, at(0), demand="100000.00"),
                outflow(f"{c}-out", c, at(1), "80000.00"),
            )
        ],
        [_complaint(f"{c}-cmp", c, at(2)) for c in customers],
        [snapshot(f"{c}-bal2", c, at(3), demand="21000.00") for c in customers],
    ]


async def _read_committed(bootstrap: str, topic: str) -> list:
    """Every record of ``topic`` a read_committed consumer sees now (up to the stable offsets)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            count = await topic_partitions(admin=admin, topic=topic)
        finally:
            await admin.close()
        parts = range(count or 0)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list = []
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


def _stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "T"


async def _wait_applied(port: int, want: int, *, timeout: float = 120) -> None:
    for _ in range(int(timeout / 0.25)):
        if await _applied_total(port) >= want:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"worker on {port} applied {await _applied_total(port)} of {want}")


async def _metric(port: int, name: str) -> float:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        text = (await client.get("/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def _applied_counts(records: list, monitor: Monitor, *, state_records: bool) -> Counter:
    """(customer, events_applied) -> how many records carry that state."""
    out: Counter = Counter()
    for r in records:
        if state_records:
            view = orjson.loads(
                monitor.snapshot_bytes(r.key.decode(), CustomerState.decode(r.value))
            )
        else:
            view = orjson.loads(r.value)
        out[(r.key.decode(), view["events_applied"])] += 1
    return out


def _content(alert: Alert) -> bytes:
    return orjson.dumps(alert.model_dump(mode="json", exclude={"detected_at"}))


@pytest.mark.parametrize("pause", ["mid_batch", "idle"])
async def test_zombie_worker_wakes_fenced_and_writes_nothing(
    pause: str, make_namespace, kafka_bootstrap: str, tmp_path
) -> None:
    namespace = await make_namespace()
    events_topic = topics.EVENTS.name(namespace)
    changelog = f"{namespace}-state-monitor-customer-state-changelog"
    run = uuid.uuid4().hex[:6]
    customers = [f"z{run}-{n:02d}" for n in range(CUSTOMERS)]
    waves = _waves(customers)
    monitor = Monitor(ruleset=load_ruleset(None))
    out = io.BytesIO()
    lines = [orjson.dumps(e) for wave in waves for e in wave]
    expected_states, _ = replay(
        lines=iter(lines), monitor=monitor, alerts_out=out, errors=io.StringIO()
    )
    expected_alerts = {
        a.alert_id: _content(a)
        for a in (Alert.model_validate_json(x) for x in out.getvalue().splitlines())
    }

    def send(wave: list[dict]):
        return produce(
            bootstrap=kafka_bootstrap,
            topic=events_topic,
            records=[(e["customer_id"].encode(), wire(e)) for e in wave],
        )

    env = {"CHURNWATCH_MONITOR_TRANSACTIONS": "on", "CHURNWATCH_MONITOR_SCAN_INTERVAL_S": "0"}
    if pause == "mid_batch":  # A stops itself with the second wave applied, nothing written
        env["CHURNWATCH_MONITOR_FAULT_PAUSE_AT"] = f"before_delivery:{customers[0]}-cmp"
    ports = [free_port(), free_port()]
    a = _worker(
        namespace=namespace,
        bootstrap=kafka_bootstrap,
        port=ports[0],
        tmp_path=tmp_path,
        data="a",
        extra_env=env,
    )
    b: ServiceProcess | None = None
    a.start(timeout=90)
    try:
        await send(waves[0])
        await _wait_applied(ports[0], len(waves[0]))
        assert a.proc is not None
        if pause == "mid_batch":
            await send(waves[1])
            for _ in range(240):
                if _stopped(a.proc.pid):
                    break
                await asyncio.sleep(0.25)
            assert _stopped(a.proc.pid), a.tail()
        else:
            os.kill(a.proc.pid, signal.SIGSTOP)
            await send(waves[1])
        b = _worker(
            namespace=namespace,
            bootstrap=kafka_bootstrap,
            port=ports[1],
            tmp_path=tmp_path,
            data="b",
            extra_env={k: v for k, v in env.items() if "FAULT" not in k},
        )
        b.start(timeout=90)
        # B gets every partition once A's session timed out, restores them, applies wave 2
        await _wait_applied(ports[1], len(waves[1]), timeout=180)
        assert _stopped(a.proc.pid)  # A slept through all of it

        os.kill(a.proc.pid, signal.SIGCONT)
        await asyncio.sleep(12)  # A resumes: its batch or fetch meets the fence, it rejoins

        alerts = [
            Alert.model_validate_json(r.value)
            for r in await _read_committed(kafka_bootstrap, topics.ALERTS.name(namespace))
        ]
        copies = Counter(x.alert_id for x in alerts)
        assert [i for i, n in copies.items() if n > 1] == [], "an alert was written twice"
        states = _applied_counts(
            await _read_committed(kafka_bootstrap, changelog), monitor, state_records=True
        )
        snaps = _applied_counts(
            await _read_committed(kafka_bootstrap, topics.CUSTOMER_STATE.name(namespace)),
            monitor,
            state_records=False,
        )
        for c in customers:  # B's one batch per customer for wave 2; nothing more from A
            assert states[(c, 3)] == 1, (c, states[(c, 3)])
            assert snaps[(c, 3)] == 1, (c, snaps[(c, 3)])

        assert a.proc.poll() is None, a.tail()  # A carried on
        await _until_split(ports)
        await send(waves[2])
        snapshots_topic = topics.CUSTOMER_STATE.name(namespace)
        for _ in range(120):
            done = {
                r.key
                for r in await _read_committed(kafka_bootstrap, snapshots_topic)
                if orjson.loads(r.value)["events_applied"] == 4
            }
            if len(done) == CUSTOMERS:
                break
            await asyncio.sleep(1)
        await asyncio.sleep(2)
        fenced = await _metric(ports[0], "churnwatch_monitor_fenced_total")
        final_alerts = await _read_committed(kafka_bootstrap, topics.ALERTS.name(namespace))
        latest: dict[str, bytes] = {}
        for r in await _read_committed(kafka_bootstrap, changelog):
            latest[r.key.decode()] = r.value
    finally:
        if a.proc is not None and a.proc.poll() is None:
            os.kill(a.proc.pid, signal.SIGCONT)
        a.stop()
        if b is not None:
            b.stop()

    if pause == "mid_batch":
        assert fenced >= 1  # A's resumed batch was refused by the broker, not by a timer
    got = [Alert.model_validate_json(r.value) for r in final_alerts]
    assert Counter(x.alert_id for x in got).most_common(1)[0][1] == 1
    assert {x.alert_id: _content(x) for x in got} == expected_alerts
    assert sorted(latest) == sorted(expected_states)
    for customer_id, state in expected_states.items():
        assert monitor.snapshot_bytes(
            customer_id, CustomerState.decode(latest[customer_id])
        ) == monitor.snapshot_bytes(customer_id, state), customer_id
