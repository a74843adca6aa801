"""A database seeded in development, then served in production: the demo logins are refused.

The seed's accounts (rm.demo, lead.demo, auditor.demo) and their documented password stay in the
database; production must refuse them (and log and audit the refusal) while real accounts work.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import structlog
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from churnwatch_alerts.app import create_app
from churnwatch_alerts.auth.passwords import hash_password
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.clock import ManualClock
from churnwatch_alerts.models import AuditEntry, Manager, Role
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared.settings import CommonSettings, Environment
from tests.alerts.conftest import T0

pytestmark = pytest.mark.integration

REAL_PASSWORD = "a-real-password-of-the-bank-1"


def settings_for(url: str, env: Environment) -> AlertsSettings:
    extra = (
        {"jwt_secret": "j" * 40, "webhook_secret": "w" * 40, "monitor_token": "m" * 40}
        if env is Environment.PRODUCTION
        else {}
    )
    return AlertsSettings(
        common=CommonSettings(env=env),
        database_url=url,
        consume=False,
        escalation_enabled=False,
        notifications_enabled=False,
        **extra,
    )


async def login(app: FastAPI, user: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.post("/v1/auth/login", json={"username": user, "password": password})


async def test_production_refuses_demo_logins_seeded_in_development(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    dev = create_app(
        settings=settings_for(url, Environment.DEVELOPMENT), clock=ManualClock(start=T0)
    )
    async with LifespanManager(dev):
        assert (await login(dev, "rm.demo", "demo-only")).status_code == 200
        async with dev.state.sessionmaker() as session, session.begin():
            # A real account that an admin gave the documented password by mistake, and one
            # with a real password.
            for manager_id, password in (("rm.lazy", "demo-only"), ("rm.real", REAL_PASSWORD)):
                session.add(
                    Manager(
                        id=manager_id,
                        role=Role.RELATIONSHIP_MANAGER.value,
                        password_hash=hash_password(password=password),
                        channels=[],
                    )
                )

    prod = create_app(
        settings=settings_for(url, Environment.PRODUCTION), clock=ManualClock(start=T0)
    )
    with structlog.testing.capture_logs() as logs:
        async with LifespanManager(prod):
            for user in ("rm.demo", "lead.demo", "auditor.demo", "rm.lazy"):
                response = await login(prod, user, "demo-only")
                assert response.status_code == 401, (user, response.text)
                assert "refused in production" in response.json()["detail"]
            assert (await login(prod, "rm.real", REAL_PASSWORD)).status_code == 200

            # A token for a demo account (signed with the production key) is refused as well.
            token = mint_token(
                secret=prod.state.settings.jwt_secret,
                sub="rm.demo",
                role=Role.RELATIONSHIP_MANAGER,
                now=T0,
                ttl_seconds=60,
            )
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=prod), base_url="http://t"
            ) as c:
                me = await c.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 401

            async with prod.state.sessionmaker() as session:
                refused = (
                    await session.scalars(
                        select(AuditEntry.actor)
                        .where(AuditEntry.action == "auth.login_refused_demo")
                        .order_by(AuditEntry.id)
                    )
                ).all()
            assert list(refused) == ["rm.demo", "lead.demo", "auditor.demo", "rm.lazy"]
    refusals = [e for e in logs if e["event"] == "auth.demo_login_refused"]
    assert [e["username"] for e in refusals] == ["rm.demo", "lead.demo", "auditor.demo", "rm.lazy"]
    present = [e for e in logs if e["event"] == "dev_logins.present_and_refused"]
    assert present and present[0]["managers"] == ["auditor.demo", "lead.demo", "rm.demo"]
