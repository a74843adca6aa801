"""Single sign-on against a real local OpenID Connect issuer (tests/support/oidc_issuer.py).

The redirects are followed by hand: the service sends the browser to the issuer's authorize
endpoint, the issuer sends it back with a code, the service exchanges the code (PKCE) over real
HTTP, verifies the ID token against the issuer's JWKS and answers with its own session token.
Each negative test breaks one thing and expects a refusal that says what was wrong.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from churnwatch_alerts.app import create_app
from churnwatch_alerts.models import AuditEntry, Manager
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared.settings import CommonSettings, Environment
from tests.support.oidc_issuer import LocalIssuer

pytestmark = pytest.mark.integration

BASE = "http://alerts.test"
ROLE_MAP = {
    "cw-relationship-managers": "relationship_manager",
    "cw-team-leads": "team_lead",
    "cw-auditors": "auditor",
}
ALICE = {
    "sub": "00u-alice",
    "preferred_username": "alice.rm",
    "groups": ["staff", "cw-relationship-managers"],
    "team": "team.north",
}


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    started = LocalIssuer(
        client_id="churnwatch-alerts",
        client_secret="test-client-secret",
        redirect_uri=f"{BASE}/v1/auth/oidc/callback",
        next_user=dict(ALICE),
    ).start()
    yield started
    started.stop()


def sso_settings(url: str, issuer: LocalIssuer, env: Environment) -> AlertsSettings:
    extra = (
        {"jwt_secret": "j" * 40, "webhook_secret": "w" * 40, "monitor_token": "m" * 40}
        if env is Environment.PRODUCTION
        else {}
    )
    return AlertsSettings(
        common=CommonSettings(env=env),
        database_url=url,
        consume=False,
        escalation_enabled=False,
        notifications_enabled=False,
        oidc_issuer=issuer.url,
        oidc_client_id=issuer.client_id,
        oidc_client_secret=issuer.client_secret,
        oidc_provider_name="Bank ID",
        oidc_role_map=ROLE_MAP,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
async def app(make_database: Callable[[], str], issuer: LocalIssuer) -> AsyncIterator[FastAPI]:
    application = create_app(
        settings=sso_settings(make_database(), issuer, Environment.DEVELOPMENT)
    )
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The manager's browser towards the service (keeps the flow cookie)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


async def sign_in(browser: httpx.AsyncClient, issuer: LocalIssuer) -> httpx.Response:
    """The whole redirect flow by hand; the service's answer to the callback."""
    start = await browser.get("/v1/auth/oidc/login")
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{issuer.url}/authorize?")
    assert query["code_challenge_method"] == ["S256"] and query["state"] and query["nonce"]
    async with httpx.AsyncClient() as outside:
        at_issuer = await outside.get(authorize)
    assert at_issuer.status_code == 302, at_issuer.text
    back = at_issuer.headers["location"]
    assert back.startswith(f"{BASE}/v1/auth/oidc/callback?")
    return await browser.get(back.removeprefix(BASE))


