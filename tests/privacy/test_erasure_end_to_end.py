"""Erasure across the whole pipeline: a real monitor worker and a real alerts service on the real
broker and PostgreSQL. A customer is seeded everywhere, erased through the privacy API, and every
store is read again: the monitor's state (its API, its RocksDB files, and a restart that restores
from the changelog), the changelog's and the snapshot topic's latest record per key, every alerts
table, the audit details. Nothing of the customer is left but the proof and the redaction
markers; the audit chain verifies; the other customer is untouched."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from rocksdict import Options, Rdict
from sqlalchemy import select

from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.models import AuditEntry, Role
from churnwatch_shared import topics
from churnwatch_shared.events import encode_event
from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.topics import CUSTOMER_PARTITIONS
from churnwatch_state_monitor.worker.changelog import changelog_topic
from tests.alerts.factories import make_assigned
from tests.alerts.running import running_service
from tests.privacy.test_erasure_alerts_db import _rows_about
from tests.state_monitor.events import T0, at, outflow, snapshot, wire
from tests.support.kafka import consume_until, produce
from tests.support.monitor_auth import MONITOR_AUTH
from tests.support.processes import ServiceProcess, free_port

pytestmark = pytest.mark.integration


def _worker(*, namespace: str, bootstrap: str, port: int, data: Path, store: str) -> ServiceProcess:
    return ServiceProcess(
        name="state-monitor",
        module="churnwatch_state_monitor",
        env={
            "CHURNWATCH_KAFKA_BOOTSTRAP": bootstrap,
            "CHURNWATCH_TOPIC_NAMESPACE": namespace,
            "CHURNWATCH_ENV": "test",
            "CHURNWATCH_MONITOR_WEB_PORT": str(port),
            "CHURNWATCH_MONITOR_DATA_DIR": str(data),
            "CHURNWATCH_MONITOR_STORE": store,
            "CHURNWATCH_MONITOR_SESSION_TIMEOUT_S": "6",
        },
        health_url=f"http://127.0.0.1:{port}/healthz",
    )


async def _seed(bootstrap: str, namespace: str, customer: str) -> None:
    key = customer.encode()
    assigned = make_assigned(
        customer_id=customer, at=T0, manager_id="rm.demo", event_id=f"as-{customer}"
    )
    await produce(
        bootstrap=bootstrap,
        topic=topics.EVENTS.name(namespace),
        records=[
            (key, encode_event(assigned)),
            (key, wire(snapshot(f"bal-{customer}", customer, at(0), demand="100000.00"))),
            (key, wire(outflow(f"out-{customer}", customer, at(1), "80000.00"))),
        ],
    )


def _latest(records: list) -> dict[bytes, bytes | None]:
    latest: dict[bytes, bytes | None] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        latest[record.key] = record.value
    return latest


async def _state(port: int, customer: str) -> int:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        response = await client.get(f"/v1/customers/{customer}/state", headers=MONITOR_AUTH)
    return response.status_code


async def _until(check: Callable[[], object], *, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():  # type: ignore[misc]
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"not reached within {timeout} s")


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_erasure_leaves_nothing_in_any_store(
    store: str,
    make_namespace,
    make_database: Callable[[], str],
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    namespace = await make_namespace()
    database_url = make_database()
    run = uuid.uuid4().hex[:6]
    gone, kept = f"C-gone-{run}", f"C-kept-{run}"
    port = free_port()
    app_id = f"{namespace}-state-monitor"
    engine = create_engine(url=database_url)
    sessionmaker = create_sessionmaker(engine=engine)
    worker = _worker(
        namespace=namespace, bootstrap=kafka_bootstrap, port=port, data=tmp_path, store=store
    )
    async with running_service(
        namespace=namespace, bootstrap=kafka_bootstrap, database_url=database_url
    ) as alerts:
        with worker:
            for customer in (gone, kept):
                await _seed(kafka_bootstrap, namespace, customer)

            async def seeded() -> bool:
                rows = await _rows_about(sessionmaker, gone)
                return {"alerts", "customer_state", "assignments", "notifications"} <= set(rows)

            await _until(seeded)
            async with httpx.AsyncClient(base_url=alerts.base_url, timeout=20) as client:
                owner = alerts.token("rm.demo")
                note = await client.post(
                    f"/v1/cases/{gone}/notes", headers=owner, json={"text": "moving abroad"}
                )
                assert note.status_code == 201, note.text
                assert (await client.get(f"/v1/cases/{gone}", headers=owner)).status_code == 200
                assert await _state(port, gone) == 200

                officer = alerts.token("dpo.anna", Role.PRIVACY_OFFICER)
                asked = await client.post(
                    "/v1/privacy/erasures",
                    headers=officer,
                    json={"customer_id": gone, "reason": "GDPR Art. 17, ticket PRIV-42"},
                )
                assert asked.status_code == 202, asked.text
                erasure = asked.json()
                assert erasure["requested_by"] == "dpo.anna" and erasure["event"] is not None

                async def completed() -> bool:
                    proof = await client.get(
                        f"/v1/privacy/erasures/{erasure['erasure_id']}", headers=officer
                    )
                    return proof.json()["status"] == "completed"

                await _until(completed)
                proof = (
                    await client.get(
                        f"/v1/privacy/erasures/{erasure['erasure_id']}", headers=officer
                    )
                ).json()
            assert proof["monitor_confirmed_at"] and "changelog" in proof["removed"]["monitor"]
            assert proof["removed"]["alerts_database"]["alerts"] >= 1
            assert proof["removed"]["alerts_database"]["case_entries"] == 1

            # the monitor: no state for the customer, no alert raised by the erasure
            assert await _state(port, gone) == 404
            assert await _state(port, kept) == 200
            # the compacted topics' latest record per key: a tombstone
            for topic in (changelog_topic(app_id), topics.CUSTOMER_STATE.name(namespace)):
                records = await consume_until(
                    bootstrap=kafka_bootstrap,
                    topic=topic,
                    predicate=lambda rs: any(
                        r.key == gone.encode() and r.value is None for r in rs
                    ),
                )
                latest = _latest(records)
                assert latest[gone.encode()] is None, topic
                assert latest[kept.encode()] is not None, topic
            alerts_topic = await consume_until(
                bootstrap=kafka_bootstrap,
                topic=topics.ALERTS.name(namespace),
                predicate=lambda rs: len(rs) >= 2,
                settle=2.0,
            )
            assert sum(1 for r in alerts_topic if r.key == gone.encode()) == 1  # the seeded one

        # the RocksDB files of the partition hold no record of the customer
        if store.startswith("rocksdb"):
            partition = partition_of(customer_id=gone, partitions=CUSTOMER_PARTITIONS)
            db = Rdict(str(tmp_path / app_id / f"p{partition}"), options=Options(raw_mode=True))
            try:
                assert db.get(gone.encode()) is None
            finally:
                db.close()
        # a worker that restores from the changelog (fresh data dir) does not bring it back
        fresh = _worker(
            namespace=namespace,
            bootstrap=kafka_bootstrap,
            port=port,
            data=tmp_path / "fresh",
            store=store,
        )
        with fresh:

            async def restored() -> bool:
                return await _state(port, kept) == 200

            await _until(restored)
            assert await _state(port, gone) == 404

        # the alerts database: nothing about the customer but the proof and the markers
        assert await _rows_about(sessionmaker, gone) == {}
        assert await _rows_about(sessionmaker, kept) != {}
        async with sessionmaker() as session:
            details = (
                await session.scalars(
                    select(AuditEntry.detail).where(
                        AuditEntry.customer_id == gone,
                        AuditEntry.action.not_like("privacy.%"),
                    )
                )
            ).all()
        assert details and all(d == {"_redacted": erasure["erasure_id"]} for d in details)
    await engine.dispose()
    verified = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "churnwatch_alerts",
            "audit",
            "verify",
            "--database-url",
            database_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
