"""Periodic value reviews on real PostgreSQL: idempotent, archived, immutable, accuracy, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.clock import ManualClock
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.models import AuditEntry, Role, ValueReview
from churnwatch_alerts.value import service
from churnwatch_alerts.value.periods import PeriodKind, parse_period
from churnwatch_alerts.value.scheduler import ValueReviewScheduler
from tests.alerts.value_builders import known_margins, make_snapshot

pytestmark = pytest.mark.integration

DEC5 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
ADMIN = Principal(id="admin.test", role=Role.ADMIN)


async def _store(
    sessionmaker: async_sessionmaker[AsyncSession], *snapshots: dict[str, object], at: datetime
) -> None:
    async with sessionmaker() as session, session.begin():
        for snapshot in snapshots:
            await upsert_state(
                session,
                customer_id=str(snapshot["customer_id"]),
                as_of=at,
                snapshot=snapshot,
                now=at,
            )


async def _count(sessionmaker: async_sessionmaker[AsyncSession], period: str) -> int:
    async with sessionmaker() as session:
        stmt = select(func.count()).select_from(ValueReview).where(ValueReview.period == period)
        return int(await session.scalar(stmt) or 0)


def _scheduler(db: async_sessionmaker[AsyncSession], now: datetime) -> ValueReviewScheduler:
    return ValueReviewScheduler(
        sessionmaker=db,
        clock=ManualClock(start=now),
        config=known_margins(),
        kind=PeriodKind.MONTHLY,
        interval_seconds=3600,
    )


async def test_periodic_reviews_once_per_customer_and_period(
    db: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "REVIEW_BATCH", 2)  # three batches for five customers
    await _store(db, *(make_snapshot(f"C{i}") for i in range(5)), at=DEC5)
    first = await _scheduler(db, DEC5).tick()
    assert (first.period, first.reviewed) == ("2026-11", 5)
    assert (await _scheduler(db, DEC5).tick()).reviewed == 0  # a restart repeats nothing
    # a customer first seen later is reviewed by the next pass, alone
    await _store(db, make_snapshot("C9"), at=DEC5)
    assert (await _scheduler(db, DEC5).tick()).reviewed == 1
    assert await _count(db, "2026-11") == 6
    async with db() as session:
        row = await session.scalar(select(ValueReview).where(ValueReview.customer_id == "C0"))
        assert row is not None
        assert (row.current_value, row.value_at_risk) == (Decimal("570.60"), Decimal("228.24"))
        assert row.config_version == "test-margins-1"
        assert row.inputs["balances"]["deposits_demand"] == "100000.00"
        assert row.period_start == datetime(2026, 11, 1, tzinfo=UTC)
        passes = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "value.reviewed")
        )
        assert passes == 4  # one audit row per batch that archived something


async def test_archived_reviews_cannot_be_changed(db: async_sessionmaker[AsyncSession]) -> None:
    await _store(db, make_snapshot("C1"), at=DEC5)
    await _scheduler(db, DEC5).tick()
    for statement in (
        "UPDATE value_reviews SET current_value = 1",
        "DELETE FROM value_reviews",
    ):
        with pytest.raises(DBAPIError, match="archived and immutable"):
            async with db() as session, session.begin():
                await session.execute(text(statement))
    assert await _count(db, "2026-11") == 1


async def test_accuracy_report_after_the_next_period(db: async_sessionmaker[AsyncSession]) -> None:
    november = parse_period("2026-11", kind=PeriodKind.MONTHLY)
    # A's churn likelihood 0.4 predicts 342.36; B's 0 predicts its 570.60 exactly
    await _store(db, make_snapshot("A"), make_snapshot("B", churn_score=0.0), at=DEC5)
    await service.review_period(db, period=november, config=known_margins(), now=DEC5)
    async with db() as session, session.begin():
        before = await service.accuracy_report(
            session, principal=ADMIN, kind=PeriodKind.MONTHLY, periods=12, currency="CNY", now=DEC5
        )
    assert before.periods == []  # nothing to compare before December is reviewed
    jan5 = datetime(2027, 1, 5, tzinfo=UTC)
    await service.review_period(db, period=november.next(), config=known_margins(), now=jan5)
    async with db() as session, session.begin():
        report = await service.accuracy_report(
            session, principal=ADMIN, kind=PeriodKind.MONTHLY, periods=12, currency="CNY", now=jan5
        )
        december = await session.scalar(
            select(ValueReview).where(
                ValueReview.customer_id == "A", ValueReview.period == "2026-12"
            )
        )
    assert december is not None and december.expected_value == Decimal("342.36")
    assert december.trend == Decimal("228.24")
    [row] = report.periods
    assert (row.period, row.actual_period, row.customers) == ("2026-11", "2026-12", 2)
    assert row.text.startswith("November 2026's predictions for December 2026, 2 customers: off by")
    # errors: A 342.36 - 570.60 = -228.24, B 0
    assert (row.mae, row.bias, row.within_20pct_share) == (
        Decimal("114.12"),
        Decimal("-114.12"),
        0.5,
    )


def test_cli_reviews_a_period_once_and_refuses_bad_periods(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    env = {**os.environ, "CHURNWATCH_ALERTS_DATABASE_URL": url}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "churnwatch_alerts", "value", "review", *args],
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )

    bad = run("--period", "2026-13")
    assert bad.returncode == 2 and "expected YYYY-MM" in bad.stderr
    future = run("--period", "2999-01")
    assert future.returncode == 2 and "has not ended" in future.stderr
    empty = run("--period", "2025-11")
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout) == {
        "period": "2025-11",
        "reviewed": 0,
        "config_version": "2026.11.1",
    }
