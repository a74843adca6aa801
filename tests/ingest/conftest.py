"""Ingest test fixtures: an in-process ingest app on the real broker, and event factories."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from churnwatch_ingest.app import create_app
from churnwatch_ingest.auth import DEV_API_KEY
from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared.settings import CommonSettings, Environment
from tests.support.kafka import consume_until

DEV_HEADERS = {"X-API-Key": DEV_API_KEY}
SettingsFactory = Callable[..., IngestSettings]


def unique(prefix: str) -> str:
    """A fresh identifier, so tests sharing a namespace never see each other's events."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def event_ids_on_topic(*, bootstrap: str, topic: str, acknowledged: set[str]) -> Counter[str]:
    """How often each event id stands on ``topic``, read until every acknowledged id is there."""

    def complete(records: list[Any]) -> bool:
        return acknowledged <= {orjson.loads(r.value)["event_id"] for r in records}

    records = await consume_until(
        bootstrap=bootstrap, topic=topic, predicate=complete, timeout=30, settle=1.0
    )
    return Counter(orjson.loads(r.value)["event_id"] for r in records)


def transaction(
    *, event_id: str | None = None, customer_id: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """A valid transaction.posted event as a producer would send it."""
    event: dict[str, Any] = {
        "event_id": event_id or unique("evt"),
        "event_type": "transaction.posted",
        "schema_version": 1,
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "customer_id": customer_id or unique("cust"),
        "account_id": "acc-1",
        "payload": {
            "direction": "debit",
            "amount": "600000.00",
            "currency": "CNY",
            "channel": "online",
            "category": "interbank_transfer",
            "counterparty_bank": "OTHERBANK",
            "counterparty_is_own_bank": False,
            "balance_after": "400000.00",
        },
    }
    event.update(overrides)
    return event


def complaint(*, customer_id: str | None = None) -> dict[str, Any]:
    """A valid complaint.filed event."""
    return {
        "event_id": unique("evt"),
        "event_type": "complaint.filed",
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer_id": customer_id or unique("cust"),
        "payload": {"complaint_id": unique("cmp"), "category": "fees", "severity": "high"},
    }


@pytest.fixture
def make_settings(kafka_bootstrap: str, topic_namespace: str) -> SettingsFactory:
    """Factory of test settings on the real broker; keyword overrides for ingest fields."""

    def make(
        *, namespace: str | None = None, bootstrap: str | None = None, **overrides: Any
    ) -> IngestSettings:
        common = CommonSettings(
            env=Environment.TEST,
            kafka_bootstrap=bootstrap or kafka_bootstrap,
            topic_namespace=namespace or topic_namespace,
            log_json=False,
        )
        overrides.setdefault("raw_validator_enabled", False)
        overrides.setdefault("connect_retry_seconds", 0.5)
        return IngestSettings(common=common, **overrides)

    return make


class RunningIngest:
    """An ingest app running in-process (lifespan started) with an HTTP client bound to it."""

    def __init__(self, app: FastAPI, manager: LifespanManager, client: httpx.AsyncClient) -> None:
        self.app = app
        self.manager = manager
        self.client = client
        self.stopped = False

    @property
    def settings(self) -> IngestSettings:
        return self.app.state.ingest_settings

    async def stop(self) -> None:
        """Run the shutdown half of the lifespan (flush and close the producer, leave the group)."""
        if not self.stopped:
            self.stopped = True
            await self.client.aclose()
            await self.manager.__aexit__(None, None, None)


@pytest.fixture
async def start_ingest() -> AsyncIterator[Callable[..., Any]]:
    """Factory: ``await start_ingest(settings, wait_ready=True)`` gives a RunningIngest."""
    running: list[RunningIngest] = []

    async def start(settings: IngestSettings, *, wait_ready: bool = True) -> RunningIngest:
        app = create_app(settings)
        manager = LifespanManager(app, startup_timeout=30, shutdown_timeout=30)
        await manager.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://ingest", timeout=60
        )
        ingest = RunningIngest(app, manager, client)
        running.append(ingest)
        if wait_ready:
            assert await app.state.ingest_publisher.wait_ready(timeout=30), "producer not connected"
            await asyncio.wait_for(app.state.ingest_cache_warm.wait(), timeout=30)
            assert await app.state.ingest_adapters.wait_ready(timeout=30), "adapters not ready"
        return ingest

    yield start
    for ingest in reversed(running):
        await ingest.stop()


@pytest.fixture
async def ingest(start_ingest: Callable[..., Any], make_settings: SettingsFactory) -> RunningIngest:
    """The default ingest app on the session namespace (raw validator off)."""
    return await start_ingest(make_settings())
