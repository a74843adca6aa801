"""Poison records of the intake: which failures no retry can fix, and their dead letters.

A record is poison when it cannot be decoded against the contract, or when the database
refuses the data itself (SQLSTATE class 22 "data exception", e.g. NUL in text, a value too long;
class 23 "integrity constraint violation"). Such a record goes to ``ALERTS_INTAKE_DEAD_LETTER``
with its original key, bytes and headers plus ``dlq.reason``, ``dlq.detail`` (JSON) and
``dlq.source`` (``topic/partition/offset``), the same headers ingest and the monitor write.
Every other failure (database down, a lock timeout, the broker) is transient: the batch is
retried, and a batch pending for too long makes ``/readyz`` say so (``intake.progress``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from churnwatch_alerts.metrics import INTAKE_DEAD_LETTERED
from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs

log = structlog.get_logger(__name__)

REASON_MALFORMED_JSON = "malformed_json"
REASON_SCHEMA = "schema"
REASON_DATABASE_REFUSED = "database_refused"
# SQLSTATE classes of errors caused by the data itself: retrying the same row cannot succeed.
_DATA_SQLSTATE_CLASSES = ("22", "23")
_MAX_DETAIL_BYTES = 8 * 1024


@dataclass(frozen=True, slots=True)
class Poison:
    """One record that will never be stored, and why."""

    record: ConsumerRecord
    reason: str
    detail: dict[str, Any]


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return seen


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE of a database error anywhere in the exception chain, if any."""
    for link in _chain(error):
        code = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(code, str) and code:
            return code
    return None


def refused_by_database(error: BaseException) -> bool:
    """True when the database refused the data itself (a retry of the same row cannot work)."""
    if isinstance(error, sa_exc.DataError | sa_exc.IntegrityError):
        return True
    code = sqlstate_of(error)
    if code is not None:
        return code[:2] in _DATA_SQLSTATE_CLASSES
    # Text the driver cannot even encode (e.g. an unpaired surrogate) never reaches the server.
    return any(isinstance(link, UnicodeError) for link in _chain(error))


def database_detail(error: BaseException) -> dict[str, Any]:
    """What the database said, without the statement or its parameters (they hold customer data)."""
    innermost = _chain(error)[-1]
    message = str(innermost)
    return {
        "message": "the database refused the record",
        "error": type(innermost).__name__,
        "sqlstate": sqlstate_of(error),
        "database_message": message.splitlines()[0][:300] if message else "",
    }


def decode_failure(error: Exception) -> tuple[str, dict[str, Any]]:
    """(reason, detail) of a record the contract refuses: field paths and messages, no values."""
    if isinstance(error, ValidationError):
        errors = error.errors(include_url=False, include_input=False, include_context=False)
        reason = (
            REASON_MALFORMED_JSON
            if any(e["type"] == "json_invalid" for e in errors)
            else REASON_SCHEMA
        )
        return reason, {
            "message": "the record does not match its contract",
            "errors": [
                {"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
                for e in errors[:50]
            ],
        }
    return REASON_MALFORMED_JSON, {
        "message": f"the record cannot be decoded: {type(error).__name__}"
    }


def dead_letter_headers(poison: Poison) -> list[tuple[str, bytes]]:
    """The original headers plus the dead-letter ones."""
    record = poison.record
    return [
        *[(k, v) for k, v in (record.headers or ())],
        (topics.HEADER_DLQ_REASON, poison.reason.encode()),
        (topics.HEADER_DLQ_DETAIL, orjson.dumps(poison.detail)[:_MAX_DETAIL_BYTES]),
        (topics.HEADER_DLQ_SOURCE, f"{record.topic}/{record.partition}/{record.offset}".encode()),
    ]


class DeadLetters:
    """The intake's producer of dead letters (acks=all, idempotent)."""

    def __init__(self, *, bootstrap: str, topic: str, client_id: str) -> None:
        self.topic = topic
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            **client_kwargs(),
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
        )

    async def start(self) -> None:
        """Connect to the broker."""
        await self.producer.start()

    async def stop(self) -> None:
        """Flush and disconnect."""
        await self.producer.stop()

    async def send(self, *, poisons: list[Poison]) -> None:
        """Send every dead letter and return only once the broker acknowledged all of them."""
        futures = [
            await self.producer.send(
                self.topic,
                key=p.record.key,
                value=p.record.value or b"",
                headers=dead_letter_headers(p),
            )
            for p in poisons
        ]
        await asyncio.gather(*futures)
        for poison in poisons:
            INTAKE_DEAD_LETTERED.labels(topic=poison.record.topic, reason=poison.reason).inc()
            log.warning(
                "intake.dead_lettered",
                topic=poison.record.topic,
                partition=poison.record.partition,
                offset=poison.record.offset,
                reason=poison.reason,
                error=poison.detail.get("error") or poison.detail.get("sqlstate"),
            )
