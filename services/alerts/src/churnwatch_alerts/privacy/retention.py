"""The retention job: removes what is older than its kind's limit (``RetentionSettings``).

Run by the service every ``interval_seconds`` and by ``python -m churnwatch_alerts retention``.
One transaction per run; the run is audited (``privacy.retention_run``, with its cut-offs and
counts). Archived rows (value reviews, suggestion outcomes) go through the privacy gate. Audit
rows are never deleted, which would break the hash chain: past ``audit_detail_days`` their detail
is replaced with ``{"_redacted": "<run id>"}`` (the digest in the row keeps the chain whole).
Erasure proofs and the audit rows of erasures and retention runs are kept.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Text, and_, cast, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.audit import record
from churnwatch_alerts.audit.chain import REDACTED_KEY
from churnwatch_alerts.clock import Clock
from churnwatch_alerts.models import (
    AlertRecord,
    AlertStatus,
    AlertVersion,
    AuditEntry,
    CaseEntry,
    DeliveryAttempt,
    Notification,
    NotificationStatus,
    ScorePoint,
    SuggestionOutcome,
    ValueReview,
)
from churnwatch_alerts.privacy.erase import PROOF_ACTIONS
from churnwatch_alerts.privacy.gate import close_gate, open_gate
from churnwatch_alerts.privacy.retention_config import RetentionSettings

log = structlog.get_logger(__name__)

RUN_ACTION = "privacy.retention_run"


def _cutoff(now: datetime, days: int) -> datetime | None:
    return now - timedelta(days=days) if days > 0 else None


async def _count(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement, execution_options={"synchronize_session": False})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _alerts(session: AsyncSession, cutoff: datetime) -> dict[str, int]:
    old = select(AlertRecord.id).where(
        AlertRecord.status == AlertStatus.RESOLVED.value, AlertRecord.resolved_at < cutoff
    )
    ids = list(await session.scalars(old))
    if not ids:
        return {"alerts": 0}
    notes = select(Notification.id).where(Notification.alert_id.in_(ids))
    return {
        "alert_delivery_log": await _count(
            session, delete(DeliveryAttempt).where(DeliveryAttempt.notification_id.in_(notes))
        ),
        "alert_notifications": await _count(
            session, delete(Notification).where(Notification.alert_id.in_(ids))
        ),
        "alert_versions": await _count(
            session, delete(AlertVersion).where(AlertVersion.alert_id.in_(ids))
        ),
        "alerts": await _count(session, delete(AlertRecord).where(AlertRecord.id.in_(ids))),
    }


async def _notifications(session: AsyncSession, cutoff: datetime) -> dict[str, int]:
    done = and_(
        Notification.status != NotificationStatus.PENDING.value, Notification.created_at < cutoff
    )
    return {
        "delivery_log": await _count(
            session,
            delete(DeliveryAttempt).where(
                DeliveryAttempt.notification_id.in_(select(Notification.id).where(done))
            ),
        ),
        "notifications": await _count(session, delete(Notification).where(done)),
    }


async def apply_retention(
    session: AsyncSession, *, settings: RetentionSettings, now: datetime, actor: str
) -> dict[str, Any]:
    """One retention run inside the caller's transaction; its id, cut-offs and counts."""
    run_id = f"ret-{uuid.uuid4().hex}"
    s = settings
    cutoffs = {
        name: _cutoff(now, days)
        for name, days in (
            ("closed_alerts", s.closed_alerts_days),
            ("case_entries", s.case_entries_days),
            ("notifications", s.notifications_days),
            ("value_reviews", s.value_reviews_days),
            ("suggestion_outcomes", s.suggestion_outcomes_days),
            ("score_history", s.score_history_days),
            ("audit_details", s.audit_detail_days),
        )
    }
    counts: dict[str, int] = {}
    if (cut := cutoffs["closed_alerts"]) is not None:
        counts.update(await _alerts(session, cut))
    if (cut := cutoffs["notifications"]) is not None:
        counts.update(await _notifications(session, cut))
    if (cut := cutoffs["case_entries"]) is not None:
        counts["case_entries"] = await _count(session, delete(CaseEntry).where(CaseEntry.at < cut))
    if (cut := cutoffs["score_history"]) is not None:
        counts["score_history"] = await _count(
            session, delete(ScorePoint).where(ScorePoint.day < cut.date())
        )
    await open_gate(session, reason=run_id)
    if (cut := cutoffs["value_reviews"]) is not None:
        counts["value_reviews"] = await _count(
            session, delete(ValueReview).where(ValueReview.reviewed_at < cut)
        )
    if (cut := cutoffs["suggestion_outcomes"]) is not None:
        counts["suggestion_outcomes"] = await _count(
            session, delete(SuggestionOutcome).where(SuggestionOutcome.recorded_at < cut)
        )
    await close_gate(session, reason=run_id)
    if (cut := cutoffs["audit_details"]) is not None:
        counts["audit_details_redacted"] = await _count(
            session,
            update(AuditEntry)
            .where(
                AuditEntry.at < cut,
                AuditEntry.action.not_in((*PROOF_ACTIONS, RUN_ACTION)),
                ~cast(AuditEntry.detail, Text).contains(f'"{REDACTED_KEY}"', autoescape=True),
            )
            .values(detail={REDACTED_KEY: run_id}),
        )
    summary = {
        "run_id": run_id,
        "cutoffs": {k: v.isoformat() if v else None for k, v in cutoffs.items()},
        "removed": counts,
    }
    record(session, actor=actor, action=RUN_ACTION, at=now, detail=summary)
    return summary


async def run_retention(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    settings: RetentionSettings,
    now: datetime,
    actor: str = "system:retention",
) -> dict[str, Any]:
    """One retention run in its own transaction."""
    async with sessionmaker() as session, session.begin():
        summary = await apply_retention(session, settings=settings, now=now, actor=actor)
    log.info("privacy.retention_run", run_id=summary["run_id"], removed=summary["removed"])
    return summary


class RetentionScheduler:
    """Runs the retention job every ``interval_seconds`` (the first ``first_run_after_seconds``
    after start-up)."""

    def __init__(
        self,
        *,
        settings: RetentionSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
    ) -> None:
        self.settings, self.sessionmaker, self.clock = settings, sessionmaker, clock

    async def run(self) -> None:
        """Loop until cancelled."""
        await asyncio.sleep(self.settings.first_run_after_seconds)
        while True:
            await run_retention(self.sessionmaker, settings=self.settings, now=self.clock.now())
            await asyncio.sleep(self.settings.interval_seconds)
