"""Alerts fixtures: a migrated PostgreSQL database and a session rolled back after each test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.migrate import upgrade

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
