"""Erasure on the alerts side, on PostgreSQL and the real broker: every table emptied of the
customer, audit details redacted with the chain still verifying, the event on EVENTS keyed by the
customer, archived rows deletable only through the gate, and the proof completed by the monitor's
snapshot tombstone (read back from the real customer-state topic)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import Text, cast, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker

from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.audit import record
from churnwatch_alerts.audit.verify import verify
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.intake.handlers import IntakeTopics, apply_context
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import (
    AlertRecord,
    AuditEntry,
    Base,
    CaseEntry,
    ErasureRecord,
    MarketingObjection,
    Notification,
    ScorePoint,
    SuggestionOutcome,
)
from churnwatch_alerts.privacy.account_owners import tombstone_account_owners
from churnwatch_alerts.privacy.events import KafkaErasureSender
from churnwatch_alerts.privacy.service import request_erasure
from churnwatch_shared import topics
from churnwatch_shared.events import parse_event
from churnwatch_shared.settings import CommonSettings
from tests.alerts.conftest import T0
from tests.alerts.factories import make_alert
from tests.alerts.seed import assign, value_review
from tests.support.kafka import consume_until, produce

pytestmark = pytest.mark.integration

GONE, KEPT = "C-erase-me", "C-keep-me"


async def _seed(sessionmaker: async_sessionmaker, customer_id: str) -> None:
    async with sessionmaker() as session, session.begin():
        await assign(session, customer_id=customer_id, at=T0)
        alert = make_alert(customer_id=customer_id, at=T0)
        await store_alert(session, alert=alert, now=T0, sla_seconds={})
        await upsert_state(
            session,
            customer_id=customer_id,
            as_of=T0,
            snapshot={"customer_id": customer_id},
            now=T0,
        )
        session.add(CaseEntry(customer_id=customer_id, kind="note", author="rm.demo", text="x"))
        session.add(
            ScorePoint(
                customer_id=customer_id,
                day=T0.date(),
                as_of=T0,
                churn_score=40,
                churn_level="watch",
            )
        )
        session.add(MarketingObjection(customer_id=customer_id, recorded_by="p", recorded_at=T0))
        session.add(value_review(customer_id=customer_id, at=T0, period="2025-02"))
        session.add(
            SuggestionOutcome(
                customer_id=customer_id,
                action_code="retention_call",
                playbook_version="1",
                outcome="done",
                recorded_by="rm.demo",
                recorded_at=T0,
            )
        )
        record(
            session,
            actor="rm.demo",
            action="case.read",
            customer_id=customer_id,
            at=T0,
            detail={"customer_name": f"name of {customer_id}"},
        )
        record(
            session,
            actor="lead.demo",
            action="alerts.acknowledge_many",
            at=T0,
            detail={"customer_ids": [customer_id]},
        )


async def _rows_about(sessionmaker: async_sessionmaker, customer_id: str) -> dict[str, int]:
    """Rows of every table whose text mentions the customer (audit: only unredacted details)."""
    found: dict[str, int] = {}
    async with sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "privacy_erasures":
                continue
            row_text = func.concat_ws(" ", *[cast(c, Text) for c in table.columns])
            if table.name == "audit_log":
                row_text = cast(table.c.detail, Text)
            n = await session.scalar(
                select(func.count()).select_from(table).where(row_text.contains(customer_id))
            )
            if n:
                found[table.name] = int(n)
    return found


async def test_erasure_empties_every_table_and_the_chain_still_verifies(
    make_database: Callable[[], str], kafka_bootstrap: str, topic_namespace: str
) -> None:
    engine = create_engine(url=make_database())
    await upgrade(engine=engine)
    sessionmaker = create_sessionmaker(engine=engine)
    for customer in (GONE, KEPT):
        await _seed(sessionmaker, customer)
    assert set(await _rows_about(sessionmaker, GONE)) >= {
        "alerts",
        "assignments",
        "customer_state",
        "case_entries",
        "score_history",
        "value_reviews",
        "suggestion_outcomes",
        "privacy_objections",
        "audit_log",
        "notifications",
    }
    # ordinary changes of archived rows stay refused
    for statement in ("UPDATE value_reviews SET strategy = 'x'", "DELETE FROM suggestion_outcomes"):
        async with sessionmaker() as session:
            with pytest.raises(DBAPIError, match="archived and immutable"):
                await session.execute(text(statement))

    common = CommonSettings(kafka_bootstrap=kafka_bootstrap, topic_namespace=topic_namespace)
    owners_topic = common.topic(topics.ACCOUNT_OWNERS)
    accounts = {b"ACC-gone-1": GONE, b"ACC-gone-2": GONE, b"ACC-kept-1": KEPT}
    await produce(
        bootstrap=kafka_bootstrap,
        topic=owners_topic,
        records=[
            (k, orjson.dumps({"customer_id": c, "source": "test"})) for k, c in accounts.items()
        ],
    )
    now = T0 + timedelta(days=1)
    erasure = await request_erasure(
        sessionmaker,
        customer_id=GONE,
        reason="GDPR Art. 17, ticket PRIV-1",
        actor="dpo.anna",
        now=now,
        sender=KafkaErasureSender(common=common),
    )
    assert erasure.status == "awaiting_monitor" and erasure.event_offset is not None
    assert await _rows_about(sessionmaker, GONE) == {}
    assert await _rows_about(sessionmaker, KEPT) != {}  # the other customer is untouched
    counts = erasure.removed["alerts_database"]
    assert counts["alerts"] == 1 and counts["value_reviews"] == 1
    assert counts["audit_details_redacted"] >= 3
    assert "30 days" in erasure.removed["expires_with_retention"]["events.v1"]
    # the ingest adapters' account -> customer index: the customer's accounts tombstoned
    assert erasure.removed["account_owners_topic"] == 2
    owners = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=owners_topic,
        predicate=lambda rs: sum(1 for r in rs if r.value is None) >= 2,
    )
    latest = {r.key: r.value for r in sorted(owners, key=lambda r: r.offset)}
    assert latest[b"ACC-gone-1"] is None and latest[b"ACC-gone-2"] is None
    assert latest[b"ACC-kept-1"] is not None
    async with sessionmaker() as session:
        markers = (
            await session.scalars(
                select(AuditEntry.detail).where(
                    AuditEntry.customer_id == GONE, AuditEntry.action == "case.read"
                )
            )
        ).all()
    assert markers == [{"_redacted": erasure.id}]
    verdict = await verify(engine=engine)
    assert verdict.ok and len(verdict.redacted_ids) >= 3, verdict.as_dict()

    # the event is on EVENTS, keyed by the customer, on the partition the proof names
    events_topic = common.topic(topics.EVENTS)
    records = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=events_topic,
        predicate=lambda rs: any(r.key == GONE.encode() for r in rs),
    )
    [sent] = [r for r in records if r.key == GONE.encode()]
    event = parse_event(sent.value)
    assert event.event_type == "customer.erasure_requested"
    assert event.payload.erasure_id == erasure.id
    assert (sent.partition, sent.offset) == (erasure.event_partition, erasure.event_offset)

    # an alert from before the erasure, still in flight, is not stored again; the monitor's
    # snapshot tombstone (from the real topic) completes the proof
    state_topic = common.topic(topics.CUSTOMER_STATE)
    await produce(bootstrap=kafka_bootstrap, topic=state_topic, records=[(GONE.encode(), None)])
    tombstones = await consume_until(
        bootstrap=kafka_bootstrap,
        topic=state_topic,
        predicate=lambda rs: any(r.key == GONE.encode() and r.value is None for r in rs),
    )
    async with sessionmaker() as session, session.begin():
        await apply_context(
            session,
            records=tombstones,
            topics=IntakeTopics(alerts="a", customer_state=state_topic, events=events_topic),
            now=now + timedelta(seconds=5),
        )
    async with sessionmaker() as session:
        proof = await session.get(ErasureRecord, erasure.id)
        assert proof is not None and proof.status == "completed"
        assert proof.monitor_confirmed_at is not None and "changelog" in proof.removed["monitor"]
        late = make_alert(customer_id=GONE, at=T0 + timedelta(hours=1), condition_key="ev-late")
        from churnwatch_alerts.privacy.intake import drop_erased

        assert (
            await drop_erased(session, [late], key=lambda a: (a.customer_id, a.occurred_at)) == []
        )
        assert await session.scalar(select(func.count()).select_from(AlertRecord)) == 1
        assert await session.scalar(select(func.count()).select_from(Notification)) >= 1
    assert (await verify(engine=engine)).ok
    await engine.dispose()


async def test_two_requests_at_once_make_one_erasure(
    make_database: Callable[[], str], kafka_bootstrap: str, topic_namespace: str
) -> None:
    engine = create_engine(url=make_database())
    await upgrade(engine=engine)
    sessionmaker = create_sessionmaker(engine=engine)
    await _seed(sessionmaker, GONE)
    common = CommonSettings(kafka_bootstrap=kafka_bootstrap, topic_namespace=topic_namespace)
    sender = KafkaErasureSender(common=common)
    first, second = await asyncio.gather(
        *(
            request_erasure(
                sessionmaker,
                customer_id=GONE,
                reason="GDPR Art. 17",
                actor=actor,
                now=T0 + timedelta(days=1),
                sender=sender,
            )
            for actor in ("dpo.a", "dpo.b")
        )
    )
    assert first.id == second.id
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ErasureRecord)) == 1
    assert await _rows_about(sessionmaker, GONE) == {}
    assert (await verify(engine=engine)).ok
    await engine.dispose()


async def test_without_an_account_owners_topic_there_is_nothing_to_tombstone(
    kafka_bootstrap: str,
) -> None:
    """A deployment without the ingest adapters has no account index: nothing to tombstone, at
    once (reading a missing topic's offsets has taken 80 s and failed here, when the broker did
    not create the topic on the metadata request)."""
    started = time.monotonic()
    common = CommonSettings(
        kafka_bootstrap=kafka_bootstrap, topic_namespace=f"absent{uuid.uuid4().hex[:8]}"
    )
    assert await tombstone_account_owners(common=common, customer_id=GONE) == 0
    assert time.monotonic() - started < 20
