"""Access control for every endpoint of the alerts API, enumerated from the app's own OpenAPI document.

A new endpoint under /v1 is covered automatically: without a valid token it must answer 401. For
the endpoints that touch one customer or one alert, a manager who does not serve that customer
gets 404 (not 403: the existence of another manager's customer is not disclosed), the team lead
of the serving manager gets through, and a team lead of another team does not.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.models import AuditEntry, Manager, Role
from tests.alerts.conftest import T0
from tests.alerts.factories import make_alert
from tests.alerts.seed import assign

pytestmark = pytest.mark.integration

CUSTOMER = "C-matrix"
# Sign-in: passwords, and the single sign-on redirects (their own checks: state, ID token).
PUBLIC = {"/v1/auth/login", "/v1/auth/oidc/config", "/v1/auth/oidc/login", "/v1/auth/oidc/callback"}
BODIES = {
    "ack": {"note": "called"},
    "snooze": {"until": "2025-03-02T09:00:00+00:00"},
    "resolve": {"outcome": "retained", "note": "kept"},
    "notes": {"text": "called the customer"},
    "contacts": {"kind": "call", "note": "no answer"},
    "acknowledge": {"customer_ids": [CUSTOMER]},
    # next best action (value/ and playbook/ packages): an outcome of a playbook action
    "outcomes": {"action": "retention_call", "outcome": "done"},
    # privacy (privacy officers only)
    "erasures": {"customer_id": CUSTOMER, "reason": "GDPR Art. 17, ticket PRIV-9"},
}
# Privacy officers' endpoints: every other role gets 403 (a role check, not a customer scope).
PRIVACY_PREFIX = "/v1/privacy"


@pytest.fixture
async def alert_id(app: FastAPI) -> str:
    alert = make_alert(customer_id=CUSTOMER, at=T0)
    async with app.state.sessionmaker() as session, session.begin():
        session.add_all(
            [
                Manager(
                    id="rm.other",
                    role=Role.RELATIONSHIP_MANAGER.value,
                    team_id="team.other",
                    branch_id="BR002",
                    supervisor_id="lead.other",
                ),
                Manager(
                    id="lead.other",
                    role=Role.TEAM_LEAD.value,
                    team_id="team.other",
                    branch_id="BR002",
                ),
            ]
        )
        await assign(session, customer_id=CUSTOMER, at=T0)
        await store_alert(session, alert=alert, now=T0, sla_seconds={})
        await upsert_state(
            session,
            customer_id=CUSTOMER,
            as_of=T0,
            snapshot={"customer_id": CUSTOMER, "churn_score": 40},
            now=T0,
        )
    return alert.alert_id


def token(app: FastAPI, sub: str, role: Role) -> dict[str, str]:
    secret = app.state.settings.jwt_secret
    return {
        "Authorization": "Bearer "
        + mint_token(secret=secret, sub=sub, role=role, now=T0, ttl_seconds=3600)
    }


def v1_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the published API under /v1, from the OpenAPI document."""
    routes = [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/v1")
        for method in operations
    ]
    assert len(routes) >= 12, routes  # the enumeration itself must see the API
    return routes


def concrete(path: str, *, alert_id: str) -> str:
    return (
        path.replace("{alert_id}", alert_id)
        .replace("{customer_id}", CUSTOMER)
        .replace("{manager_id}", "rm.demo")
        .replace("{erasure_id}", "er-none")
    )


