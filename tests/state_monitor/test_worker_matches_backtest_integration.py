"""The worker, in many small batches on the real broker, ends exactly where the backtest ends.

The simulator's bank (several customers per partition, every event type, churn patterns that
raise anomaly, churn-risk and silence alerts) is produced to EVENTS; the worker applies it with
small batches so customers' events straddle batch boundaries. Its changelog then holds, for
every customer, the very state the offline backtest computes from the same events, and ALERTS
holds the same alerts (ids and content apart from detected_at).
"""

from __future__ import annotations

import asyncio
import io

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from churnwatch_shared import topics
from churnwatch_shared.alerts import Alert
from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_state_monitor.backtest import replay
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.ruleset import load_ruleset
from tests.support.kafka import consume_until, produce
from tests.support.monitor_worker import applied_total, monitor_worker
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


async def _latest(bootstrap: str, topic: str) -> dict[str, bytes]:
    """The latest value of every key on ``topic``, as a read_committed reader sees it."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(topics.CUSTOMER_PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        latest: dict[str, bytes] = {}
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                latest.update((r.key.decode(), r.value) for r in records)
        return latest
    finally:
        await consumer.stop()


def _content(alert: Alert) -> bytes:
    return orjson.dumps(alert.model_dump(mode="json", exclude={"detected_at"}))


async def test_worker_in_small_batches_matches_the_backtest(
    make_namespace, kafka_bootstrap: str, tmp_path
) -> None:
    bank = SimulatedBank(config=SimulationConfig(customers=80, days=150, seed=7))
    lines = [orjson.dumps(e) for e in bank.events()]
    monitor = Monitor(ruleset=load_ruleset(None))
    out = io.BytesIO()
    expected_states, counts = replay(
        lines=iter(lines), monitor=monitor, alerts_out=out, errors=io.StringIO()
    )
    expected_alerts = {
        a.alert_id: _content(a)
        for a in (Alert.model_validate_json(x) for x in out.getvalue().splitlines())
    }
    assert counts["applied"] == len(lines) and len(expected_alerts) >= 20  # a meaningful run

    namespace = await make_namespace()
    await produce(
        bootstrap=kafka_bootstrap,
        topic=topics.EVENTS.name(namespace),
        records=[(orjson.loads(x)["customer_id"].encode(), x) for x in lines],
    )
    port = free_port()
    env = {
        "CHURNWATCH_MONITOR_BATCH_MAX_EVENTS": "211",
        "CHURNWATCH_MONITOR_SCAN_INTERVAL_S": "0.5",
    }
    with monitor_worker(
        namespace=namespace, bootstrap=kafka_bootstrap, port=port, tmp_path=tmp_path, extra_env=env
    ):
        for _ in range(600):
            if await applied_total(port) >= len(lines):
                break
            await asyncio.sleep(0.2)
        assert await applied_total(port) == len(lines)
        alerts = await consume_until(
            bootstrap=kafka_bootstrap,
            topic=topics.ALERTS.name(namespace),
            timeout=60,
            settle=2.0,
            predicate=lambda recs: len(recs) >= len(expected_alerts),
        )

    got = {a.alert_id: _content(a) for a in (Alert.model_validate_json(r.value) for r in alerts)}
    assert got == expected_alerts
    changelog = await _latest(
        kafka_bootstrap, f"{namespace}-state-monitor-customer-state-changelog"
    )
    assert sorted(changelog) == sorted(expected_states)
    for customer_id, state in expected_states.items():
        assert monitor.snapshot_bytes(
            customer_id, CustomerState.decode(changelog[customer_id])
        ) == monitor.snapshot_bytes(customer_id, state), customer_id
