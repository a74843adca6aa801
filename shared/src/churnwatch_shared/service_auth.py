"""The service credential between ChurnWatch services (alerts → state monitor's state view).

A shared secret sent as ``Authorization: Bearer <token>``. Each side reads it from a setting or
from a file named by the ``*_FILE`` variant (Docker/Kubernetes secrets); the documented
development token is used only outside production, and production refuses to start without a
real one.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from churnwatch_shared.settings import Environment, InsecureSettingsError

DEV_MONITOR_TOKEN = "churnwatch-dev-monitor-token-not-for-production"
MIN_TOKEN_LENGTH = 16


def resolve_service_token(
    *, env: Environment, value: str | None, file: Path | None, name: str
) -> str:
    """The token from ``file`` (stripped) or ``value``; the dev token outside production.

    ``name`` is the setting's environment variable, used in the error messages.
    """
    if file is not None:
        try:
            token = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InsecureSettingsError(f"{name}_FILE={file} cannot be read: {exc}") from exc
        if not token:
            raise InsecureSettingsError(f"{name}_FILE={file} is empty")
    elif value:
        token = value
    elif env is Environment.PRODUCTION:
        raise InsecureSettingsError(
            f"production needs a service credential: set {name} or {name}_FILE "
            f"(at least {MIN_TOKEN_LENGTH} characters)"
        )
    else:
        return DEV_MONITOR_TOKEN
    if env is Environment.PRODUCTION:
        if token == DEV_MONITOR_TOKEN:
            raise InsecureSettingsError(
                f"production refuses the documented development token in {name}; "
                "set a real one through the environment"
            )
        if len(token) < MIN_TOKEN_LENGTH:
            raise InsecureSettingsError(
                f"{name} is {len(token)} characters; production needs at least {MIN_TOKEN_LENGTH}"
            )
    return token


def bearer_matches(*, authorization: str | None, token: str) -> bool:
    """True when an ``Authorization`` header carries exactly ``Bearer <token>``."""
    if not authorization:
        return False
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Constant time: the comparison must not reveal how much of a guess was right.
    return hmac.compare_digest(presented.strip().encode(), token.encode())
