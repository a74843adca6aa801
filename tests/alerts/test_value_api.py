"""Value API on real PostgreSQL: value-at-risk ordering, book at risk, access and audit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.models import AuditEntry, Manager, Role
from churnwatch_alerts.value.periods import PeriodKind, parse_period
from churnwatch_alerts.value.service import review_period
from tests.alerts.conftest import started_app
from tests.alerts.seed import assign
from tests.alerts.value_builders import known_margins, make_snapshot

pytestmark = pytest.mark.integration

DEC5 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
# customer -> (relationship manager, branch, churn score): value 570.60 each, so VaR = score %
BOOK = {
    "C-low": ("rm.demo", "BR001", 10.0),
    "C-high": ("rm.demo", "BR001", 80.0),
    "C-mid": ("rm.demo", "BR001", 40.0),
    "C-other": ("rm.other", "BR002", 90.0),
}


@pytest.fixture
async def app(make_database: Callable[[], str]) -> AsyncIterator[FastAPI]:
    async with started_app(
        database_url=make_database(), at=DEC5, value_reviews_enabled=False
    ) as application:
        sessionmaker = application.state.sessionmaker
        async with sessionmaker() as session, session.begin():
            session.add(
                Manager(id="rm.other", role=Role.RELATIONSHIP_MANAGER.value, team_id="team.other")
            )
            for customer, (manager, branch, score) in BOOK.items():
                await assign(
                    session, customer_id=customer, at=DEC5, manager_id=manager, branch_id=branch
                )
                await upsert_state(
                    session,
                    customer_id=customer,
                    as_of=DEC5,
                    snapshot=make_snapshot(customer, churn_score=score),
                    now=DEC5,
                )
        await review_period(
            sessionmaker,
            period=parse_period("2026-11", kind=PeriodKind.MONTHLY),
            config=known_margins(),
            now=DEC5,
        )
        yield application


def token(app: FastAPI, sub: str, role: Role) -> dict[str, str]:
    secret = app.state.settings.jwt_secret
    return {
        "Authorization": "Bearer "
        + mint_token(secret=secret, sub=sub, role=role, now=DEC5, ttl_seconds=3600)
    }


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_value_at_risk_orders_the_managers_book(app: FastAPI) -> None:
    async with client(app) as c:
        mine = await c.get(
            "/v1/value/at-risk", headers=token(app, "rm.demo", Role.RELATIONSHIP_MANAGER)
        )
        assert mine.status_code == 200, mine.text
        body = mine.json()
        assert body["period"] == "2026-11" and body["total"] == 3
        assert [i["customer_id"] for i in body["items"]] == ["C-high", "C-mid", "C-low"]
        assert [i["value_at_risk"] for i in body["items"]] == ["456.48", "228.24", "57.06"]
        everyone = await c.get(
            "/v1/value/at-risk", headers=token(app, "admin.t", Role.ADMIN), params={"limit": 2}
        )
        assert [i["customer_id"] for i in everyone.json()["items"]] == ["C-other", "C-high"]
        assert everyone.json()["total"] == 4
        bad = await c.get(
            "/v1/value/at-risk",
            headers=token(app, "admin.t", Role.ADMIN),
            params={"period": "November"},
        )
        assert bad.status_code == 422 and "YYYY-MM" in bad.text


async def test_book_at_risk_per_manager_team_and_branch(app: FastAPI) -> None:
    admin = token(app, "admin.t", Role.ADMIN)
    async with client(app) as c:
        by_manager = (await c.get("/v1/value/book", headers=admin)).json()
        assert [(g["key"], g["customers"], g["value_at_risk"]) for g in by_manager["groups"]] == [
            ("rm.demo", 3, "741.78"),
            ("rm.other", 1, "513.54"),
        ]
        assert by_manager["total_value_at_risk"] == "1255.32"
        by_team = (await c.get("/v1/value/book", headers=admin, params={"group_by": "team"})).json()
        assert [g["key"] for g in by_team["groups"]] == ["team.demo", "team.other"]
        by_branch = await c.get("/v1/value/book", headers=admin, params={"group_by": "branch"})
        assert [g["key"] for g in by_branch.json()["groups"]] == ["BR001", "BR002"]
        lead = (
            await c.get("/v1/value/book", headers=token(app, "lead.demo", Role.TEAM_LEAD))
        ).json()
        assert [g["key"] for g in lead["groups"]] == ["rm.demo"]  # the team's customers only
        wrong = await c.get("/v1/value/book", headers=admin, params={"group_by": "desk"})
        assert wrong.status_code == 422


async def test_customer_value_is_scoped_and_audited(app: FastAPI) -> None:
    async with client(app) as c:
        hidden = await c.get(
            "/v1/customers/C-other/value", headers=token(app, "rm.demo", Role.RELATIONSHIP_MANAGER)
        )
        assert hidden.status_code == 404
        seen = await c.get(
            "/v1/customers/C-other/value", headers=token(app, "rm.other", Role.RELATIONSHIP_MANAGER)
        )
        assert seen.status_code == 200, seen.text
        latest = seen.json()["latest"]
        assert (latest["current_value"], latest["lifecycle"], latest["strategy"]) == (
            "570.60",
            "declining",
            "maintain",
        )
        assert latest["reasons"][1]["code"] == "retain_value"
    async with app.state.sessionmaker() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.customer_id == "C-other")
            )
        ).all()
    assert "customer.value_read_denied" in actions and "customer.value_read" in actions
