"""Cases API (issue 17): one case per customer, cursor paging that reaches every case, search and
filters, the case page (header, plain-language reasons, timeline), notes, contacts through the
real ingest on the real broker, bulk acknowledge, and resolve that needs an explicit outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from churnwatch_alerts.alerts.service import store_alerts
from churnwatch_alerts.assignments.service import apply_profile
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.cases.contacts import IngestClient
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.models import Role
from churnwatch_shared.alerts import Severity
from churnwatch_shared.events import CustomerProfile
from tests.alerts.conftest import T0, started_app
from tests.alerts.factories import make_alert
from tests.alerts.seed import assign
from tests.ingest.conftest import RunningIngest, make_settings, start_ingest  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

CASES = 104  # the lead in the issue had 104 alerts and could reach only 100


@pytest.fixture
async def app(make_database: Callable[[], str]) -> AsyncIterator[FastAPI]:
    async with started_app(database_url=make_database(), at=T0 + timedelta(hours=1)) as application:
        async with application.state.sessionmaker() as session, session.begin():
            for n in range(CASES):
                customer = f"C{n:04d}"
                await assign(session, customer_id=customer, at=T0)
                await apply_profile(
                    session,
                    customer_id=customer,
                    payload=CustomerProfile(
                        segment="retail",
                        tier="gold",
                        branch_id="BR001",
                        display_name=f"Customer Number {n}",
                        customer_since="2019-05-20",
                    ),
                    now=T0,
                )
                alerts = [
                    make_alert(
                        customer_id=customer,
                        at=T0,
                        condition_key=f"ev-{n}-{k}",
                        priority=(n * 7 + k) % 100,
                        severity=Severity.CRITICAL if n % 10 == 0 else Severity.WARNING,
                    )
                    for k in range(2)
                ]
                await store_alerts(session, alerts=alerts, now=T0, sla_seconds={})
            await upsert_state(
                session,
                customer_id="C0001",
                as_of=T0,
                snapshot={
                    "customer_id": "C0001",
                    "as_of": T0.isoformat(),
                    "churn_score": 61.0,
                    "churn_level": "warning",
                    "states": {
                        "scale": {"metrics": {"financial_assets": "1234567.40"}},
                        "product_usage": {"metrics": {"active_products": 3}},
                    },
                },
                now=T0,
            )
        yield application


def auth(
    app: FastAPI, sub: str = "rm.demo", role: Role = Role.RELATIONSHIP_MANAGER
) -> dict[str, str]:
    secret = app.state.settings.jwt_secret
    token = mint_token(secret=secret, sub=sub, role=role, now=T0, ttl_seconds=36000)
    return {"Authorization": f"Bearer {token}"}


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://alerts")


async def test_paging_reaches_every_case_once_in_order(app: FastAPI) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    async with client(app) as http:
        for _ in range(20):
            params: dict[str, Any] = {"limit": 25}
            if cursor:
                params["cursor"] = cursor
            page = (await http.get("/v1/cases", params=params, headers=auth(app))).json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == CASES
        assert len({c["customer_id"] for c in seen}) == CASES
        priorities = [c["top_priority"] for c in seen]
        assert priorities == sorted(priorities, reverse=True)
        assert all(c["alerts"] == 2 and c["status"] == "open" for c in seen)
        bad = await http.get("/v1/cases", params={"cursor": "not-a-cursor"}, headers=auth(app))
        assert bad.status_code == 422 and "cursor" in bad.text


async def test_search_by_name_or_id_and_filters(app: FastAPI) -> None:
    async with client(app) as http:
        by_name = (await http.get("/v1/cases", params={"q": "number 17"}, headers=auth(app))).json()
        assert [c["customer_id"] for c in by_name["items"]] == ["C0017"]
        assert by_name["items"][0]["display_name"] == "Customer Number 17"
        by_id = (await http.get("/v1/cases", params={"q": "c0042"}, headers=auth(app))).json()
        assert [c["customer_id"] for c in by_id["items"]] == ["C0042"]
        critical = (
            await http.get(
                "/v1/cases", params={"severity": "critical", "limit": 200}, headers=auth(app)
            )
        ).json()
        assert len(critical["items"]) == 11
        other = (
            await http.get("/v1/cases", params={"manager": "rm.other"}, headers=auth(app))
        ).json()
        assert other["items"] == []


async def test_case_page_bulk_ack_and_resolve_needs_an_outcome(app: FastAPI) -> None:
    async with client(app) as http:
        case = (await http.get("/v1/cases/C0001", headers=auth(app))).json()
        header = case["customer"]
        assert header["display_name"] == "Customer Number 1"
        assert header["financial_assets"] == "1,234,567 CNY"
        assert header["products_held"] == 3
        assert header["customer_since"] == "2019-05-20"
        assert case["reasons"] and all("—" not in r["text"] for r in case["reasons"])
        assert "80% of the balance (alert from 50%)" in case["reasons"][0]["text"]
        assert case["value"]["latest"] is None  # no value review yet
        assert case["next_best_action"]["playbook_version"]

        ack = await http.post(
            "/v1/cases/acknowledge",
            json={"customer_ids": ["C0001", "C0002", "C-unknown"], "note": "on it"},
            headers=auth(app),
        )
        assert ack.json() == {
            "acknowledged": 4,
            "cases": ["C0001", "C0002"],
            "not_found": ["C-unknown"],
        }

        refused = await http.post("/v1/cases/C0001/resolve", json={"note": "x"}, headers=auth(app))
        assert refused.status_code == 422
        assert "retained" in refused.text and "false_positive" in refused.text
        note = await http.post(
            "/v1/cases/C0001/notes", json={"text": "asked about rates"}, headers=auth(app)
        )
        assert note.status_code == 201
        done = await http.post(
            "/v1/cases/C0001/resolve", json={"outcome": "retained"}, headers=auth(app)
        )
        assert done.status_code == 200
        body = done.json()
        assert body["summary"]["status"] == "closed"
        kinds = [i["kind"] for i in body["timeline"]]
        assert {"alert", "acknowledged", "resolved", "note"} <= set(kinds)
        other = await http.get("/v1/cases/C0001", headers=auth(app, "rm.other"))
        assert other.status_code == 404


async def test_logged_contact_goes_through_the_real_ingest(
    app: FastAPI,
    start_ingest: Callable[..., Any],  # noqa: F811 - the imported fixture
    make_settings: Callable[..., Any],  # noqa: F811
) -> None:
    ingest: RunningIngest = await start_ingest(make_settings())
    app.state.ingest = IngestClient(
        base_url="http://ingest",
        api_key=app.state.settings.ingest_producer_key,
        timeout_seconds=30,
        transport=httpx.ASGITransport(app=ingest.manager.app),
    )
    async with client(app) as http:
        logged = await http.post(
            "/v1/cases/C0003/contacts",
            json={"kind": "call", "note": "will move savings unless the rate improves"},
            headers=auth(app),
        )
        assert logged.status_code == 201, logged.text
        event_id = logged.json()["event_id"]
        again = await ingest.client.post(
            "/v1/events",
            json={
                "event_id": event_id,
                "event_type": "contact.logged",
                "occurred_at": T0.isoformat(),
                "customer_id": "C0003",
                "payload": {"kind": "call", "manager_id": "rm.demo"},
            },
            headers={"X-API-Key": app.state.settings.ingest_producer_key},
        )
        assert again.json()["status"] == "duplicate"  # ingest had accepted ours
        case = (await http.get("/v1/cases/C0003", headers=auth(app))).json()
        assert case["customer"]["last_contact_kind"] == "call"
        assert any(
            i["kind"] == "contact" and "rate improves" in i["text"] for i in case["timeline"]
        )
        bad = await http.post("/v1/cases/C0003/contacts", json={"kind": "fax"}, headers=auth(app))
        assert bad.status_code == 422 and "call" in bad.text
