"""The web inbox in a real headless Chromium (Debian's), against the real service, broker and DB."""

from __future__ import annotations

import asyncio
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from churnwatch_alerts.alerts.service import store_alerts
from churnwatch_alerts.app import create_app
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared.alerts import CustomerStateName, EvidenceEvent, Severity
from churnwatch_shared.codes import CounterpartyKind
from churnwatch_shared.customer_state import CustomerStateSnapshot, StateLevel, StateView
from tests.alerts.factories import make_alert
from tests.alerts.running import RunningService, running_service, wait_for_alerts
from tests.alerts.screenshots import shot
from tests.alerts.seed import assign

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1366, "height": 900}
# How the inbox writes a moment, whatever the browser's locale: the reasons' "20 Nov 2026" plus a
# 24-hour time ("20 Nov 2026, 10:30"), never a locale's "11/20/2026" or "20/11/2026".
DATE_TIME = re.compile(
    r"^\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}, \d{2}:\d{2}$"
)
PHONE = {"width": 390, "height": 844}


def snapshot_for(customer_id: str) -> CustomerStateSnapshot:
    """Five states with distinct scores, account flow the worst."""
    scores = {
        CustomerStateName.SCALE: (22.0, StateLevel.NORMAL),
        CustomerStateName.STABILITY: (48.0, StateLevel.WATCH),
        CustomerStateName.RISK: (10.0, StateLevel.NORMAL),
        CustomerStateName.ACCOUNT_FLOW: (86.0, StateLevel.CRITICAL),
        CustomerStateName.PRODUCT_USAGE: (61.0, StateLevel.WARNING),
    }
    return CustomerStateSnapshot(
        customer_id=customer_id,
        as_of=datetime.now(UTC),
        churn_score=71.0,
        churn_level=StateLevel.WARNING,
        ruleset_version="test-1",
        branch_id="BR001",
        events_applied=12,
        states={name: StateView(score=s, level=lvl) for name, (s, lvl) in scores.items()},
    )


