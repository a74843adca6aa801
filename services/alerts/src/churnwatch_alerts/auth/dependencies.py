"""FastAPI dependencies: the bearer-token principal and role guards."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.auth.tokens import InvalidToken, decode_token
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.models import Manager, Role
from churnwatch_alerts.seed import DEMO_MANAGER_IDS
from churnwatch_shared.settings import Environment

log = structlog.get_logger(__name__)

_bearer = HTTPBearer(auto_error=False)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller from ``Authorization: Bearer <jwt>``; 401 when absent or invalid."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token: send Authorization: Bearer <token>")
    try:
        claims = decode_token(
            secret=request.app.state.settings.jwt_secret,
            token=credentials.credentials,
            now=request.app.state.clock.now(),
        )
    except InvalidToken as exc:
        raise _unauthorized(f"invalid token: {exc}") from exc
    if request.app.state.settings.env is Environment.PRODUCTION and claims.sub in DEMO_MANAGER_IDS:
        log.warning("auth.demo_token_refused", sub=claims.sub)
        raise _unauthorized("demo accounts are refused in production")
    manager = await session.get(Manager, claims.sub)
    if manager is None:
        # Managers known only from customer.assigned events have no row yet; the token's role rules.
        return Principal(id=claims.sub, role=claims.role)
    if not manager.active:
        raise _unauthorized("manager is deactivated")
    return Principal(
        id=manager.id, role=Role(manager.role), team_id=manager.team_id, branch_id=manager.branch_id
    )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def require_admin(principal: CurrentPrincipal) -> Principal:
    """Admins only (assignment and manager administration)."""
    if principal.role is not Role.ADMIN:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="admin role required")
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_admin)]


async def require_auditor(principal: CurrentPrincipal) -> Principal:
    """Auditors only (reading and exporting the audit log)."""
    if principal.role is not Role.AUDITOR:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="auditor role required")
    return principal


AuditorPrincipal = Annotated[Principal, Depends(require_auditor)]


async def require_privacy_officer(principal: CurrentPrincipal) -> Principal:
    """Privacy officers only (erasures, objections, retention runs)."""
    if principal.role is not Role.PRIVACY_OFFICER:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN, detail="privacy_officer role required"
        )
    return principal


PrivacyOfficerPrincipal = Annotated[Principal, Depends(require_privacy_officer)]
