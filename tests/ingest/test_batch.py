"""POST /v1/events/batch: JSON array and NDJSON, per-item answers, limits, what lands on Kafka."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared import topics
from tests.ingest.conftest import DEV_HEADERS, RunningIngest, complaint, transaction
from tests.support.kafka import consume_until

pytestmark = pytest.mark.integration
NDJSON = {**DEV_HEADERS, "Content-Type": "application/x-ndjson"}


async def _ids_on_topic(
    ingest: RunningIngest, wanted: set[str], *, settle: float = 1.0
) -> list[str]:
    def ids(records: list) -> list[str]:
        found = [orjson.loads(r.value)["event_id"] for r in records]
        return [i for i in found if i in wanted]

    records = await consume_until(
        bootstrap=ingest.settings.common.kafka_bootstrap,
        topic=ingest.settings.common.topic(topics.EVENTS),
        predicate=lambda rs: set(ids(rs)) >= wanted,
        timeout=30,
        settle=settle,
    )
    return ids(records)


async def test_json_array_is_answered_per_item(ingest: RunningIngest) -> None:
    good = transaction()
    already = complaint()
    assert (
        await ingest.client.post("/v1/events", json=already, headers=DEV_HEADERS)
    ).status_code == 202
    bad = transaction()
    bad["payload"]["amount"] = "-5"
    unknown = transaction(event_type="loan.forgiven")
    batch = [good, bad, already, unknown, good, "not an object"]
    response = await ingest.client.post("/v1/events/batch", json=batch, headers=DEV_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == [
        "accepted",
        "rejected",
        "duplicate",
        "rejected",
        "duplicate",
        "rejected",
    ]
    assert (body["accepted"], body["duplicate"], body["rejected"], body["unavailable"]) == (
        1,
        2,
        3,
        0,
    )
    assert body["results"][1]["errors"][0]["path"] == "$.payload.amount"
    assert body["results"][3]["error"] == "unknown_event_type"
    assert "transaction.posted" in body["results"][3]["errors"][0]["accepted"]
    assert body["results"][5]["error"] == "not_an_object"
    on_topic = await _ids_on_topic(ingest, {good["event_id"], already["event_id"]})
    assert sorted(on_topic) == sorted([good["event_id"], already["event_id"]])


async def test_ndjson_with_a_broken_line(ingest: RunningIngest) -> None:
    events = [transaction(), complaint(), transaction()]
    lines = [
        orjson.dumps(events[0]),
        b"{broken",
        b"",
        orjson.dumps(events[1]),
        orjson.dumps(events[2]),
    ]
    response = await ingest.client.post(
        "/v1/events/batch", content=b"\n".join(lines) + b"\n", headers=NDJSON
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, "accepted"),
        (1, "rejected"),
        (2, "accepted"),
        (3, "accepted"),
    ]
    assert results[1]["error"] == "malformed_json"
    wanted = {e["event_id"] for e in events}
    assert sorted(await _ids_on_topic(ingest, wanted)) == sorted(wanted)


async def test_large_batch_keeps_every_customer_in_order(ingest: RunningIngest) -> None:
    customer = "cust-ordered-" + transaction()["event_id"]
    events = [transaction(customer_id=customer) for _ in range(300)]
    response = await ingest.client.post("/v1/events/batch", json=events, headers=DEV_HEADERS)
    assert response.json()["accepted"] == 300
    wanted = [e["event_id"] for e in events]
    assert await _ids_on_topic(ingest, set(wanted), settle=0.5) == wanted


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        (b"[", DEV_HEADERS, 400, "malformed_json"),
        (b"[]", DEV_HEADERS, 422, "schema"),
        (b"\n\n", NDJSON, 422, "schema"),
        (b'{"event_id": "x"}', DEV_HEADERS, 422, "not_an_object"),
    ],
    ids=["malformed", "empty-array", "empty-ndjson", "object-not-array"],
)
async def test_unusable_batches(
    ingest: RunningIngest, body: bytes, headers: dict, status: int, error: str
) -> None:
    response = await ingest.client.post("/v1/events/batch", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


async def test_batch_limits_are_413(
    start_ingest: Callable[..., Any], make_settings: Callable[..., IngestSettings]
) -> None:
    ingest = await start_ingest(make_settings(max_batch_items=3, max_batch_bytes=4000))
    four = [complaint() for _ in range(4)]
    too_many = await ingest.client.post("/v1/events/batch", json=four, headers=DEV_HEADERS)
    assert too_many.status_code == 413
    assert too_many.json()["errors"][0]["accepted"] == "at most 3 events"
    too_many_lines = await ingest.client.post(
        "/v1/events/batch", content=b"\n".join(orjson.dumps(e) for e in four), headers=NDJSON
    )
    assert too_many_lines.status_code == 413
    big = [transaction(account_id="a" * 100) for _ in range(3)]
    big[0]["payload"]["counterparty_bank"] = "B" * 3000
    too_big = await ingest.client.post("/v1/events/batch", json=big, headers=DEV_HEADERS)
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "too_large"


async def test_oversized_item_is_rejected_alone(
    start_ingest: Callable[..., Any], make_settings: Callable[..., IngestSettings]
) -> None:
    ingest = await start_ingest(make_settings(max_event_bytes=1000))
    big = {
        "event_id": transaction()["event_id"],
        "event_type": "balance.snapshot",
        "occurred_at": "2025-01-31T23:59:00+08:00",
        "customer_id": "cust-big",
        "payload": {
            "as_of": "2025-01-31",
            "balances": [
                {
                    "account_id": f"acc-{i}",
                    "product_kind": "demand",
                    "balance": "1.00",
                    "currency": "CNY",
                }
                for i in range(20)
            ],
        },
    }
    response = await ingest.client.post(
        "/v1/events/batch", json=[big, complaint()], headers=DEV_HEADERS
    )
    assert [(r["status"], r.get("error")) for r in response.json()["results"]] == [
        ("rejected", "too_large"),
        ("accepted", None),
    ]