async def login_token(client: httpx.AsyncClient) -> dict[str, str]:
    """The development login, the same way the page does it."""
    response = await client.post(
        "/v1/auth/login", json={"username": "rm.demo", "password": "demo-only"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def wait_for_state(
    client: httpx.AsyncClient, headers: dict[str, str], *, customer_id: str, timeout: float = 45.0
) -> None:
    """Until the service has both the assignment (visible to rm.demo) and the snapshot."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await client.get(f"/v1/customers/{customer_id}/state", headers=headers)
        if response.status_code == 200 and response.json()["snapshot"] is not None:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"no assignment/state for {customer_id} after {timeout}s")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():  # noqa: ASYNC240 -- one stat before the browser starts
        pytest.fail(
            "Debian chromium missing: deploy/test-setup.sh installs it (apt-get install chromium)"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def service(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    make_database: Callable[[], str],
) -> AsyncIterator[RunningService]:
    async with running_service(
        namespace=await make_namespace(),
        bootstrap=kafka_bootstrap,
        database_url=make_database(),
        name="alerts-browser",
    ) as running:
        yield running


async def open_page(
    browser: Browser,
    base_url: str,
    viewport: dict[str, int],
    *,
    phone: bool,
    locale: str = "en-US",
    timezone_id: str = "UTC",
) -> Page:
    """A fresh browser context; page errors and console errors (e.g. CSP) fail the test."""
    context = await browser.new_context(
        viewport=viewport,
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=2 if phone else 1,
        locale=locale,
        timezone_id=timezone_id,
    )
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        # The wrong-password attempt is meant to answer 401; every other error is a defect.
        expected = (
            message.location.get("url", "").endswith("/v1/auth/login") and "401" in message.text
        )
        if message.type == "error" and not expected:
            problems.append(f"console: {message.text} at {message.location}")

    page.on("console", on_console)
    page.problems = problems  # type: ignore[attr-defined]
    await page.goto(f"{base_url}/inbox")
    return page


async def sign_in(page: Page, *, password: str = "demo-only") -> None:
    await page.get_by_label("Username").fill("rm.demo")
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def no_horizontal_overflow(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"page scrolls sideways by {overflow}px"


async def test_manager_signs_in_sees_opens_and_acknowledges(
    service: RunningService, browser: Browser
) -> None:
    customer = f"C-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    critical = make_alert(
        customer_id=customer,
        at=now,
        severity=Severity.CRITICAL,
        priority=92,
        condition_key="ev-critical-1",
    )
    moved = EvidenceEvent(
        event_id="ev-critical-1",
        event_type="transaction.posted",
        occurred_at=datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
        amount=Decimal("812000.50"),
        currency="CNY",
        counterparty_kind=CounterpartyKind.OWN_ACCOUNT,
    )
    critical = critical.model_copy(
        update={"evidence": [moved], "occurred_at": datetime(2026, 11, 20, 10, 30, tzinfo=UTC)}
    )
    watch = make_alert(
        customer_id=customer,
        at=now,
        severity=Severity.WATCH,
        priority=35,
        condition_key="ev-w-1",
        rule_id="stability.balance_drift",
    ).model_copy(update={"title": "Balance drifting down"})
    async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as client:
        headers = await login_token(client)
        await service.assign(customer_id=customer, manager_id="rm.demo")
        await service.send_state(snapshot_for(customer))
        await wait_for_state(client, headers, customer_id=customer)
        await service.send_alert(watch)
        await service.send_alert(critical)
        await wait_for_alerts(client, headers, count=2)

        page = await open_page(browser, service.base_url, DESKTOP, phone=False)
        await sign_in(page, password="wrong-password")
        await expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
        await sign_in(page)

        rows = page.locator(".alert-row")
        await expect(rows).to_have_count(2)
        await expect(rows.nth(0)).to_have_attribute("data-id", critical.alert_id)
        await expect(rows.nth(0).locator(".badge")).to_have_text("critical")
        await expect(rows.nth(1).locator(".badge")).to_have_text("watch")
        await expect(page.locator("#who")).to_contain_text("rm.demo")

        await rows.nth(0).click()
        detail = page.locator("#detail")
        await expect(detail.locator("#detail-title")).to_have_text(critical.title)
        chart = detail.get_by_test_id("state-chart")
        await expect(chart).to_be_visible()
        await expect(chart.locator("li[data-state]")).to_have_count(5)
        await expect(chart.locator("li[data-state=account_flow]")).to_contain_text("86 · critical")
        # reasons and evidence in plain language: no raw codes, no event ids
        await expect(detail.locator("#reasons li")).to_have_count(1)
        await expect(detail.locator("#reasons")).to_contain_text(
            "Money moved to the customer's accounts at other banks: 80% of the balance"
        )
        await expect(detail.locator("#evidence li")).to_have_text(
            "Transaction on 20 Nov 2026: 812,000.50 CNY, counterparty the customer's own account."
        )
        # the header's moments in the reasons' form, though the browser's locale is en-US
        occurred = detail.locator("dt", has_text=re.compile("^Occurred$")).locator("+ dd")
        await expect(occurred).to_have_text("20 Nov 2026, 10:30")
        detected = detail.locator("dt", has_text=re.compile("^Detected$")).locator("+ dd")
        await expect(detected).to_have_text(DATE_TIME)
        # the snooze picker is the browser's own control; the line under it says the moment
        until = await detail.locator("#snooze-when").inner_text()
        assert until.startswith("Until ") and DATE_TIME.match(until.removeprefix("Until ")), until
        as_of = await detail.get_by_test_id("state-chart").locator("p.muted").inner_text()
        assert DATE_TIME.match(as_of.rsplit(" as of ", 1)[1]), as_of
        shown = await detail.inner_text()
        assert "ev-critical-1" not in shown and "interbank_outflow_share" not in shown
        assert "Large transfer to another bank" in shown and "account_flow." not in shown
        await shot(page, "inbox-laptop-detail.png", full_page=True)

        await detail.get_by_role("button", name="Acknowledge").click()
        await expect(detail.locator("#detail-status")).to_have_text("acknowledged")
        await expect(detail.locator("#action-result")).to_have_text("Acknowledged.")
        server = (await client.get(f"/v1/alerts/{critical.alert_id}", headers=headers)).json()
        assert server["status"] == "acknowledged" and server["acknowledged_by"] == "rm.demo"
        assert page.problems == []  # type: ignore[attr-defined]

        phone = await open_page(browser, service.base_url, PHONE, phone=True)
        await sign_in(phone)
        phone_rows = phone.locator(".alert-row")
        await phone_rows.first.wait_for()
        await phone.select_option("#status-filter", "")  # All: the acknowledged one too
        await expect(phone_rows).to_have_count(2)
        await expect(phone_rows.nth(0)).to_be_in_viewport()
        await no_horizontal_overflow(phone)
        await shot(phone, "inbox-phone-list.png")

        await phone_rows.nth(1).tap()
        await expect(phone.locator("#detail-title")).to_have_text("Balance drifting down")
        await expect(phone.locator(".list-pane")).to_be_hidden()
        await expect(phone.get_by_test_id("state-chart")).to_be_visible()
        await no_horizontal_overflow(phone)
        await expect(phone.locator("#evidence li")).to_have_count(1)
        await shot(phone, "inbox-phone-detail.png", full_page=True)
        await phone.get_by_role("button", name="All alerts").tap()
        await expect(phone.locator(".list-pane")).to_be_visible()
        assert phone.problems == []  # type: ignore[attr-defined]


PAGED = 104  # the lead in issue 17 had 104 alerts and could reach only 100


@pytest.fixture
async def paged_inbox(make_database: Callable[[], str]) -> AsyncIterator[tuple[str, list[str]]]:
    """The app in-process under uvicorn on a real PostgreSQL with 104 open alerts of rm.demo."""
    settings = AlertsSettings(
        database_url=make_database(),
        consume=False,
        escalation_enabled=False,
        notifications_enabled=False,
        value_reviews_enabled=False,
    )
    app = create_app(settings=settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    now = datetime.now(UTC)
    ids = []
    async with app.state.sessionmaker() as session, session.begin():
        for n in range(PAGED):
            customer = f"P{n:04d}"
            await assign(session, customer_id=customer, at=now)
            alert = make_alert(customer_id=customer, at=now, priority=n % 100, condition_key="p")
            ids.append(alert.alert_id)
            await store_alerts(session, alerts=[alert], now=now, sla_seconds={})
    yield f"http://127.0.0.1:{port}", ids
    server.should_exit = True
    await task


async def test_load_more_reaches_every_alert_past_the_first_hundred(
    paged_inbox: tuple[str, list[str]], browser: Browser
) -> None:
    base_url, ids = paged_inbox
    page = await open_page(browser, base_url, PHONE, phone=True)
    await sign_in(page)
    rows = page.locator(".alert-row")
    await expect(rows).to_have_count(100)
    more = page.locator("#more-alerts")
    await expect(more).to_have_text(f"Load more (showing 100 of {PAGED})")
    await expect(page.locator("#alert-count")).to_have_text(f"({PAGED})")
    await more.click()
    await expect(rows).to_have_count(PAGED)
    await expect(more).to_be_hidden()
    shown = await rows.evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert sorted(shown) == sorted(ids)  # every alert once, none twice
    await page.locator("#status-filter").select_option("open")
    await expect(rows).to_have_count(100)  # a new filter starts from the first page again
    await no_horizontal_overflow(page)
    assert page.problems == []  # type: ignore[attr-defined]
