"""The HTTP API in-process (ASGI) on real PostgreSQL: login, workflow, hand-over, customer state."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.models import Manager, Role
from tests.alerts.conftest import T0, login
from tests.alerts.factories import make_alert

pytestmark = pytest.mark.integration


async def _seed_alert(app: FastAPI, *, customer: str, key: str = "k") -> str:
    alert = make_alert(customer_id=customer, at=T0, condition_key=key)
    async with app.state.sessionmaker() as session, session.begin():
        await store_alert(session, alert=alert, now=T0, sla_seconds={})
        await upsert_state(
            session,
            customer_id=customer,
            as_of=T0,
            snapshot={"customer_id": customer, "churn_score": 42},
            now=T0,
        )
    return alert.alert_id


async def test_login_rejects_wrong_password(client: httpx.AsyncClient) -> None:
    bad = await client.post("/v1/auth/login", json={"username": "rm.demo", "password": "nope"})
    assert bad.status_code == 401
    missing = await client.post("/v1/auth/login", json={"username": "rm.demo"})
    assert missing.status_code == 422
    me = await client.get("/v1/auth/me", headers=await login(client, "lead.demo"))
    assert me.json() == {
        "id": "lead.demo",
        "role": "team_lead",
        "team_id": "team.demo",
        "branch_id": "BR001",
    }


async def test_demo_manager_workflow_and_lead_view(app: FastAPI, client: httpx.AsyncClient) -> None:
    rm, lead = await login(client, "rm.demo"), await login(client, "lead.demo")
    put = await client.put(
        "/v1/assignments/C-api",
        headers=rm,
        json={"relationship_manager_id": "rm.demo", "branch_id": "BR001"},
    )
    assert put.status_code == 403  # admin only
    async with app.state.sessionmaker() as session, session.begin():
        from churnwatch_alerts.assignments.service import apply_assigned
        from churnwatch_shared.events import CustomerAssigned

        await apply_assigned(
            session,
            customer_id="C-api",
            payload=CustomerAssigned(relationship_manager_id="rm.demo"),
            occurred_at=T0,
            actor="test",
            now=T0,
        )
    alert_id = await _seed_alert(app, customer="C-api")

    listed = await client.get("/v1/alerts", headers=lead, params={"status": "open"})
    assert [i["id"] for i in listed.json()["items"]] == [alert_id]
    state = await client.get("/v1/customers/C-api/state", headers=rm)
    assert state.json()["snapshot"]["churn_score"] == 42
    assert (await client.get("/v1/customers/C-api/state")).status_code == 401
    assert (await client.get("/v1/customers/C-other/state", headers=rm)).status_code == 404

    snooze = await client.post(
        f"/v1/alerts/{alert_id}/snooze",
        headers=rm,
        json={"until": (T0 + timedelta(hours=2)).isoformat()},
    )
    assert snooze.json()["status"] == "snoozed"
    naive = await client.post(
        f"/v1/alerts/{alert_id}/snooze", headers=rm, json={"until": "2030-01-01T00:00:00"}
    )
    assert naive.status_code == 422
    bad_outcome = await client.post(
        f"/v1/alerts/{alert_id}/resolve", headers=rm, json={"outcome": "maybe"}
    )
    assert bad_outcome.status_code == 422
    done = await client.post(
        f"/v1/alerts/{alert_id}/resolve",
        headers=rm,
        json={"outcome": "retained", "note": "visited"},
    )
    assert done.json()["status"] == "resolved" and done.json()["outcome"] == "retained"
    again = await client.post(f"/v1/alerts/{alert_id}/ack", headers=rm)
    assert again.status_code == 409
    precision = await client.get("/v1/alerts/precision", headers=lead)
    assert precision.json()[0]["precision"] == 1.0


async def test_hand_over_by_team_lead(app: FastAPI, client: httpx.AsyncClient) -> None:
    rm, lead = await login(client, "rm.demo"), await login(client, "lead.demo")
    async with app.state.sessionmaker() as session, session.begin():
        from churnwatch_alerts.assignments.service import apply_assigned
        from churnwatch_alerts.models import Manager, Role
        from churnwatch_shared.events import CustomerAssigned

        # Hand-overs go only to an active manager of the lead's own team (validated since #17).
        session.add(
            Manager(
                id="rm.next",
                role=Role.RELATIONSHIP_MANAGER.value,
                team_id="team.demo",
                branch_id="BR001",
                supervisor_id="lead.demo",
            )
        )
        await apply_assigned(
            session,
            customer_id="C-ho",
            payload=CustomerAssigned(relationship_manager_id="rm.demo"),
            occurred_at=T0,
            actor="test",
            now=T0,
        )
    alert_id = await _seed_alert(app, customer="C-ho")
    refused = await client.post(
        "/v1/handovers", headers=rm, json={"from_manager_id": "rm.demo", "successor_id": "rm.next"}
    )
    assert refused.status_code == 403
    moved = await client.post(
        "/v1/handovers",
        headers=lead,
        json={"from_manager_id": "rm.demo", "successor_id": "rm.next"},
    )
    assert moved.json() == {"customers": ["C-ho"], "alerts_moved": 1}
    assert (await client.get(f"/v1/alerts/{alert_id}", headers=rm)).status_code == 404
    assert (await client.get("/v1/alerts", headers=rm)).json()["total"] == 0


async def test_admin_sets_digest_preference(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = mint_token(
        secret=app.state.settings.jwt_secret,
        sub="admin.t",
        role=Role.ADMIN,
        now=T0,
        ttl_seconds=600,
    )
    admin = {"Authorization": f"Bearer {token}"}
    body = {"id": "rm.pref", "email": "rm.pref@bank.test", "channels": ["email"]}
    assert (await client.put("/v1/managers/rm.pref", json=body, headers=admin)).status_code == 204
    async with app.state.sessionmaker() as session:
        assert (await session.get(Manager, "rm.pref")).low_severity_digest is True
    off = {**body, "low_severity_digest": False}
    assert (await client.put("/v1/managers/rm.pref", json=off, headers=admin)).status_code == 204
    rm = await login(client, "rm.demo")
    assert (await client.put("/v1/managers/rm.pref", json=body, headers=rm)).status_code == 403
    async with app.state.sessionmaker() as session:
        assert (await session.get(Manager, "rm.pref")).low_severity_digest is False
