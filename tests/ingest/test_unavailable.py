"""Broker unreachable or slow: 503 with Retry-After, nothing answered as accepted.

The shared test broker is never stopped (other suites use it). Unreachable = an ingest pointed at
a closed port; slow = the broker never acknowledging within the produce timeout (a namespace whose
topics do not exist, so metadata never arrives).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from churnwatch_ingest.settings import IngestSettings
from tests.ingest.conftest import DEV_HEADERS, complaint, transaction, unique
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


async def test_unreachable_broker_gives_503_with_retry_after(
    start_ingest: Callable[..., Any], make_settings: Callable[..., IngestSettings]
) -> None:
    settings = make_settings(bootstrap=f"127.0.0.1:{free_port()}", retry_after_seconds=7)
    ingest = await start_ingest(settings, wait_ready=False)
    assert (await ingest.client.get("/healthz")).status_code == 200
    ready = await ingest.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["dependencies"]["broker"] is False

    single = await ingest.client.post("/v1/events", json=transaction(), headers=DEV_HEADERS)
    assert single.status_code == 503
    assert single.headers["Retry-After"] == "7"
    assert single.json()["error"] == "broker_unavailable"

    batch = await ingest.client.post(
        "/v1/events/batch", json=[transaction(), complaint(), {"bad": 1}], headers=DEV_HEADERS
    )
    assert batch.status_code == 503
    assert batch.headers["Retry-After"] == "7"
    assert [r["status"] for r in batch.json()["results"]] == [
        "unavailable",
        "unavailable",
        "rejected",
    ]
    # validation still answers first: a bad event is a 422, not a 503
    bad = await ingest.client.post("/v1/events", json={"event_type": "x"}, headers=DEV_HEADERS)
    assert bad.status_code == 422


async def test_slow_broker_gives_503_and_a_resend_is_not_a_duplicate(
    start_ingest: Callable[..., Any], make_settings: Callable[..., IngestSettings]
) -> None:
    settings = make_settings(
        namespace=unique("missing"),
        produce_timeout_seconds=1.0,
        request_timeout_ms=3000,
        account_owners_enabled=False,  # its topic is missing too; readiness is checked below
    )
    ingest = await start_ingest(settings)
    event = transaction()
    first = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
    assert first.status_code == 503, first.text
    assert int(first.headers["Retry-After"]) >= 1
    # not acknowledged, so not remembered: the resend is tried again, not answered "duplicate"
    again = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
    assert again.status_code == 503
    batch = await ingest.client.post("/v1/events/batch", json=[transaction()], headers=DEV_HEADERS)
    assert batch.status_code == 503
    assert batch.json()["unavailable"] == 1
    ready = await ingest.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["dependencies"]["broker"] is True
    assert ready.json()["dependencies"]["events_topic"] is False
    metrics = (await ingest.client.get("/metrics")).text
    assert (
        'churnwatch_ingest_events_unavailable_total{event_type="transaction.posted"} 3.0' in metrics
    )
