"""``POST /v1/iso20022/camt.053`` and ``/camt.054``: XML in, ChurnWatch events out.

Answers: 200 with one outcome per entry/balance (accepted, duplicate, skipped, rejected + reason)
when at least one item was accepted (now or before: duplicate) or nothing was rejected; 422 with
the same list when every mappable item was rejected. Every answer counts the message's
``statements``, ``entries`` and ``closing_balances``, so a statement without movements is a 200
that says ``"entries": 0`` (a valid document a bank sends on quiet days; refusing it would make
the sender retry or escalate a correct file). A document without any Stmt/Ntfctn is 422.
Duplicates: an event id this ingest process acknowledged recently for the same producer (the
check the JSON path uses), or repeated within the message, is answered ``duplicate`` and not
published again; 400 malformed XML (naming line and column) or forbidden DTD/entities; 413 body
too large; 422 unsupported message or version; 403 when the producer may not send
transaction.posted / balance.snapshot; 503 + Retry-After when publishing failed (nothing of the
message is reported accepted then).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from churnwatch_ingest.adapters.iso20022.mapping import (
    EntryOutcome,
    MappingResult,
    OwnerLookup,
    map_camt,
)
from churnwatch_ingest.adapters.iso20022.parse import (
    MAX_XML_BYTES,
    CamtError,
    MessageKind,
    parse_camt,
)
from churnwatch_ingest.recent_ids import RecentEventIds
from churnwatch_shared.events import Event

log = structlog.get_logger(__name__)

Publish = Callable[[list[Event]], Awaitable[None]]
_EVENT_TYPES = ("transaction.posted", "balance.snapshot")


async def _read_limited(request: Request, *, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise CamtError(413, f"XML body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def build_iso20022_router(
    *,
    publish: Publish,
    owner_of: OwnerLookup,
    producer_dependency: Callable[..., Any],
    own_bics: frozenset[str],
    max_body_bytes: int = MAX_XML_BYTES,
    recent: RecentEventIds | None = None,
) -> APIRouter:
    """The camt router; ``publish`` must resolve only after the broker acknowledged the events."""
    router = APIRouter(prefix="/v1/iso20022", tags=["iso20022"])
    producer_dep = Depends(producer_dependency)

    async def handle(request: Request, producer: Any, kind: MessageKind) -> JSONResponse:
        name = getattr(producer, "name", str(producer))
        may_send = getattr(producer, "may_send", None)
        if may_send is not None and not all(may_send(t) for t in _EVENT_TYPES):
            return JSONResponse(
                {"detail": f"producer {name} may not send {' and '.join(_EVENT_TYPES)}"},
                status_code=403,
            )
        try:
            body = await _read_limited(request, limit=max_body_bytes)
            message = parse_camt(body, expected=kind, max_bytes=max_body_bytes)
        except CamtError as exc:
            return JSONResponse({"detail": exc.message}, status_code=exc.status)
        result = map_camt(message, owner_of=owner_of, own_bics=own_bics, producer=name)
        _drop_duplicates(result, producer=name, recent=recent)
        if result.events:
            try:
                await publish(result.events)
            except Exception:
                log.exception(
                    "iso20022_publish_failed", message_kind=kind, events=len(result.events)
                )
                return JSONResponse(
                    {"detail": "broker unavailable; nothing from this message was accepted"},
                    status_code=503,
                    headers={"Retry-After": "5"},
                )
        outcomes = [{k: v for k, v in vars_of(o).items() if v is not None} for o in result.outcomes]
        counts = {
            s: sum(1 for o in result.outcomes if o.outcome == s)
            for s in ("accepted", "duplicate", "skipped", "rejected")
        }
        refused = counts["rejected"] and not (counts["accepted"] or counts["duplicate"])
        status = 422 if refused else 200
        log.info(
            "iso20022_message", message_kind=kind, version=message.version, producer=name, **counts
        )
        return JSONResponse(
            {
                "message": f"{kind}.001.{message.version}",
                "message_id": message.message_id,
                "statements": message.statements,
                "entries": len(message.entries),
                "closing_balances": len(message.closing_balances),
                **counts,
                "items": outcomes,
            },
            status_code=status,
        )

    @router.post("/camt.053", summary="Bank-to-customer statement (camt.053.001.02 to .13)")
    async def post_camt053(request: Request, producer: Any = producer_dep) -> JSONResponse:
        return await handle(request, producer, "camt.053")

    @router.post("/camt.054", summary="Debit/credit notification (camt.054.001.02 to .13)")
    async def post_camt054(request: Request, producer: Any = producer_dep) -> JSONResponse:
        return await handle(request, producer, "camt.054")

    return router


def _drop_duplicates(
    result: MappingResult, *, producer: str, recent: RecentEventIds | None
) -> None:
    """Mark events seen recently (or earlier in this message) as duplicates; keep the rest."""
    fresh: dict[str, Event] = {}
    for event in result.events:
        if event.event_id in fresh or (
            recent is not None and recent.seen(producer=producer, event_id=event.event_id)
        ):
            continue
        fresh[event.event_id] = event
    if len(fresh) == len(result.events):
        return
    kept: set[str] = set()
    for n, outcome in enumerate(result.outcomes):
        if outcome.outcome != "accepted" or outcome.event_id is None:
            continue
        if outcome.event_id in fresh and outcome.event_id not in kept:
            kept.add(outcome.event_id)
        else:
            result.outcomes[n] = EntryOutcome(
                outcome.item, "duplicate", "already accepted", outcome.event_id
            )
    result.events = list(fresh.values())


def vars_of(outcome: Any) -> dict[str, Any]:
    """A slotted dataclass as a dict."""
    return {name: getattr(outcome, name) for name in outcome.__slots__}
