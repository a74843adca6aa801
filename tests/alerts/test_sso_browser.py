"""Single sign-on in a real headless Chromium: the inbox's provider button, the redirects, signed in.

The alerts service and the local OIDC issuer both serve real HTTP on 127.0.0.1; Chromium clicks
"Sign in with Bank ID", goes through the issuer's authorize endpoint and back to the callback, and
lands in the inbox signed in as the provider's user (the token taken from the URL fragment).
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import uvicorn
from playwright.async_api import async_playwright, expect

from churnwatch_alerts.app import create_app
from churnwatch_shared.settings import Environment
from tests.alerts.test_inbox_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP
from tests.alerts.test_oidc_sso import ALICE, sso_settings
from tests.support.oidc_issuer import LocalIssuer
from tests.support.processes import LOG_DIR, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def service_port() -> int:
    return free_port()


@pytest.fixture
def issuer(service_port: int) -> Iterator[LocalIssuer]:
    started = LocalIssuer(
        client_id="churnwatch-alerts",
        client_secret="test-client-secret",
        redirect_uri=f"http://127.0.0.1:{service_port}/v1/auth/oidc/callback",
        next_user=dict(ALICE),
    ).start()
    yield started
    started.stop()


@pytest.fixture
def service(
    make_database: Callable[[], str], issuer: LocalIssuer, service_port: int
) -> Iterator[str]:
    app = create_app(settings=sso_settings(make_database(), issuer, Environment.DEVELOPMENT))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=service_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "alerts did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{service_port}"
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
async def page_factory() -> AsyncIterator[Callable[[], object]]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page
        finally:
            await browser.close()


async def test_inbox_signs_in_with_the_provider_button(
    service: str, page_factory: Callable[[], object]
) -> None:
    page = await page_factory()  # type: ignore[misc]
    await page.set_viewport_size(DESKTOP)
    await page.goto(f"{service}/inbox")
    button = page.get_by_role("link", name="Sign in with Bank ID")
    await expect(button).to_be_visible()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=LOG_DIR / "inbox-sso-login.png")
    await button.click()
    await expect(page.locator("#who")).to_contain_text("alice.rm", timeout=20_000)
    await expect(page.locator("#who")).to_contain_text("relationship manager")
    assert "access_token" not in page.url, "the token must not stay in the address bar"
    await page.screenshot(path=LOG_DIR / "inbox-sso-signed-in.png")
