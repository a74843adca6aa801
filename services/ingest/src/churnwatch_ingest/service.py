"""The ingest use cases: one event or a batch from an authenticated producer, onto the events topic.

Batches are per-item, not all-or-nothing: every item gets exactly one final status.
- ``accepted``: the broker acknowledged it (acks=all) before the answer was sent.
- ``duplicate``: the same (producer, event_id) was acknowledged recently by this process, or
  appears earlier in the same batch; nothing new was written.
- ``rejected``: invalid (field-level reasons), outside the producer's scope, or too large; never
  written. Fix and resend only these.
- ``unavailable``: the broker did not acknowledge in time. The batch then answers 503 with
  ``Retry-After``; resend the batch (or these items): accepted items come back as duplicates and
  the state monitor deduplicates by (producer, event_id), so a resend never counts twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiokafka.errors import MessageSizeTooLargeError
from churnwatch_shared.events import Event

from churnwatch_ingest.auth import Producer
from churnwatch_ingest.metrics import IngestMetrics
from churnwatch_ingest.producer import (
    BrokerUnavailable,
    EventPublisher,
    Outcome,
    Record,
    event_record,
)
from churnwatch_ingest.recent_ids import RecentEventIds
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

log = structlog.get_logger(__name__)
_stdlib_log = logging.getLogger(__name__)
SOURCE_HTTP = "http"


@dataclass(slots=True)
class IngestService:
    """Validates, deduplicates and publishes events; owns no I/O besides the publisher."""

    settings: IngestSettings
    publisher: EventPublisher
    recent: RecentEventIds
    metrics: IngestMetrics

    @property
    def _skew(self) -> timedelta:
        return timedelta(seconds=self.settings.max_future_skew_seconds)

    def _validate(self, raw: bytes, producer: Producer, now: datetime) -> Event:
        return validate_event_bytes(
            raw,
            producer=producer.name,
            allowed=producer.event_types,
            now=now,
            max_future_skew=self._skew,
        )

    def _validate_obj(self, obj: object, producer: Producer, now: datetime) -> Event:
        return validate_event(
            obj,
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
        try:
            await self.publisher.publish(event_record(event))
        except MessageSizeTooLargeError:
            raise EventRejected(
                413,
                Reason.TOO_LARGE,
                "the broker refused the event as too large",
                event_type=event_type,
            ) from None
        except BrokerUnavailable:
            self.metrics.unavailable.labels(event_type).inc()
            raise
        self.recent.remember(producer=producer.name, event_id=event.event_id)
        self.metrics.accepted.labels(event_type, SOURCE_HTTP).inc()
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
        at thousands of items per request model construction would dominate the cost.
        """
        items = self._split(raw=raw, ndjson=ndjson)
        now = datetime.now(UTC)
        results: list[dict[str, Any]] = []
        to_send: list[tuple[int, Event]] = []
        records: list[Record] = []
        in_batch: set[str] = set()
        max_bytes = self.settings.max_event_bytes
        rejected = self.metrics.rejected
        for index, item in enumerate(items):
            try:
                if isinstance(item, bytes):
                    event = self._validate(item, producer, now)
                else:
                    event = self._validate_obj(item, producer, now)
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
                rejected.labels(exc.event_type, exc.reason, SOURCE_HTTP).inc()
                results.append(_rejected(index, exc))
                continue
            event_id = event.event_id
            if event_id in in_batch or self.recent.seen(producer=producer.name, event_id=event_id):
                self.metrics.duplicate.labels(event.event_type).inc()
                results.append(
                    {
                        "index": index,
                        "status": ItemStatus.DUPLICATE.value,
                        "event_id": event_id,
                        "event_type": event.event_type,
                    }
                )
                continue
            in_batch.add(event_id)
            results.append(
                {
                    "index": index,
                    "status": ItemStatus.ACCEPTED.value,
                    "event_id": event_id,
                    "event_type": event.event_type,
                }
            )
            to_send.append((len(results) - 1, event))
            records.append(record)
        if records:
            await self._publish_batch(results, to_send, records, producer)
        counts = Counter(r["status"] for r in results)
        return {
            "accepted": counts[ItemStatus.ACCEPTED.value],
            "duplicate": counts[ItemStatus.DUPLICATE.value],
            "rejected": counts[ItemStatus.REJECTED.value],
            "unavailable": counts[ItemStatus.UNAVAILABLE.value],
            "results": results,
        }

    async def _publish_batch(
        self,
        results: list[dict[str, Any]],
        to_send: list[tuple[int, Event]],
        records: list[Record],
        producer: Producer,
    ) -> None:
        try:
            outcomes = await self.publisher.publish_many(records)
        except BrokerUnavailable:  # not connected: nothing was sent
            outcomes = [Outcome.UNAVAILABLE] * len(records)
        accepted: Counter[str] = Counter()
        for (position, event), outcome in zip(to_send, outcomes, strict=True):
            result = results[position]
            if outcome is Outcome.ACKNOWLEDGED:
                self.recent.remember(producer=producer.name, event_id=event.event_id)
                accepted[event.event_type] += 1
            elif outcome is Outcome.TOO_LARGE:
                self.metrics.rejected.labels(event.event_type, Reason.TOO_LARGE, SOURCE_HTTP).inc()
                result.update(
                    status=ItemStatus.REJECTED.value,
                    error=Reason.TOO_LARGE,
                    message="the broker refused the record as too large",
                    errors=[],
                )
            else:
                self.metrics.unavailable.labels(event.event_type).inc()
                result.update(
                    status=ItemStatus.UNAVAILABLE.value,
                    error="broker_unavailable",
                    message="not acknowledged by the broker; resend (deduplicated by event_id)",
                )
        for event_type, count in accepted.items():
            self.metrics.accepted.labels(event_type, SOURCE_HTTP).inc(count)


def _rejected(index: int, exc: EventRejected) -> dict[str, Any]:
    return {
        "index": index,
        "status": ItemStatus.REJECTED.value,
        "event_type": None if exc.event_type == "unknown" else exc.event_type,
        "error": exc.reason,
        "message": exc.message,
        "errors": [e.as_dict() for e in exc.errors],
    }
