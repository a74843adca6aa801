"""Next-best-action API on real PostgreSQL: suggestions, control group, outcomes, effect report."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.models import AlertRecord, AuditEntry, Role
from churnwatch_alerts.playbook.eligibility import in_control_group
from tests.alerts.conftest import started_app
from tests.alerts.factories import make_alert
from tests.alerts.seed import assign
from tests.alerts.value_builders import make_snapshot

pytestmark = pytest.mark.integration

T = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
SALT = "test-salt"
SHARE = 0.5
IDS = [f"N{i:03d}" for i in range(40)]
TREATED = [c for c in IDS if not in_control_group(customer_id=c, share=SHARE, salt=SALT)]
CONTROL = [c for c in IDS if in_control_group(customer_id=c, share=SHARE, salt=SALT)]


@pytest.fixture
async def app(make_database: Callable[[], str]) -> AsyncIterator[FastAPI]:
    async with started_app(
        database_url=make_database(),
        at=T,
        value_reviews_enabled=False,
        playbook_control_share=SHARE,
        playbook_control_salt=SALT,
    ) as application:
        async with application.state.sessionmaker() as session, session.begin():
            for customer in IDS:
                await assign(session, customer_id=customer, at=T)
                await upsert_state(
                    session,
                    customer_id=customer,
                    as_of=T,
                    snapshot=make_snapshot(customer, churn_level="warning"),
                    now=T,
                )
        yield application


def headers(
    app: FastAPI, sub: str = "rm.demo", role: Role = Role.RELATIONSHIP_MANAGER
) -> dict[str, str]:
    secret = app.state.settings.jwt_secret
    return {
        "Authorization": "Bearer "
        + mint_token(secret=secret, sub=sub, role=role, now=T, ttl_seconds=3600)
    }


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_suggestions_outcomes_and_the_control_group(app: FastAPI) -> None:
    treated, control = TREATED[0], CONTROL[0]
    async with client(app) as c:
        got = (await c.get(f"/v1/customers/{treated}/suggestions", headers=headers(app))).json()
        assert got["control_group"] is False and got["playbook_version"] == "2026.11.1"
        assert [s["code"] for s in got["suggestions"]] == ["retention_call"]
        assert got["suggestions"][0]["due_within_hours"] == 48
        assert got["suggestions"][0]["latest_outcome"] is None
        held = (await c.get(f"/v1/customers/{control}/suggestions", headers=headers(app))).json()
        assert held["control_group"] is True and held["suggestions"] == []
        url = f"/v1/customers/{treated}/suggestions/outcomes"
        for outcome in ("accepted", "done"):
            done = await c.post(
                url,
                headers=headers(app),
                json={"action": "retention_call", "outcome": outcome, "note": "called"},
            )
            assert done.status_code == 201, done.text
        assert done.json()["recorded_by"] == "rm.demo"
        again = (await c.get(f"/v1/customers/{treated}/suggestions", headers=headers(app))).json()
        assert again["suggestions"][0]["latest_outcome"]["outcome"] == "done"
        unknown = await c.post(
            url, headers=headers(app), json={"action": "free_lunch", "outcome": "done"}
        )
        assert unknown.status_code == 422 and "retention_call" in unknown.text
        wrong = await c.post(
            url, headers=headers(app), json={"action": "retention_call", "outcome": "maybe"}
        )
        assert wrong.status_code == 422
        refused = await c.post(
            f"/v1/customers/{control}/suggestions/outcomes",
            headers=headers(app),
            json={"action": "retention_call", "outcome": "done"},
        )
        assert refused.status_code == 409
        outsider = await c.get(
            f"/v1/customers/{treated}/suggestions", headers=headers(app, "rm.other")
        )
        assert outsider.status_code == 404
    async with app.state.sessionmaker() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.customer_id == treated)
            )
        ).all()
    assert {
        "customer.suggestions_read",
        "suggestion.outcome_recorded",
        "customer.suggestions_read_denied",
    } <= set(actions)


async def test_effect_report_compares_retained_rates(app: FastAPI) -> None:
    # treated: 3 retained, 1 lost; control: 1 retained, 2 lost
    plan = [(TREATED[i], o) for i, o in enumerate(["retained", "retained", "retained", "lost"])]
    plan += [(CONTROL[i], o) for i, o in enumerate(["retained", "lost", "lost"])]
    async with app.state.sessionmaker() as session, session.begin():
        for customer, outcome in plan:
            alert = make_alert(customer_id=customer, at=T)
            await store_alert(session, alert=alert, now=T, sla_seconds={})
            row = await session.get(AlertRecord, alert.alert_id)
            assert row is not None
            row.status, row.outcome, row.resolved_at = "resolved", outcome, T
    async with client(app) as c:
        await c.post(
            f"/v1/customers/{TREATED[0]}/suggestions/outcomes",
            headers=headers(app),
            json={"action": "retention_call", "outcome": "done"},
        )
        report = (
            await c.get("/v1/playbook/report", headers=headers(app, "lead.demo", Role.TEAM_LEAD))
        ).json()
        outsider = (await c.get("/v1/playbook/report", headers=headers(app, "rm.other"))).json()
        before = await c.get(
            "/v1/playbook/report",
            headers=headers(app),
            params={"until": "2026-12-01T00:00:00+00:00"},
        )
    arms = {a["arm"]: a for a in report["arms"]}
    assert (arms["with_suggestions"]["customers"], arms["with_suggestions"]["retained_rate"]) == (
        4,
        0.75,
    )
    assert (arms["control"]["customers"], arms["control"]["retained_rate"]) == (3, 0.3333)
    assert report["difference"] == 0.4167 and report["outcomes"] == {"done": 1}
    assert [a["customers"] for a in outsider["arms"]] == [0, 0] and outsider["difference"] is None
    assert [a["customers"] for a in before.json()["arms"]] == [0, 0]
