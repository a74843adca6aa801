"""The retention job on PostgreSQL: each kind of data older than its configured limit goes (the
archived kinds through the privacy gate), younger data and open alerts stay, old audit details
are redacted while the chain still verifies; the run is audited. Also through the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.audit import record
from churnwatch_alerts.audit.verify import verify
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import (
    AlertRecord,
    AuditEntry,
    CaseEntry,
    ScorePoint,
    SuggestionOutcome,
    ValueReview,
)
from churnwatch_alerts.privacy.retention import run_retention
from churnwatch_alerts.privacy.retention_config import RetentionSettings
from tests.alerts.factories import make_alert
from tests.alerts.seed import value_review

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
OLD, RECENT = NOW - timedelta(days=400), NOW - timedelta(days=5)


async def _seed(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        for name, at in (("old", OLD), ("recent", RECENT)):
            for state in ("resolved", "open"):
                alert = make_alert(customer_id=f"C-{name}-{state}", at=at, condition_key=name)
                await store_alert(session, alert=alert, now=at, sla_seconds={})
                if state == "resolved":
                    await session.execute(
                        update(AlertRecord)
                        .where(AlertRecord.id == alert.alert_id)
                        .values(status="resolved", resolved_at=at, outcome="retained")
                    )
            customer = f"C-{name}"
            session.add(CaseEntry(customer_id=customer, kind="note", author="rm", at=at, text="x"))
            session.add(
                ScorePoint(
                    customer_id=customer,
                    day=at.date(),
                    as_of=at,
                    churn_score=1,
                    churn_level="normal",
                )
            )
            session.add(value_review(customer_id=customer, at=at))
            session.add(
                SuggestionOutcome(
                    customer_id=customer,
                    action_code="retention_call",
                    playbook_version="1",
                    outcome="done",
                    recorded_by="rm",
                    recorded_at=at,
                )
            )
            record(
                session,
                actor="rm",
                action="case.read",
                customer_id=customer,
                at=at,
                detail={"note": name},
            )


async def _count(sessionmaker, model, *where) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def test_retention_removes_only_what_is_older_than_its_limit(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    engine = create_engine(url=url)
    await upgrade(engine=engine)
    sessionmaker = create_sessionmaker(engine=engine)
    await _seed(sessionmaker)
    limits = RetentionSettings(
        closed_alerts_days=365,
        case_entries_days=365,
        notifications_days=365,
        value_reviews_days=365,
        suggestion_outcomes_days=365,
        score_history_days=365,
        audit_detail_days=365,
    )
    summary = await run_retention(sessionmaker, settings=limits, now=NOW)
    removed = summary["removed"]
    assert removed["alerts"] == 1 and removed["alert_notifications"] >= 1
    assert {k: removed[k] for k in ("case_entries", "score_history", "value_reviews")} == {
        "case_entries": 1,
        "score_history": 1,
        "value_reviews": 1,
    }
    assert removed["suggestion_outcomes"] == 1 and removed["audit_details_redacted"] >= 1
    # the old open alert stays; the recent ones stay
    kept = set(await _ids(sessionmaker))
    assert kept == {"C-old-open", "C-recent-open", "C-recent-resolved"}
    for model in (CaseEntry, ScorePoint, ValueReview, SuggestionOutcome):
        assert await _count(sessionmaker, model) == 1, model
    async with sessionmaker() as session:
        old_details = (
            await session.scalars(
                select(AuditEntry.detail).where(
                    AuditEntry.action == "case.read", AuditEntry.at < NOW - timedelta(days=365)
                )
            )
        ).all()
        run = await session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "privacy.retention_run")
        )
    assert old_details == [{"_redacted": summary["run_id"]}]
    assert run["run_id"] == summary["run_id"] and run["removed"] == removed
    assert (await verify(engine=engine)).ok
    # a second run finds nothing more; limits of 0 keep forever
    again = await run_retention(
        sessionmaker, settings=RetentionSettings(closed_alerts_days=0), now=NOW
    )
    assert "alerts" not in again["removed"]
    await engine.dispose()

    cli = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "churnwatch_alerts", "retention", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "CHURNWATCH_ALERTS_RETENTION_CLOSED_ALERTS_DAYS": "1"},
    )
    assert cli.returncode == 0, cli.stderr
    assert '"alerts": 1' in cli.stdout  # the recent resolved alert, 5 days old


async def _ids(sessionmaker) -> list[str]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(AlertRecord.customer_id)))