async def call(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    action = path.rsplit("/", 1)[-1]
    body = BODIES.get(action, {})
    return await client.request(
        method, path, headers=headers or {}, json=body if method in {"POST", "PUT"} else None
    )


async def test_every_v1_endpoint_refuses_unauthenticated_callers(
    app: FastAPI, alert_id: str
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for method, path in v1_routes(app):
            if path in PUBLIC:
                continue
            url = concrete(path, alert_id=alert_id)
            for headers in (
                None,
                {"Authorization": "Bearer not-a-token"},
                {
                    "Authorization": "Bearer "
                    + mint_token(
                        secret="another-secret-of-enough-length-000000",
                        sub="rm.demo",
                        role=Role.RELATIONSHIP_MANAGER,
                        now=T0,
                        ttl_seconds=60,
                    )
                },
            ):
                response = await call(c, method, url, headers)
                assert response.status_code == 401, (method, path, headers, response.text)


async def test_customer_endpoints_hide_other_managers_customers(
    app: FastAPI, alert_id: str
) -> None:
    scoped = [
        (m, p)
        for m, p in v1_routes(app)
        if re.search(r"\{(alert_id|customer_id)\}", p)
        and not p.startswith(("/v1/assignments", PRIVACY_PREFIX))
    ]
    assert len(scoped) >= 6, scoped
    outsider = token(app, "rm.other", Role.RELATIONSHIP_MANAGER)
    other_lead = token(app, "lead.other", Role.TEAM_LEAD)
    own_lead = token(app, "lead.demo", Role.TEAM_LEAD)
    owner = token(app, "rm.demo", Role.RELATIONSHIP_MANAGER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for method, path in scoped:
            url = concrete(path, alert_id=alert_id)
            for who in (outsider, other_lead):
                response = await call(c, method, url, who)
                assert response.status_code == 404, (method, path, response.text)
        # reads: the owner and the owner's team lead see them
        for method, path in scoped:
            # The live state needs a running monitor: tests/alerts/test_live_state.py covers it.
            if method != "GET" or path.endswith("/state/live"):
                continue
            url = concrete(path, alert_id=alert_id)
            for who in (owner, own_lead):
                response = await call(c, method, url, who)
                assert response.status_code == 200, (method, path, response.text)
        listed = await c.get("/v1/alerts", headers=outsider)
        assert listed.status_code == 200 and listed.json()["total"] == 0
        mine = await c.get("/v1/alerts", headers=owner)
        assert [item["id"] for item in mine.json()["items"]] == [alert_id]


async def test_admin_endpoints_refuse_managers(app: FastAPI, alert_id: str) -> None:
    owner = token(app, "rm.demo", Role.RELATIONSHIP_MANAGER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        put = await c.put(
            f"/v1/assignments/{CUSTOMER}",
            headers=owner,
            json={"relationship_manager_id": "rm.demo"},
        )
        assert put.status_code == 403
        manager = await c.put("/v1/managers/rm.demo", headers=owner, json={"channels": []})
        assert manager.status_code == 403
        handover = await c.post(
            "/v1/handovers",
            headers=owner,
            json={"successor_id": "rm.other", "customer_id": CUSTOMER},
        )
        assert handover.status_code == 403


async def test_case_endpoints_scope_audit_and_lead_only_views(app: FastAPI, alert_id: str) -> None:
    """Cases: outsiders see none and acknowledge none; the scorecard is for leads; reads audited;
    a hand-over names a real successor in the lead's own team."""
    outsider = token(app, "rm.other", Role.RELATIONSHIP_MANAGER)
    owner = token(app, "rm.demo", Role.RELATIONSHIP_MANAGER)
    own_lead = token(app, "lead.demo", Role.TEAM_LEAD)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/v1/cases", headers=outsider)).json()["items"] == []
        by_value = await c.get("/v1/cases?order=value_at_risk", headers=outsider)
        assert by_value.json()["items"] == []
        assert [
            i["customer_id"] for i in (await c.get("/v1/cases", headers=owner)).json()["items"]
        ] == [CUSTOMER]
        ack = await c.post("/v1/cases/acknowledge", headers=outsider, json=BODIES["acknowledge"])
        assert ack.json() == {"acknowledged": 0, "cases": [], "not_found": [CUSTOMER]}
        assert (await c.get("/v1/cases/scorecard", headers=owner)).status_code == 403
        card = await c.get("/v1/cases/scorecard", headers=own_lead)
        assert card.status_code == 200 and card.json()["team"]["alerts"] == 1
        assert (await c.get(f"/v1/cases/{CUSTOMER}", headers=owner)).status_code == 200
        for successor, word in (
            ("nobody.here", "no active manager"),
            ("rm.other", "not in your team"),
        ):
            refused = await c.post(
                "/v1/handovers",
                headers=own_lead,
                json={"successor_id": successor, "customer_id": CUSTOMER},
            )
            assert refused.status_code == 422 and word in refused.text, refused.text
    async with app.state.sessionmaker() as session:
        actions = {
            (row.actor, row.action, row.customer_id)
            for row in await session.scalars(select(AuditEntry))
        }
    assert ("rm.demo", "case.read", CUSTOMER) in actions
    # the case page carries the customer's value reviews and suggestions: both reads audited
    assert ("rm.demo", "customer.value_read", CUSTOMER) in actions
    assert ("rm.demo", "customer.suggestions_read", CUSTOMER) in actions
    assert ("rm.demo", "case.list", None) in actions
    assert ("lead.demo", "case.scorecard", None) in actions


async def test_privacy_endpoints_are_for_privacy_officers_only(app: FastAPI, alert_id: str) -> None:
    """Every /v1/privacy endpoint refuses every other role with 403 and names the role; the
    privacy officer gets through (the erasure itself is not sent here: no broker in this app)."""
    routes = [(m, p) for m, p in v1_routes(app) if p.startswith(PRIVACY_PREFIX)]
    assert len(routes) >= 6, routes
    others = [
        token(app, "rm.demo", Role.RELATIONSHIP_MANAGER),
        token(app, "lead.demo", Role.TEAM_LEAD),
        token(app, "admin.x", Role.ADMIN),
        token(app, "auditor.demo", Role.AUDITOR),
    ]
    officer = token(app, "dpo.x", Role.PRIVACY_OFFICER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for method, path in routes:
            url = concrete(path, alert_id=alert_id)
            for who in others:
                response = await call(c, method, url, who)
                assert response.status_code == 403, (method, path, response.text)
                assert "privacy_officer role required" in response.text
        # the officer: reads and the objection round trip (DELETE after PUT)
        for method, path in sorted(
            routes, key=lambda r: ("GET", "PUT", "DELETE", "POST").index(r[0])
        ):
            if method == "POST":
                continue
            response = await call(c, method, concrete(path, alert_id=alert_id), officer)
            expected = 404 if path.endswith("{erasure_id}") else 200
            assert response.status_code == expected, (method, path, response.text)
        # a privacy officer sees no customer data elsewhere
        assert (await c.get(f"/v1/customers/{CUSTOMER}/state", headers=officer)).status_code == 404
        assert (await c.get("/v1/alerts", headers=officer)).json()["total"] == 0
