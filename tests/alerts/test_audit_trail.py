"""The audit trail on real PostgreSQL: refusals are recorded and auditors can read and export it.

A refused read (404 for a customer the caller does not serve) and a failed login are answered
with an error, which rolls the request's transaction back; their audit rows are written in their
own transaction and must survive. Auditors read the log (paged, filtered, exported as CSV or
NDJSON), every such read is itself audited, and auditors see no customer data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.models import AuditEntry, Manager, Role
from tests.alerts.conftest import T0, login, started_app
from tests.alerts.factories import make_alert
from tests.alerts.seed import assign

pytestmark = pytest.mark.integration

CUSTOMER = "C-audit"


@pytest.fixture
async def app(make_database: Callable[[], str]) -> AsyncIterator[FastAPI]:
    async with started_app(database_url=make_database()) as application:
        async with application.state.sessionmaker() as session, session.begin():
            session.add(
                Manager(
                    id="rm.other",
                    role=Role.RELATIONSHIP_MANAGER.value,
                    team_id="team.other",
                    branch_id="BR002",
                    password_hash=None,
                )
            )
            await assign(session, customer_id=CUSTOMER, at=T0)
            await store_alert(
                session, alert=make_alert(customer_id=CUSTOMER, at=T0), now=T0, sla_seconds={}
            )
            await upsert_state(
                session,
                customer_id=CUSTOMER,
                as_of=T0,
                snapshot={"customer_id": CUSTOMER, "churn_score": 40},
                now=T0,
            )
        yield application


def bearer_of(app: FastAPI, sub: str, role: Role) -> dict[str, str]:
    token = mint_token(
        secret=app.state.settings.jwt_secret, sub=sub, role=role, now=T0, ttl_seconds=3600
    )
    return {"Authorization": f"Bearer {token}"}


async def audit_rows(app: FastAPI, **where: str) -> list[AuditEntry]:
    """Rows read in a separate session: only what was committed."""
    async with app.state.sessionmaker() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        for column, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, column) == value)
        return list((await session.scalars(stmt)).all())


async def test_failed_login_is_audited_although_the_request_is_rolled_back(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bad = await client.post("/v1/auth/login", json={"username": "rm.demo", "password": "nope"})
    unknown = await client.post("/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert bad.status_code == unknown.status_code == 401
    failed = await audit_rows(app, action="auth.login_failed")
    assert [(r.actor, r.at) for r in failed] == [("rm.demo", T0), ("nobody", T0)]


async def test_login_name_with_control_characters_is_refused_before_the_log(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/auth/login", json={"username": "a\u0000b", "password": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "username"]


async def test_denied_customer_reads_are_audited(app: FastAPI, client: httpx.AsyncClient) -> None:
    outsider = bearer_of(app, "rm.other", Role.RELATIONSHIP_MANAGER)
    for path in ("state", "alerts", "state/live"):
        response = await client.get(f"/v1/customers/{CUSTOMER}/{path}", headers=outsider)
        assert response.status_code == 404, (path, response.text)
    denied = await audit_rows(app, actor="rm.other")
    assert [(r.action, r.customer_id) for r in denied] == [
        ("customer.state_read_denied", CUSTOMER),
        ("customer.history_read_denied", CUSTOMER),
        ("customer.live_state_read_denied", CUSTOMER),
    ]
    # The owner's read is audited as a read, not a denial.
    owner = bearer_of(app, "rm.demo", Role.RELATIONSHIP_MANAGER)
    assert (await client.get(f"/v1/customers/{CUSTOMER}/state", headers=owner)).status_code == 200
    assert [r.action for r in await audit_rows(app, actor="rm.demo")] == ["customer.state_read"]


async def test_auditor_reads_pages_and_filters_the_log_and_the_read_is_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = bearer_of(app, "rm.demo", Role.RELATIONSHIP_MANAGER)
    for _ in range(3):
        await client.get(f"/v1/customers/{CUSTOMER}/state", headers=owner)
    await client.post("/v1/auth/login", json={"username": "mallory", "password": "guess"})
    auditor = await login(client, "auditor.demo")

    first = await client.get("/v1/audit", params={"actor": "rm.demo", "limit": 2}, headers=auditor)
    assert first.status_code == 200, first.text
    page1 = first.json()
    assert [i["action"] for i in page1["items"]] == ["customer.state_read"] * 2
    assert page1["next_before_id"] == page1["items"][-1]["id"]
    second = await client.get(
        "/v1/audit",
        params={"actor": "rm.demo", "limit": 2, "before_id": page1["next_before_id"]},
        headers=auditor,
    )
    page2 = second.json()
    assert len(page2["items"]) == 1 and page2["next_before_id"] is None
    ids = [i["id"] for i in page1["items"] + page2["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3

    by_action = await client.get(
        "/v1/audit", params={"action": "auth.login_failed"}, headers=auditor
    )
    assert [i["actor"] for i in by_action.json()["items"]] == ["mallory"]
    by_customer = await client.get("/v1/audit", params={"customer_id": CUSTOMER}, headers=auditor)
    assert {i["customer_id"] for i in by_customer.json()["items"]} == {CUSTOMER}
    in_range = await client.get(
        "/v1/audit",
        params={"since": T0.isoformat(), "until": "2025-03-01T09:00:01+00:00"},
        headers=auditor,
    )
    assert len(in_range.json()["items"]) >= 5
    before = await client.get("/v1/audit", params={"until": T0.isoformat()}, headers=auditor)
    assert before.json()["items"] == []

    reads = await audit_rows(app, actor="auditor.demo", action="audit.read")
    assert len(reads) == 6
    assert reads[0].detail["actor"] == "rm.demo" and reads[0].detail["returned"] == 2


async def test_audit_query_errors_are_clear(app: FastAPI, client: httpx.AsyncClient) -> None:
    auditor = await login(client, "auditor.demo")
    naive = await client.get("/v1/audit", params={"since": "2025-03-01T09:00:00"}, headers=auditor)
    assert naive.status_code == 422 and naive.json()["detail"][0]["loc"] == ["query", "since"]
    huge = await client.get(
        "/v1/audit", params={"before_id": "9223372036854775808"}, headers=auditor
    )
    assert huge.status_code == 422 and huge.json()["detail"][0]["loc"] == ["query", "before_id"]
    backwards = await client.get(
        "/v1/audit",
        params={"since": "2025-03-02T00:00:00Z", "until": "2025-03-01T00:00:00Z"},
        headers=auditor,
    )
    assert backwards.status_code == 422 and "must be after since" in backwards.text
    fmt = await client.get("/v1/audit/export", params={"format": "xml"}, headers=auditor)
    assert fmt.status_code == 422 and fmt.json()["detail"][0]["loc"] == ["query", "format"]


async def test_auditor_exports_csv_and_ndjson_and_each_export_is_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await client.post("/v1/auth/login", json={"username": "=HYPERLINK(1)", "password": "x"})
    owner = bearer_of(app, "rm.demo", Role.RELATIONSHIP_MANAGER)
    await client.get(f"/v1/customers/{CUSTOMER}/alerts", headers=owner)
    auditor = await login(client, "auditor.demo")

    nd = await client.get("/v1/audit/export", params={"format": "ndjson"}, headers=auditor)
    assert nd.status_code == 200 and nd.headers["content-type"] == "application/x-ndjson"
    lines = [orjson.loads(line) for line in nd.content.splitlines()]
    committed = await audit_rows(app)
    # Everything committed before the export started, oldest first (the export's own row too).
    assert [line["id"] for line in lines] == [r.id for r in committed]
    assert "=HYPERLINK(1)" in [line["actor"] for line in lines]
    assert lines[-1]["action"] == "audit.export"

    out = await client.get(
        "/v1/audit/export", params={"format": "csv", "actor": "=HYPERLINK(1)"}, headers=auditor
    )
    assert out.status_code == 200 and out.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(out.text)))
    # The spreadsheet formula is neutralised in CSV (NDJSON keeps the raw value).
    assert [(r["actor"], r["action"]) for r in rows] == [("'=HYPERLINK(1)", "auth.login_failed")]

    exports = await audit_rows(app, action="audit.export")
    assert [e.detail for e in exports] == [
        {"format": "ndjson"},
        {"format": "csv", "actor": "=HYPERLINK(1)"},
    ]


async def test_auditor_sees_no_customer_data_and_managers_cannot_read_the_log(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auditor = await login(client, "auditor.demo")
    assert (await client.get("/v1/alerts", headers=auditor)).json()["total"] == 0
    for path in ("state", "alerts", "state/live"):
        response = await client.get(f"/v1/customers/{CUSTOMER}/{path}", headers=auditor)
        assert response.status_code == 404, path
    alert_id = make_alert(customer_id=CUSTOMER, at=T0).alert_id
    assert (await client.get(f"/v1/alerts/{alert_id}", headers=auditor)).status_code == 404
    for who in (await login(client, "rm.demo"), await login(client, "lead.demo")):
        assert (await client.get("/v1/audit", headers=who)).status_code == 403
        assert (await client.get("/v1/audit/export", headers=who)).status_code == 403


async def test_denied_alert_reads_and_actions_are_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    outsider = bearer_of(app, "rm.other", Role.RELATIONSHIP_MANAGER)
    alert_id = make_alert(customer_id=CUSTOMER, at=T0).alert_id
    assert (await client.get(f"/v1/alerts/{alert_id}", headers=outsider)).status_code == 404
    ack = await client.post(f"/v1/alerts/{alert_id}/ack", headers=outsider, json={})
    assert ack.status_code == 404
    denied = await audit_rows(app, actor="rm.other")
    assert [(r.action, r.alert_id) for r in denied] == [
        ("alert.read_denied", alert_id),
        ("alert.ack_denied", alert_id),
    ]
