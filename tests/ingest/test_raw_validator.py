"""Records written straight to the raw topic: valid ones reach EVENTS, invalid ones dead letters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared import topics
from churnwatch_shared.events import parse_event
from tests.ingest.conftest import transaction
from tests.support.kafka import consume_until, produce

pytestmark = pytest.mark.integration


async def test_raw_records_are_validated_routed_and_committed(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    start_ingest: Callable[..., Any],
    make_settings: Callable[..., IngestSettings],
) -> None:
    namespace = await make_namespace()
    raw_topic = topics.EVENTS_RAW.name(namespace)
    valid = transaction(producer="body-claim")
    invalid = transaction()
    invalid["payload"]["currency"] = "DOGE"
    original_headers = [("trace-id", b"abc123"), ("producer", b"core-direct")]
    await produce(
        bootstrap=kafka_bootstrap,
        topic=raw_topic,
        records=[(valid["customer_id"].encode(), orjson.dumps(valid))],
        headers=original_headers,
    )
    await produce(
        bootstrap=kafka_bootstrap,
        topic=raw_topic,
        records=[
            (b"k-bad-json", b"{nope"),
            (invalid["customer_id"].encode(), orjson.dumps(invalid)),
        ],
        headers=[("trace-id", b"xyz")],
    )

    settings = make_settings(namespace=namespace, raw_validator_enabled=True)
    ingest = await start_ingest(settings)

    [forwarded] = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=topics.EVENTS.name(namespace),
        predicate=lambda rs: len(rs) >= 1,
        timeout=60,
    )
    assert forwarded.key == valid["customer_id"].encode()
    event = parse_event(forwarded.value)
    assert event.event_id == valid["event_id"]
    assert event.producer == "core-direct"  # the record's producer header wins over the body
    assert dict(forwarded.headers)["event_type"] == b"transaction.posted"

    dead = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=topics.DEAD_LETTER.name(namespace),
        predicate=lambda rs: len(rs) >= 2,
        timeout=60,
    )
    by_key = {r.key: r for r in dead}
    bad_json = by_key[b"k-bad-json"]
    assert bad_json.value == b"{nope"
    headers = dict(bad_json.headers)
    assert headers["trace-id"] == b"xyz"
    assert headers["dlq.reason"] == b"malformed_json"
    assert headers["dlq.source"].decode().startswith(f"{raw_topic}/")
    bad_schema = by_key[invalid["customer_id"].encode()]
    assert bad_schema.value == orjson.dumps(invalid)
    assert dict(bad_schema.headers)["dlq.reason"] == b"schema"
    detail = orjson.loads(dict(bad_schema.headers)["dlq.detail"])
    assert detail["errors"][0]["path"] == "$.payload.currency"
    ready = await ingest.client.get("/readyz")
    assert ready.json()["dependencies"]["raw_validator"] is True
    metrics = (await ingest.client.get("/metrics")).text
    assert 'churnwatch_ingest_raw_dead_lettered_total{reason="schema"} 1.0' in metrics

    # a second ingest in the same group resumes after the committed offsets: nothing re-routed
    await ingest.stop()
    later = transaction()
    await produce(
        bootstrap=kafka_bootstrap,
        topic=raw_topic,
        records=[(later["customer_id"].encode(), orjson.dumps(later))],
    )
    await start_ingest(make_settings(namespace=namespace, raw_validator_enabled=True))
    events = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=topics.EVENTS.name(namespace),
        predicate=lambda rs: len(rs) >= 2,
        timeout=60,
        settle=2.0,
    )
    assert sorted(orjson.loads(r.value)["event_id"] for r in events) == sorted(
        [valid["event_id"], later["event_id"]]
    )
    dead_after = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=topics.DEAD_LETTER.name(namespace),
        predicate=lambda rs: len(rs) >= 2,
        timeout=30,
        settle=1.0,
    )
    assert len(dead_after) == 2
