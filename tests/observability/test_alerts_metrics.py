"""Alerts: HTTP RED and intake lag from the real service; the outbox backlog from real rows."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.clock import SystemClock
from churnwatch_alerts.metrics import OUTBOX_BACKLOG
from churnwatch_alerts.models import Notification, NotificationStatus
from churnwatch_alerts.notifications.backlog import BacklogGauge
from churnwatch_shared import topics
from tests.alerts.factories import make_alert
from tests.alerts.running import running_service, wait_for_alerts

pytestmark = pytest.mark.integration


def _notification(*, channel: str, due: datetime, status: str = "pending") -> Notification:
    return Notification(
        dedupe_key=uuid.uuid4().hex,
        recipient="rm.metrics",
        channel=channel,
        event="alert.new",
        payload={},
        status=status,
        next_attempt_at=due,
    )


async def test_outbox_backlog_counts_due_pending_rows_per_channel(
    db: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    async with db() as session, session.begin():
        session.add_all(
            [
                _notification(channel="email", due=now - timedelta(seconds=5)),
                _notification(channel="email", due=now - timedelta(seconds=1)),
                _notification(channel="email", due=now + timedelta(hours=1)),  # retry later
                _notification(channel="webhook", due=now, status=NotificationStatus.DEAD.value),
                _notification(channel="inbox", due=now, status="delivered"),
            ]
        )
    gauge = BacklogGauge(sessionmaker=db, clock=SystemClock())
    assert await gauge.refresh() == {"email": 2}
    assert OUTBOX_BACKLOG.labels("email")._value.get() == 2
    async with db() as session, session.begin():
        await session.execute(update(Notification).values(status="delivered"))
    assert await gauge.refresh() == {}
    assert OUTBOX_BACKLOG.labels("email")._value.get() == 0  # emptied: 0, not the last value


async def test_alerts_service_exports_intake_lag_and_http_metrics_by_route(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    make_database: Callable[[], str],
) -> None:
    namespace = await make_namespace()
    async with running_service(
        namespace=namespace, bootstrap=kafka_bootstrap, database_url=make_database()
    ) as running:
        customer = f"C-{uuid.uuid4().hex[:8]}"
        await running.assign(customer_id=customer, manager_id="rm.metrics")
        alert = make_alert(customer_id=customer, at=datetime.now(UTC))
        await running.send_alert(alert)
        async with httpx.AsyncClient(base_url=running.base_url, timeout=10) as client:
            mine = running.token("rm.metrics")
            await wait_for_alerts(client, mine, count=1)
            answer = await client.get(
                f"/v1/alerts/{alert.alert_id}", headers={**mine, "X-Request-ID": "alerts-1"}
            )
            assert answer.status_code == 200 and answer.headers["x-request-id"] == "alerts-1"
            text = (await client.get("/metrics")).text
    alerts_topic = topics.ALERTS.name(namespace)
    lag = [
        line
        for line in text.splitlines()
        if line.startswith("churnwatch_alerts_intake_lag{") and f'topic="{alerts_topic}"' in line
    ]
    assert lag and all(line.endswith(" 0.0") for line in lag), lag  # everything stored
    assert (
        'churnwatch_http_requests_total{method="GET",route="/v1/alerts/{alert_id}",status="200"}'
        in text
    )
    assert alert.alert_id not in text.replace(f'"{alert.alert_id}"', "")
    assert "process_resident_memory_bytes" in text
