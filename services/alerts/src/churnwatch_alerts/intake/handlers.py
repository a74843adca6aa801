"""Applying one batch of Kafka records to the database, inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson
import structlog
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.alerts.intake import store_alert
from churnwatch_alerts.assignments.service import apply_assigned, apply_profile
from churnwatch_alerts.audit import SYSTEM_INTAKE
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.metrics import INTAKE_REJECTED
from churnwatch_shared.alerts import Alert, Severity
from churnwatch_shared.customer_state import CustomerStateSnapshot
from churnwatch_shared.events import (
    CustomerAssignedEvent,
    CustomerProfileEvent,
    EventType,
    parse_event,
)
from churnwatch_shared.topics import HEADER_EVENT_TYPE

log = structlog.get_logger(__name__)

WANTED_EVENTS = frozenset({EventType.CUSTOMER_ASSIGNED.value, EventType.CUSTOMER_PROFILE.value})


@dataclass(frozen=True, slots=True)
class IntakeTopics:
    alerts: str
    customer_state: str
    events: str


@dataclass(slots=True)
class BatchResult:
    alerts_new: int = 0
    alerts_duplicate: int = 0
    snapshots: int = 0
    assignments: int = 0
    skipped: int = 0
    rejected: int = 0


def _event_type(record: ConsumerRecord) -> str | None:
    for name, value in record.headers or ():
        if name == HEADER_EVENT_TYPE:
            return value.decode(errors="replace")
    # A record without the header is rare (raw producers); peek at the JSON instead.
    try:
        body = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        return None
    return body.get("event_type") if isinstance(body, dict) else None


def _reject(record: ConsumerRecord, result: BatchResult, error: Exception) -> None:
    result.rejected += 1
    INTAKE_REJECTED.labels(topic=record.topic).inc()
    log.warning(
        "intake.rejected",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        error=type(error).__name__,
    )


def _order(record: ConsumerRecord, topics: IntakeTopics) -> int:
    # Assignments first, then snapshots, then alerts: an alert arriving in the same batch as its
    # customer's assignment is routed to the manager, not the branch queue.
    return {topics.events: 0, topics.customer_state: 1, topics.alerts: 2}.get(record.topic, 3)


async def apply_batch(
    session: AsyncSession,
    *,
    records: list[ConsumerRecord],
    topics: IntakeTopics,
    now: datetime,
    sla_seconds: dict[Severity, int],
) -> BatchResult:
    """Apply records in a stable order; invalid records are counted and skipped, never retried."""
    result = BatchResult()
    for record in sorted(records, key=lambda r: (_order(r, topics), r.timestamp, r.offset)):
        if record.value is None:
            result.skipped += 1
            continue
        try:
            if record.topic == topics.alerts:
                alert = Alert.model_validate_json(record.value)
                if await store_alert(session, alert=alert, now=now, sla_seconds=sla_seconds):
                    result.alerts_new += 1
                else:
                    result.alerts_duplicate += 1
            elif record.topic == topics.customer_state:
                snapshot = CustomerStateSnapshot.model_validate_json(record.value)
                await upsert_state(
                    session,
                    customer_id=snapshot.customer_id,
                    as_of=snapshot.as_of,
                    snapshot=snapshot.model_dump(mode="json"),
                    now=now,
                )
                result.snapshots += 1
            elif record.topic == topics.events:
                if _event_type(record) not in WANTED_EVENTS:
                    result.skipped += 1
                    continue
                event = parse_event(record.value)
                if isinstance(event, CustomerAssignedEvent):
                    await apply_assigned(
                        session,
                        customer_id=event.customer_id,
                        payload=event.payload,
                        occurred_at=event.occurred_at,
                        actor=SYSTEM_INTAKE,
                        now=now,
                    )
                    result.assignments += 1
                elif isinstance(event, CustomerProfileEvent):
                    await apply_profile(
                        session, customer_id=event.customer_id, payload=event.payload, now=now
                    )
                    result.assignments += 1
            else:
                result.skipped += 1
        except (ValidationError, ValueError) as exc:
            _reject(record, result, exc)
    return result
