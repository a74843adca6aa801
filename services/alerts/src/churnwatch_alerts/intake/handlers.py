"""Applying one batch of Kafka records to the database, inside the caller's transaction."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import structlog
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.alerts.store import store_alerts
from churnwatch_alerts.assignments.service import apply_assigned, apply_profile
from churnwatch_alerts.audit import SYSTEM_INTAKE
from churnwatch_alerts.calendar import ALWAYS, Calendars
from churnwatch_alerts.cases.history import upsert_score_points
from churnwatch_alerts.customers.locks import lock_customers
from churnwatch_alerts.customers.repository import upsert_states
from churnwatch_alerts.intake.lineage import Origin, origins
from churnwatch_alerts.intake.poison import Poison, decode_failure
from churnwatch_alerts.metrics import INTAKE_REJECTED
from churnwatch_alerts.privacy.intake import drop_erased, erase_tombstoned
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

# Context work is chopped into pieces this big so alert batches interleave on the event loop.
YIELD_EVERY = 100

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
    # records no retry can store: dead-lettered before the offsets move past them
    poison: list[Poison] = field(default_factory=list)
    # the new alerts' ingest time and trace context (intake.lineage), for after the commit
    origins: list[Origin] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        """Add another result's counts and poison records to this one."""
        self.alerts_new += other.alerts_new
        self.alerts_duplicate += other.alerts_duplicate
        self.snapshots += other.snapshots
        self.assignments += other.assignments
        self.skipped += other.skipped
        self.rejected += other.rejected
        self.poison.extend(other.poison)
        self.origins.extend(other.origins)


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
    reason, detail = decode_failure(error)
    result.poison.append(Poison(record=record, reason=reason, detail=detail))
    INTAKE_REJECTED.labels(topic=record.topic).inc()
    log.warning(
        "intake.rejected",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        error=type(error).__name__,
    )


async def apply_alerts(
    session: AsyncSession,
    *,
    records: list[ConsumerRecord],
    now: datetime,
    sla_seconds: dict[Severity, int],
    calendars: Calendars = ALWAYS,
) -> BatchResult:
    """Store a poll of alert records at once; invalid records are set aside as poison."""
    result = BatchResult()
    alerts: list[Alert] = []
    sources: list[ConsumerRecord] = []  # each alert's record
    for record in records:
        if record.value is None:
            result.skipped += 1
            continue
        try:
            alerts.append(Alert.model_validate_json(record.value))
            sources.append(record)
        except (ValidationError, ValueError) as exc:
            _reject(record, result, exc)
    # an erased customer's alerts from before the erasure (in flight meanwhile) are not stored
    kept = await drop_erased(session, alerts, key=lambda a: (a.customer_id, a.occurred_at))
    result.skipped += len(alerts) - len(kept)
    alerts = kept
    new = await store_alerts(
        session, alerts=alerts, now=now, sla_seconds=sla_seconds, calendars=calendars
    )
    result.origins = origins(records=sources, alerts=alerts, new=new)
    result.alerts_new = len(new)
    result.alerts_duplicate = len(alerts) - len(new)
    return result


async def _newest_snapshots(
    records: list[ConsumerRecord], result: BatchResult, tombstones: set[str]
) -> dict[str, tuple[CustomerStateSnapshot, dict[str, Any]]]:
    # The topic is keyed by customer: only each key's last record in the poll needs parsing.
    last: dict[bytes | None, ConsumerRecord] = {}
    for record in records:
        last[record.key if record.key is not None else record.offset.to_bytes(8)] = record
    result.snapshots += len(records) - len(last)
    newest: dict[str, tuple[CustomerStateSnapshot, dict[str, Any]]] = {}
    for n, record in enumerate(last.values(), start=1):
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let the alerts consumer run between parses
        if record.value is None:
            if record.key is not None:  # the monitor erased the customer's state
                tombstones.add(record.key.decode(errors="replace"))
            result.skipped += 1
            continue
        try:
            snapshot = CustomerStateSnapshot.model_validate_json(record.value)
        except (ValidationError, ValueError) as exc:
            _reject(record, result, exc)
            continue
        result.snapshots += 1
        held = newest.get(snapshot.customer_id)
        if held is None or snapshot.as_of >= held[0].as_of:
            # The validated wire JSON is stored as is (cheaper than dumping the model again).
            newest[snapshot.customer_id] = (snapshot, orjson.loads(record.value))
    return newest


def _customer_events(
    records: list[ConsumerRecord], result: BatchResult
) -> list[CustomerAssignedEvent | CustomerProfileEvent]:
    wanted: list[CustomerAssignedEvent | CustomerProfileEvent] = []
    for record in records:
        if record.value is None or _event_type(record) not in WANTED_EVENTS:
            result.skipped += 1
            continue
        try:
            event = parse_event(record.value)
        except (ValidationError, ValueError) as exc:
            _reject(record, result, exc)
            continue
        if isinstance(event, CustomerAssignedEvent | CustomerProfileEvent):
            wanted.append(event)
    return wanted


async def apply_context(
    session: AsyncSession,
    *,
    records: list[ConsumerRecord],
    topics: IntakeTopics,
    now: datetime,
) -> BatchResult:
    """Apply customer events in order, then only the newest snapshot per customer, in bulk upserts."""
    result = BatchResult()
    ordered = sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset))
    events = _customer_events([r for r in ordered if r.topic == topics.events], result)
    tombstones: set[str] = set()
    snapshots = await _newest_snapshots(
        [r for r in records if r.topic == topics.customer_state], result, tombstones
    )
    # an erased customer's profile, assignment and snapshots from before the erasure are dropped
    kept = await drop_erased(session, events, key=lambda e: (e.customer_id, e.occurred_at))
    result.skipped += len(events) - len(kept)
    events = kept
    fresh = await drop_erased(
        session, list(snapshots.items()), key=lambda item: (item[0], item[1][0].as_of)
    )
    result.skipped += len(snapshots) - len(fresh)
    snapshots = dict(fresh)
    result.skipped += sum(
        1 for r in records if r.topic not in (topics.events, topics.customer_state)
    )
    # All customers' locks up front, in one sorted pass (see customers.locks).
    await lock_customers(session, customer_ids={e.customer_id for e in events})
    for event in events:
        if isinstance(event, CustomerAssignedEvent):
            await apply_assigned(
                session,
                customer_id=event.customer_id,
                payload=event.payload,
                occurred_at=event.occurred_at,
                actor=SYSTEM_INTAKE,
                now=now,
            )
        else:
            await apply_profile(
                session, customer_id=event.customer_id, payload=event.payload, now=now
            )
        result.assignments += 1
    rows = [(c, s.as_of, body) for c, (s, body) in snapshots.items()]
    for start in range(0, len(rows), YIELD_EVERY):
        await upsert_states(session, rows=rows[start : start + YIELD_EVERY], now=now)
    # One point per customer and day for the case page's 90-day trend line.
    points = [s for s, _ in snapshots.values()]
    for start in range(0, len(points), YIELD_EVERY):
        await upsert_score_points(session, snapshots=points[start : start + YIELD_EVERY])
    await erase_tombstoned(session, customer_ids=tombstones - set(snapshots), now=now)
    return result