def token_of(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("/inbox#")
    fragment = parse_qs(urlsplit(location).fragment)
    return fragment["access_token"][0]


async def audit_actions(app: FastAPI) -> list[tuple[str, str, dict[str, object]]]:
    async with app.state.sessionmaker() as s:
        rows = (await s.scalars(select(AuditEntry).order_by(AuditEntry.chain_seq))).all()
    return [(r.actor, r.action, r.detail) for r in rows]


async def test_manager_signs_in_with_the_provider_and_gets_role_and_team_from_claims(
    app: FastAPI, browser: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    token = token_of(await sign_in(browser, issuer))
    me = await browser.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": "alice.rm",
        "role": "relationship_manager",
        "team_id": "team.north",
        "branch_id": None,
    }
    async with app.state.sessionmaker() as s:
        manager = await s.get(Manager, "alice.rm")
    assert manager is not None and manager.password_hash is None
    assert ("alice.rm", "auth.sso_login") in [(a, b) for a, b, _ in await audit_actions(app)]
    # The groups at the provider rule at every sign-in: moved to team leads, role follows.
    issuer.next_user = {**ALICE, "groups": ["cw-team-leads"], "team": "team.south"}
    token = token_of(await sign_in(browser, issuer))
    me = await browser.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert (me.json()["role"], me.json()["team_id"]) == ("team_lead", "team.south")


async def test_sign_in_page_config_offers_the_provider(browser: httpx.AsyncClient) -> None:
    config = (await browser.get("/v1/auth/oidc/config")).json()
    assert config == {
        "enabled": True,
        "provider_name": "Bank ID",
        "login_url": "/v1/auth/oidc/login",
        "password_logins": True,
    }


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ({"overrides": {"nonce": "not-the-one-we-sent"}}, "nonce"),
        ({"overrides": {"aud": "someone-else"}}, "aud"),
        ({"overrides": {"exp": 1_000_000_000}}, "exp"),
        ({"sign_with_rogue_key": True}, "signing key id 'rogue'"),
        ({"tamper_signature": True}, "signature"),
    ],
    ids=["wrong-nonce", "wrong-audience", "expired", "unknown-kid", "tampered-signature"],
)
async def test_a_bad_id_token_is_refused_and_audited(
    app: FastAPI,
    browser: httpx.AsyncClient,
    issuer: LocalIssuer,
    breakage: dict[str, object],
    expected: str,
) -> None:
    for name, value in breakage.items():
        setattr(issuer, name, value)
    answer = await sign_in(browser, issuer)
    assert answer.status_code == 401, answer.text
    assert expected in answer.json()["detail"]
    assert "location" not in answer.headers
    refused = [d for _, action, d in await audit_actions(app) if action == "auth.sso_refused"]
    assert len(refused) == 1 and expected in str(refused[0]["reason"])
    async with app.state.sessionmaker() as s:
        assert await s.get(Manager, "alice.rm") is None


async def test_a_user_without_a_mapped_group_gets_a_clear_403(
    app: FastAPI, browser: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    issuer.next_user = {**ALICE, "groups": ["staff", "marketing"]}
    answer = await sign_in(browser, issuer)
    assert answer.status_code == 403
    detail = answer.json()["detail"]
    assert "alice.rm signed in with Bank ID" in detail
    assert "staff, marketing" in detail and "cw-relationship-managers" in detail


async def test_a_callback_with_a_foreign_state_is_refused(
    browser: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    start = await browser.get("/v1/auth/oidc/login")
    async with httpx.AsyncClient() as outside:
        back = (await outside.get(start.headers["location"])).headers["location"]
    code = parse_qs(urlsplit(back).query)["code"][0]
    forged = await browser.get("/v1/auth/oidc/callback", params={"code": code, "state": "x"})
    assert forged.status_code == 400 and "state does not match" in forged.json()["detail"]
    assert issuer.token_requests == 0, "the code must not be exchanged for a foreign state"
    cookieless = httpx.AsyncClient(transport=browser._transport, base_url=BASE)
    async with cookieless:
        answer = await cookieless.get(back.removeprefix(BASE))
    assert answer.status_code == 400 and "no sign-in in progress" in answer.json()["detail"]


async def test_production_with_sso_refuses_password_logins(
    make_database: Callable[[], str], issuer: LocalIssuer
) -> None:
    production = create_app(settings=sso_settings(make_database(), issuer, Environment.PRODUCTION))
    async with (
        LifespanManager(production),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=production), base_url=BASE) as c,
    ):
        refused = await c.post("/v1/auth/login", json={"username": "x", "password": "y"})
        assert refused.status_code == 403
        assert "signs in with Bank ID at /v1/auth/oidc/login" in refused.json()["detail"]
        assert (await c.get("/v1/auth/oidc/config")).json()["password_logins"] is False
        token_of(await sign_in(c, issuer))


def test_oidc_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="must be an https URL"):
        AlertsSettings(oidc_issuer="http://idp.example", oidc_client_id="c")
    with pytest.raises(ValueError, match="OIDC_ROLE_MAP is required"):
        AlertsSettings(oidc_issuer="https://idp.example", oidc_client_id="c")
    with pytest.raises(ValueError, match="OIDC_CLIENT_ID is required"):
        AlertsSettings(oidc_issuer="https://idp.example")
