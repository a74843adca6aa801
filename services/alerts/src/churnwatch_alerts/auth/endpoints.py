"""POST /v1/auth/login (username/password → bearer token) and GET /v1/auth/me."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.dependencies import CurrentPrincipal
from churnwatch_alerts.auth.passwords import verify_password_async
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.models import Manager, Role

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=128)
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
    manager = await session.get(Manager, body.username)
    ok = (
        manager is not None
        and manager.active
        and manager.password_hash is not None
        and await verify_password_async(password_hash=manager.password_hash, password=body.password)
    )
    now = request.app.state.clock.now()
    if not ok or manager is None:
        record(session, actor=body.username, action="auth.login_failed", at=now)
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="unknown username or wrong password",
            headers={"WWW-Authenticate": "Bearer"},
        )
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
