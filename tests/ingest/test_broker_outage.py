"""The broker stops mid-run: clients get 503 + Retry-After, and afterwards every acknowledged event
is on the topic exactly once.

The shared broker on 9092 is never touched: this test runs on a private broker
(tests/support/private_broker.py), stops it while clients keep sending and starts it again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from create_topics import create_topics

from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared import topics
from tests.ingest.conftest import DEV_HEADERS, event_ids_on_topic, transaction, unique
from tests.support.private_broker import PrivateBroker

pytestmark = pytest.mark.integration


class Senders:
    """Clients that keep sending new events and resend every unavailable one until accepted."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.acknowledged: set[str] = set()
        self.retry: dict[str, dict[str, Any]] = {}
        self.statuses: Counter[int] = Counter()
        self.sending_new = True

    def _check(self, response: Any) -> None:
        self.statuses[response.status_code] += 1
        assert response.status_code in (200, 202, 503), response.text
        if response.status_code == 503:
            assert int(response.headers["Retry-After"]) >= 1

    async def single(self, event: dict[str, Any]) -> None:
        response = await self.client.post("/v1/events", json=event, headers=DEV_HEADERS)
        self._check(response)
        if response.status_code == 503:
            self.retry[event["event_id"]] = event
        else:
            assert response.json()["status"] in ("accepted", "duplicate")
            self.acknowledged.add(event["event_id"])
            self.retry.pop(event["event_id"], None)

    async def batch(self, events: list[dict[str, Any]]) -> None:
        response = await self.client.post("/v1/events/batch", json=events, headers=DEV_HEADERS)
        self._check(response)
        for event, result in zip(events, response.json()["results"], strict=True):
            assert result["event_id"] == event["event_id"]
            if result["status"] == "unavailable":
                assert response.status_code == 503
                self.retry[event["event_id"]] = event
            else:
                assert result["status"] in ("accepted", "duplicate"), result
                self.acknowledged.add(event["event_id"])
                self.retry.pop(event["event_id"], None)

    async def run(self, worker: int, stop: asyncio.Event) -> None:
        customers = [unique(f"cust{worker}") for _ in range(5)]
        n = 0
        while not stop.is_set():
            n += 1
            resend = list(self.retry.values())[:20]
            if resend:
                await self.batch(resend)
            if not self.sending_new:
                await asyncio.sleep(0.05)
                continue
            if n % 2:
                await self.single(transaction(customer_id=customers[n % 5]))
            else:
                await self.batch([transaction(customer_id=customers[k]) for k in range(5)])
            await asyncio.sleep(0.01)


async def test_broker_stopped_mid_run(
    private_broker: PrivateBroker,
    start_ingest: Callable[..., Any],
    make_settings: Callable[..., IngestSettings],
) -> None:
    namespace = unique("outage").replace("-", "")
    await create_topics(bootstrap=private_broker.bootstrap, namespace=namespace)
    settings = make_settings(
        bootstrap=private_broker.bootstrap,
        namespace=namespace,
        produce_timeout_seconds=1.5,
        retry_after_seconds=1,
        request_timeout_ms=30_000,
        duplicate_cache_warmup_seconds=5,
    )
    ingest = await start_ingest(settings)
    senders = Senders(ingest.client)
    stop = asyncio.Event()
    workers = [asyncio.create_task(senders.run(w, stop)) for w in range(3)]
    try:
        await asyncio.sleep(1.5)
        before_outage = len(senders.acknowledged)
        await asyncio.to_thread(private_broker.run, "stop")
        await asyncio.sleep(3.0)  # clients keep sending into the outage
        assert senders.statuses[503] > 0, "no 503 while the broker was down"
        assert senders.retry, "nothing waiting for a resend"
        await asyncio.to_thread(private_broker.run, "start")
        started = time.monotonic()
        acknowledged_at_restart = len(senders.acknowledged)
        while len(senders.acknowledged) <= acknowledged_at_restart + 20:
            assert time.monotonic() - started < 45, f"no recovery; statuses {senders.statuses}"
            await asyncio.sleep(0.2)
        senders.sending_new = False
        while senders.retry:  # the 503'd events are resent until the broker takes them
            assert time.monotonic() - started < 45, f"{len(senders.retry)} never accepted"
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.gather(*workers)
    assert before_outage > 0
    assert set(senders.statuses) <= {200, 202, 503}

    acknowledged = senders.acknowledged

    on_topic = await event_ids_on_topic(
        bootstrap=private_broker.bootstrap,
        topic=topics.EVENTS.name(namespace),
        acknowledged=acknowledged,
    )
    assert acknowledged <= set(on_topic)
    twice = [event_id for event_id, count in on_topic.items() if count > 1]
    assert not twice, f"{len(twice)} events written more than once"
    assert set(on_topic) == acknowledged  # nothing on the topic that no client was told about
