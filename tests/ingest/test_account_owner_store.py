"""The account-owner topic: a large flush is written in Kafka batches and restored in full."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
import pytest

from churnwatch_ingest.adapters.accounts import AccountOwners, AccountOwnerTopic
from churnwatch_shared.topics import ACCOUNT_OWNERS
from tests.support.kafka import consume_until

pytestmark = pytest.mark.integration


async def test_a_bulk_of_changes_survives_a_restart(
    kafka_bootstrap: str, make_namespace: Callable[[], Awaitable[str]]
) -> None:
    topic = ACCOUNT_OWNERS.name(await make_namespace())
    store = AccountOwnerTopic(bootstrap=kafka_bootstrap, topic=topic)
    await store.start()
    owners = AccountOwners()
    owners.attach(store)
    try:
        # Enough changes to fill several Kafka batches (16 KiB each by default) per partition.
        for n in range(6000):
            owners.remember(account_id=f"acc-{n}", customer_id=f"cust-{n % 700}", source="t")
        await owners.flush()
        assert not owners.has_pending
        owners.remember(account_id="acc-5", customer_id="cust-new", source="api:x")  # moved
        await owners.flush()
    finally:
        await store.stop()

    restored = await AccountOwnerTopic(bootstrap=kafka_bootstrap, topic=topic).restore()
    assert len(restored) == 6000
    assert restored["acc-5"] == "cust-new"  # the later write wins
    assert restored["acc-5999"] == f"cust-{5999 % 700}"

    records = await consume_until(
        bootstrap=kafka_bootstrap, topic=topic, predicate=lambda rs: len(rs) >= 6001, timeout=30
    )
    assert len(records) == 6001  # each change once
    assert [r.key for r in records[:3]] == [b"acc-0", b"acc-1", b"acc-2"]  # in change order
    assert orjson.loads(records[-1].value) == {"customer_id": "cust-new", "source": "api:x"}
