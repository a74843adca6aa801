"""Decode one Fineract external-event record: the MessageV1 envelope, then its Avro payload.

Fineract's generated Avro classes may write either raw Avro binary or Avro single-object
encoding (marker ``C3 01`` + 8-byte schema fingerprint + binary); both are accepted for the
envelope and for ``data``. The fingerprint is not compared: our reader schemas are prefixes of
Fineract's (see ``schemas``), so their fingerprints differ by design.

Decimals (Fineract's BigDecimal, precision 20 scale 8) are read as their raw two's-complement
bytes, not through fastavro's decimal reader: that converts any length of bytes to an integer and
a Decimal first, and a record of a few MB holding one huge "amount" would keep the bridge busy
for minutes. :func:`decimal_or_reason` refuses more than 9 bytes before any arithmetic.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastavro import schemaless_reader

from churnwatch_ingest.adapters.fineract.schemas import PARSED_MESSAGE_V1, PAYLOAD_SCHEMAS

SINGLE_OBJECT_MARKER = b"\xc3\x01"
DECIMAL_SCALE = 8
_DECIMAL_MAX_BYTES = 9  # 20 digits fit in 67 bits; 9 bytes is the shortest encoding that holds them
_SINGLE_OBJECT_HEADER = 10
MAX_RECORD_BYTES = 4 * 1024 * 1024


class MalformedRecord(Exception):
    """The record cannot be decoded; ``reason`` is a short machine-friendly code plus detail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FineractMessage:
    """The decoded MessageV1 envelope (payload still Avro bytes)."""

    id: int
    source: str
    type: str
    category: str
    created_at: str
    business_date: str
    tenant_id: str
    idempotency_key: str
    dataschema: str
    data: bytes


def _strip_single_object_header(raw: bytes) -> bytes:
    if raw[:2] == SINGLE_OBJECT_MARKER:
        if len(raw) < _SINGLE_OBJECT_HEADER:
            raise MalformedRecord("truncated: single-object header shorter than 10 bytes")
        return raw[_SINGLE_OBJECT_HEADER:]
    return raw


def _read(schema: Any, raw: bytes, *, what: str) -> dict[str, Any]:
    try:
        value = schemaless_reader(io.BytesIO(raw), schema)
    except EOFError as exc:
        raise MalformedRecord(f"truncated: {what} ended early") from exc
    except Exception as exc:  # fastavro raises assorted errors on corrupt varints/unions/utf-8
        raise MalformedRecord(f"undecodable: {what}: {type(exc).__name__}") from exc
    if not isinstance(value, dict):
        raise MalformedRecord(f"undecodable: {what} is not a record")
    return value


def decode_message(raw: bytes | None) -> FineractMessage:
    """Decode a Kafka record value as a MessageV1 envelope; raises :class:`MalformedRecord`."""
    if not raw:
        raise MalformedRecord("empty: record has no value")
    if len(raw) > MAX_RECORD_BYTES:
        raise MalformedRecord(f"too_large: record exceeds {MAX_RECORD_BYTES} bytes")
    body = _strip_single_object_header(raw)
    env = _read(PARSED_MESSAGE_V1, body, what="MessageV1 envelope")
    return FineractMessage(
        id=env["id"],
        source=env["source"],
        type=env["type"],
        category=env["category"],
        created_at=env["createdAt"],
        business_date=env["businessDate"],
        tenant_id=env["tenantId"],
        idempotency_key=env["idempotencyKey"],
        dataschema=env["dataschema"],
        data=env["data"],
    )


def decode_payload(message: FineractMessage, *, expected_schema: str) -> dict[str, Any]:
    """Decode ``message.data`` with the reader schema for ``expected_schema``.

    Refuses a record whose ``dataschema`` is not the one its event type is known to carry, so a
    payload is never read with the wrong schema (which would yield garbage, not an error).
    """
    if message.dataschema != expected_schema:
        raise MalformedRecord(
            f"wrong_schema: {message.type} must carry {expected_schema}, "
            f"got {message.dataschema[:200]!r}"
        )
    schema = _RAW_DECIMAL_SCHEMAS[expected_schema]
    body = _strip_single_object_header(message.data)
    return _read(schema, body, what=expected_schema.rsplit(".", 1)[-1])


def _raw_decimals(schema: Any) -> Any:
    if isinstance(schema, dict):
        if schema.get("logicalType") == "decimal":
            return "bytes"  # same wire format; converted by decimal_or_reason
        return {key: _raw_decimals(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_raw_decimals(value) for value in schema]
    return schema


_RAW_DECIMAL_SCHEMAS = {name: _raw_decimals(s) for name, s in PAYLOAD_SCHEMAS.items()}


def decimal_or_reason(raw: bytes | None, *, field: str) -> Decimal | None:
    """A Fineract decimal (scale 8) from its raw bytes; raises MalformedRecord when too long."""
    if raw is None:
        return None
    if len(raw) > _DECIMAL_MAX_BYTES:
        raise MalformedRecord(
            f"bad_amount: {field} is {len(raw)} bytes; a Fineract decimal (precision 20, "
            f"scale 8) is at most {_DECIMAL_MAX_BYTES}"
        )
    return Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(-DECIMAL_SCALE)
