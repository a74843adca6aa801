"""Single sign-on: /v1/auth/oidc/login → the bank's provider → /v1/auth/oidc/callback → our token.

``login`` makes a state, a nonce and a PKCE verifier, keeps them in a short-lived signed cookie
(HttpOnly, SameSite=Lax, only sent to this path) and redirects to the provider. ``callback``
checks the state against the cookie, exchanges the code with the verifier, verifies the ID token
(``oidc.Provider``), maps groups to a role and claims to team and branch, records the manager,
audits the sign-in and redirects to ``/inbox#access_token=...`` (a fragment: never sent to a
server or in a Referer). Every refusal is audited and answered with what was wrong.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import jwt as pyjwt
import structlog
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel

from churnwatch_alerts.audit import record
from churnwatch_alerts.audit.refusals import audit_refusal
from churnwatch_alerts.auth.oidc import OidcError, Provider, map_identity
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.models import Manager
from churnwatch_alerts.settings import AlertsSettings

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/oidc", tags=["auth"])

COOKIE = "cw_oidc_flow"
COOKIE_PATH = "/v1/auth/oidc"
FLOW_AUDIENCE = "churnwatch-oidc-flow"
FLOW_TTL = timedelta(minutes=10)


class SsoConfig(BaseModel):
    enabled: bool
    provider_name: str | None
    login_url: str | None
    password_logins: bool


def _settings(request: Request) -> AlertsSettings:
    settings: AlertsSettings = request.app.state.settings
    if not settings.oidc_enabled:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="single sign-on is not configured")
    return settings


def _provider(request: Request) -> Provider:
    provider: Provider | None = getattr(request.app.state, "oidc_provider", None)
    if provider is None:
        provider = request.app.state.oidc_provider = Provider(settings=_settings(request))
    return provider


def _redirect_uri(request: Request, settings: AlertsSettings) -> str:
    return settings.oidc_redirect_url or str(request.url_for("oidc_callback"))


@router.get("/config", response_model=SsoConfig)
async def sso_config(request: Request) -> SsoConfig:
    """What the sign-in page offers: the provider's button, and whether passwords are accepted."""
    settings: AlertsSettings = request.app.state.settings
    return SsoConfig(
        enabled=settings.oidc_enabled,
        provider_name=settings.oidc_provider_name if settings.oidc_enabled else None,
        login_url=f"{COOKIE_PATH}/login" if settings.oidc_enabled else None,
        password_logins=settings.password_logins_allowed,
    )


@router.get("/login")
async def sso_login(request: Request) -> RedirectResponse:
    """Start the authorization code flow (PKCE S256, state, nonce) at the provider."""
    settings = _settings(request)
    try:
        meta = await _provider(request).metadata()
    except OidcError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from exc
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    now = request.app.state.clock.now()
    flow = pyjwt.encode(
        {
            "aud": FLOW_AUDIENCE,
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
            "exp": int((now + FLOW_TTL).timestamp()),
        },
        settings.jwt_secret,
        algorithm="HS256",
    )
    query = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": _redirect_uri(request, settings),
        "scope": settings.oidc_scopes,
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    response = RedirectResponse(f"{meta['authorization_endpoint']}?{urlencode(query)}", 302)
    response.set_cookie(
        COOKIE,
        flow,
        max_age=int(FLOW_TTL.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET: Lax sends it
        secure=_redirect_uri(request, settings).startswith("https://"),
    )
    return response


def _flow(request: Request, settings: AlertsSettings, now_ts: int) -> dict[str, Any]:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise OidcError(
            "no sign-in in progress in this browser (cookie missing or expired); start again",
            status=400,
        )
    try:
        flow: dict[str, Any] = pyjwt.decode(
            cookie,
            settings.jwt_secret,
            algorithms=["HS256"],
            audience=FLOW_AUDIENCE,
            # Expiry against the service clock, as for session tokens.
            options={"verify_exp": False, "require": ["exp", "state", "nonce", "verifier"]},
        )
    except pyjwt.PyJWTError as exc:
        raise OidcError(f"the sign-in cookie is invalid: {exc}", status=400) from exc
    if int(flow["exp"]) <= now_ts:
        raise OidcError("the sign-in took longer than 10 minutes; start again", status=400)
    return flow


async def _exchange(request: Request, settings: AlertsSettings, *, code: str, verifier: str) -> str:
    meta = await _provider(request).metadata()
    secret = settings.oidc_secret
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": _redirect_uri(request, settings),
        "code_verifier": verifier,
    }
    # client_secret_basic for a confidential client; a public client sends only its id (PKCE).
    auth = httpx.BasicAuth(str(settings.oidc_client_id), secret or "")
    if not secret:
        form["client_id"] = str(settings.oidc_client_id)
    try:
        async with httpx.AsyncClient(
            timeout=settings.oidc_timeout_seconds, auth=auth if secret else None
        ) as client:
            answer = await client.post(
                meta["token_endpoint"],
                data=form,
                headers={"Accept": "application/json"},
            )
        token = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError(f"the provider's token endpoint is unavailable: {exc}", status=502) from exc
    if answer.status_code != 200 or not isinstance(token, dict):
        raise OidcError(
            f"the provider refused the code exchange ({answer.status_code}): {str(token)[:300]}",
            status=502,
        )
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise OidcError(
            "the provider's token answer has no id_token (is 'openid' in the scopes?)", status=502
        )
    return id_token


