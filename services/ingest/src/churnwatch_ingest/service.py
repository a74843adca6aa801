"""The ingest use cases: one event or a batch from an authenticated producer, onto the events topic.

Batches are per-item, not all-or-nothing: every item gets exactly one final status.
- ``accepted``: the broker acknowledged it (acks=all) before the answer was sent.
- ``duplicate``: the same (producer, event_id) was acknowledged recently by this process, or
  appears earlier in the same batch; nothing new was written.
- ``rejected``: invalid (field-level reasons), outside the producer's scope, or too large; never
  written. Fix and resend only these.
- ``unavailable``: the broker did not acknowledge in time, or the send failed (the producer is
  then re-created, see ``producer_health``); the message says which. The batch answers 503 with
  ``Retry-After``; resend the batch (or these items): accepted items come back as duplicates and
  the state monitor deduplicates by (producer, event_id), so a resend never counts twice.

A send that missed the deadline stays in flight in the producer (it may still be acknowledged
once the broker is back). Its ack future is kept by (producer, event_id): a resend waits for that
same send instead of writing the event again, and a late ack makes later resends duplicates. So
within one process an event answered 503 and then resent is on the topic once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from churnwatch_ingest.auth import Producer
from churnwatch_ingest.metrics import IngestMetrics
from churnwatch_ingest.producer import (
    BrokerUnavailable,
    EventPublisher,
    Outcome,
    Record,
    event_record,
)
from churnwatch_ingest.recent_ids import Key, RecentEventIds
from churnwatch_ingest.schemas import EventAnswer, ItemStatus
from churnwatch_ingest.settings import IngestSettings
from churnwatch_ingest.validation import (
    EventRejected,
    FieldError,
    Reason,
    decode_json,
    validate_event,
    validate_event_bytes,
)
from churnwatch_shared.events import Event

log = structlog.get_logger(__name__)
_stdlib_log = logging.getLogger(__name__)
SOURCE_HTTP = "http"
_ACCEPTED = ItemStatus.ACCEPTED.value
_DUPLICATE = ItemStatus.DUPLICATE.value


@dataclass(slots=True)
class IngestService:
    """Validates, deduplicates and publishes events; owns no I/O besides the publisher."""

    settings: IngestSettings
    publisher: EventPublisher
    recent: RecentEventIds
    metrics: IngestMetrics
    on_accepted: Callable[[Event], None] | None = None  # e.g. the account-owner index
    _in_flight: dict[Key, asyncio.Future[object]] = field(default_factory=dict)
    _skew: timedelta = field(init=False)

    def __post_init__(self) -> None:
        self._skew = timedelta(seconds=self.settings.max_future_skew_seconds)

    async def _publish_keyed(self, keys: list[Key], records: list[Record]) -> list[Outcome]:
        """Publish records, one per (producer, event_id), never two sends of one key at a time.

        The keys of a request (unique within it) are claimed, one future per request, before
        anything is sent; a request meeting a claimed key waits for that claim instead of writing
        the event again. A send that missed the deadline but may still be acknowledged keeps its
        key claimed by its own ack future; its ack (late) marks the key as acknowledged.
        """
        in_flight = self._in_flight
        claim: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        sends: list[int] = []
        waits: list[tuple[int, asyncio.Future[object]]] = []
        for index, key in enumerate(keys):
            existing = in_flight.get(key)
            if existing is None:
                in_flight[key] = claim
                sends.append(index)
            else:
                waits.append((index, existing))
        outcomes = [Outcome.UNAVAILABLE] * len(keys)
        settled = False
        try:
            if sends:
                answers = await self._send(
                    records if len(sends) == len(records) else [records[i] for i in sends]
                )
                self._settle(keys, sends, answers, outcomes, claim)
                settled = True
        finally:
            if not settled:
                for index in sends:
                    if in_flight.get(keys[index]) is claim:
                        del in_flight[keys[index]]
            claim.set_result(None)
        if waits:
            await asyncio.wait({f for _, f in waits}, timeout=self.publisher.timeout)
            for index, _ in waits:
                if self.recent.seen_key(keys[index]):
                    outcomes[index] = Outcome.ACKNOWLEDGED
        return outcomes

    def _settle(
        self,
        keys: list[Key],
        sends: list[int],
        answers: list[tuple[Outcome, asyncio.Future[object] | None]],
        outcomes: list[Outcome],
        claim: asyncio.Future[object],
    ) -> None:
        """Record each send's outcome and release its claim (or hand it to a pending ack)."""
        in_flight = self._in_flight
        acknowledged, unavailable = Outcome.ACKNOWLEDGED, Outcome.UNAVAILABLE
        remembered: list[Key] = []
        for index, (outcome, future) in zip(sends, answers, strict=True):
            outcomes[index] = outcome
            key = keys[index]
            if outcome is unavailable and future is not None and not future.done():
                in_flight[key] = future
                future.add_done_callback(functools.partial(self._late_ack, key))
                continue
            if outcome is acknowledged:
                remembered.append(key)
            if in_flight.get(key) is claim:
                del in_flight[key]
        self.recent.remember_keys(remembered)

    async def _send(
        self, records: list[Record]
    ) -> list[tuple[Outcome, asyncio.Future[object] | None]]:
        try:
            return await self.publisher.publish_tracked(records)
        except BrokerUnavailable:  # not connected: nothing was sent
            return [(Outcome.UNAVAILABLE, None)] * len(records)

    def _late_ack(self, key: Key, future: asyncio.Future[object]) -> None:
        if self._in_flight.get(key) is future:
            del self._in_flight[key]
        if not future.cancelled() and future.exception() is None:
            self.recent.remember_keys((key,))

    def _validate(self, raw: bytes, producer: Producer, now: datetime) -> Event:
        return validate_event_bytes(
            raw,
            producer=producer.name,
            allowed=producer.event_types,
            now=now,
            max_future_skew=self._skew,
        )

    async def accept_one(self, *, raw: bytes, producer: Producer) -> EventAnswer:
        """Validate and publish one event; raises EventRejected or BrokerUnavailable."""
        event = self._validate(raw, producer, datetime.now(UTC))
        event_type = event.event_type
        if self.recent.seen(producer=producer.name, event_id=event.event_id):
            self.metrics.duplicate.labels(event_type).inc()
            return EventAnswer(
                status=ItemStatus.DUPLICATE, event_id=event.event_id, event_type=event_type
            )
        record = event_record(event)
        [outcome] = await self._publish_keyed([(producer.name, event.event_id)], [record])
        if outcome is Outcome.TOO_LARGE:
            raise EventRejected(
                413,
                Reason.TOO_LARGE,
                "the broker refused the event as too large",
                event_type=event_type,
            )
        if outcome is Outcome.UNAVAILABLE:
            self.metrics.unavailable.labels(event_type).inc()
            raise BrokerUnavailable(f"{self.publisher.unavailable_reason(record)}; retry")
        self.metrics.accepted.labels(event_type, SOURCE_HTTP).inc()
        if self.on_accepted is not None:
            self.on_accepted(event)
        if _stdlib_log.isEnabledFor(logging.DEBUG):  # structlog would build the record first
            log.debug(
                "event_accepted",
                event_id=event.event_id,
                event_type=event_type,
                customer_id=event.customer_id,
                producer=producer.name,
            )
        return EventAnswer(
            status=ItemStatus.ACCEPTED, event_id=event.event_id, event_type=event_type
        )

    def _split(self, *, raw: bytes, ndjson: bool) -> list[bytes] | list[object]:
        """Batch items: raw NDJSON lines, or the decoded elements of a JSON array."""
        limit = self.settings.max_batch_items
        if ndjson:
            lines = [line for line in raw.splitlines() if line.strip()]
            self._check_count(len(lines), limit)
            return lines
        decoded = decode_json(raw)
        if not isinstance(decoded, list):
            raise EventRejected(
                422,
                Reason.NOT_AN_OBJECT,
                "a batch must be a JSON array of events (or NDJSON with application/x-ndjson)",
                [FieldError("$", "expected a JSON array", "a JSON array of event objects")],
            )
        self._check_count(len(decoded), limit)
        return decoded

    @staticmethod
    def _check_count(count: int, limit: int) -> None:
        if count == 0:
            raise EventRejected(
                422,
                Reason.SCHEMA,
                "the batch holds no events",
                [FieldError("$", "empty batch", f"1 to {limit} events")],
            )
        if count > limit:
            raise EventRejected(
                413,
                Reason.TOO_LARGE,
                f"a batch holds at most {limit} events",
                [FieldError("$", f"{count} events", f"at most {limit} events")],
            )

    async def accept_batch(self, *, raw: bytes, ndjson: bool, producer: Producer) -> dict[str, Any]:
        """Validate every item, publish the valid new ones concurrently, answer per item.

        The answer has the shape of ``schemas.BatchAnswer``; it is built as plain data because
        at thousands of items per request model construction would dominate the cost. Metrics
        are counted per request and label set, not per item.
        """
        items = self._split(raw=raw, ndjson=ndjson)
        now = datetime.now(UTC)
        skew = self._skew
        name, allowed = producer.name, producer.event_types
        results: list[dict[str, Any]] = []  # one per item, in item order
        sent: list[int] = []  # item index of each event to publish
        events: list[Event] = []
        records: list[Record] = []
        keys: dict[Key, None] = {}  # (producer, event_id) of each event to publish, in order
        max_bytes = self.settings.max_event_bytes
        seen = self.recent.seen_key
        rejected: Counter[tuple[str, str]] = Counter()
        duplicate: Counter[str] = Counter()
        for index, item in enumerate(items):
            try:
                if type(item) is bytes:
                    event = validate_event_bytes(
                        item, producer=name, allowed=allowed, now=now, max_future_skew=skew
                    )
                else:
                    event = validate_event(
                        item, producer=name, allowed=allowed, now=now, max_future_skew=skew
                    )
                record = event_record(event)
                if len(record.value) > max_bytes:
                    raise EventRejected(
                        413,
                        Reason.TOO_LARGE,
                        f"an event is at most {max_bytes} bytes",
                        [FieldError("$", "event too large", f"at most {max_bytes} bytes")],
                        event.event_type,
                    )
            except EventRejected as exc:
                rejected[(exc.event_type, exc.reason)] += 1
                results.append(_rejected(index, exc))
                continue
            event_id = event.event_id
            key = (name, event_id)
            if key in keys or seen(key):
                duplicate[event.event_type] += 1
                status = _DUPLICATE
            else:
                keys[key] = None
                sent.append(index)
                events.append(event)
                records.append(record)
                status = _ACCEPTED
            results.append(
                {
                    "index": index,
                    "status": status,
                    "event_id": event_id,
                    "event_type": event.event_type,
                }
            )
        for (event_type, reason), count in rejected.items():
            self.metrics.rejected.labels(event_type, reason, SOURCE_HTTP).inc(count)
        for event_type, count in duplicate.items():
            self.metrics.duplicate.labels(event_type).inc(count)
        unavailable = too_large = 0
        if records:
            outcomes = await self._publish_keyed(list(keys), records)
            unavailable, too_large = self._settle_batch(results, sent, events, outcomes)
        return {
            "accepted": len(records) - unavailable - too_large,
            "duplicate": sum(duplicate.values()),
            "rejected": sum(rejected.values()) + too_large,
            "unavailable": unavailable,
            "results": results,
        }

    def _settle_batch(
        self,
        results: list[dict[str, Any]],
        sent: list[int],
        events: list[Event],
        outcomes: list[Outcome],
    ) -> tuple[int, int]:
        """Settle each sent item's answer and count it; returns (unavailable, too large) counts."""
        observe = self.on_accepted
        metrics = self.metrics
        acknowledged = Outcome.ACKNOWLEDGED
        if outcomes.count(acknowledged) == len(outcomes):  # the usual case: every send acked
            if observe is not None:
                for event in events:
                    observe(event)
            for event_type, count in Counter[str](e.event_type for e in events).items():
                metrics.accepted.labels(event_type, SOURCE_HTTP).inc(count)
            return 0, 0
        accepted: Counter[str] = Counter()
        too_large: Counter[str] = Counter()
        unavailable: Counter[str] = Counter()
        reason = f"{self.publisher.unavailable_reason()}; resend (deduplicated by event_id)"
        for index, event, outcome in zip(sent, events, outcomes, strict=True):
            if outcome is acknowledged:
                accepted[event.event_type] += 1
                if observe is not None:
                    observe(event)
            elif outcome is Outcome.TOO_LARGE:
                too_large[event.event_type] += 1
                results[index].update(
                    status=ItemStatus.REJECTED.value,
                    error=Reason.TOO_LARGE,
                    message="the broker refused the record as too large",
                    errors=[],
                )
            else:
                unavailable[event.event_type] += 1
                results[index].update(
                    status=ItemStatus.UNAVAILABLE.value,
                    error="broker_unavailable",
                    message=reason,
                )
        for event_type, count in accepted.items():
            metrics.accepted.labels(event_type, SOURCE_HTTP).inc(count)
        for event_type, count in too_large.items():
            metrics.rejected.labels(event_type, Reason.TOO_LARGE, SOURCE_HTTP).inc(count)
        for event_type, count in unavailable.items():
            metrics.unavailable.labels(event_type).inc(count)
        return sum(unavailable.values()), sum(too_large.values())

    async def publish_adapted(self, events: list[Event], *, source: str) -> None:
        """Publish events mapped from another format; returns only once all were acknowledged.

        Raises BrokerUnavailable when any was not acknowledged (the caller answers 503 and the
        producer resends: event ids are deterministic, so the monitor counts a resend once).
        """
        outcomes = await self.publisher.publish_many([event_record(e) for e in events])
        if any(o is not Outcome.ACKNOWLEDGED for o in outcomes):
            for event in events:
                self.metrics.unavailable.labels(event.event_type).inc()
            raise BrokerUnavailable(
                "not every event of the message was acknowledged: "
                f"{self.publisher.unavailable_reason()}; resend the message"
            )
        accepted: Counter[str] = Counter()
        for event in events:
            if event.producer:
                self.recent.remember(producer=event.producer, event_id=event.event_id)
            accepted[event.event_type] += 1
            if self.on_accepted is not None:
                self.on_accepted(event)
        for event_type, count in accepted.items():
            self.metrics.accepted.labels(event_type, source).inc(count)


def _rejected(index: int, exc: EventRejected) -> dict[str, Any]:
    return {
        "index": index,
        "status": ItemStatus.REJECTED.value,
        "event_type": None if exc.event_type == "unknown" else exc.event_type,
        "error": exc.reason,
        "message": exc.message,
        "errors": [e.as_dict() for e in exc.errors],
    }
