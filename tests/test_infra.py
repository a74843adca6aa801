"""The test infrastructure itself is real: the broker takes and returns records, Postgres answers."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from churnwatch_shared import topics
from tests.support.kafka import consume_until, produce

pytestmark = pytest.mark.integration


async def test_broker_round_trip(kafka_bootstrap: str, topic_namespace: str) -> None:
    topic = topics.DEAD_LETTER.name(topic_namespace)
    marker = uuid.uuid4().hex.encode()
    await produce(bootstrap=kafka_bootstrap, topic=topic, records=[(b"k", marker)])
    records = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=topic,
        predicate=lambda rs: any(r.value == marker for r in rs),
        timeout=30,
    )
    assert [r.key for r in records if r.value == marker] == [b"k"]


async def test_postgres_is_real(postgres_url: str) -> None:
    engine = create_async_engine(postgres_url)
    async with engine.connect() as conn:
        version = (await conn.execute(sa.text("select version()"))).scalar_one()
    await engine.dispose()
    assert version.startswith("PostgreSQL")
