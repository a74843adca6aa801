"""The audit hash chain, version 1: the canonical encoding of a row and its SHA-256 link.

Each audit row carries ``chain_seq`` (1, 2, 3, ... in append order), ``detail_sha256``,
``prev_hash`` (the previous row's ``row_hash``; 64 zeros for the first row) and ``row_hash``.

Canonical JSON (``canonical_json``): UTF-8, no whitespace (separators ``,`` and ``:``), object
keys sorted by code point, non-ASCII characters written as themselves, no NaN or infinity, and a
float with an integral value written as an integer (PostgreSQL's jsonb gives ``1e20`` back as
``100000000000000000000``; both must hash alike).

- ``detail_sha256`` = SHA-256 hex of the canonical JSON of ``detail`` (as stored: the value after a
  JSON round trip).
- ``row_hash`` = SHA-256 hex of the canonical JSON of the array
  ``["churnwatch-audit-v1", chain_seq, at, actor, action, customer_id, alert_id, detail_sha256,
  prev_hash]``, where ``at`` is UTC written ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` and absent ids are null.

``detail`` enters the row hash through its digest so that an erasure can redact it (replace it
with ``{"_redacted": {...}}``) without breaking the chain; the verifier reports such rows as
redacted, any other change of detail as an alteration. The storage id is not hashed: the chain
order is ``chain_seq``, which a concurrent append cannot fork (see ``append``). Never change this
encoding in place: a new one needs a new version string and a migration.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import orjson

VERSION = "churnwatch-audit-v1"
GENESIS = "0" * 64
REDACTED_KEY = "_redacted"


def _integral_floats_as_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_int(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    """The canonical JSON bytes of ``value`` (see the module docstring)."""
    return json.dumps(
        _integral_floats_as_int(value),
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    ).encode("utf-8")


def stored_form(detail: dict[str, Any] | None) -> Any:
    """``detail`` as the database gives it back (datetimes as text, tuples as lists)."""
    try:
        # The database's JSON serializer is orjson: the same conversions of non-JSON types.
        return orjson.loads(orjson.dumps(detail or {}))
    except TypeError:
        # orjson refuses integers past 64 bits, which jsonb gives back for 1e20.
        return json.loads(json.dumps(detail or {}))


def detail_digest(detail: Any) -> str:
    """SHA-256 hex of the canonical JSON of ``detail``."""
    return hashlib.sha256(canonical_json(stored_form(detail))).hexdigest()


def utc_text(at: datetime) -> str:
    """``at`` in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (a naive value from SQLite is UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    customer_id: str | None,
    alert_id: str | None,
    detail_sha256: str,
    prev_hash: str,
) -> str:
    """SHA-256 hex of the row's canonical encoding, linked to ``prev_hash``."""
    encoded = canonical_json(
        [
            VERSION,
            seq,
            utc_text(at),
            actor,
            action,
            customer_id,
            alert_id,
            detail_sha256,
            prev_hash,
        ]
    )
    return hashlib.sha256(encoded).hexdigest()


def is_redaction(detail: Any) -> bool:
    """True when ``detail`` is an erasure's redaction marker ``{"_redacted": {...}}``."""
    return isinstance(detail, dict) and set(detail) == {REDACTED_KEY}
