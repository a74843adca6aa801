"""Removing one customer from the alerts database; audit details are redacted, not deleted.

Deleted: alerts and their superseded versions, notifications of those alerts and their delivery
log, case notes and contacts, score history, the stored snapshot, the assignment and profile
(display name), the marketing objection, value reviews and suggestion outcomes (archived rows:
through the privacy gate). Digests that listed the customer's alerts lose those items.

Audit rows stay (the log must still show who read whom), but the detail of every row about the
customer (its customer id, one of its alerts, or a row about no customer whose detail names
them, e.g. a bulk acknowledgement) is replaced with
``{"_redacted": "<erasure id>"}``. The hash chain hashes the detail's digest, kept in the row,
so the chain still verifies; the verifier checks that each marker names a recorded erasure of
that row's customer. The rows that record erasures themselves are not redacted: they are the
proof and carry only ids and counts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, and_, cast, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.audit.chain import REDACTED_KEY
from churnwatch_alerts.models import (
    AlertRecord,
    AlertVersion,
    Assignment,
    AuditEntry,
    CaseEntry,
    CustomerStateRecord,
    DeliveryAttempt,
    MarketingObjection,
    Notification,
    ScorePoint,
    SuggestionOutcome,
    ValueReview,
)
from churnwatch_alerts.notifications.outbox import DIGEST_EVENT
from churnwatch_alerts.privacy.gate import close_gate, open_gate

# Audit actions that record erasures: the proof, never redacted.
PROOF_ACTIONS = ("privacy.erasure_requested", "privacy.erasure_completed")


def _mentions(column: Any, customer_id: str) -> Any:
    # JSON text holds the id as a quoted string; ids are [A-Za-z0-9._:@/-]: nothing to escape
    return cast(column, Text).contains(f'"{customer_id}"', autoescape=True)


async def _rowcount(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement, execution_options={"synchronize_session": False})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _trim_digests(session: AsyncSession, *, customer_id: str, erasure_id: str) -> int:
    """Drop the customer's items from digests that also list other customers' alerts."""
    rows = await session.scalars(
        select(Notification).where(
            Notification.event == DIGEST_EVENT, _mentions(Notification.payload, customer_id)
        )
    )
    trimmed = 0
    for row in rows:
        items = list(row.payload.get("alerts") or [])
        kept = [
            i for i in items if not (isinstance(i, dict) and i.get("customer_id") == customer_id)
        ]
        trimmed += len(items) - len(kept)
        row.payload = {
            **row.payload,
            "alerts": kept,
            "count": max(0, int(row.payload.get("count") or 0) - (len(items) - len(kept))),
            "erased": erasure_id,
        }
    return trimmed


async def erase_rows(session: AsyncSession, *, customer_id: str, erasure_id: str) -> dict[str, int]:
    """Delete or redact every row about ``customer_id``; rows affected per table."""
    alert_ids = list(
        await session.scalars(select(AlertRecord.id).where(AlertRecord.customer_id == customer_id))
    )
    notification_ids = select(Notification.id).where(Notification.alert_id.in_(alert_ids))
    counts: dict[str, int] = {}
    counts["delivery_log"] = await _rowcount(
        session,
        delete(DeliveryAttempt).where(DeliveryAttempt.notification_id.in_(notification_ids)),
    )
    counts["notifications"] = await _rowcount(
        session, delete(Notification).where(Notification.alert_id.in_(alert_ids))
    )
    counts["digest_items"] = await _trim_digests(
        session, customer_id=customer_id, erasure_id=erasure_id
    )
    counts["alert_versions"] = await _rowcount(
        session, delete(AlertVersion).where(AlertVersion.alert_id.in_(alert_ids))
    )
    counts["alerts"] = await _rowcount(
        session, delete(AlertRecord).where(AlertRecord.customer_id == customer_id)
    )
    for name, model in (
        ("case_entries", CaseEntry),
        ("score_history", ScorePoint),
        ("customer_state", CustomerStateRecord),
        ("assignments", Assignment),
        ("marketing_objections", MarketingObjection),
    ):
        counts[name] = await _rowcount(
            session,
            delete(model).where(model.customer_id == customer_id),
        )
    reason = f"erasure:{erasure_id}"
    await open_gate(session, reason=reason)
    counts["value_reviews"] = await _rowcount(
        session, delete(ValueReview).where(ValueReview.customer_id == customer_id)
    )
    counts["suggestion_outcomes"] = await _rowcount(
        session, delete(SuggestionOutcome).where(SuggestionOutcome.customer_id == customer_id)
    )
    await close_gate(session, reason=reason)
    counts["audit_details_redacted"] = await _rowcount(
        session,
        update(AuditEntry)
        .where(
            or_(
                AuditEntry.customer_id == customer_id,
                AuditEntry.alert_id.in_(alert_ids) if alert_ids else false(),
                # a row about nobody in particular that names the customer (e.g. a bulk
                # acknowledgement); another customer's row is theirs: the verifier would (rightly)
                # call a marker of this erasure on it an alteration
                and_(AuditEntry.customer_id.is_(None), _mentions(AuditEntry.detail, customer_id)),
            ),
            AuditEntry.action.not_in(PROOF_ACTIONS),
            ~cast(AuditEntry.detail, Text).contains(f'"{REDACTED_KEY}"', autoescape=True),
        )
        .values(detail={REDACTED_KEY: erasure_id}),
    )
    return counts
