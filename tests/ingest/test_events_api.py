"""POST /v1/events on the real broker: valid, invalid, duplicate, oversized; what lands on Kafka."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from churnwatch_shared import topics
from churnwatch_shared.events import PRODUCER_EVENT_TYPES, parse_event
from tests.ingest.conftest import DEV_HEADERS, RunningIngest, complaint, transaction, unique
from tests.support.kafka import consume_until

pytestmark = pytest.mark.integration


async def _records_of(ingest: RunningIngest, *event_ids: str, settle: float = 0.0) -> list:
    wanted = set(event_ids)

    def matching(records: list) -> list:
        return [r for r in records if orjson.loads(r.value)["event_id"] in wanted]

    records = await consume_until(
        bootstrap=ingest.settings.common.kafka_bootstrap,
        topic=ingest.settings.common.topic(topics.EVENTS),
        predicate=lambda rs: {orjson.loads(r.value)["event_id"] for r in matching(rs)} >= wanted,
        timeout=30,
        settle=settle,
    )
    return matching(records)


async def test_valid_event_is_on_the_topic_keyed_by_customer_with_stamped_producer(
    ingest: RunningIngest,
) -> None:
    event = transaction(producer="someone-else")
    response = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
    assert response.status_code == 202, response.text
    assert response.json() == {
        "status": "accepted",
        "event_id": event["event_id"],
        "event_type": "transaction.posted",
    }
    [record] = await _records_of(ingest, event["event_id"])
    assert record.key == event["customer_id"].encode()
    headers = dict(record.headers)
    assert headers["event_type"] == b"transaction.posted"
    assert headers["producer"] == b"dev-producer"
    stored = parse_event(record.value)
    assert stored.producer == "dev-producer"  # never the body's claim
    assert str(stored.payload.amount) == "600000.00"


async def test_bearer_token_is_accepted(ingest: RunningIngest) -> None:
    response = await ingest.client.post(
        "/v1/events", json=complaint(), headers={"Authorization": "Bearer cw-dev-producer-key"}
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"event_id": "x",', b"\xff\xfe\x00garbage", b"", b"[1, 2"],
    ids=["syntax", "truncated", "not-utf8", "empty", "open-array"],
)
async def test_malformed_json_is_400(ingest: RunningIngest, body: bytes) -> None:
    response = await ingest.client.post(
        "/v1/events", content=body, headers={**DEV_HEADERS, "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "malformed_json"


@pytest.mark.parametrize("body", [[], "text", 42, None, [transaction()]])
async def test_non_object_json_is_422(ingest: RunningIngest, body: object) -> None:
    response = await ingest.client.post("/v1/events", content=json.dumps(body), headers=DEV_HEADERS)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"] == "$"


async def test_schema_errors_name_path_message_and_what_is_accepted(ingest: RunningIngest) -> None:
    event = transaction()
    event["payload"] = {**event["payload"], "amount": 12.5, "currency": "XYZ", "channel": "fax"}
    event["occurred_at"] = "2025-01-01T10:00:00"  # no timezone
    response = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "schema"
    by_path = {e["path"]: e for e in body["errors"]}
    assert set(by_path) == {
        "$.payload.amount",
        "$.payload.currency",
        "$.payload.channel",
        "$.occurred_at",
    }
    assert "decimal string" in by_path["$.payload.amount"]["message"]
    assert "CNY" in by_path["$.payload.currency"]["message"]
    assert set(by_path["$.payload.channel"]["accepted"]) == {
        "branch",
        "atm",
        "online",
        "mobile",
        "pos",
        "batch",
    }
    assert "timezone" in by_path["$.occurred_at"]["accepted"]


async def test_nested_list_paths_and_unknown_fields(ingest: RunningIngest) -> None:
    event = {
        "event_id": unique("evt"),
        "event_type": "balance.snapshot",
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer_id": unique("cust"),
        "payload": {
            "as_of": "2025-01-31",
            "balances": [
                {
                    "account_id": "a1",
                    "product_kind": "demand",
                    "balance": "1.00",
                    "currency": "CNY",
                },
                {"account_id": "a2", "product_kind": "gold", "balance": "1.00", "currency": "CNY"},
            ],
        },
        "surprise": True,
    }
    response = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert paths == {"$.payload.balances[1].product_kind", "$.surprise"}


async def test_unknown_event_type_lists_the_accepted_types(ingest: RunningIngest) -> None:
    response = await ingest.client.post(
        "/v1/events", json=transaction(event_type="transaction.teleported"), headers=DEV_HEADERS
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "unknown_event_type"
    [error] = body["errors"]
    assert error["path"] == "$.event_type"
    assert set(error["accepted"]) == {t.value for t in PRODUCER_EVENT_TYPES}


async def test_an_erasure_request_is_refused_naming_the_privacy_api(ingest: RunningIngest) -> None:
    """Only the alerts service's privacy API sends erasures: a producer gets 403, nothing is
    written for the monitor to act on."""
    event = transaction(
        event_type="customer.erasure_requested", payload={"erasure_id": "er-forged"}
    )
    response = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] == "event_type_reserved" and "/v1/privacy/erasures" in body["message"]
    written = await consume_until(
        bootstrap=ingest.settings.common.kafka_bootstrap,
        topic=ingest.settings.common.topic(topics.EVENTS),
        predicate=lambda rs: True,
        settle=2.0,
    )
    assert not [r for r in written if orjson.loads(r.value)["event_id"] == event["event_id"]]


async def test_missing_event_type_is_422(ingest: RunningIngest) -> None:
    event = transaction()
    del event["event_type"]
    response = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "$.event_type"


async def test_occurred_at_too_far_in_the_future_is_422(ingest: RunningIngest) -> None:
    skew = ingest.settings.max_future_skew_seconds
    late = datetime.now(UTC) + timedelta(seconds=skew + 120)
    response = await ingest.client.post(
        "/v1/events", json=transaction(occurred_at=late.isoformat()), headers=DEV_HEADERS
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "occurred_at_in_future"
    assert body["errors"][0]["path"] == "$.occurred_at"
    # a little clock skew is tolerated
    soon = datetime.now(UTC) + timedelta(seconds=30)
    ok = await ingest.client.post(
        "/v1/events", json=transaction(occurred_at=soon.isoformat()), headers=DEV_HEADERS
    )
    assert ok.status_code == 202, ok.text


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
async def test_extreme_timestamps_never_5xx(ingest: RunningIngest, when: str) -> None:
    response = await ingest.client.post(
        "/v1/events", json=transaction(occurred_at=when), headers=DEV_HEADERS
    )
    assert response.status_code in (202, 422), response.text


async def test_body_too_large_is_413(ingest: RunningIngest) -> None:
    event = transaction()
    event["payload"]["counterparty_bank"] = "B" * (ingest.settings.max_event_bytes + 10)
    response = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


async def test_resent_event_is_a_duplicate_and_written_once(ingest: RunningIngest) -> None:
    event = transaction()
    first = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
    second = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    records = await _records_of(ingest, event["event_id"], settle=1.0)
    assert len(records) == 1


async def test_health_ready_and_metrics(ingest: RunningIngest) -> None:
    assert (await ingest.client.get("/healthz")).json() == {"status": "ok"}
    ready = await ingest.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["dependencies"] == {
        "broker": True,
        "events_topic": True,
        "events_partitions": True,
        "producer": True,
        "duplicate_cache": True,
        "account_owners": True,
    }
    await ingest.client.post("/v1/events", json=transaction(), headers=DEV_HEADERS)
    await ingest.client.post("/v1/events", content=b"{", headers=DEV_HEADERS)
    await ingest.client.post("/v1/events", json=transaction(), headers={"X-API-Key": "nope"})
    text = (await ingest.client.get("/metrics")).text
    assert (
        'churnwatch_ingest_events_accepted_total{event_type="transaction.posted",source="http"} 1.0'
        in text
    )
    assert 'reason="malformed_json"' in text
    assert 'reason="unauthenticated"' in text
    assert "churnwatch_ingest_produce_latency_seconds_bucket" in text
    assert "churnwatch_ingest_requests_in_flight 0.0" in text
