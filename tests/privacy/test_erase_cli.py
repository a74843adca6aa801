"""``python -m churnwatch_alerts erase``: the proof on stdout and exit 0 once the event is on
EVENTS; with the broker unreachable, exit 2 naming the erasure, the database already erased, and
a second run resumes the same erasure instead of starting another."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import ErasureRecord
from churnwatch_shared import topics
from tests.support.kafka import consume_until

pytestmark = pytest.mark.integration


async def _erase(url: str, customer: str, *, bootstrap: str, namespace: str):
    return await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "churnwatch_alerts",
            "erase",
            customer,
            "--reason",
            "ticket PRIV-7",
            "--by",
            "dpo.cli",
            "--database-url",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={
            **os.environ,
            "CHURNWATCH_KAFKA_BOOTSTRAP": bootstrap,
            "CHURNWATCH_TOPIC_NAMESPACE": namespace,
        },
    )


async def test_erase_cli_prints_the_proof_and_resumes_after_a_broker_failure(
    make_database: Callable[[], str], kafka_bootstrap: str, topic_namespace: str
) -> None:
    url = make_database()
    engine = create_engine(url=url)
    await upgrade(engine=engine)
    failed = await _erase(url, "C-cli", bootstrap="127.0.0.1:1", namespace=topic_namespace)
    assert failed.returncode == 2, failed.stderr
    first = json.loads(failed.stdout)
    assert first["status"] == "event_not_sent" and first["requested_by"] == "dpo.cli"
    assert f"resume {first['erasure_id']}" in failed.stderr

    done = await _erase(url, "C-cli", bootstrap=kafka_bootstrap, namespace=topic_namespace)
    assert done.returncode == 0, done.stderr
    proof = json.loads(done.stdout)
    assert proof["erasure_id"] == first["erasure_id"] and proof["status"] == "awaiting_monitor"
    async with create_sessionmaker(engine=engine)() as session:
        assert await session.scalar(select(func.count()).select_from(ErasureRecord)) == 1
    await engine.dispose()
    records = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=topics.EVENTS.name(topic_namespace),
        predicate=lambda rs: any(r.key == b"C-cli" for r in rs),
    )
    [sent] = [r for r in records if r.key == b"C-cli"]
    assert (sent.partition, sent.offset) == (proof["event"]["partition"], proof["event"]["offset"])
