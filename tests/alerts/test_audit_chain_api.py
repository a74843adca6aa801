"""The audit chain through the API (auditors verify and export it) and through the migration.

The migration back-fills the chain over rows written before it, on real PostgreSQL and on
SQLite; the export carries each row's chain fields, enough to re-verify the chain outside the
service.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from churnwatch_alerts.audit import chain, record_now
from churnwatch_alerts.audit.verify import verify
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import AuditEntry
from tests.alerts.conftest import T0, login

pytestmark = pytest.mark.integration


async def test_auditor_verifies_the_chain_and_sees_tampering(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auditor = await login(client, "auditor.demo")
    manager = await login(client, "rm.demo")
    whole = await client.get("/v1/audit/verify", headers=auditor)
    assert whole.status_code == 200, whole.text
    assert whole.json()["ok"] is True and whole.json()["rows"] >= 2
    assert (await client.get("/v1/audit/verify", headers=manager)).status_code == 403

    async with app.state.engine.begin() as conn:
        target = (
            await conn.execute(text("SELECT id FROM audit_log WHERE action = 'auth.login' LIMIT 1"))
        ).scalar_one()
        await conn.execute(
            text("UPDATE audit_log SET action = 'auth.logout' WHERE id = :id"), {"id": target}
        )
    broken = (await client.get("/v1/audit/verify", headers=auditor)).json()
    assert broken["ok"] is False
    assert (broken["first_problem"]["kind"], broken["first_problem"]["id"]) == ("altered", target)
    async with app.state.sessionmaker() as s:
        checks = (
            await s.scalars(select(AuditEntry).where(AuditEntry.action == "audit.verify"))
        ).all()
    assert [c.detail["ok"] for c in checks] == [True, False]


async def test_export_carries_the_chain_and_re_verifies_outside_the_service(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auditor = await login(client, "auditor.demo")
    await client.get("/v1/audit", headers=auditor)
    nd = await client.get("/v1/audit/export", params={"format": "ndjson"}, headers=auditor)
    rows = sorted((orjson.loads(line) for line in nd.content.splitlines()), key=lambda r: r["id"])
    assert len(rows) >= 3
    prev = chain.GENESIS
    for row in sorted(rows, key=lambda r: r["chain_seq"]):
        assert row["prev_hash"] == prev
        assert chain.detail_digest(row["detail"]) == row["detail_sha256"]
        recomputed = chain.row_hash(
            seq=row["chain_seq"],
            at=datetime.fromisoformat(row["at"]),
            actor=row["actor"],
            action=row["action"],
            customer_id=row["customer_id"],
            alert_id=row["alert_id"],
            detail_sha256=row["detail_sha256"],
            prev_hash=row["prev_hash"],
        )
        assert recomputed == row["row_hash"]
        prev = row["row_hash"]
    csv_out = await client.get("/v1/audit/export", params={"format": "csv"}, headers=auditor)
    header = csv_out.text.splitlines()[0].split(",")
    assert header[-4:] == ["chain_seq", "detail_sha256", "prev_hash", "row_hash"]


async def _rows_before_the_chain(url: str) -> None:
    engine = create_engine(url=url)
    try:
        await upgrade(engine=engine, revision="0003_notification_leases")
        async with engine.begin() as conn:
            for i in range(5):
                await conn.execute(
                    text(
                        "INSERT INTO audit_log (at, actor, action, customer_id, detail) "
                        "VALUES (:at, :actor, 'customer.state_read', :c, :d)"
                    ),
                    {
                        "at": T0 + timedelta(minutes=i),
                        "actor": f"rm.{i}",
                        "c": f"C-{i}",
                        "d": orjson.dumps({"i": i, "big": 1e20, "text": "ä"}).decode(),
                    },
                )
        await upgrade(engine=engine)
        verdict = await verify(engine=engine)
        assert verdict.ok, verdict.problems
        assert verdict.rows == verdict.head_seq == 5
        # New rows continue the back-filled chain.
        sessionmaker = create_sessionmaker(engine=engine)
        assert await record_now(sessionmaker, actor="a", action="after.migration", at=T0)
        verdict = await verify(engine=engine)
        assert verdict.ok and verdict.rows == 6
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE audit_log SET customer_id = 'C-x' WHERE actor='rm.2'"))
        verdict = await verify(engine=engine)
        assert not verdict.ok and verdict.problems[0].seq == 3
    finally:
        await engine.dispose()


async def test_migration_back_fills_the_chain_on_postgresql(
    make_database: Callable[[], str],
) -> None:
    await _rows_before_the_chain(make_database())


async def test_migration_back_fills_the_chain_on_sqlite(tmp_path: Path) -> None:
    await _rows_before_the_chain(f"sqlite+aiosqlite:///{tmp_path / 'alerts.db'}")
