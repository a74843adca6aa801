"""Cases: list (keyset paging), one case with the customer 360 header and timeline, notes,
contacts, bulk acknowledge and resolve. Every read of customer data is audited."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.access import visible_alerts, visible_customers
from churnwatch_alerts.alerts import service as alerts_service
from churnwatch_alerts.alerts.schemas import AlertOut
from churnwatch_alerts.assignments import repository as assignments_repo
from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.cases import history, repository, timeline, wording
from churnwatch_alerts.cases.schemas import (
    BulkAckResult,
    CaseDetail,
    CasePage,
    CaseStatus,
    CaseSummary,
    Customer360,
    ReasonOut,
    ScorePointOut,
)
from churnwatch_alerts.customers import repository as customers
from churnwatch_alerts.models import AlertStatus, Assignment, Outcome
from churnwatch_alerts.routing import route_target

STATUSES = [CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.CLOSED]
TREND_DAYS = 90


class CaseNotFound(Exception):
    """No case of this customer among the caller's (answers 404, as if missing)."""


class BadCursor(ValueError):
    """The paging cursor is not one this API handed out."""


def encode_cursor(cursor: repository.Cursor) -> str:
    """An opaque cursor string for the next page (it records the order it belongs to)."""
    if cursor.value_at_risk is not None:
        raw = f"v:{cursor.sort_key}:{cursor.value_at_risk}:{cursor.customer_id}".encode()
    else:
        raw = f"{cursor.sort_key}:{cursor.customer_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, *, order: repository.Order = "priority") -> repository.Cursor:
    """The sort key behind a cursor of this order; raises BadCursor for anything else."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        if order == "value_at_risk":
            tag, key, var, customer_id = raw.split(":", 3)
            if tag != "v":
                raise ValueError(tag)
            return repository.Cursor(
                sort_key=int(key), customer_id=customer_id, value_at_risk=Decimal(var)
            )
        key, customer_id = raw.split(":", 1)
        return repository.Cursor(sort_key=int(key), customer_id=customer_id)
    except (ValueError, ArithmeticError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor(
            f"cursor is not one returned as next_cursor by this endpoint for order={order}"
        ) from exc


def _summary(row: dict[str, Any], now: datetime) -> CaseSummary:
    assignment: Assignment | None = row["assignment"]
    return CaseSummary(
        customer_id=row["customer_id"],
        display_name=assignment.display_name if assignment else None,
        segment=assignment.segment if assignment else None,
        tier=assignment.tier if assignment else None,
        status=STATUSES[int(row["status_rank"])],
        top_priority=int(row["top_priority"]),
        alerts=int(row["alerts"]),
        open_alerts=int(row["open_alerts"]),
        assignee=route_target(assignment=assignment),
        escalated=int(row["escalation_level"] or 0) > 0,
        sla_breached=int(row["breached"] or 0) > 0,
        sla_due_at=row["sla_due_at"],
        last_alert_at=row["last_alert_at"],
        value_at_risk=row.get("value_at_risk"),
        value_currency=row.get("value_currency"),
    )


async def list_cases(
    session: AsyncSession,
    *,
    principal: Principal,
    filters: repository.CaseFilters,
    cursor: str | None,
    limit: int,
    now: datetime,
    order: repository.Order = "priority",
) -> CasePage:
    """One page of the caller's cases in ``order`` (see repository); audited."""
    after = decode_cursor(cursor, order=order) if cursor else None
    rows = await repository.list_page(
        session,
        scope=visible_alerts(principal),
        filters=filters,
        after=after,
        limit=limit,
        now=now,
        order=order,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_summary(r, now) for r in rows]
    record(
        session,
        actor=principal.id,
        action="case.list",
        at=now,
        detail={
            "count": len(items),
            "order": order,
            "customer_ids": [i.customer_id for i in items],
        },
    )
    next_cursor = None
    if more and rows:
        last = rows[-1]
        if order == "value_at_risk":
            at = repository.Cursor(
                sort_key=int(last["closed_rank"]),
                customer_id=last["customer_id"],
                value_at_risk=Decimal(last["value_at_risk"] or 0),
            )
        else:
            at = repository.Cursor(sort_key=int(last["sort_key"]), customer_id=last["customer_id"])
        next_cursor = encode_cursor(at)
    return CasePage(items=items, next_cursor=next_cursor, order=order)


async def _summary_of(
    session: AsyncSession, *, principal: Principal, customer_id: str, now: datetime
) -> CaseSummary:
    rows = await repository.list_page(
        session,
        scope=visible_alerts(principal) & (repository.AlertRecord.customer_id == customer_id),
        filters=repository.CaseFilters(),
        after=None,
        limit=1,
        now=now,
    )
    if not rows:
        raise CaseNotFound(customer_id)
    return _summary(rows[0], now)


