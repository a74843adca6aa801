"""The worker with a churn model loaded publishes, for every customer, the churn_probability (and
version, level and reasons) the backtest gives for the same events and model, and the same
churn-risk alerts, raised by the model's probability; a shadow model's scores go to the shadow
topic and metrics only."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from churnwatch_shared import topics
from churnwatch_shared.customer_state import CustomerStateSnapshot
from churnwatch_shared.events import parse_event
from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_state_monitor.backtest import main as backtest
from churnwatch_state_monitor.engine.monitor import Monitor, Status
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model.artifact import LEVELS, ChurnModel
from churnwatch_state_monitor.model.levels import ModelLevels
from churnwatch_state_monitor.ruleset import load_ruleset
from churnwatch_state_monitor.worker.model_hook import SHADOW_SUFFIX
from tests.model.test_alert_reasons import model_reasons
from tests.state_monitor.test_two_workers_integration import _applied_total
from tests.state_monitor.test_worker_integration import _worker
from tests.state_monitor.test_worker_matches_backtest_integration import _latest
from tests.support.kafka import consume_until, produce
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


CUTOFFS = "0.05,0.1,0.15"  # the small test model's probabilities stay below 0.2
CUT = (0.05, 0.1, 0.15)


def _alert(record) -> dict:
    return orjson.loads(record.value)


def _same(a: dict, b: dict) -> bool:
    """Equal alerts, detection time aside (the worker stamps its clock, replays event time)."""
    return {k: v for k, v in a.items() if k != "detected_at"} == {
        k: v for k, v in b.items() if k != "detected_at"
    }


async def until_committed(*, bootstrap: str, group: str, topic: str, timeout: float = 120) -> None:
    """Wait until ``group`` has committed every partition of ``topic`` to its end: the worker
    commits a batch's offsets in the transaction that writes its outputs, so then every output
    is visible to a read_committed reader (a fixed sleep was not enough on a loaded machine)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(topics.CUSTOMER_PARTITIONS)]
        ends = await consumer.end_offsets(tps)
        committed: dict = {}
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            committed = await admin.list_consumer_group_offsets(group, partitions=tps)
            if all(tp in committed and committed[tp].offset >= end for tp, end in ends.items()):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{group} never committed {topic} to its end: {committed} < {ends}")
    finally:
        await admin.close()
        await consumer.stop()


def _events_only(lines: list[bytes], model_dir: Path) -> tuple[dict[str, dict], dict[str, int]]:
    """Churn-risk alerts and final model levels of ``Monitor.process`` over the events alone:
    the worker without a silence tick judges silence dues only when the customer's next event
    comes, while the backtest also judges them on the partition watermark (so after a
    customer's last event it may judge dues, and raise alerts, the worker has not yet)."""
    monitor = Monitor(ruleset=load_ruleset(None))
    levels = ModelLevels(model=ChurnModel(model_dir), cutoffs=CUT, monitor=monitor)
    states: dict[str, CustomerState] = {}
    for line in lines:
        event = parse_event(line)
        outcome = monitor.process(states.get(event.customer_id), event, now=event.occurred_at)
        if outcome.status is Status.APPLIED and outcome.state is not None:
            states[event.customer_id] = outcome.state
    alerts = levels.flush(current=states.get)
    return (
        {a.alert_id: orjson.loads(a.model_dump_json()) for a in alerts},
        {c: st.level for c, st in states.items()},
    )


