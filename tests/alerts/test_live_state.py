"""Managers read the monitor's live state only through the alerts service, on real components.

A real state-monitor worker on the real broker, the alerts service on real PostgreSQL: the
monitor's state view refuses callers without the service credential (401); the alerts endpoint
checks the caller serves the customer, calls the monitor with the credential and audits the read.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import ValidationError
from sqlalchemy import select

from churnwatch_alerts.app import create_app
from churnwatch_alerts.assignments.service import apply_assigned
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.clock import ManualClock
from churnwatch_alerts.customers.monitor import MonitorClient
from churnwatch_alerts.models import AuditEntry, Role
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared import topics
from churnwatch_shared.events import CustomerAssigned
from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.service_auth import DEV_MONITOR_TOKEN
from churnwatch_shared.settings import CommonSettings, Environment
from churnwatch_state_monitor.worker.settings import MonitorSettings
from tests.alerts.conftest import T0
from tests.state_monitor.events import at, snapshot, wire
from tests.support.kafka import produce
from tests.support.monitor_worker import monitor_worker
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


def alerts_app(url: str, *, monitor: str, token: str | None = None):  # type: ignore[no-untyped-def]
    settings = AlertsSettings(
        database_url=url,
        consume=False,
        escalation_enabled=False,
        notifications_enabled=False,
        monitor_url=monitor,
        monitor_token=token,
    )
    return create_app(settings=settings, clock=ManualClock(start=T0))


def bearer(secret: str, sub: str) -> dict[str, str]:
    token = mint_token(
        secret=secret, sub=sub, role=Role.RELATIONSHIP_MANAGER, now=T0, ttl_seconds=3600
    )
    return {"Authorization": f"Bearer {token}"}


async def test_live_state_through_alerts_only_with_the_service_credential(
    make_namespace, kafka_bootstrap: str, make_database: Callable[[], str], tmp_path
) -> None:
    namespace = await make_namespace()
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    port = free_port()
    monitor = f"http://127.0.0.1:{port}"
    url = make_database()
    with monitor_worker(
        namespace=namespace, bootstrap=kafka_bootstrap, port=port, tmp_path=tmp_path, data="m"
    ):
        await produce(
            bootstrap=kafka_bootstrap,
            topic=topics.EVENTS.name(namespace),
            records=[
                (customer.encode(), wire(snapshot("ev-bal", customer, at(0), demand="5000.00")))
            ],
        )
        path = f"/v1/customers/{customer}/state"
        async with httpx.AsyncClient(base_url=monitor, timeout=5) as direct:
            authorized = {"Authorization": f"Bearer {DEV_MONITOR_TOKEN}"}
            for _ in range(200):
                if (await direct.get(path, headers=authorized)).status_code == 200:
                    break
                await asyncio.sleep(0.3)
            # The monitor's own view: no credential, a wrong one, another scheme → 401.
            for headers in (
                {},
                {"Authorization": "Bearer wrong-token-of-some-length"},
                {"Authorization": f"Basic {DEV_MONITOR_TOKEN}"},
            ):
                refused = await direct.get(path, headers=headers)
                assert refused.status_code == 401, (headers, refused.text)
                assert "balances" not in refused.text and customer not in refused.text
            # Ops endpoints stay open.
            assert (await direct.get("/healthz")).status_code == 200
            assert (await direct.get("/metrics")).status_code == 200

        app = alerts_app(url, monitor=monitor)
        async with LifespanManager(app):
            async with app.state.sessionmaker() as session, session.begin():
                for c in (customer, "cust-without-state"):
                    await apply_assigned(
                        session,
                        customer_id=c,
                        payload=CustomerAssigned(relationship_manager_id="rm.demo"),
                        occurred_at=T0,
                        actor="test",
                        now=T0,
                    )
            secret = app.state.settings.jwt_secret
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as c:
                live = await c.get(f"{path}/live", headers=bearer(secret, "rm.demo"))
                assert live.status_code == 200, live.text
                body = live.json()
                assert body["customer_id"] == customer and body["source"] == "state-monitor"
                assert body["state"]["customer_id"] == customer
                assert body["state"]["events_applied"] == 1
                outsider = await c.get(f"{path}/live", headers=bearer(secret, "rm.other"))
                assert outsider.status_code == 404
                none_yet = await c.get(
                    "/v1/customers/cust-without-state/state/live", headers=bearer(secret, "rm.demo")
                )
                assert none_yet.status_code == 404 and "no state" in none_yet.json()["detail"]
            async with app.state.sessionmaker() as session:
                rows = (
                    await session.scalars(
                        select(AuditEntry)
                        .where(AuditEntry.customer_id == customer)
                        .order_by(AuditEntry.id)
                    )
                ).all()
            reads = [(r.actor, r.action, r.detail.get("worker")) for r in rows if r.actor != "test"]
            assert reads == [
                ("rm.demo", "customer.live_state_read", monitor),
                ("rm.other", "customer.live_state_read_denied", None),
            ]

        # Alerts configured with a credential the monitor does not know: 503, nothing leaks.
        wrong = alerts_app(url, monitor=monitor, token="not-the-monitor-token-0000")
        async with LifespanManager(wrong):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=wrong), base_url="http://t"
            ) as c:
                refused = await c.get(f"{path}/live", headers=bearer(secret, "rm.demo"))
            assert refused.status_code == 503
            assert "refused the service credential" in refused.json()["detail"]

    # No worker reachable at all: 503 naming the failure, not a 500.
    gone = alerts_app(url, monitor=monitor)
    async with LifespanManager(gone):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gone), base_url="http://t"
        ) as c:
            down = await c.get(f"{path}/live", headers=bearer(secret, "rm.demo"))
        assert down.status_code == 503 and "ConnectError" in down.json()["detail"]


def test_monitor_refuses_to_start_in_production_without_a_real_credential(tmp_path) -> None:
    production = CommonSettings(env=Environment.PRODUCTION)
    for kwargs in ({}, {"service_token": DEV_MONITOR_TOKEN}, {"service_token": "short"}):
        with pytest.raises(ValidationError, match="CHURNWATCH_MONITOR_SERVICE_TOKEN"):
            MonitorSettings(common=production, **kwargs)
    secret = tmp_path / "token"
    secret.write_text("a-real-monitor-token-from-a-file\n")
    settings = MonitorSettings(common=production, service_token_file=secret)
    assert settings.resolved_service_token == "a-real-monitor-token-from-a-file"
    assert MonitorSettings().resolved_service_token == DEV_MONITOR_TOKEN


async def test_live_state_from_scaled_workers_behind_one_name(
    make_namespace, kafka_bootstrap: str, make_database: Callable[[], str], tmp_path
) -> None:
    """Two workers share the partitions; one host name resolves to both (compose replicas)."""
    namespace = await make_namespace()
    port = free_port()
    hosts = ["127.0.0.1", "127.0.0.2"]  # the same port on two loopback addresses
    url = make_database()
    with (
        monitor_worker(
            namespace=namespace, bootstrap=kafka_bootstrap, port=port, tmp_path=tmp_path, data="a"
        ),
        monitor_worker(
            namespace=namespace,
            bootstrap=kafka_bootstrap,
            port=port,
            tmp_path=tmp_path,
            data="b",
            host=hosts[1],
        ),
    ):
        owned: dict[str, list[int]] = {}
        for _ in range(300):
            for host in hosts:
                async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
                    owned[host] = (await client.get("/readyz")).json()["assigned_partitions"]
            if all(owned.values()) and sum(map(len, owned.values())) == topics.CUSTOMER_PARTITIONS:
                break
            await asyncio.sleep(0.2)
        assert all(owned.values()), owned
        # One customer on a partition of each worker.
        chosen: dict[str, str] = {}
        for i in range(1000):
            customer = f"cust-{uuid.uuid4().hex[:8]}-{i}"
            part = partition_of(customer_id=customer, partitions=topics.CUSTOMER_PARTITIONS)
            host = next(h for h, parts in owned.items() if part in parts)
            chosen.setdefault(host, customer)
            if len(chosen) == 2:
                break
        await produce(
            bootstrap=kafka_bootstrap,
            topic=topics.EVENTS.name(namespace),
            records=[
                (c.encode(), wire(snapshot(f"ev-{c}", c, at(0), demand="100.00")))
                for c in chosen.values()
            ],
        )
        for host, customer in chosen.items():
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as direct:
                for _ in range(200):
                    got = await direct.get(
                        f"/v1/customers/{customer}/state",
                        headers={"Authorization": f"Bearer {DEV_MONITOR_TOKEN}"},
                    )
                    if got.status_code == 200:
                        break
                    await asyncio.sleep(0.3)
                assert got.status_code == 200, (host, got.text)

        async def both_replicas(host: str, port_: int) -> list[str]:
            assert host == "monitors.test"
            return hosts

        app = alerts_app(url, monitor=f"http://monitors.test:{port}")
        async with LifespanManager(app):
            await app.state.monitor.close()
            app.state.monitor = MonitorClient(
                urls=app.state.settings.monitor_urls,
                token=app.state.settings.monitor_service_token,
                timeout_seconds=3.0,
                resolve=both_replicas,
            )
            async with app.state.sessionmaker() as session, session.begin():
                for customer in chosen.values():
                    await apply_assigned(
                        session,
                        customer_id=customer,
                        payload=CustomerAssigned(relationship_manager_id="rm.demo"),
                        occurred_at=T0,
                        actor="test",
                        now=T0,
                    )
            secret = app.state.settings.jwt_secret
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as c:
                for host, customer in chosen.items():
                    live = await c.get(
                        f"/v1/customers/{customer}/state/live", headers=bearer(secret, "rm.demo")
                    )
                    assert live.status_code == 200, (host, live.text)
                    assert live.json()["state"]["customer_id"] == customer
            async with app.state.sessionmaker() as session:
                workers = {
                    r.customer_id: r.detail["worker"]
                    for r in (
                        await session.scalars(
                            select(AuditEntry).where(
                                AuditEntry.action == "customer.live_state_read"
                            )
                        )
                    ).all()
                }
            # the first address asked answers for both: it owns one customer's partition and
            # forwards the other's query to the owner (any worker answers for any customer)
            assert workers == {c: f"http://{hosts[0]}:{port}" for c in chosen.values()}