def _header(
    assignment: Assignment | None,
    snapshot: dict[str, Any] | None,
    *,
    customer_id: str,
    currency: str,
    last_contact: Any,
    points: list[Any],
) -> Customer360:
    states = (snapshot or {}).get("states") or {}
    scale = (states.get("scale") or {}).get("metrics") or {}
    usage = (states.get("product_usage") or {}).get("metrics") or {}
    stability = (states.get("stability") or {}).get("metrics") or {}
    assets = scale.get("financial_assets")
    tenure = stability.get("tenure_days")
    since = assignment.customer_since if assignment else None
    if tenure is None and since is not None and snapshot:
        tenure = (datetime.fromisoformat(snapshot["as_of"]).date() - since).days
    return Customer360(
        customer_id=customer_id,
        display_name=assignment.display_name if assignment else None,
        segment=(assignment.segment if assignment else None) or (snapshot or {}).get("segment"),
        tier=(assignment.tier if assignment else None) or (snapshot or {}).get("tier"),
        branch_id=assignment.branch_id if assignment else None,
        relationship_manager_id=assignment.relationship_manager_id if assignment else None,
        wealth_advisor_id=assignment.wealth_advisor_id if assignment else None,
        service_team_id=assignment.service_team_id if assignment else None,
        customer_since=since,
        tenure_days=int(tenure) if tenure is not None else None,
        financial_assets=wording.amount(float(assets), currency=currency)
        if assets is not None
        else None,
        products_held=usage.get("active_products"),
        last_contact_at=last_contact.at if last_contact else None,
        last_contact_kind=last_contact.contact_kind if last_contact else None,
        churn_score=(snapshot or {}).get("churn_score"),
        churn_level=(snapshot or {}).get("churn_level"),
        churn_probability=(snapshot or {}).get("churn_probability"),
        model_version=(snapshot or {}).get("model_version"),
        score_trend=[
            ScorePointOut(
                day=p.day,
                churn_score=p.churn_score,
                churn_level=p.churn_level,
                churn_probability=p.churn_probability,
            )
            for p in points
        ],
    )


async def case_detail(
    session: AsyncSession,
    *,
    principal: Principal,
    customer_id: str,
    currency: str,
    now: datetime,
    zone: tzinfo | None = None,
) -> CaseDetail:
    """The case page: header, alerts, plain-language reasons, evidence and timeline (audited)."""
    summary = await _summary_of(session, principal=principal, customer_id=customer_id, now=now)
    alerts = await repository.alerts_of(
        session, customer_id=customer_id, scope=visible_alerts(principal)
    )
    assignment = await assignments_repo.get(session, customer_id=customer_id)
    state = await customers.get_state(session, customer_id=customer_id)
    snapshot = state.snapshot if state is not None else None
    since = (now - timedelta(days=TREND_DAYS)).date()
    points = await history.score_points(session, customer_id=customer_id, since=since)
    entries = await repository.entries_of(session, customer_id=customer_id)
    last_contact = next((e for e in reversed(entries) if e.kind == "contact"), None)
    unresolved = [a for a in alerts if a.status != AlertStatus.RESOLVED.value] or alerts[:1]
    # The most urgent alert's reasons first (the churn-risk alert usually).
    unresolved.sort(key=lambda a: (-a.priority, a.id))
    reasons = [
        ReasonOut(
            alert_id=a.id,
            code=str(r.get("code")),
            text=wording.reason_text(
                r, currency=currency, occurred_at=a.payload.get("occurred_at"), zone=zone
            ),
        )
        for a in unresolved
        for r in a.payload.get("reasons", [])
    ]
    evidence = [
        line
        for a in unresolved
        for line in wording.evidence_lines(a.payload, currency=currency, zone=zone)
    ]
    record(session, actor=principal.id, action="case.read", at=now, customer_id=customer_id)
    return CaseDetail(
        summary=summary,
        customer=_header(
            assignment,
            snapshot,
            customer_id=customer_id,
            currency=currency,
            last_contact=last_contact,
            points=points,
        ),
        alerts=[AlertOut.model_validate(a) for a in alerts],
        reasons=reasons,
        evidence=evidence,
        timeline=await timeline.build(
            session, customer_id=customer_id, alerts=alerts, entries=entries, points=points
        ),
    )


async def require_case(
    session: AsyncSession, *, principal: Principal, customer_id: str, now: datetime
) -> CaseSummary:
    """The case's summary when the caller may work on it; raises CaseNotFound otherwise."""
    try:
        return await _summary_of(session, principal=principal, customer_id=customer_id, now=now)
    except CaseNotFound:
        if await assignments_repo.is_visible(
            session, customer_id=customer_id, scope=visible_customers(principal)
        ):
            raise CaseNotFound(f"customer {customer_id} has no case yet") from None
        raise


async def bulk_acknowledge(
    session: AsyncSession,
    *,
    principal: Principal,
    customer_ids: list[str],
    note: str | None,
    now: datetime,
) -> BulkAckResult:
    """Acknowledge every open or snoozed alert of these cases (each alert audited)."""
    done, cases, missing = 0, [], []
    for customer_id in dict.fromkeys(customer_ids):
        alerts = await repository.alerts_of(
            session, customer_id=customer_id, scope=visible_alerts(principal)
        )
        if not alerts:
            missing.append(customer_id)
            continue
        cases.append(customer_id)
        for alert in alerts:
            if alert.status in (AlertStatus.OPEN.value, AlertStatus.SNOOZED.value):
                await alerts_service.acknowledge(
                    session, principal=principal, alert_id=alert.id, note=note, now=now
                )
                done += 1
    return BulkAckResult(acknowledged=done, cases=cases, not_found=missing)


async def resolve_case(
    session: AsyncSession,
    *,
    principal: Principal,
    customer_id: str,
    outcome: Outcome,
    note: str | None,
    now: datetime,
) -> int:
    """Resolve every unresolved alert of the case with the one outcome; returns how many."""
    alerts = await repository.alerts_of(
        session, customer_id=customer_id, scope=visible_alerts(principal)
    )
    if not alerts:
        raise CaseNotFound(customer_id)
    resolved = 0
    for alert in alerts:
        if alert.status != AlertStatus.RESOLVED.value:
            await alerts_service.resolve(
                session, principal=principal, alert_id=alert.id, outcome=outcome, note=note, now=now
            )
            resolved += 1
    return resolved
