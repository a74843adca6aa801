"""The topic tool applies the layout settings on the real broker and reports a refusal."""

from __future__ import annotations

import sys
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings
from tests.support.infra import REPO

sys.path.insert(0, str(REPO / "deploy" / "kafka"))
from create_topics import create_topics, delete_namespaces

pytestmark = pytest.mark.integration


async def test_customer_partitions_and_overrides_come_from_settings(kafka_bootstrap: str) -> None:
    namespace = f"lay{uuid.uuid4().hex[:8]}"
    common = CommonSettings(
        kafka_customer_partitions=12, kafka_topic_partitions={"events.dlq.v1": 2}
    )
    try:
        await create_topics(bootstrap=kafka_bootstrap, namespace=namespace, common=common)
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics([s.name(namespace) for s in topics.ALL_TOPICS])
        finally:
            await admin.close()
        counts = {d["topic"]: len(d["partitions"]) for d in described}
        assert {counts[s.name(namespace)] for s in topics.CUSTOMER_KEYED} == {12}
        assert counts[topics.DEAD_LETTER.name(namespace)] == 2
        assert counts[topics.ACCOUNT_OWNERS.name(namespace)] == 1
    finally:
        await delete_namespaces(bootstrap=kafka_bootstrap, namespaces={namespace})


async def test_a_replication_factor_the_cluster_cannot_hold_is_refused(
    kafka_bootstrap: str,
) -> None:
    namespace = f"lay{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError, match=r"refused to create .*[Rr]eplication factor"):
        await create_topics(
            bootstrap=kafka_bootstrap,
            namespace=namespace,
            common=CommonSettings(kafka_replication_factor=3),
        )
