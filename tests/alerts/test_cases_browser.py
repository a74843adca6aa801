"""The cases workbench in a real headless Chromium (Debian's), at laptop and phone widths.

The alerts app runs in-process under uvicorn on a real PostgreSQL; contacts go to a real ingest on
the real broker; value reviews are archived by the real review pass for two periods. An RM signs
in, opens a case, reads the reasons, the value analysis and the suggested actions, records an
outcome of one, sees the neutral note of a control-group customer, logs a contact and resolves
with an outcome; a team lead sees the book at risk and the charts, filters escalated cases, hands
a customer over and reads the scorecard. Screenshots of each screen go to an ignored directory,
or to docs/screenshots/ (README shows them) with CHURNWATCH_UPDATE_SCREENSHOTS=1 (see
``tests.alerts.screenshots``).
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page, expect

from churnwatch_alerts.alerts.service import resolve, store_alerts
from churnwatch_alerts.app import create_app
from churnwatch_alerts.assignments.service import apply_assigned, apply_profile
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.cases.contacts import IngestClient
from churnwatch_alerts.cases.history import upsert_score_points
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.models import AlertRecord, Manager, Outcome, Role
from churnwatch_alerts.seed import DEV_BRANCH, DEV_TEAM
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_alerts.value.periods import PeriodKind, last_closed_period
from churnwatch_alerts.value.service import review_period
from churnwatch_shared.alerts import (
    Alert,
    AlertKind,
    CustomerStateName,
    EvidenceEvent,
    Reason,
    Severity,
)
from churnwatch_shared.codes import CounterpartyKind
from churnwatch_shared.customer_state import CustomerStateSnapshot, StateLevel, StateView
from churnwatch_shared.events import CustomerAssigned, CustomerProfile
from tests.alerts.factories import make_alert
from tests.alerts.screenshots import shot
from tests.alerts.test_inbox_browser import (  # noqa: F401 - fixture
    CHROMIUM_ARGS,
    DATE_TIME,
    browser,
)
from tests.ingest.conftest import make_settings, start_ingest  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
NOW = datetime.now(UTC).replace(microsecond=0)
# With this salt and a 30 % control share, DEMO000002 and DEMO000003 are in the control group and
# DEMO000000 is not (the hash is fixed: the same on every run).
CONTROL_SALT = "demo-g"
RM = Principal(id="rm.demo", role=Role.RELATIONSHIP_MANAGER, team_id=DEV_TEAM, branch_id=DEV_BRANCH)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def churn_alert(customer: str) -> Alert:
    return Alert(
        alert_id=f"al_churn_{customer}",
        kind=AlertKind.CHURN_RISK,
        customer_id=customer,
        state=CustomerStateName.COMPOSITE,
        rule_id="churn_score",
        severity=Severity.CRITICAL,
        priority=91,
        title="Churn risk 78: assets and salary moving away",
        reasons=[
            Reason(
                code="payroll_missing",
                state=CustomerStateName.ACCOUNT_FLOW,
                text="payroll_missing contributes 70",
                observed=38,
                baseline=30.4,
                window="payroll cycle",
                weight=70,
            ),
            Reason(
                code="tier_lost",
                state=CustomerStateName.SCALE,
                text="tier_lost contributes 80",
                weight=80,
            ),
            Reason(
                code="interbank_outflow_share",
                state=CustomerStateName.ACCOUNT_FLOW,
                text="one outbound interbank transfer took most of the balance",
                observed=0.82,
                baseline=0.1,
                window="30d",
            ),
        ],
        churn_score=78.0,
        evidence_event_ids=["ev-a", "ev-b"],
        evidence=[
            EvidenceEvent(
                event_id="ev-a",
                event_type="transaction.posted",
                occurred_at=datetime(2026, 11, 18, 9, 40, tzinfo=UTC),
                amount=Decimal("812000.00"),
                currency="CNY",
                counterparty_kind=CounterpartyKind.OWN_ACCOUNT,
            ),
            EvidenceEvent(
                event_id="ev-b",
                event_type="complaint.filed",
                occurred_at=datetime(2026, 11, 20, 15, 5, tzinfo=UTC),
            ),
        ],
        ruleset_version="test-1",
        occurred_at=NOW - timedelta(hours=3),
        detected_at=NOW - timedelta(hours=2),
    )


async def seed(app: FastAPI) -> None:
    finals: dict[str, CustomerStateSnapshot] = {}
    async with app.state.sessionmaker() as session, session.begin():
        session.add(
            Manager(
                id="rm.second",
                role=Role.RELATIONSHIP_MANAGER.value,
                team_id=DEV_TEAM,
                branch_id=DEV_BRANCH,
                supervisor_id="lead.demo",
            )
        )
        names = ["Li Wei", "Zhang Min", "Wang Fang", "Chen Jie", "Liu Yang", "Zhao Lei"]
        # Two closed cases (not in the default list): one retained, one a false positive.
        names += ["Sun Li", "Zhou Tao"]
        for n, name in enumerate(names):
            customer = f"DEMO{n:06d}"
            await apply_assigned(
                session,
                customer_id=customer,
                payload=CustomerAssigned(
                    relationship_manager_id="rm.demo",
                    wealth_advisor_id="wa.demo",
                    service_team_id="svc-1",
                    branch_id=DEV_BRANCH,
                ),
                occurred_at=NOW,
                actor="test",
                now=NOW,
            )
            await apply_profile(
                session,
                customer_id=customer,
                payload=CustomerProfile(
                    segment="retail",
                    tier="gold" if n % 2 else "platinum",
                    branch_id=DEV_BRANCH,
                    display_name=name,
                    customer_since="2018-04-01",
                ),
                now=NOW,
            )
            alerts = [
                make_alert(
                    customer_id=customer,
                    at=NOW - timedelta(hours=n),
                    priority=40 + n * 8,
                    condition_key=f"ev-{n}",
                )
            ]
            if n == 0:
                alerts.append(churn_alert(customer))
            await store_alerts(
                session,
                alerts=alerts,
                now=NOW - timedelta(hours=n),
                sla_seconds={Severity.CRITICAL: 900, Severity.WARNING: 14400},
            )
            if n >= 6:
                await resolve(
                    session,
                    principal=RM,
                    alert_id=alerts[0].alert_id,
                    outcome=Outcome.RETAINED if n == 6 else Outcome.FALSE_POSITIVE,
                    note=None,
                    now=NOW,
                )
            points = []
            for d in range(30):
                score = 30 + d * 1.6 if n == 0 else 20 + (d % 7)
                level = (
                    StateLevel.WARNING
                    if score >= 55
                    else StateLevel.WATCH
                    if score >= 35
                    else StateLevel.NORMAL
                )
                points.append(
                    CustomerStateSnapshot(
                        customer_id=customer,
                        as_of=NOW - timedelta(days=29 - d),
                        churn_score=min(score, 100),
                        churn_level=level,
                        ruleset_version="test-1",
                        events_applied=10 + d,
                        states={
                            CustomerStateName.SCALE: StateView(
                                score=30,
                                metrics={
                                    "financial_assets": "2345678.00",
                                    "deposits_demand": f"{400000 + n * 150000}.00",
                                    "deposits_time": "300000.00",
                                    "investments": "900000.00",
                                },
                            ),
                            CustomerStateName.PRODUCT_USAGE: StateView(
                                score=20, metrics={"active_products": 3}
                            ),
                            # Li Wei: an open complaint holds back the (eligible) fund offer
                            CustomerStateName.STABILITY: StateView(
                                score=40, metrics={"open_complaints": 1 if n == 0 else 0}
                            ),
                            CustomerStateName.ACCOUNT_FLOW: StateView(
                                score=30, metrics={"outflow_30d": "1000.00"}
                            ),
                        },
                        churn_probability=0.41 if n == 0 else None,
                        model_version="gbm-2026-11" if n == 0 else None,
                    )
                )
            await upsert_score_points(session, snapshots=points)
            # The previous period is reviewed from an older snapshot with less on deposit, so the
            # case shows a trend against what was expected.
            earlier = points[0].model_dump(mode="json")
            earlier["states"]["scale"]["metrics"]["deposits_demand"] = "250000.00"
            await upsert_state(
                session, customer_id=customer, as_of=points[0].as_of, snapshot=earlier, now=NOW
            )
            finals[customer] = points[-1]
        # One escalated case for the lead's view.
        escalated = await session.get(
            AlertRecord, make_alert(customer_id="DEMO000003", at=NOW, condition_key="ev-3").alert_id
        )
        assert escalated is not None
        escalated.escalation_level = 1
        escalated.escalated_to = "lead.demo"
    period = last_closed_period(NOW, kind=PeriodKind.MONTHLY)
    config = app.state.value_config
    await review_period(app.state.sessionmaker, period=period.previous(), config=config, now=NOW)
    async with app.state.sessionmaker() as session, session.begin():
        for customer, snapshot in finals.items():
            await upsert_state(
                session,
                customer_id=customer,
                as_of=snapshot.as_of,
                snapshot=snapshot.model_dump(mode="json"),
                now=NOW,
            )
    await review_period(app.state.sessionmaker, period=period, config=config, now=NOW)


@pytest.fixture
async def served(
    make_database: Callable[[], str],
    start_ingest: Callable[..., Any],  # noqa: F811 - the imported fixture
    make_settings: Callable[..., Any],  # noqa: F811
) -> AsyncIterator[str]:
    ingest = await start_ingest(make_settings())
    settings = AlertsSettings(
        database_url=make_database(),
        consume=False,
        escalation_enabled=False,
        notifications_enabled=False,
        value_reviews_enabled=False,
        playbook_control_share=0.3,
        playbook_control_salt=CONTROL_SALT,
    )
    app = create_app(settings=settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    app.state.ingest = IngestClient(
        base_url="http://ingest",
        api_key=settings.ingest_producer_key,
        timeout_seconds=30,
        transport=httpx.ASGITransport(app=ingest.manager.app),
    )
    await seed(app)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def open_page(browser: Browser, base: str, viewport: dict[str, int], *, phone: bool) -> Page:  # noqa: F811
    context = await browser.new_context(
        viewport=viewport,
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=1,
        locale="en-US",  # whose own dates read "Nov 20, 2026": the page must not follow it
        timezone_id="UTC",
    )
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and "422" not in m.text else None,
    )
    page.problems = problems  # type: ignore[attr-defined]
    await page.goto(f"{base}/cases")
    return page


async def sign_in(page: Page, user: str) -> None:
    await page.get_by_label("Username").fill(user)
    await page.get_by_label("Password").fill("demo-only")
    await page.get_by_role("button", name="Sign in").click()


async def no_sideways_scroll(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"page scrolls sideways by {overflow}px"


@pytest.mark.parametrize(("width", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
async def test_rm_reads_reasons_logs_a_contact_and_resolves(
    served: str,
    browser: Browser,  # noqa: F811 - the imported fixture
    width: str,
    viewport: dict[str, int],
) -> None:
    page = await open_page(browser, served, viewport, phone=width == "phone")
    await sign_in(page, "rm.demo")
    rows = page.locator(".alert-row")
    await expect(rows).to_have_count(6)
    await expect(rows.nth(0)).to_have_attribute("data-id", "DEMO000000")
    await expect(rows.nth(0)).to_contain_text("Li Wei")
    await no_sideways_scroll(page)
    await shot(page, f"cases-list-{width}.png")
    await rows.nth(0).click()
    detail = page.locator("#detail")
    await expect(detail.locator("h2")).to_have_text("Li Wei")
    await expect(detail).to_contain_text("2,345,678 CNY")
    await expect(detail).to_contain_text("41% (model gbm-2026-11)")
    reasons = detail.locator("#reasons li")
    await expect(reasons.first).to_contain_text("salary credit has not arrived")
    await expect(reasons.first).to_contain_text("the last one came 38 days ago; usually every 30")
    await expect(reasons.first).to_contain_text("(due around ")
    await expect(detail.locator("#reasons")).to_contain_text(
        "82% of the balance (alert from 10%) over the last 30 days"
    )
    await expect(detail.locator("#evidence")).to_contain_text(
        "Transaction on 18 Nov 2026: 812,000 CNY, counterparty the customer's own account."
    )
    await expect(detail.locator("#evidence")).to_contain_text("Complaint filed on 20 Nov 2026.")
    shown = await detail.inner_text()
    assert "ev-a" not in shown and "payroll_missing" not in shown and "contributes" not in shown
    await expect(detail.locator(".trend polyline")).to_have_count(1)
    value = detail.locator("#value")
    await expect(value).to_contain_text("Current value")
    await expect(value).to_contain_text(" CNY in ")
    await expect(value).to_contain_text("Trend vs expected")
    await expect(value).to_contain_text(" expected for ")  # a second review: an expectation
    value_text = await value.inner_text()
    # every figure worded: named periods, amounts with separators and the currency
    assert not re.search(r"\b\d{4}-(?:\d{2}|Q\d)\b|\d{4,}\.\d|\d{3,}\.\d+ [A-Z]{3}", value_text), (
        value_text
    )
    assert "CNY" in value_text and " 20" in value_text
    await expect(value).to_contain_text("Strategy: ")
    await expect(value.locator("#value-reasons li").first).to_be_visible()
    await expect(value.locator(".value-bars rect")).to_have_count(2)
    call = detail.locator('.suggestion[data-code="retention_call"]')
    await expect(call).to_contain_text("Retention call")
    await expect(call.locator(".because li").first).to_be_visible()
    await expect(detail.locator("#nba")).to_contain_text(
        "Held back: Offer a fund or treasury bond for the idle demand balance (held back until "
        "this is done: Resolve the open complaint first)"
    )
    assert "—" not in await detail.inner_text()
    assert "not available yet" not in await detail.inner_text()
    await no_sideways_scroll(page)
    await shot(page, f"case-page-{width}.png", full_page=True)
    await call.get_by_role("button", name="Accepted: Retention call", exact=False).click()
    await expect(page.locator("#nba-result")).to_contain_text("accepted")
    await expect(page.locator('.suggestion[data-code="retention_call"]')).to_contain_text(
        "Last recorded: accepted by rm.demo"
    )
    # Below the sticky top bar: the section title stays in the picture.
    await page.evaluate(
        "document.getElementById('value-title').scrollIntoView(); window.scrollBy(0, -72)"
    )
    await expect(page.locator(".btn-chosen")).to_have_text("Accepted")
    await shot(page, f"case-value-{width}.png")
    await detail.locator("#contact-kind").select_option("call")
    await detail.locator("#contact-note").fill(
        "Salary moved to a new employer's bank; offered payroll agency"
    )
    await detail.get_by_role("button", name="Log contact").click()
    await expect(page.locator("#case-result")).to_have_text("Contact logged.")
    await expect(page.locator("#timeline")).to_contain_text("Contact logged: call")
    # every moment on the timeline in the inbox's (and the reasons') form: "20 Nov 2026, 10:30"
    moments = await page.locator("#timeline time").all_inner_texts()
    assert moments and all(DATE_TIME.match(m.split(" · ")[0]) for m in moments), moments
    await page.get_by_role("button", name="Resolve", exact=True).click()
    await expect(page.locator("#case-result")).to_have_text("Choose an outcome first.")
    await page.locator("#case-outcome").select_option("retained")
    await page.get_by_role("button", name="Resolve", exact=True).click()
    await expect(page.locator("#case-result")).to_have_text("Case resolved.")
    await expect(page.locator("#timeline")).to_contain_text("Resolved with outcome retained")
    await page.locator("#timeline").scroll_into_view_if_needed()
    await shot(page, f"case-resolved-{width}.png")
    # A control-group customer: a neutral note, no suggestion and no outcome buttons.
    if width == "phone":
        await page.get_by_role("button", name="Back to cases").click()
    await page.locator('.alert-row[data-id="DEMO000002"]').click()
    await expect(page.locator("#nba-control")).to_contain_text("control group")
    await expect(page.locator(".suggestion")).to_have_count(0)
    assert page.problems == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(("width", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
async def test_lead_sees_escalations_hands_over_and_reads_the_scorecard(
    served: str,
    browser: Browser,  # noqa: F811 - the imported fixture
    width: str,
    viewport: dict[str, int],
) -> None:
    page = await open_page(browser, served, viewport, phone=width == "phone")
    await sign_in(page, "lead.demo")
    await expect(page.locator(".alert-row")).to_have_count(6)
    await expect(page.locator("#f-order")).to_have_value("value_at_risk")
    at_risk = await page.locator(".row-where.var").all_inner_texts()
    amounts = [float(t.split(" ")[0].replace(",", "")) for t in at_risk]
    assert len(amounts) == 6 and amounts == sorted(amounts, reverse=True), at_risk
    await page.locator("#f-escalated").check()
    rows = page.locator(".alert-row")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Escalated")
    await shot(page, f"lead-escalated-{width}.png")
    await page.get_by_role("button", name="Team").click()
    await expect(page.locator("#scorecard")).to_contain_text("Team total")
    await expect(page.locator("#book")).to_contain_text("rm.demo")
    await expect(page.locator("#precision-chart")).to_contain_text("50% of 2 judged")
    await expect(page.locator("#precision-chart")).to_contain_text("Large transfer to another bank")
    await expect(page.locator("#precision-chart rect")).to_have_count(1)
    await expect(page.locator("#value-chart")).to_contain_text("retained")
    await expect(page.locator("#value-chart rect")).to_have_count(3)
    await expect(page.locator("#accuracy li").first).to_contain_text("'s predictions for ")
    await expect(page.locator("#book-wrap")).not_to_contain_text("Period 20")
    await no_sideways_scroll(page)
    await shot(page, f"lead-team-{width}.png", full_page=width == "laptop")
    await page.locator("#book-group").select_option("branch")
    await expect(page.locator("#book")).to_contain_text("BR001")
    await page.locator("#ho-customer").fill("DEMO000003")
    await page.locator("#ho-successor").fill("auditor.demo")
    await page.get_by_role("button", name="Hand over").click()
    await expect(page.locator("#ho-result")).to_contain_text("serves no customers")
    await page.locator("#ho-successor").fill("rm.second")
    await page.get_by_role("button", name="Hand over").click()
    await expect(page.locator("#ho-result")).to_contain_text(
        "Handed over 1 customer(s), 1 open alert(s) moved."
    )
    await expect(page.locator("#scorecard")).to_contain_text("rm.second")
    await shot(page, f"lead-scorecard-{width}.png", full_page=width == "laptop")
    await no_sideways_scroll(page)
    assert page.problems == []  # type: ignore[attr-defined]
