"""Cases with value (issue 17 items 5-7): the case page carries the customer's value reviews and
next best actions, value at risk orders the case list (keyset paging reaches every case), the
scorecard sums the value retained, lost and at risk, and evidence details show when the monitor
sends them. Real PostgreSQL, the app over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from churnwatch_alerts.alerts.service import store_alerts
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.models import Role
from churnwatch_alerts.playbook.service import ControlGroup
from churnwatch_alerts.value.periods import PeriodKind, parse_period
from churnwatch_alerts.value.service import review_period
from churnwatch_shared.alerts import EvidenceEvent
from tests.alerts.conftest import started_app
from tests.alerts.factories import make_alert
from tests.alerts.seed import assign
from tests.alerts.value_builders import known_margins, make_snapshot

pytestmark = pytest.mark.integration

DEC5 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
CUSTOMERS = 23  # more than two pages of 10
REVIEWED = 15  # the others have no value review (value at risk unknown: ordered last)
SALT = "cases-value-test"


def score_of(n: int) -> float:
    # Distinct, and not in customer-id order, so the order under test is not the id order.
    return float((n * 37) % 90 + 5)


@pytest.fixture
async def app(make_database: Callable[[], str]) -> AsyncIterator[FastAPI]:
    async with started_app(
        database_url=make_database(),
        at=DEC5,
        value_reviews_enabled=False,
        playbook_control_share=0.3,
        playbook_control_salt=SALT,
    ) as application:
        application.state.value_config = known_margins()
        sessionmaker = application.state.sessionmaker
        async with sessionmaker() as session, session.begin():
            for n in range(CUSTOMERS):
                customer = f"V{n:03d}"
                await assign(session, customer_id=customer, at=DEC5)
                alert = make_alert(
                    customer_id=customer, at=DEC5, condition_key=f"ev-{n}", priority=50 + n
                )
                if n == 0:
                    alert = alert.model_copy(
                        update={
                            "evidence": [
                                EvidenceEvent(
                                    event_id="core-77",
                                    event_type="transaction.posted",
                                    occurred_at=DEC5 - timedelta(days=2),
                                    amount=Decimal("120000.00"),
                                    currency="CNY",
                                    counterparty_kind="own_account",
                                )
                            ]
                        }
                    )
                await store_alerts(session, alerts=[alert], now=DEC5, sla_seconds={})
                if n < REVIEWED:
                    await upsert_state(
                        session,
                        customer_id=customer,
                        as_of=DEC5,
                        snapshot=make_snapshot(
                            customer,
                            churn_score=score_of(n),
                            churn_level="warning" if score_of(n) >= 50 else "watch",
                            demand="400000.00",
                            outflow_30d="1000.00",
                        ),
                        now=DEC5,
                    )
        await review_period(
            sessionmaker,
            period=parse_period("2026-11", kind=PeriodKind.MONTHLY),
            config=known_margins(),
            now=DEC5,
        )
        yield application


def auth(app: FastAPI, sub: str = "rm.demo", role: Role = Role.RELATIONSHIP_MANAGER) -> Any:
    secret = app.state.settings.jwt_secret
    token = mint_token(secret=secret, sub=sub, role=role, now=DEC5, ttl_seconds=3600)
    return {"Authorization": f"Bearer {token}"}


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://alerts")


async def walk(http: httpx.AsyncClient, headers: Any, **params: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10):
        query = {"limit": 10, **params, **({"cursor": cursor} if cursor else {})}
        page = await http.get("/v1/cases", params=query, headers=headers)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("paging did not end")


async def test_value_at_risk_orders_the_case_list_and_paging_reaches_every_case(
    app: FastAPI,
) -> None:
    lead = auth(app, "lead.demo", Role.TEAM_LEAD)
    async with client(app) as http:
        seen = await walk(http, lead)
        first = await http.get("/v1/cases", params={"limit": 5}, headers=lead)
        assert first.json()["order"] == "value_at_risk"  # the leads' default
        mine = await http.get("/v1/cases", params={"limit": 5}, headers=auth(app))
        assert mine.json()["order"] == "priority"
        by_priority = await walk(http, auth(app), order="priority")
        assert [c["top_priority"] for c in by_priority] == sorted(
            (c["top_priority"] for c in by_priority), reverse=True
        )
        wrong = await http.get(
            "/v1/cases",
            params={"order": "value_at_risk", "cursor": first.json()["next_cursor"]},
            headers=auth(app),
        )
        assert wrong.status_code == 200  # the same order: the lead's cursor is valid for it
        mixed = await http.get(
            "/v1/cases",
            params={"order": "priority", "cursor": first.json()["next_cursor"]},
            headers=lead,
        )
        assert mixed.status_code == 422 and "order=priority" in mixed.text
    assert len(seen) == CUSTOMERS == len({c["customer_id"] for c in seen})
    reviewed = [c for c in seen if c["value_at_risk"] is not None]
    assert len(reviewed) == REVIEWED
    risks = [Decimal(c["value_at_risk"]) for c in reviewed]
    assert risks == sorted(risks, reverse=True) and risks[0] > risks[-1]
    assert seen[:REVIEWED] == reviewed  # no review: value at risk unknown, listed after
    highest = max(range(REVIEWED), key=score_of)
    assert seen[0]["customer_id"] == f"V{highest:03d}"


async def test_case_page_shows_value_review_and_next_best_action(app: FastAPI) -> None:
    control = ControlGroup(share=0.3, salt=SALT)
    held = next(f"V{n:03d}" for n in range(REVIEWED) if control.holds(f"V{n:03d}"))
    treated = next(
        f"V{n:03d}" for n in range(REVIEWED) if not control.holds(f"V{n:03d}") and score_of(n) >= 50
    )
    async with client(app) as http:
        case = (await http.get(f"/v1/cases/{treated}", headers=auth(app))).json()
        latest = case["value"]["latest"]
        assert latest["period"] == "2026-11" and latest["currency"] == "CNY"
        words = latest["words"]
        assert words["period"] == "November 2026"
        assert words["current_value"].split(" (")[0].endswith("CNY in November 2026")
        assert "expected in December 2026" in words["potential_value"]
        assert latest["strategy"] in {"deepen", "maintain", "reduce", "exit"}
        assert latest["reasons"] and Decimal(latest["value_at_risk"]) > 0
        assert case["summary"]["value_at_risk"] == latest["value_at_risk"]
        nba = case["next_best_action"]
        assert nba["control_group"] is False
        codes = [s["code"] for s in nba["suggestions"]]
        assert "retention_call" in codes
        assert all(s["because"] for s in nba["suggestions"])
        done = await http.post(
            f"/v1/customers/{treated}/suggestions/outcomes",
            json={"action": "retention_call", "outcome": "accepted"},
            headers=auth(app),
        )
        assert done.status_code == 201, done.text
        again = (await http.get(f"/v1/cases/{treated}", headers=auth(app))).json()
        call = next(
            s for s in again["next_best_action"]["suggestions"] if s["code"] == "retention_call"
        )
        assert call["latest_outcome"]["outcome"] == "accepted"

        quiet = (await http.get(f"/v1/cases/{held}", headers=auth(app))).json()
        assert quiet["next_best_action"]["control_group"] is True
        assert quiet["next_best_action"]["suggestions"] == []

        none = (await http.get(f"/v1/cases/V{CUSTOMERS - 1:03d}", headers=auth(app))).json()
        assert none["value"]["latest"] is None and none["value"]["history"] == []

        evidence = (await http.get("/v1/cases/V000", headers=auth(app))).json()["evidence"]
        assert evidence == [
            "Transaction on 3 Dec 2026: 120,000 CNY, counterparty the customer's own account."
        ]
        audit = await http.get(
            "/v1/audit",
            params={"customer_id": treated},
            headers=auth(app, "auditor.demo", Role.AUDITOR),
        )
        actions = {e["action"] for e in audit.json()["items"]}
        assert {"case.read", "customer.value_read", "customer.suggestions_read"} <= actions


async def test_scorecard_sums_value_retained_lost_and_at_risk(app: FastAPI) -> None:
    lead = auth(app, "lead.demo", Role.TEAM_LEAD)
    async with client(app) as http:
        values = {}
        for n in (1, 2, 3):
            latest = (await http.get(f"/v1/customers/V{n:03d}/value", headers=lead)).json()
            values[n] = latest["latest"]
        before = (await http.get("/v1/cases/scorecard", headers=lead)).json()
        for n, outcome in ((1, "retained"), (2, "lost")):
            resolved = await http.post(
                f"/v1/cases/V{n:03d}/resolve", json={"outcome": outcome}, headers=auth(app)
            )
            assert resolved.status_code == 200, resolved.text
        after = (await http.get("/v1/cases/scorecard", headers=lead)).json()
    assert before["currency"] == "CNY"
    assert Decimal(before["team"]["value_retained"]) == 0
    team = after["team"]
    assert Decimal(team["value_retained"]) == Decimal(values[1]["current_value"])
    assert Decimal(team["value_lost"]) == Decimal(values[2]["current_value"])
    assert Decimal(before["team"]["value_at_risk"]) - Decimal(team["value_at_risk"]) == Decimal(
        values[1]["value_at_risk"]
    ) + Decimal(values[2]["value_at_risk"])
    rm = next(m for m in after["managers"] if m["manager_id"] == "rm.demo")
    assert rm["value_retained"] == team["value_retained"]


async def test_held_back_actions_show_their_titles(app: FastAPI) -> None:
    control = ControlGroup(share=0.3, salt=SALT)
    treated = next(f"V{n:03d}" for n in range(REVIEWED) if not control.holds(f"V{n:03d}"))
    # an open complaint: resolving it comes first, the (eligible) fund offer waits
    async with app.state.sessionmaker() as session, session.begin():
        await upsert_state(
            session,
            customer_id=treated,
            as_of=DEC5 + timedelta(hours=1),
            snapshot=make_snapshot(
                treated, demand="400000.00", outflow_30d="1000.00", open_complaints=1
            ),
            now=DEC5 + timedelta(hours=1),
        )
    async with client(app) as http:
        case = (await http.get(f"/v1/cases/{treated}", headers=auth(app))).json()
    nba = case["next_best_action"]
    assert {
        "code": "fund_or_bond_offer",
        "title": "Offer a fund or treasury bond for the idle demand balance",
        "why": "held back until this is done: Resolve the open complaint first",
    } in nba["held_back"], nba
