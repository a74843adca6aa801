"""`python -m churnwatch_ingest` as a real process: serve, stop gracefully, restart, JSON logs."""

from __future__ import annotations

import httpx
import orjson
import pytest

from churnwatch_shared import topics
from tests.ingest.conftest import DEV_HEADERS, transaction
from tests.support.kafka import consume_until
from tests.support.processes import ServiceProcess, free_port

pytestmark = pytest.mark.integration


async def test_restart_keeps_acknowledged_events_answers_resends_as_duplicates(
    kafka_bootstrap: str, topic_namespace: str
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "CHURNWATCH_ENV": "test",
        "CHURNWATCH_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CHURNWATCH_TOPIC_NAMESPACE": topic_namespace,
        "CHURNWATCH_LOG_LEVEL": "DEBUG",
        "CHURNWATCH_INGEST_PORT": str(port),
        "CHURNWATCH_INGEST_RAW_VALIDATOR_ENABLED": "false",
    }
    event = transaction()
    events = [transaction() for _ in range(50)]
    process = ServiceProcess(
        name="ingest", module="churnwatch_ingest", env=env, health_url=f"{base}/healthz"
    )
    process.start()
    try:
        process.wait_healthy(url=f"{base}/readyz", timeout=30)
        async with httpx.AsyncClient(base_url=base, headers=DEV_HEADERS, timeout=30) as client:
            assert (await client.post("/v1/events", json=event)).status_code == 202
            assert (await client.post("/v1/events", json=event)).json()["status"] == "duplicate"
            batch = await client.post("/v1/events/batch", json=events)
            assert batch.json()["accepted"] == 50
        # uvicorn shuts down gracefully, then re-raises SIGTERM: exit status -15 is a clean stop
        assert process.stop() in (0, -15)
        assert "Application shutdown complete" in process.tail()
        process.start()
        process.wait_healthy(url=f"{base}/readyz", timeout=30)  # ready = duplicate cache warmed
        async with httpx.AsyncClient(base_url=base, headers=DEV_HEADERS, timeout=30) as client:
            # The restarted process refilled its duplicate cache from the events topic's tail.
            again = await client.post("/v1/events", json=event)
            assert again.status_code == 200 and again.json()["status"] == "duplicate"
            batch_again = await client.post("/v1/events/batch", json=events[:10])
            assert batch_again.json()["duplicate"] == 10
    finally:
        process.stop()

    wanted = {event["event_id"], *(e["event_id"] for e in events)}
    records = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=topics.EVENTS.name(topic_namespace),
        predicate=lambda rs: {orjson.loads(r.value)["event_id"] for r in rs} >= wanted,
        timeout=30,
        settle=0.5,
    )
    mine = [r for r in records if orjson.loads(r.value)["event_id"] in wanted]
    assert len(mine) == 51  # each event exactly once, across the restart

    log = process.log_path.read_text()
    lines = [orjson.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line.get("event_id") == event["event_id"] for line in lines)
    assert all(line.get("service") == "ingest" for line in lines)
    assert "600000" not in log and "400000" not in log
