"""The worker with a churn model loaded publishes, for every customer, the churn_probability (and
version and reasons) the backtest gives for the same events and model; a shadow model's scores go
to the shadow topic and metrics only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import orjson
import pytest

from churnwatch_shared import topics
from churnwatch_shared.customer_state import CustomerStateSnapshot
from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_state_monitor.backtest import main as backtest
from churnwatch_state_monitor.worker.model_hook import SHADOW_SUFFIX
from tests.model.test_alert_reasons import model_reasons
from tests.state_monitor.test_two_workers_integration import _applied_total
from tests.state_monitor.test_worker_integration import _worker
from tests.state_monitor.test_worker_matches_backtest_integration import _latest
from tests.support.kafka import consume_until, produce
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


def _alert(record) -> dict:
    return orjson.loads(record.value)


async def test_worker_probability_equals_the_backtest(
    make_namespace, kafka_bootstrap: str, tmp_path: Path, model_dir: Path
) -> None:
    bank = SimulatedBank(config=SimulationConfig(customers=80, days=150, seed=7))
    lines = [orjson.dumps(e) for e in bank.events()]
    events = tmp_path / "events.ndjson"
    events.write_bytes(b"".join(x + b"\n" for x in lines))
    states = tmp_path / "states.ndjson"
    argv = [str(events), "--out", str(tmp_path / "alerts.ndjson"), "--states", str(states)]
    assert backtest([*argv, "--model", str(model_dir)]) == 0
    expected = {
        s["customer_id"]: s for s in (orjson.loads(x) for x in states.read_bytes().splitlines())
    }
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
    }
    with _worker(
        namespace=namespace, bootstrap=kafka_bootstrap, port=port, tmp_path=tmp_path, extra_env=env
    ):
        for _ in range(600):
            if await _applied_total(port) >= len(lines):
                break
            await asyncio.sleep(0.2)
        assert await _applied_total(port) == len(lines)
        await asyncio.sleep(2)  # the last batch's delivery
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    snapshots = await _latest(kafka_bootstrap, topics.CUSTOMER_STATE.name(namespace))
    assert sorted(snapshots) == sorted(expected)
    for customer_id, raw in snapshots.items():
        got = orjson.loads(raw)
        CustomerStateSnapshot.model_validate(got)
        want = expected[customer_id]
        for field in ("churn_probability", "model_version", "churn_level", "model_reasons"):
            assert got[field] == want[field], (customer_id, field)
    shadow = await _latest(kafka_bootstrap, f"{namespace}.{SHADOW_SUFFIX}")
    assert sorted(shadow) == sorted(expected)
    for customer_id, raw in shadow.items():  # the same model as shadow: the same scores
        assert orjson.loads(raw)["churn_probability"] == expected[customer_id]["churn_probability"]
    assert 'churnwatch_monitor_model_scored_total{role="live"}' in metrics
    # the churn-risk alerts the manager gets carry the model's reasons, as the backtest's do
    backtest_alerts = [
        orjson.loads(x) for x in (tmp_path / "alerts.ndjson").read_bytes().splitlines()
    ]
    want = {a["alert_id"] for a in backtest_alerts if a["kind"] == "churn_risk"}
    assert want and all(model_reasons(a) for a in backtest_alerts if a["alert_id"] in want)
    records = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=topics.ALERTS.name(namespace),
        predicate=lambda rs: (
            want <= {a["alert_id"] for a in map(_alert, rs) if a["kind"] == "churn_risk"}
        ),
    )
    churn = [a for a in map(_alert, records) if a["kind"] == "churn_risk"]
    assert {a["alert_id"] for a in churn} == want
    names = set(orjson.loads((model_dir / "manifest.json").read_bytes())["features"])
    for alert in churn:
        reasons = model_reasons(alert)
        assert reasons and {r["code"].removeprefix("model.") for r in reasons} <= names
        assert all(r["text"] and r["weight"] > 0 for r in reasons)
    assert any(r["observed"] is not None for a in churn for r in model_reasons(a))
    assert 'churnwatch_monitor_model_scored_total{role="shadow"}' in metrics