@router.get("/callback", name="oidc_callback", response_model=None)
async def sso_callback(
    request: Request,
    session: SessionDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    error_description: Annotated[str | None, Query(max_length=1024)] = None,
) -> RedirectResponse | JSONResponse:
    """Finish the flow: check state, exchange the code, verify the ID token, issue our token."""
    settings = _settings(request)
    clock_now = request.app.state.clock.now()
    try:
        if error is not None:
            raise OidcError(
                f"the provider answered {error}: {error_description or 'no description'}"
            )
        flow = _flow(request, settings, int(clock_now.timestamp()))
        if state is None or not hmac.compare_digest(state, str(flow["state"])):
            raise OidcError("state does not match the sign-in started in this browser", status=400)
        if not code:
            raise OidcError("the provider sent no code", status=400)
        id_token = await _exchange(request, settings, code=code, verifier=str(flow["verifier"]))
        claims = await _provider(request).verify_id_token(
            id_token=id_token, nonce=str(flow["nonce"]), now=clock_now.timestamp()
        )
        identity = map_identity(
            claims=claims, settings=settings, provider_name=settings.oidc_provider_name
        )
        manager = await session.get(Manager, identity.manager_id)
        if manager is not None and not manager.active:
            raise OidcError(f"{identity.manager_id} is deactivated in ChurnWatch", status=403)
    except OidcError as exc:
        log.warning("auth.sso_refused", reason=str(exc))
        await audit_refusal(
            request,
            actor="sso:unknown",
            action="auth.sso_refused",
            detail={"reason": str(exc)[:500], "status": exc.status},
        )
        refused = JSONResponse({"detail": str(exc)}, status_code=exc.status)
        refused.delete_cookie(COOKIE, path=COOKIE_PATH)
        return refused
    if manager is None:
        manager = Manager(id=identity.manager_id, password_hash=None)
        session.add(manager)
    # The provider's groups and claims are the truth at every sign-in.
    manager.role = identity.role.value
    manager.team_id = identity.team_id
    manager.branch_id = identity.branch_id
    record(
        session,
        actor=identity.manager_id,
        action="auth.sso_login",
        at=clock_now,
        detail={
            "subject": identity.subject,
            "role": identity.role.value,
            "team_id": identity.team_id,
        },
    )
    token = mint_token(
        secret=settings.jwt_secret,
        sub=identity.manager_id,
        role=identity.role,
        now=clock_now,
        ttl_seconds=settings.jwt_ttl_seconds,
    )
    fragment = urlencode(
        {"access_token": token, "token_type": "bearer", "expires_in": settings.jwt_ttl_seconds}
    )
    response = RedirectResponse(f"/inbox#{fragment}", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response
