"""Poison records never block the alerts intake; a stuck intake makes /readyz say so.

The alerts service runs as a real process on the real broker and a fresh PostgreSQL database.
Poison records are produced straight to the alert topic, as an older monitor or another
producer could have written them: the defence is the intake's, not only ingest's.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from sqlalchemy import text

from churnwatch_alerts.db import create_engine
from churnwatch_shared import topics
from tests.alerts.factories import make_alert
from tests.alerts.running import RunningService, running_service, wait_for_alerts
from tests.support.kafka import consume_until, produce

pytestmark = pytest.mark.integration

REFUSED_TITLE = "Refused by the database"
STUCK_AFTER = 3.0


def _headers(record: object) -> dict[str, bytes]:
    return dict(record.headers or ())  # type: ignore[attr-defined]


async def _readyz(service: RunningService) -> httpx.Response:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as client:
        return await client.get("/readyz")


async def test_poison_alerts_are_dead_lettered_and_later_alerts_stored(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    make_database: Callable[[], str],
) -> None:
    database_url = make_database()
    async with running_service(
        namespace=await make_namespace(),
        bootstrap=kafka_bootstrap,
        database_url=database_url,
        extra_env={"CHURNWATCH_ALERTS_INTAKE_STUCK_AFTER_SECONDS": str(STUCK_AFTER)},
    ) as service:
        # A rule the contract cannot know: the database refuses one title (SQLSTATE 23514).
        engine = create_engine(url=database_url)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "ALTER TABLE alerts ADD CONSTRAINT test_refused_title "
                    f"CHECK (title <> '{REFUSED_TITLE}')"
                )
            )
        await engine.dispose()

        customer = f"C-{uuid.uuid4().hex[:8]}"
        await service.assign(customer_id=customer, manager_id="rm.poison")
        now = datetime.now(UTC)
        good = [
            make_alert(customer_id=customer, at=now, condition_key=f"good-{n}") for n in range(3)
        ]
        nul = orjson.loads(
            make_alert(customer_id=customer, at=now, condition_key="nul").model_dump_json()
        )
        nul["title"] = "Complaint filed (fees\u0000x)"
        refused = make_alert(customer_id=customer, at=now, condition_key="refused")
        refused_wire = orjson.loads(refused.model_dump_json())
        refused_wire["title"] = REFUSED_TITLE
        poison_nul, poison_db = orjson.dumps(nul), orjson.dumps(refused_wire)
        alerts_topic = topics.ALERTS.name(service.namespace)
        # One key, so one partition: the good alerts come after the poison ones.
        await produce(
            bootstrap=kafka_bootstrap,
            topic=alerts_topic,
            records=[
                (customer.encode(), good[0].model_dump_json().encode()),
                (customer.encode(), poison_nul),
                (customer.encode(), poison_db),
                (customer.encode(), b"{not json"),
                (customer.encode(), good[1].model_dump_json().encode()),
                (customer.encode(), good[2].model_dump_json().encode()),
            ],
            headers=[("origin", b"test")],
        )

        async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as client:
            body = await wait_for_alerts(client, service.token("rm.poison"), count=3, timeout=60)
            stored = sorted(i["id"] for i in body["items"])  # type: ignore[union-attr]
            assert stored == sorted(a.alert_id for a in good)

            letters = await consume_until(
                bootstrap=kafka_bootstrap,
                topic=topics.ALERTS_INTAKE_DEAD_LETTER.name(service.namespace),
                predicate=lambda rs: len(rs) >= 3,
                timeout=30,
                settle=1.0,
            )
            assert [r.value for r in letters] == [poison_nul, poison_db, b"{not json"]
            reasons = [_headers(r)["dlq.reason"] for r in letters]
            assert reasons == [b"schema", b"database_refused", b"malformed_json"]
            for record in letters:
                headers = _headers(record)
                assert record.key == customer.encode()
                assert headers["origin"] == b"test", "original headers are kept"
                assert headers["dlq.source"].decode().startswith(f"{alerts_topic}/")
            schema = orjson.loads(_headers(letters[0])["dlq.detail"])
            assert schema["errors"][0]["path"] == "title"
            assert "control character U+0000" in schema["errors"][0]["message"]
            refusal = orjson.loads(_headers(letters[1])["dlq.detail"])
            assert refusal["sqlstate"] == "23514"
            assert "test_refused_title" in refusal["database_message"]

            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["dependencies"]["intake"]["stuck"] == []

            metrics = (await client.get("/metrics")).text
            dead_lettered = [m for m in metrics.splitlines() if "dead_lettered" in m]
            for reason in ("schema", "database_refused", "malformed_json"):
                assert (
                    "churnwatch_alerts_intake_dead_lettered_total"
                    f'{{reason="{reason}",topic="{alerts_topic}"}} 1.0'
                ) in dead_lettered, dead_lettered


async def test_readyz_reports_a_stuck_intake_and_recovers(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    make_database: Callable[[], str],
) -> None:
    database_url = make_database()
    async with running_service(
        namespace=await make_namespace(),
        bootstrap=kafka_bootstrap,
        database_url=database_url,
        extra_env={"CHURNWATCH_ALERTS_INTAKE_STUCK_AFTER_SECONDS": str(STUCK_AFTER)},
    ) as service:
        assert (await _readyz(service)).status_code == 200
        engine = create_engine(url=database_url)
        customer = f"C-{uuid.uuid4().hex[:8]}"
        try:
            # Another session holds the alerts table: the intake's insert waits, nothing fails.
            async with engine.connect() as blocker:
                transaction = await blocker.begin()
                await blocker.execute(text("LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE"))
                await service.send_alert(
                    make_alert(customer_id=customer, at=datetime.now(UTC), branch_id="BR-S")
                )
                deadline = time.monotonic() + 60
                answer = await _readyz(service)
                while answer.status_code == 200 and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                    answer = await _readyz(service)
                assert answer.status_code == 503, answer.text
                intake = answer.json()["dependencies"]["intake"]
                assert intake["ok"] is False
                assert [s["intake"] for s in intake["stuck"]] == ["alerts"]
                assert intake["stuck"][0]["pending_seconds"] > STUCK_AFTER
                assert "pending for" in intake["reason"]
                await transaction.rollback()
            deadline = time.monotonic() + 60
            answer = await _readyz(service)
            while answer.status_code != 200 and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                answer = await _readyz(service)
            assert answer.status_code == 200, answer.text
            async with engine.connect() as connection:
                stored = await connection.scalar(
                    text("SELECT count(*) FROM alerts WHERE customer_id = :c"), {"c": customer}
                )
            assert stored == 1
        finally:
            await engine.dispose()
