"""Any worker answers the state query for any customer (issue 18 item 5), on the real broker.

Two workers share the partitions; every customer is asked on both and both answers must be the
owner's, byte for byte. Then the loop protection, the credential check before forwarding, and a
worker killed with -9: its customers answer 503 naming the partition while the group still lists
it as their owner, and the survivor's own answer once the group has moved them.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from churnwatch_shared import topics
from churnwatch_shared.partitioning import partition_of
from tests.support.kafka import produce
from tests.support.monitor_auth import MONITOR_AUTH
from tests.support.monitor_worker import (
    outflow_records,
    start_split_workers,
)

pytestmark = pytest.mark.integration

CUSTOMERS = 40
SERVED_BY = "X-ChurnWatch-Served-By"


async def _state(port: int, customer: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        return await client.get(f"/v1/customers/{customer}/state", headers=headers)


async def _until_applied(ports: list[int], customers: list[str], want: int) -> None:
    """Until each customer's state, asked on any of ``ports``, shows ``want`` events applied."""
    pending = set(customers)
    for _ in range(300):
        for customer in sorted(pending):
            for port in ports:
                resp = await _state(port, customer, MONITOR_AUTH)
                if resp.status_code == 200 and resp.json()["events_applied"] >= want:
                    pending.discard(customer)
                    break
        if not pending:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"never applied: {sorted(pending)[:5]}")


async def _owned(port: int) -> list[int]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        return (await client.get("/readyz")).json()["assigned_partitions"]


async def test_every_worker_answers_for_every_customer(
    make_namespace, kafka_bootstrap: str, tmp_path
) -> None:
    namespace = await make_namespace()
    events = topics.EVENTS.name(namespace)
    run = uuid.uuid4().hex[:6]
    customers = [f"q{run}-{n:03d}" for n in range(CUSTOMERS)]
    workers, ports = await start_split_workers(
        namespace=namespace, bootstrap=kafka_bootstrap, tmp_path=tmp_path
    )
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        await produce(
            bootstrap=kafka_bootstrap,
            topic=events,
            records=outflow_records(customers),
        )
        await _until_applied(ports, customers, 2)

        owners: dict[str, str] = {}
        for customer in customers:  # both workers give the owner's answer, byte for byte
            answers = [await _state(port, customer, MONITOR_AUTH) for port in ports]
            assert [a.status_code for a in answers] == [200, 200], customer
            assert answers[0].content == answers[1].content, customer
            assert answers[0].json()["customer_id"] == customer
            assert answers[0].headers[SERVED_BY] == answers[1].headers[SERVED_BY]
            owners[customer] = answers[0].headers[SERVED_BY]
        assert set(owners.values()) == set(urls)  # both workers own some: forwarding was used
        partitions = topics.CUSTOMER_PARTITIONS
        for customer, owner in owners.items():  # the owner is the worker holding the partition
            held = await _owned(ports[urls.index(owner)])
            assert partition_of(customer_id=customer, partitions=partitions) in held

        unknown = f"q{run}-never-seen"
        for port in ports:  # the owner's "no state" is relayed as such (no partition field)
            resp = await _state(port, unknown, MONITOR_AUTH)
            assert resp.status_code == 404
            assert "partition" not in resp.json()

        foreign = next(c for c, o in owners.items() if o == urls[1])
        looped = await _state(
            ports[0], foreign, {**MONITOR_AUTH, "X-ChurnWatch-Forwarded-By": "http://elsewhere"}
        )
        assert looped.status_code == 503  # a forwarded request is never forwarded again
        body = looped.json()
        assert body["partition"] == partition_of(customer_id=foreign, partitions=partitions)
        assert "not forwarded again" in body["detail"]
        assert looped.headers["Retry-After"]
        refused = await _state(ports[0], foreign, {"Authorization": "Bearer wrong"})
        assert refused.status_code == 401  # checked before anything is forwarded

        workers[1].kill()  # kill -9: the group lists it as owner until the session times out
        gone = await _state(ports[0], foreign, MONITOR_AUTH)
        assert gone.status_code == 503, gone.text
        assert gone.json()["partition"] == body["partition"]
        assert urls[1] in gone.json()["detail"]
        await _until_applied([ports[0]], [foreign], 2)  # the survivor restored and owns it now
        resp = await _state(ports[0], foreign, MONITOR_AUTH)
        assert resp.headers[SERVED_BY] == urls[0]
    finally:
        for worker in workers:
            worker.stop()
