"""The alerts service as a real process on the real broker and PostgreSQL (no mocks)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.models import Role
from churnwatch_shared import topics
from churnwatch_shared.alerts import Alert
from churnwatch_shared.events import encode_event
from tests.alerts.factories import make_alert, make_assigned
from tests.support.kafka import produce
from tests.support.processes import ServiceProcess, free_port

pytestmark = pytest.mark.integration

SECRET = "alerts-test-secret-" + uuid.uuid4().hex


@dataclass
class RunningService:
    base_url: str
    namespace: str
    bootstrap: str
    process: ServiceProcess

    def token(self, manager_id: str, role: Role = Role.RELATIONSHIP_MANAGER) -> dict[str, str]:
        token = mint_token(
            secret=SECRET, sub=manager_id, role=role, now=datetime.now(UTC), ttl_seconds=600
        )
        return {"Authorization": f"Bearer {token}"}

    async def send_alert(self, alert: Alert) -> None:
        await produce(
            bootstrap=self.bootstrap,
            topic=topics.ALERTS.name(self.namespace),
            records=[(alert.customer_id.encode(), alert.model_dump_json().encode())],
        )

    async def assign(self, *, customer_id: str, manager_id: str) -> None:
        event = make_assigned(
            customer_id=customer_id, at=datetime.now(UTC), manager_id=manager_id,
            event_id=f"as-{uuid.uuid4().hex[:8]}",
        )
        await produce(
            bootstrap=self.bootstrap,
            topic=topics.EVENTS.name(self.namespace),
            records=[(customer_id.encode(), encode_event(event))],
            headers=[("event_type", b"customer.assigned"), ("producer", b"test")],
        )


def service_env(*, namespace: str, bootstrap: str, database_url: str, port: int) -> dict[str, str]:
    """Environment of one alerts process."""
    return {
        "CHURNWATCH_ENV": "test",
        "CHURNWATCH_KAFKA_BOOTSTRAP": bootstrap,
        "CHURNWATCH_TOPIC_NAMESPACE": namespace,
        "CHURNWATCH_ALERTS_PORT": str(port),
        "CHURNWATCH_ALERTS_DATABASE_URL": database_url,
        "CHURNWATCH_ALERTS_JWT_SECRET": SECRET,
    }


@pytest.fixture
async def running(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    make_database: Callable[[], str],
) -> AsyncIterator[RunningService]:
    namespace = await make_namespace()
    port = free_port()
    process = ServiceProcess(
        name="alerts",
        module="churnwatch_alerts",
        env=service_env(
            namespace=namespace, bootstrap=kafka_bootstrap, database_url=make_database(), port=port
        ),
        health_url=f"http://127.0.0.1:{port}/healthz",
    )
    await asyncio.to_thread(process.start, timeout=60)
    await asyncio.to_thread(process.wait_healthy, timeout=60, url=f"http://127.0.0.1:{port}/readyz")
    try:
        yield RunningService(f"http://127.0.0.1:{port}", namespace, kafka_bootstrap, process)
    finally:
        await asyncio.to_thread(process.stop)


async def wait_for_alerts(
    client: httpx.AsyncClient, headers: dict[str, str], *, count: int, timeout: float = 45.0
) -> dict[str, object]:
    """Poll GET /v1/alerts until ``count`` alerts are listed."""
    deadline = time.monotonic() + timeout
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        response = await client.get("/v1/alerts", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["total"] >= count:  # type: ignore[operator]
            return body
        await asyncio.sleep(0.3)
    raise AssertionError(f"expected {count} alerts, last answer {body}")


async def test_alert_reaches_assigned_manager_only(running: RunningService) -> None:
    customer = f"C-{uuid.uuid4().hex[:8]}"
    await running.assign(customer_id=customer, manager_id="rm.kafka")
    alert = make_alert(customer_id=customer, at=datetime.now(UTC))
    await running.send_alert(alert)

    async with httpx.AsyncClient(base_url=running.base_url, timeout=10) as client:
        mine = running.token("rm.kafka")
        body = await wait_for_alerts(client, mine, count=1)
        [item] = body["items"]  # type: ignore[misc]
        assert item["id"] == alert.alert_id and item["assigned_to"] == "rm.kafka"

        other = running.token("rm.other")
        assert (await client.get("/v1/alerts", headers=other)).json()["total"] == 0
        assert (await client.get(f"/v1/alerts/{alert.alert_id}", headers=other)).status_code == 404
        assert (await client.post(f"/v1/alerts/{alert.alert_id}/ack", headers=other)).status_code == 404
        assert (await client.get("/v1/alerts")).status_code == 401
        assert (await client.get(f"/v1/alerts/{alert.alert_id}")).status_code == 401
        forged = {"Authorization": "Bearer " + mint_token(
            secret="wrong-secret", sub="rm.kafka", role=Role.RELATIONSHIP_MANAGER,
            now=datetime.now(UTC), ttl_seconds=600,
        )}
        assert (await client.get("/v1/alerts", headers=forged)).status_code == 401

        # A replay of the same alert, then a marker alert: once the marker is listed the replay
        # has been consumed too (same partition, earlier offset), and it added nothing.
        await running.send_alert(alert)
        marker = make_alert(customer_id=customer, at=datetime.now(UTC), condition_key="marker")
        await running.send_alert(marker)
        body = await wait_for_alerts(client, mine, count=2)
        assert sorted(i["id"] for i in body["items"]) == sorted([alert.alert_id, marker.alert_id])  # type: ignore[union-attr]

        acked = await client.post(f"/v1/alerts/{alert.alert_id}/ack", headers=mine)
        assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
        detail = await client.get(f"/v1/alerts/{alert.alert_id}", headers=mine)
        assert detail.json()["evidence"]["rule_id"] == alert.rule_id

        metrics = (await client.get("/metrics")).text
        assert "churnwatch_alerts_received_total 2.0" in metrics
        assert "churnwatch_alerts_duplicates_total 1.0" in metrics
