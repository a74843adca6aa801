"""Dead-letter API: /v1/notifications/dead-letters (team leads: their team's; admins: all)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status

from churnwatch_alerts import audit
from churnwatch_alerts.auth.dependencies import CurrentPrincipal
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.notifications import dead_letters
from churnwatch_alerts.notifications.dead_letters import DeadLetterFilter
from churnwatch_alerts.notifications.schemas import (
    MAX_ID,
    DeadLetterOut,
    DeadLetterPage,
    RedriveRequest,
    RedriveResult,
)

router = APIRouter(prefix="/v1/notifications/dead-letters", tags=["notifications"])

NOT_FOUND = {"description": "no such dead letter, or not one the caller may redrive"}


async def require_dead_letter_role(principal: CurrentPrincipal) -> Principal:
    """Team leads and admins only."""
    if principal.role not in dead_letters.DEAD_LETTER_ROLES:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN, detail="team lead or admin role required"
        )
    return principal


OperatorPrincipal = Annotated[Principal, Depends(require_dead_letter_role)]


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


def _wake_dispatcher(request: Request) -> None:
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


@router.get("", response_model=DeadLetterPage)
async def list_dead_letters(
    request: Request,
    session: SessionDep,
    principal: OperatorPrincipal,
    recipient: Annotated[str | None, Query(min_length=1, max_length=140)] = None,
    channel: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeadLetterPage:
    """Notifications given up on, most recently dead first."""
    filters = DeadLetterFilter(
        scope=dead_letters.visible_to(principal), recipient=recipient, channel=channel
    )
    total, rows = await dead_letters.list_dead(session, filters=filters, limit=limit, offset=offset)
    audit.record(
        session,
        actor=principal.id,
        action="notification.dead_letters.listed",
        at=_now(request),
        detail={"recipient": recipient, "channel": channel, "returned": [r.id for r in rows]},
    )
    return DeadLetterPage(
        total=total, items=[DeadLetterOut(**dead_letters.describe(r)) for r in rows]
    )


@router.post("/{notification_id}/redrive", response_model=DeadLetterOut, responses={404: NOT_FOUND})
async def redrive_one(
    notification_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    session: SessionDep,
    principal: OperatorPrincipal,
) -> DeadLetterOut:
    """Send one dead letter again, with a fresh retry window and the same delivery id."""
    filters = DeadLetterFilter(scope=dead_letters.visible_to(principal), ids=(notification_id,))
    rows = await dead_letters.redrive(
        session, filters=filters, actor=principal.id, now=_now(request)
    )
    if not rows:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail=f"no dead letter {notification_id} that you may redrive",
        )
    # Committed before waking the dispatcher, so its next claim sees the row as pending.
    await session.commit()
    _wake_dispatcher(request)
    return DeadLetterOut(**dead_letters.describe(rows[0]))


@router.post("/redrive", response_model=RedriveResult)
async def redrive_many(
    body: RedriveRequest, request: Request, session: SessionDep, principal: OperatorPrincipal
) -> RedriveResult:
    """Send the matching dead letters again (by ids, recipient and/or channel)."""
    filters = DeadLetterFilter(
        scope=dead_letters.visible_to(principal),
        recipient=body.recipient,
        channel=body.channel,
        ids=tuple(body.ids) if body.ids is not None else None,
    )
    rows = await dead_letters.redrive(
        session, filters=filters, actor=principal.id, now=_now(request)
    )
    await session.commit()
    _wake_dispatcher(request)
    return RedriveResult(redriven=[r.id for r in rows])
