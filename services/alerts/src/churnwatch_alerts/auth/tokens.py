"""HS256 JWT bearer tokens with the claims sub (manager id), role and exp."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from churnwatch_alerts.models import Role

ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The token is missing a claim, expired, or not signed with our key."""


@dataclass(frozen=True, slots=True)
class Claims:
    sub: str
    role: Role
    exp: datetime


def mint_token(*, secret: str, sub: str, role: Role, now: datetime, ttl_seconds: int) -> str:
    """A signed token for ``sub`` valid for ``ttl_seconds`` from ``now``."""
    expires = now + timedelta(seconds=ttl_seconds)
    return jwt.encode(
        {
            "sub": sub,
            "role": role.value,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        },
        secret,
        algorithm=ALGORITHM,
    )


def decode_token(*, secret: str, token: str, now: datetime) -> Claims:
    """Verify signature and expiry against ``now`` (the service clock); else ``InvalidToken``."""
    try:
        data = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "role", "exp"], "verify_exp": False},
        )
        role = Role(data["role"])
        expires = datetime.fromtimestamp(int(data["exp"]), tz=UTC)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc
    if expires <= now:
        raise InvalidToken("token has expired")
    if not isinstance(data["sub"], str) or not data["sub"]:
        raise InvalidToken("sub must be a non-empty string")
    return Claims(sub=data["sub"], role=role, exp=expires)
