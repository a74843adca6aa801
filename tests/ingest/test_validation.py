"""Error wording without a broker: JSON paths, accepted values, hostile JSON never raising oddly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from churnwatch_ingest.validation import (
    EventRejected,
    json_path,
    validate_event,
    validate_event_bytes,
)
from churnwatch_shared.events import EventType
from tests.ingest.conftest import transaction

NOW = datetime.now(UTC)
SKEW = timedelta(minutes=5)
ALL = frozenset(EventType)


def _reject(raw: bytes) -> EventRejected:
    with pytest.raises(EventRejected) as info:
        validate_event_bytes(raw, producer="p", allowed=ALL, now=NOW, max_future_skew=SKEW)
    return info.value


def test_json_paths() -> None:
    assert json_path(()) == "$"
    assert json_path(("payload", "balances", 3, "balance")) == "$.payload.balances[3].balance"
    assert json_path(("weird key",)) == '$["weird key"]'


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        (b"[" * 5000 + b"]" * 5000, 400, "malformed_json"),
        (b'"just a string"', 422, "not_an_object"),
        (b'{"event_type": 5}', 422, "unknown_event_type"),
        (b'{"event_type": "transaction.posted", "amount": 1e999999}', 400, "malformed_json"),
        (b"\xef\xbb\xbf{}", 400, "malformed_json"),
    ],
    ids=["deep-nesting", "string", "numeric-type", "huge-number", "bom"],
)
def test_hostile_json_is_a_clean_refusal(raw: bytes, status: int, reason: str) -> None:
    rejection = _reject(raw)
    assert (rejection.status, rejection.reason) == (status, reason)


def test_fast_and_slow_paths_agree_on_valid_events() -> None:
    # occurred_at relative to the fixed NOW of this module, not to the wall clock: the suite may
    # reach this test minutes after import, and an event from "a minute ago" would then lie
    # beyond NOW + SKEW (the flaky occurred_at_in_future failure)
    event = transaction(producer="claimed", occurred_at=(NOW - timedelta(minutes=1)).isoformat())
    fast = validate_event_bytes(
        orjson.dumps(event), producer="p", allowed=ALL, now=NOW, max_future_skew=SKEW
    )
    slow = validate_event(event, producer="p", allowed=ALL, now=NOW, max_future_skew=SKEW)
    assert fast == slow
    assert fast.producer == "p"


def test_scope_is_checked_before_the_schema() -> None:
    bad_and_forbidden = {"event_type": "complaint.filed", "payload": {}}
    with pytest.raises(EventRejected) as info:
        validate_event(
            bad_and_forbidden,
            producer="p",
            allowed=frozenset({EventType.TRANSACTION_POSTED}),
            now=NOW,
            max_future_skew=SKEW,
        )
    assert info.value.status == 403
    assert info.value.errors[0].accepted == ["transaction.posted"]


def test_amounts_never_echoed_in_errors() -> None:
    event = transaction()
    event["payload"]["amount"] = "123456789.123456"
    rejection = _reject(orjson.dumps(event))
    assert "123456789" not in orjson.dumps(rejection.body()).decode()
    assert rejection.errors[0].path == "$.payload.amount"


def _erasure(**overrides: object) -> dict[str, object]:
    return {
        "event_id": "er-1",
        "event_type": "customer.erasure_requested",
        "occurred_at": (NOW - timedelta(minutes=1)).isoformat(),
        "customer_id": "C-1",
        "payload": {"erasure_id": "er-1"},
        **overrides,
    }


@pytest.mark.parametrize("raw_producer", ["p", None], ids=["http", "raw-topic"])
def test_erasure_requests_are_refused_from_producers_naming_the_privacy_api(
    raw_producer: str | None,
) -> None:
    """Only the privacy API sends erasures: a producer (or a raw-topic writer) could otherwise
    erase any customer's state. Both the fast path and the slow path refuse, with 403."""
    for raw in (orjson.dumps(_erasure()), orjson.dumps(_erasure(payload={"x": 1}))):
        with pytest.raises(EventRejected) as info:
            validate_event_bytes(
                raw, producer=raw_producer, allowed=None, now=NOW, max_future_skew=SKEW
            )
        rejection = info.value
        assert (rejection.status, rejection.reason) == (403, "event_type_reserved")
        assert "/v1/privacy/erasures" in rejection.message
        assert "customer.erasure_requested" not in rejection.errors[0].accepted
