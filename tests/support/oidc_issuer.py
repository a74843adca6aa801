"""A small, real OpenID Connect issuer for tests, served by uvicorn on 127.0.0.1.

Discovery document, JWKS, an authorize endpoint that signs in whoever the test put in
``next_user`` (no login form) and redirects back with a code, and a token endpoint that checks
the client's credentials, the redirect URI and the PKCE verifier (S256) before it returns an
RS256 ID token signed with a key generated when the issuer starts. Knobs let a test break one
thing in the next ID token (claims overridden, a key id the JWKS lacks, a flipped signature).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.processes import free_port


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str
    user: dict[str, Any]


@dataclass
class LocalIssuer:
    client_id: str
    client_secret: str
    redirect_uri: str
    port: int = field(default_factory=free_port)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    rogue_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "rogue"}))
    next_user: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    sign_with_rogue_key: bool = False
    tamper_signature: bool = False
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def discovery(self, _: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    def jwks(self, _: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != self.client_id or q.get("redirect_uri") != self.redirect_uri:
            return JSONResponse({"error": "invalid_client_or_redirect_uri"}, status_code=400)
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "unsupported_request"}, status_code=400)
        if "openid" not in (q.get("scope") or "").split() or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            nonce=q.get("nonce"),
            challenge=str(q["code_challenge"]),
            user=dict(self.next_user),
        )
        back = {"code": code, "state": q.get("state", "")}
        return RedirectResponse(f"{self.redirect_uri}?{urlencode(back)}", status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        basic = request.headers.get("authorization", "")
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if basic != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.grants.pop(str(form.get("code")), None)  # a code is good once
        if grant is None or form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant", "why": "redirect_uri"}, status_code=400)
        digest = hashlib.sha256(str(form.get("code_verifier", "")).encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return JSONResponse({"error": "invalid_grant", "why": "pkce"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            **grant.user,
            **self.overrides,
        }
        key = self.rogue_key if self.sign_with_rogue_key else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        if self.tamper_signature:
            head, payload, sig = id_token.split(".")
            raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
            raw[0] ^= 0x01
            id_token = ".".join(
                [head, payload, base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()]
            )
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }
        )

    def start(self) -> LocalIssuer:
        """Serve on 127.0.0.1:``port`` in a thread; returns once it accepts connections."""
        app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the test OIDC issuer did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
