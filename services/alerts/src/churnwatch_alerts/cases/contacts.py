"""Notes and logged contacts on a case. A contact also goes to ingest as a ``contact.logged``
event (the two-way channel: the monitor sees it); the note text stays in this service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.cases.schemas import ContactRequest, EntryOut
from churnwatch_alerts.models import CaseEntry

log = structlog.get_logger(__name__)

CHANNEL_OF = {"call": "phone", "visit": "visit", "meeting": "branch", "message": "chat"}


class IngestUnavailable(Exception):
    """Ingest did not accept the contact.logged event (down, refused the key, or rejected it)."""


class IngestClient:
    """Posts events to ingest's HTTP API with this service's producer key."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api_key = api_key
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout_seconds, transport=transport
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def send(self, *, event: dict[str, Any]) -> None:
        """One event; raises IngestUnavailable unless ingest answered accepted or duplicate."""
        if not self._api_key:
            raise IngestUnavailable("no ingest producer key configured (INGEST_API_KEY[_FILE])")
        try:
            answer = await self._client.post(
                "/v1/events", json=event, headers={"X-API-Key": self._api_key}
            )
        except httpx.HTTPError as exc:
            raise IngestUnavailable(f"ingest unreachable: {type(exc).__name__}") from exc
        if answer.status_code not in (200, 202):
            log.warning("ingest.contact_refused", status=answer.status_code, body=answer.text[:300])
            raise IngestUnavailable(f"ingest answered {answer.status_code}: {answer.text[:300]}")


async def add_note(
    session: AsyncSession, *, principal: Principal, customer_id: str, text: str, now: datetime
) -> EntryOut:
    """A note on the case (audited)."""
    entry = CaseEntry(customer_id=customer_id, kind="note", author=principal.id, at=now, text=text)
    session.add(entry)
    await session.flush()
    record(
        session,
        actor=principal.id,
        action="case.note",
        at=now,
        customer_id=customer_id,
        detail={"entry_id": entry.id},
    )
    return EntryOut.model_validate(entry)


async def log_contact(
    session: AsyncSession,
    *,
    principal: Principal,
    customer_id: str,
    body: ContactRequest,
    ingest: IngestClient,
    now: datetime,
) -> EntryOut:
    """Record the contact and send it to ingest first: if ingest refuses, nothing is stored."""
    event_id = f"alerts-contact-{uuid.uuid4().hex}"
    event = {
        "event_id": event_id,
        "event_type": "contact.logged",
        "schema_version": 1,
        "occurred_at": now.isoformat(),
        "customer_id": customer_id,
        "payload": {
            "kind": body.kind.value,
            "initiated_by": body.initiated_by,
            "channel": CHANNEL_OF[body.kind.value],
            **({"manager_id": principal.id} if body.initiated_by == "bank" else {}),
        },
    }
    await ingest.send(event=event)
    entry = CaseEntry(
        customer_id=customer_id,
        kind="contact",
        author=principal.id,
        at=now,
        contact_kind=body.kind.value,
        initiated_by=body.initiated_by,
        event_id=event_id,
        text=body.note,
    )
    session.add(entry)
    await session.flush()
    record(
        session,
        actor=principal.id,
        action="case.contact_logged",
        at=now,
        customer_id=customer_id,
        detail={"entry_id": entry.id, "event_id": event_id, "kind": body.kind.value},
    )
    return EntryOut.model_validate(entry)
