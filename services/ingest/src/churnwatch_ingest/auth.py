"""Producer authentication: API keys stored only as hashes, each scoped to some event types.

Beyond event types a key may hold scopes (``ProducerConfig.scopes``): ``accounts:write`` is needed
to set an account's owner, which decides the customer of that account's future camt and Fineract
transactions. The development producer holds it, so the local demo can map its accounts.

Keys are configured as ``sha256:<hex>`` (fast; right for long random keys) or as an argon2 PHC
string. An argon2 match is remembered by the key's SHA-256 digest for the life of the process, so
a producer pays the argon2 cost once, not per request. Plain keys are never stored or logged.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from churnwatch_ingest.settings import (
    ACCOUNTS_WRITE,
    ALL_EVENT_TYPES,
    IngestSettings,
    ProducerConfig,
)
from churnwatch_shared.events import EventType
from churnwatch_shared.settings import Environment, refuse_dev_credentials

DEV_PRODUCER = "dev-producer"
DEV_API_KEY = "cw-dev-producer-key"  # documented development key; refused in production
_SHA256_PREFIX = "sha256:"
_ARGON2_CACHE_SIZE = 1024


def sha256_key_hash(api_key: str) -> str:
    """The ``sha256:<hex>`` form of an API key, as configured in CHURNWATCH_INGEST_PRODUCERS."""
    return _SHA256_PREFIX + hashlib.sha256(api_key.encode()).hexdigest()


def argon2_key_hash(api_key: str) -> str:
    """An argon2id PHC string for an API key (slower to brute-force than SHA-256)."""
    return PasswordHasher().hash(api_key)


@dataclass(frozen=True, slots=True)
class Producer:
    """An authenticated producer and the event types it may send."""

    name: str
    event_types: frozenset[EventType]
    scopes: frozenset[str] = frozenset()

    def may_send(self, event_type: str) -> bool:
        return event_type in self.event_types

    def has_scope(self, scope: str) -> bool:
        """True when the key was granted ``scope`` (e.g. ``accounts:write``)."""
        return scope in self.scopes


class ProducerRegistry:
    """Resolves an API key to its producer; unknown keys resolve to None."""

    def __init__(self, *, producers: list[ProducerConfig]) -> None:
        self._by_sha256: dict[str, Producer] = {}
        self._argon2: list[tuple[str, Producer]] = []
        self._argon2_hits: OrderedDict[str, Producer] = OrderedDict()
        self._hasher = PasswordHasher()
        for config in producers:
            types = (
                frozenset(EventType)
                if ALL_EVENT_TYPES in config.event_types
                else frozenset(EventType(t) for t in config.event_types)
            )
            producer = Producer(
                name=config.producer, event_types=types, scopes=frozenset(config.scopes)
            )
            if config.key_hash.startswith(_SHA256_PREFIX):
                digest = config.key_hash[len(_SHA256_PREFIX) :].lower()
                if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                    raise ValueError(f"producer {config.producer}: key_hash is not sha256:<64 hex>")
                self._by_sha256[digest] = producer
            elif config.key_hash.startswith("$argon2"):
                self._argon2.append((config.key_hash, producer))
            else:
                raise ValueError(
                    f"producer {config.producer}: key_hash must be 'sha256:<hex>' or an argon2 hash"
                )

    @property
    def producer_names(self) -> list[str]:
        return sorted(
            {p.name for p in self._by_sha256.values()} | {p.name for _, p in self._argon2}
        )

    def authenticate(self, api_key: str | None) -> Producer | None:
        """The producer owning ``api_key``, or None when the key is missing or unknown."""
        if not api_key:
            return None
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        producer = self._by_sha256.get(digest)
        if producer is not None:
            return producer
        cached = self._argon2_hits.get(digest)
        if cached is not None:
            return cached
        for phc, candidate in self._argon2:
            try:
                self._hasher.verify(phc, api_key)
            except (VerificationError, InvalidHashError):
                continue
            self._argon2_hits[digest] = candidate
            while len(self._argon2_hits) > _ARGON2_CACHE_SIZE:
                self._argon2_hits.popitem(last=False)
            return candidate
        return None

    def has_dev_key(self) -> bool:
        """True when the documented development key would be accepted."""
        return self.authenticate(DEV_API_KEY) is not None


def build_registry(*, settings: IngestSettings) -> ProducerRegistry:
    """Producers from settings plus, outside production, the documented development producer."""
    configs = list(settings.producers)
    if settings.accept_dev_producer:
        configs.append(
            ProducerConfig(
                producer=DEV_PRODUCER,
                key_hash=sha256_key_hash(DEV_API_KEY),
                event_types=(ALL_EVENT_TYPES,),
                scopes=(ACCOUNTS_WRITE,),
            )
        )
    registry = ProducerRegistry(producers=configs)
    refuse_dev_credentials(
        env=settings.env,
        named={
            "CHURNWATCH_INGEST_DEV_PRODUCER": settings.accept_dev_producer,
            "CHURNWATCH_INGEST_PRODUCERS (development key)": registry.has_dev_key(),
        },
    )
    if settings.env is Environment.PRODUCTION and not registry.producer_names:
        # Not a credential problem, but a production gateway nobody can call is a misconfiguration.
        raise ValueError("CHURNWATCH_INGEST_PRODUCERS is empty: no producer could authenticate")
    return registry


def api_key_from_headers(*, x_api_key: str | None, authorization: str | None) -> str | None:
    """The presented key: ``X-API-Key`` or ``Authorization: Bearer <key>``."""
    if x_api_key:
        return x_api_key.strip()
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None
