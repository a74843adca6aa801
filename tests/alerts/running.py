"""The alerts service as a real subprocess on the real broker and a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.models import Role
from churnwatch_shared import topics
from churnwatch_shared.alerts import Alert
from churnwatch_shared.customer_state import CustomerStateSnapshot
from churnwatch_shared.events import encode_event
from tests.alerts.factories import make_assigned
from tests.support.kafka import produce
from tests.support.processes import ServiceProcess, free_port

SECRET = "alerts-test-secret-" + uuid.uuid4().hex


@dataclass
class RunningService:
    """Handle on a running alerts process and the topics it reads."""

    base_url: str
    namespace: str
    bootstrap: str
    process: ServiceProcess

    def token(self, manager_id: str, role: Role = Role.RELATIONSHIP_MANAGER) -> dict[str, str]:
        """Authorization header of a token minted with the service's key."""
        token = mint_token(
            secret=SECRET, sub=manager_id, role=role, now=datetime.now(UTC), ttl_seconds=600
        )
        return {"Authorization": f"Bearer {token}"}

    async def send_alert(self, alert: Alert) -> None:
        """Produce a wire alert to the alert topic, keyed by customer id."""
        await produce(
            bootstrap=self.bootstrap,
            topic=topics.ALERTS.name(self.namespace),
            records=[(alert.customer_id.encode(), alert.model_dump_json().encode())],
        )

    async def send_state(self, snapshot: CustomerStateSnapshot) -> None:
        """Produce a five-state snapshot to the compacted customer-state topic."""
        await produce(
            bootstrap=self.bootstrap,
            topic=topics.CUSTOMER_STATE.name(self.namespace),
            records=[(snapshot.customer_id.encode(), snapshot.model_dump_json().encode())],
        )

    async def assign(self, *, customer_id: str, manager_id: str) -> None:
        """Produce a customer.assigned event to the events topic."""
        event = make_assigned(
            customer_id=customer_id,
            at=datetime.now(UTC),
            manager_id=manager_id,
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


@asynccontextmanager
async def running_service(
    *,
    namespace: str,
    bootstrap: str,
    database_url: str,
    name: str = "alerts",
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[RunningService]:
    """Start the service, wait until /readyz says broker and database are reachable, stop after."""
    port = free_port()
    process = ServiceProcess(
        name=name,
        module="churnwatch_alerts",
        env={
            **service_env(
                namespace=namespace, bootstrap=bootstrap, database_url=database_url, port=port
            ),
            **(extra_env or {}),
        },
        health_url=f"http://127.0.0.1:{port}/healthz",
    )
    await asyncio.to_thread(process.start, timeout=60)
    await asyncio.to_thread(process.wait_healthy, timeout=60, url=f"http://127.0.0.1:{port}/readyz")
    try:
        yield RunningService(f"http://127.0.0.1:{port}", namespace, bootstrap, process)
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
