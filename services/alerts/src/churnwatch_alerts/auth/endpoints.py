"""POST /v1/auth/login (password → bearer token, development), GET /v1/auth/me, and SSO routes."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from churnwatch_alerts.audit import record
from churnwatch_alerts.audit.refusals import audit_refusal, client_address
from churnwatch_alerts.auth.dependencies import CurrentPrincipal
from churnwatch_alerts.auth.oidc_endpoints import router as oidc_router
from churnwatch_alerts.auth.passwords import verify_password_async
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.models import Manager, Role
from churnwatch_alerts.seed import is_demo_login
from churnwatch_shared.settings import Environment

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class LoginRequest(BaseModel):
    # Control characters are refused: the name is written to the audit log and to log lines.
    username: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    manager_id: str
    role: Role


class MeResponse(BaseModel):
    id: str
    role: Role
    team_id: str | None
    branch_id: str | None


@router.post("/login", response_model=TokenResponse)
async def login(body: LoginRequest, request: Request, session: SessionDep) -> TokenResponse:
    """Exchange a manager's username and password for a bearer token."""
    settings = request.app.state.settings
    now = request.app.state.clock.now()
    if not settings.password_logins_allowed:
        await audit_refusal(request, actor=body.username, action="auth.password_login_refused")
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=(
                "password logins are for development only; production signs in with "
                f"{settings.oidc_provider_name} at /v1/auth/oidc/login"
            ),
        )
    if settings.env is Environment.PRODUCTION and is_demo_login(
        manager_id=body.username, password=body.password
    ):
        # A database once used in development keeps the seeded accounts and their known password.
        log.warning("auth.demo_login_refused", username=body.username)
        await audit_refusal(request, actor=body.username, action="auth.login_refused_demo")
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="demo logins and the development password are refused in production",
            headers={"WWW-Authenticate": "Bearer"},
        )
    throttle = request.app.state.login_throttle
    address = client_address(request)
    wait = throttle.retry_after(username=body.username, address=address, now=now)
    if wait is not None:
        # Before the password is checked: a guess gets no answer and costs no hash.
        await audit_refusal(
            request,
            actor=body.username,
            action="auth.login_throttled",
            detail={"retry_after_seconds": wait},
        )
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many failed logins: try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    manager = await session.get(Manager, body.username)
    ok = (
        manager is not None
        and manager.active
        and manager.password_hash is not None
        and await verify_password_async(password_hash=manager.password_hash, password=body.password)
    )
    if not ok or manager is None:
        throttle.failed(username=body.username, address=address, now=now)
        # Own transaction: the request's is rolled back with the 401, this row must stay.
        await audit_refusal(request, actor=body.username, action="auth.login_failed")
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="unknown username or wrong password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    throttle.succeeded(username=body.username)
    record(session, actor=manager.id, action="auth.login", at=now)
    token = mint_token(
        secret=settings.jwt_secret,
        sub=manager.id,
        role=Role(manager.role),
        now=now,
        ttl_seconds=settings.jwt_ttl_seconds,
    )
    return TokenResponse(
        access_token=token,
        expires_in=settings.jwt_ttl_seconds,
        manager_id=manager.id,
        role=Role(manager.role),
    )


@router.get("/me", response_model=MeResponse)
async def me(principal: CurrentPrincipal) -> MeResponse:
    """Who the bearer token belongs to."""
    return MeResponse(
        id=principal.id,
        role=principal.role,
        team_id=principal.team_id,
        branch_id=principal.branch_id,
    )


# After the routes above: single sign-on lives under /v1/auth/oidc.
router.include_router(oidc_router)
