"""Alerts fixtures: a migrated PostgreSQL database and a session rolled back after each test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.app import create_app
from churnwatch_alerts.clock import ManualClock
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.settings import AlertsSettings

# The browser walks wait on the page after each click (a request, a commit, a re-render). On a
# loaded 2-core machine that has taken longer than Playwright's default 5 s, failing assertions
# that then held; a longer wait changes no assertion.
expect.set_options(timeout=20_000)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def alerts_db_url(postgres_url: str) -> str:
    """The session's PostgreSQL database, migrated to head once with the packaged migrations."""

    async def migrate() -> None:
        engine = create_engine(url=postgres_url)
        try:
            await upgrade(engine=engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    return postgres_url


@pytest.fixture
async def session(alerts_db_url: str) -> AsyncIterator[AsyncSession]:
    """A session inside an outer transaction that is rolled back: tests never see each other."""
    engine = create_engine(url=alerts_db_url)
    async with engine.connect() as connection:
        outer = await connection.begin()
        db = AsyncSession(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield db
        finally:
            await db.close()
            await outer.rollback()
    await engine.dispose()


@pytest.fixture
async def db(make_database: Callable[[], str]) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A fresh, migrated PostgreSQL database for tests that commit (outbox, digest, dispatch)."""
    engine = create_engine(url=make_database())
    await upgrade(engine=engine)
    yield create_sessionmaker(engine=engine)
    await engine.dispose()


@asynccontextmanager
async def started_app(
    *, database_url: str, at: datetime = T0, **overrides: Any
) -> AsyncIterator[FastAPI]:
    """The alerts app on ``database_url``, started, its clock at ``at``: no consumer, escalation
    or notifications unless ``overrides`` (AlertsSettings fields) say otherwise."""
    fields: dict[str, Any] = {
        "consume": False,
        "escalation_enabled": False,
        "notifications_enabled": False,
        **overrides,
    }
    application = create_app(
        settings=AlertsSettings(database_url=database_url, **fields), clock=ManualClock(start=at)
    )
    # start-up migrates a fresh database: longer than LifespanManager's default 5 s when the
    # machine is loaded (the TimeoutError came from the set-up, not from a test)
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
        yield application


@pytest.fixture
async def app(make_database: Callable[[], str]) -> AsyncIterator[FastAPI]:
    """The alerts app on its own database: no consumer, escalation or notifications (a module may
    override it, e.g. to seed data through ``started_app``; ``client`` then uses the override)."""
    async with started_app(database_url=make_database()) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on ``app`` in process (ASGI transport)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def login(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    """Authorization headers of a demo user (password demo-only)."""
    response = await client.post("/v1/auth/login", json={"username": user, "password": "demo-only"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