async def test_worker_probability_equals_the_backtest(
    make_namespace, kafka_bootstrap: str, tmp_path: Path, model_dir: Path
) -> None:
    bank = SimulatedBank(config=SimulationConfig(customers=80, days=150, seed=7))
    lines = [orjson.dumps(e) for e in bank.events()]
    events = tmp_path / "events.ndjson"
    events.write_bytes(b"".join(x + b"\n" for x in lines))
    states = tmp_path / "states.ndjson"
    argv = [str(events), "--out", str(tmp_path / "alerts.ndjson"), "--states", str(states)]
    assert backtest([*argv, "--model", str(model_dir), "--cutoffs", CUTOFFS]) == 0
    expected = {
        s["customer_id"]: s for s in (orjson.loads(x) for x in states.read_bytes().splitlines())
    }
    events_churn, final_levels = _events_only(lines, model_dir)
    assert len(set(final_levels.values())) >= 2
    assert len({s["churn_probability"] for s in expected.values()}) >= 5  # not all alike

    namespace = await make_namespace()
    await produce(
        bootstrap=kafka_bootstrap,
        topic=topics.EVENTS.name(namespace),
        records=[(orjson.loads(x)["customer_id"].encode(), x) for x in lines],
    )
    port = free_port()
    env = {
        "CHURNWATCH_MONITOR_BATCH_MAX_EVENTS": "211",  # customers straddle batch boundaries
        "CHURNWATCH_MONITOR_SCAN_INTERVAL_S": "0",  # no silence tick: states end at events
        "CHURNWATCH_MONITOR_MODEL_DIR": str(model_dir),
        "CHURNWATCH_MONITOR_SHADOW_MODEL_DIR": str(model_dir),
        "CHURNWATCH_MONITOR_MODEL_CUTOFFS": CUTOFFS,  # levels from the model: the default
    }
    with _worker(
        namespace=namespace, bootstrap=kafka_bootstrap, port=port, tmp_path=tmp_path, extra_env=env
    ):
        for _ in range(600):
            if await _applied_total(port) >= len(lines):
                break
            await asyncio.sleep(0.2)
        assert await _applied_total(port) == len(lines)
        await until_committed(
            bootstrap=kafka_bootstrap,
            group=f"{namespace}-state-monitor",
            topic=topics.EVENTS.name(namespace),
        )
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    snapshots = await _latest(kafka_bootstrap, topics.CUSTOMER_STATE.name(namespace))
    assert sorted(snapshots) == sorted(expected)
    for customer_id, raw in snapshots.items():
        got = orjson.loads(raw)
        CustomerStateSnapshot.model_validate(got)
        want = expected[customer_id]
        for field in ("churn_probability", "model_version", "model_reasons"):
            assert got[field] == want[field], (customer_id, field)
        assert got["churn_level"] == LEVELS[final_levels[customer_id]], customer_id
    shadow = await _latest(kafka_bootstrap, f"{namespace}.{SHADOW_SUFFIX}")
    assert sorted(shadow) == sorted(expected)
    for customer_id, raw in shadow.items():  # the same model as shadow: the same scores
        assert orjson.loads(raw)["churn_probability"] == expected[customer_id]["churn_probability"]
    assert 'churnwatch_monitor_model_scored_total{role="live"}' in metrics
    # the churn-risk alerts the manager gets are the backtest's: raised by the model's levels at
    # the same checkpoints, with the same content (detection time aside) and the model's reasons
    backtest_alerts = [
        orjson.loads(x) for x in (tmp_path / "alerts.ndjson").read_bytes().splitlines()
    ]
    backtest_churn = {a["alert_id"]: a for a in backtest_alerts if a["kind"] == "churn_risk"}
    # the backtest's alerts are the events-only ones, plus dues it judged on the watermark after
    # a customer's last event
    last_event: dict[str, str] = {}
    for line in lines:
        e = orjson.loads(line)
        last_event[e["customer_id"]] = max(last_event.get(e["customer_id"], ""), e["occurred_at"])
    assert set(events_churn) <= set(backtest_churn)
    for alert_id, alert in backtest_churn.items():
        if alert_id in events_churn:
            assert _same(alert, events_churn[alert_id])
        else:
            when = datetime.fromisoformat(alert["occurred_at"])
            assert when > datetime.fromisoformat(last_event[alert["customer_id"]])
    expected_churn = events_churn
    want = set(expected_churn)
    assert len(want) >= 10 and all(model_reasons(a) for a in expected_churn.values())
    assert any(a["supersedes"] for a in expected_churn.values())  # rises within an episode
    records = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=topics.ALERTS.name(namespace),
        predicate=lambda rs: (
            want <= {a["alert_id"] for a in map(_alert, rs) if a["kind"] == "churn_risk"}
        ),
    )
    churn = [a for a in map(_alert, records) if a["kind"] == "churn_risk"]
    assert sorted(a["alert_id"] for a in churn) == sorted(want)  # each once
    for alert in churn:
        assert _same(alert, expected_churn[alert["alert_id"]])
    names = set(orjson.loads((model_dir / "manifest.json").read_bytes())["features"])
    for alert in churn:
        lead, *reasons = model_reasons(alert)
        assert lead["code"] == "model.probability" and lead["observed"] == alert["observed"]
        assert {r["code"].removeprefix("model.") for r in reasons} <= names
        assert all(r["text"] and r["weight"] > 0 for r in reasons)
    assert any(r["observed"] is not None for a in churn for r in model_reasons(a))
    assert 'churnwatch_monitor_model_scored_total{role="shadow"}' in metrics
