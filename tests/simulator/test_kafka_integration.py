"""`send --to kafka` on the real broker: every event lands once, keyed by customer, with its type header."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from churnwatch_shared.events import parse_event
from churnwatch_shared.topics import EVENTS
from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from tests.support.kafka import consume_until

pytestmark = pytest.mark.integration


async def test_send_to_kafka_writes_every_event_keyed_by_customer(
    kafka_bootstrap: str, make_namespace: Callable[[], Awaitable[str]]
) -> None:
    namespace = await make_namespace()
    expected = list(SimulatedBank(config=SimulationConfig(customers=40, days=20, seed=3)).events())
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "churnwatch_simulator",
        "send",
        "--to",
        "kafka",
        "--bootstrap",
        kafka_bootstrap,
        "--namespace",
        namespace,
        "--customers",
        "40",
        "--days",
        "20",
        "--seed",
        "3",
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, stderr.decode()
    assert f"sent {len(expected)} events" in stderr.decode()

    records = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=EVENTS.name(namespace),
        predicate=lambda rs: len(rs) >= len(expected),
        timeout=60,
        settle=1.0,
    )
    assert len(records) == len(expected)
    by_id = {}
    for record in records:
        event = parse_event(record.value)
        assert record.key == event.customer_id.encode()
        assert dict(record.headers)["event_type"] == event.event_type.encode()
        assert event.producer == "simulator"
        by_id[event.event_id] = event
    assert set(by_id) == {e["event_id"] for e in expected}
    per_customer = Counter(e.customer_id for e in by_id.values())
    assert per_customer == Counter(e["customer_id"] for e in expected)
    # One customer's events stay in order on its partition.
    for cid in list(per_customer)[:5]:
        mine = [r for r in records if r.key == cid.encode()]
        assert len({r.partition for r in mine}) == 1
        ids = [parse_event(r.value).event_id for r in sorted(mine, key=lambda r: r.offset)]
        assert ids == [e["event_id"] for e in expected if e["customer_id"] == cid]
