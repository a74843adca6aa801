"""The tamper-evident audit log on real PostgreSQL: one hash chain, and the verifier names tampering.

Rows are appended through the service's writer (concurrently, from many transactions); tampering
is done in plain SQL, as someone with database access would, and the verify CLI runs as a
subprocess: it must exit 1 and name the altered, removed or inserted row.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from churnwatch_alerts.audit import chain, record, record_now
from churnwatch_alerts.audit.verify import verify
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import AuditEntry
from tests.alerts.conftest import T0

pytestmark = pytest.mark.integration


@dataclass
class Log:
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    async def ids_by_seq(self) -> dict[int, int]:
        async with self.sessionmaker() as s:
            rows = (await s.execute(select(AuditEntry.chain_seq, AuditEntry.id))).all()
        return {int(seq): int(i) for seq, i in rows if seq is not None}

    async def sql(self, statement: str, **params: object) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(statement), params)


@pytest.fixture
async def log(make_database: Callable[[], str]) -> AsyncIterator[Log]:
    url = make_database()
    engine = create_engine(url=url)
    await upgrade(engine=engine)
    yield Log(url=url, engine=engine, sessionmaker=create_sessionmaker(engine=engine))
    await engine.dispose()


async def append_some(log: Log, count: int) -> None:
    for i in range(count):
        ok = await record_now(
            log.sessionmaker,
            actor=f"rm.{i % 3}",
            action="customer.state_read",
            at=T0 + timedelta(seconds=i),
            customer_id=f"C-{i}",
            detail={"i": i, "note": "ünïcode", "ratio": 1.0, "when": T0},
        )
        assert ok


def run_cli(url: str, *extra: str) -> tuple[int, dict[str, object], str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "churnwatch_alerts",
            "audit",
            "verify",
            "--database-url",
            url,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, json.loads(done.stdout), done.stderr


async def test_concurrent_appends_keep_one_chain(log: Log) -> None:
    writers, each = 8, 15

    async def writer(w: int) -> None:
        for i in range(each):
            if i % 3 == 0:
                # Flushed early and then kept open: the row is INSERTed unchained and chained
                # (UPDATEd) at the commit, while other writers append.
                async with log.sessionmaker() as s, s.begin():
                    record(s, actor=f"w{w}", action="test.early", at=T0, detail={"i": i})
                    await s.flush()
                    await asyncio.sleep(0.01)
            else:
                ok = await record_now(
                    log.sessionmaker, actor=f"w{w}", action="test.append", at=T0, detail={"i": i}
                )
                assert ok, "an append failed: two writers took the same chain position"

    await asyncio.gather(*(writer(w) for w in range(writers)))
    verdict = await verify(engine=log.engine)
    assert verdict.ok, verdict.problems
    assert verdict.rows == writers * each == verdict.head_seq
    assert sorted(await log.ids_by_seq()) == list(range(1, writers * each + 1))


async def test_rows_of_a_rolled_back_savepoint_leave_no_gap(log: Log) -> None:
    async with log.sessionmaker() as s, s.begin():
        record(s, actor="a", action="kept.before", at=T0)
        nested = await s.begin_nested()
        record(s, actor="a", action="rolled.back", at=T0)
        await s.flush()
        await nested.rollback()
        record(s, actor="a", action="kept.after", at=T0)
    verdict = await verify(engine=log.engine)
    assert verdict.ok, verdict.problems
    async with log.sessionmaker() as s:
        actions = (await s.scalars(select(AuditEntry.action).order_by(AuditEntry.chain_seq))).all()
    assert actions == ["kept.before", "kept.after"]


async def test_cli_accepts_the_untouched_log(log: Log) -> None:
    await append_some(log, 5)
    code, verdict, _ = run_cli(log.url)
    assert code == 0 and verdict["ok"] is True and verdict["rows"] == 5
    anchored = f"{verdict['head_seq']}:{verdict['head_hash']}"
    assert run_cli(log.url, "--anchor", anchored)[0] == 0


async def test_cli_names_a_row_whose_detail_was_edited(log: Log) -> None:
    await append_some(log, 5)
    target = (await log.ids_by_seq())[3]
    await log.sql(
        "UPDATE audit_log SET detail = CAST(:d AS jsonb) WHERE id = :id",
        d='{"i": 2, "note": "nothing to see", "ratio": 1, "when": "2025-03-01T09:00:00+00:00"}',
        id=target,
    )
    code, verdict, stderr = run_cli(log.url)
    assert code == 1
    assert verdict["first_problem"] == {
        "kind": "altered",
        "id": target,
        "seq": 3,
        "message": f"row id {target} (seq 3): detail was altered",
    }
    assert f"row id {target}" in stderr


async def test_cli_names_a_row_whose_actor_was_edited(log: Log) -> None:
    await append_some(log, 4)
    target = (await log.ids_by_seq())[2]
    await log.sql("UPDATE audit_log SET actor = 'someone.else' WHERE id = :id", id=target)
    code, verdict, _ = run_cli(log.url)
    first = verdict["first_problem"]
    assert code == 1 and isinstance(first, dict)
    assert (first["kind"], first["id"]) == ("altered", target)


async def test_cli_names_a_removed_row(log: Log) -> None:
    await append_some(log, 5)
    ids = await log.ids_by_seq()
    await log.sql("DELETE FROM audit_log WHERE id = :id", id=ids[3])
    code, verdict, _ = run_cli(log.url)
    assert code == 1
    assert verdict["first_problem"] == {
        "kind": "removed",
        "id": ids[4],
        "seq": 4,
        "message": f"row(s) seq 3 missing before row id {ids[4]}",
    }


async def test_cli_names_the_removal_of_the_newest_row(log: Log) -> None:
    await append_some(log, 4)
    ids = await log.ids_by_seq()
    await log.sql("DELETE FROM audit_log WHERE id = :id", id=ids[4])
    code, verdict, _ = run_cli(log.url)
    first = verdict["first_problem"]
    assert code == 1 and isinstance(first, dict)
    assert (first["kind"], first["id"], first["seq"]) == ("removed", ids[3], 3)
    assert "recorded head is seq 4" in str(first["message"])


async def test_cli_names_a_forged_row_inserted_in_sql(log: Log) -> None:
    await append_some(log, 3)
    await log.sql(
        "INSERT INTO audit_log (at, actor, action, detail) "
        "VALUES (:at, 'auditor.demo', 'audit.read', '{}')",
        at=T0,
    )
    async with log.sessionmaker() as s:
        forged = await s.scalar(select(AuditEntry.id).where(AuditEntry.chain_seq.is_(None)))
    code, verdict, _ = run_cli(log.url)
    first = verdict["first_problem"]
    assert code == 1 and isinstance(first, dict)
    assert (first["kind"], first["id"]) == ("inserted", forged)


async def test_cli_names_a_forged_row_given_a_chain_position(log: Log) -> None:
    """A forger who knows the encoding links a row to the last hash but cannot move the head."""
    await append_some(log, 3)
    async with log.sessionmaker() as s:
        last = await s.scalar(select(AuditEntry).where(AuditEntry.chain_seq == 3))
    assert last is not None and last.row_hash is not None
    digest = chain.detail_digest({})
    forged_hash = chain.row_hash(
        seq=4,
        at=T0,
        actor="rm.0",
        action="customer.state_read",
        customer_id=None,
        alert_id=None,
        detail_sha256=digest,
        prev_hash=last.row_hash,
    )
    await log.sql(
        "INSERT INTO audit_log (at, actor, action, detail, chain_seq, detail_sha256, prev_hash, "
        "row_hash) VALUES (:at, 'rm.0', 'customer.state_read', '{}', 4, :d, :p, :h)",
        at=T0,
        d=digest,
        p=last.row_hash,
        h=forged_hash,
    )
    code, verdict, _ = run_cli(log.url)
    first = verdict["first_problem"]
    assert code == 1 and isinstance(first, dict)
    assert (first["kind"], first["seq"]) == ("inserted", 4)


async def test_cli_anchor_catches_a_chain_rewritten_with_recomputed_hashes(log: Log) -> None:
    await append_some(log, 3)
    code, before, _ = run_cli(log.url)
    assert code == 0
    anchor = f"{before['head_seq']}:{before['head_hash']}"
    # Rewrite row 2's actor and recompute every hash after it, head included.
    async with log.sessionmaker() as s, s.begin():
        rows = (await s.scalars(select(AuditEntry).order_by(AuditEntry.chain_seq))).all()
        prev = chain.GENESIS
        for row in rows:
            if row.chain_seq == 2:
                row.actor = "rewritten"
            row.prev_hash = prev
            row.row_hash = prev = chain.row_hash(
                seq=int(row.chain_seq or 0),
                at=row.at,
                actor=row.actor,
                action=row.action,
                customer_id=row.customer_id,
                alert_id=row.alert_id,
                detail_sha256=str(row.detail_sha256),
                prev_hash=str(row.prev_hash),
            )
        await s.execute(text("UPDATE audit_chain_head SET row_hash = :h"), {"h": prev})
    assert run_cli(log.url)[0] == 0, "without an anchor a full rewrite is consistent"
    code, verdict, _ = run_cli(log.url, "--anchor", anchor)
    first = verdict["first_problem"]
    assert code == 1 and isinstance(first, dict) and first["kind"] == "anchor_mismatch"


async def test_a_redacted_detail_is_reported_not_refused(log: Log) -> None:
    """A marker naming an erasure the chain records (of that row's customer) is a redaction;
    a forged marker, or one naming another customer's erasure, is an alteration."""
    await append_some(log, 3)
    assert await record_now(
        log.sessionmaker,
        actor="privacy.officer",
        action="privacy.erasure_requested",
        at=T0 + timedelta(seconds=9),
        customer_id="C-2",
        detail={"erasure_id": "er-1", "removed": {}},
    )
    seqs = await log.ids_by_seq()
    target, other = seqs[3], seqs[2]  # the rows of C-2 and C-1
    await log.sql(
        "UPDATE audit_log SET detail = CAST(:d AS jsonb) WHERE id = :id",
        d='{"_redacted": "er-1"}',
        id=target,
    )
    code, verdict, _ = run_cli(log.url)
    assert code == 0 and verdict["redacted"] == 1 and verdict["redacted_ids"] == [target]
    # hiding C-1's detail behind C-2's erasure, then behind an erasure that never happened
    for marker, words in (("er-1", "of another customer"), ("er-forged", "names no erasure")):
        await log.sql(
            "UPDATE audit_log SET detail = CAST(:d AS jsonb) WHERE id = :id",
            d=f'{{"_redacted": "{marker}"}}',
            id=other,
        )
        code, verdict, _ = run_cli(log.url)
        first = verdict["first_problem"]
        assert code == 1 and isinstance(first, dict), verdict
        assert first["kind"] == "altered" and first["id"] == other and words in first["message"]


def test_cli_refuses_a_malformed_anchor_with_usage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "churnwatch_alerts", "audit", "verify", "--anchor", "x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "is not SEQ:HASH" in done.stderr
