"""The alerts service as a real process on the real broker and PostgreSQL (no mocks)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest

from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.models import Role
from tests.alerts.factories import make_alert
from tests.alerts.running import RunningService, running_service, wait_for_alerts

pytestmark = pytest.mark.integration


@pytest.fixture
async def running(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    make_database: Callable[[], str],
) -> AsyncIterator[RunningService]:
    async with running_service(
        namespace=await make_namespace(), bootstrap=kafka_bootstrap, database_url=make_database()
    ) as service:
        yield service


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
        assert (
            await client.post(f"/v1/alerts/{alert.alert_id}/ack", headers=other)
        ).status_code == 404
        assert (await client.get("/v1/alerts")).status_code == 401
        assert (await client.get(f"/v1/alerts/{alert.alert_id}")).status_code == 401
        forged = {
            "Authorization": "Bearer "
            + mint_token(
                secret="a-wrong-secret-of-full-length-for-hs256",
                sub="rm.kafka",
                role=Role.RELATIONSHIP_MANAGER,
                now=datetime.now(UTC),
                ttl_seconds=600,
            )
        }
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
