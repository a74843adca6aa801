"""OpenID Connect: the issuer's discovery and keys, ID-token checks, and claims → role and team.

The flow itself (authorize redirect with PKCE, state and nonce; code exchange) is in
``oidc_endpoints``; this module holds what it checks. An ID token is accepted only when its RS256
(or ES256) signature verifies with a key the issuer publishes under the token's ``kid``, ``iss``
is the configured issuer, ``aud`` contains our client id (and ``azp`` is ours when there are
several audiences), it has not expired, and ``nonce`` is the one this browser's sign-in sent.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from churnwatch_alerts.models import Role
from churnwatch_alerts.settings import AlertsSettings

ALGORITHMS = ["RS256", "ES256"]
DISCOVERY_TTL_SECONDS = 3600.0
LEEWAY_SECONDS = 30
_MANAGER_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")


class OidcError(Exception):
    """The sign-in cannot go on; ``status`` is the HTTP answer, the message says why."""

    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Identity:
    manager_id: str
    role: Role
    team_id: str | None
    branch_id: str | None
    subject: str


class Provider:
    """The configured issuer's metadata and signing keys, fetched on demand and cached."""

    def __init__(self, *, settings: AlertsSettings) -> None:
        self.settings = settings
        self.issuer = str(settings.oidc_issuer).rstrip("/")
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    async def _get_json(self, url: str, *, what: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.settings.oidc_timeout_seconds) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(
                f"the identity provider's {what} ({url}) is unavailable: {exc}", status=502
            ) from exc
        if not isinstance(data, dict):
            raise OidcError(
                f"the identity provider's {what} ({url}) is not a JSON object", status=502
            )
        return data

    async def metadata(self) -> dict[str, Any]:
        """The discovery document (``/.well-known/openid-configuration``), checked and cached."""
        if self._metadata is None or time.monotonic() - self._metadata_at > DISCOVERY_TTL_SECONDS:
            url = f"{self.issuer}/.well-known/openid-configuration"
            data = await self._get_json(url, what="discovery document")
            if str(data.get("issuer", "")).rstrip("/") != self.issuer:
                # OpenID Connect Discovery 1.0 section 4.3: the document must name this issuer.
                raise OidcError(
                    f"the discovery document names issuer {data.get('issuer')!r}, not the "
                    f"configured {self.issuer!r}",
                    status=502,
                )
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(data.get(key), str):
                    raise OidcError(f"the discovery document has no {key}", status=502)
            self._metadata, self._metadata_at = data, time.monotonic()
        return self._metadata

    async def _key_set(self, *, refresh: bool) -> KeySet:
        if self._keys is None or refresh:
            meta = await self.metadata()
            data = await self._get_json(meta["jwks_uri"], what="key set (JWKS)")
            try:
                self._keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise OidcError(
                    f"the identity provider's key set is invalid: {exc}", status=502
                ) from exc
        return self._keys

    async def _signing_key(self, kid: str | None) -> Any:
        for refresh in (False, True):  # a kid we do not know yet: the issuer may have rotated
            keys = await self._key_set(refresh=refresh)
            if kid is None and len(keys.keys) == 1:
                return keys.keys[0]
            for key in keys.keys:
                if key.kid == kid:
                    return key
        raise OidcError(f"the ID token's signing key id {kid!r} is not among the issuer's keys")

    async def verify_id_token(self, *, id_token: str, nonce: str, now: float) -> dict[str, Any]:
        """The claims of ``id_token`` after every check in the module docstring; else OidcError."""
        try:
            header = jws.extract_compact(id_token.encode()).headers()
        except (JoseError, ValueError) as exc:
            raise OidcError(f"the ID token is not a signed JWT: {exc}") from exc
        if header.get("alg") not in ALGORITHMS:
            raise OidcError(
                f"the ID token's algorithm {header.get('alg')!r} is not one of {ALGORITHMS}"
            )
        key = await self._signing_key(header.get("kid"))
        try:
            token = jwt.decode(id_token, key, algorithms=ALGORITHMS)
        except JoseError as exc:
            raise OidcError(f"the ID token's signature does not verify: {exc}") from exc
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            now=int(now),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": str(self.settings.oidc_client_id)},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OidcError(f"the ID token was refused: {exc}") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.oidc_client_id:
            raise OidcError("the ID token has several audiences and was not issued to us (azp)")
        return claims


def _claim(claims: dict[str, Any], name: str) -> Any:
    # Dotted names reach nested claims, e.g. "realm_access.roles" (Keycloak).
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _text_claim(claims: dict[str, Any], name: str | None) -> str | None:
    if name is None:
        return None
    value = _claim(claims, name)
    return value if isinstance(value, str) and _MANAGER_ID.match(value) else None


def map_identity(
    *, claims: dict[str, Any], settings: AlertsSettings, provider_name: str
) -> Identity:
    """Manager id, role (group → role mapping), team and branch from the token's claims."""
    manager_id = _text_claim(claims, settings.oidc_username_claim)
    if manager_id is None:
        raise OidcError(
            f"the {provider_name} account has no usable {settings.oidc_username_claim!r} claim "
            "(1-128 characters, no control characters) to name the ChurnWatch user",
            status=403,
        )
    raw = _claim(claims, settings.oidc_role_claim)
    groups = [raw] if isinstance(raw, str) else [g for g in raw or [] if isinstance(g, str)]
    roles = sorted({settings.oidc_role_map[g] for g in groups if g in settings.oidc_role_map})
    if not roles:
        raise OidcError(
            f"{manager_id} signed in with {provider_name}, but none of their groups in claim "
            f"{settings.oidc_role_claim!r} ({', '.join(groups) or 'none'}) is mapped to a "
            f"ChurnWatch role (mapped groups: {', '.join(sorted(settings.oidc_role_map))}); "
            "ask the identity team to add the account to one of them",
            status=403,
        )
    if len(roles) > 1:
        # Separation of duties: an auditor who is also a manager must not get either silently.
        raise OidcError(
            f"{manager_id}'s groups map to several ChurnWatch roles ({', '.join(roles)}); "
            "a user has exactly one role",
            status=403,
        )
    return Identity(
        manager_id=manager_id,
        role=roles[0],
        team_id=_text_claim(claims, settings.oidc_team_claim),
        branch_id=_text_claim(claims, settings.oidc_branch_claim),
        subject=str(claims["sub"]),
    )
