"""Ingest settings: ``CHURNWATCH_INGEST_*`` composed with the common ``CHURNWATCH_*``."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from churnwatch_shared.events import EventType
from churnwatch_shared.money import Identifier
from churnwatch_shared.settings import CommonSettings, Environment

ALL_EVENT_TYPES: Final = "*"
# Scopes beyond sending events. accounts:write may re-point an account (and so its future camt
# and Fineract transactions) to another customer, so no key has it unless granted.
ACCOUNTS_WRITE: Final = "accounts:write"
ProducerScope = Literal["accounts:write"]


class ProducerConfig(BaseModel):
    """One upstream producer: its identity, the hash of its API key and the types it may send."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    producer: Identifier
    key_hash: str = Field(
        min_length=8, description='"sha256:<64 hex>" or an argon2 PHC string ("$argon2id$...")'
    )
    event_types: tuple[EventType | Literal["*"], ...] = Field(min_length=1)
    scopes: tuple[ProducerScope, ...] = Field(
        default=(), description='extra rights: "accounts:write" = PUT /v1/accounts/{id}/owner'
    )


class IngestSettings(BaseSettings):
    """One settings object for the ingest service (env prefix ``CHURNWATCH_INGEST_``)."""

    model_config = SettingsConfigDict(env_prefix="CHURNWATCH_INGEST_", extra="ignore")

    common: CommonSettings = Field(default_factory=CommonSettings)

    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=0, le=65535)

    producers: list[ProducerConfig] = Field(
        default_factory=list,
        description=(
            "JSON list, e.g. "
            '[{"producer": "core-banking", "key_hash": "sha256:<hex>", '
            '"event_types": ["transaction.posted"]}]; "*" allows every type; '
            '"scopes": ["accounts:write"] allows PUT /v1/accounts/{id}/owner'
        ),
    )
    dev_producer: bool | None = Field(
        default=None,
        description="accept the documented development key; default on outside production",
    )

    max_event_bytes: int = Field(default=64 * 1024, gt=0, description="POST /v1/events body cap")
    max_batch_bytes: int = Field(default=5 * 1024 * 1024, gt=0, description="batch body cap")
    max_batch_items: int = Field(default=5000, gt=0, description="events per batch")
    max_future_skew_seconds: float = Field(
        default=300.0, ge=0, description="how far occurred_at may lie ahead of the ingest clock"
    )

    produce_timeout_seconds: float = Field(
        default=10.0, gt=0, description="wait this long for the broker's ack before a 503"
    )
    retry_after_seconds: int = Field(default=5, ge=1, description="Retry-After on a 503")
    # aiokafka keeps one produce request in flight per broker, so linger adds straight to every
    # single-event ack; measured here: p50 60 ms at linger 5 vs 3 ms at linger 1, batch rate equal.
    linger_ms: int = Field(default=1, ge=0)
    max_batch_size_bytes: int = Field(default=256 * 1024, gt=0, description="Kafka batch.size")
    request_timeout_ms: int = Field(default=15000, gt=0, description="Kafka client request timeout")
    connect_retry_seconds: float = Field(default=2.0, gt=0, description="broker reconnect backoff")

    duplicate_cache_size: int = Field(
        default=200_000, ge=0, description="recent (producer, event_id) pairs remembered; 0 = off"
    )
    duplicate_cache_warmup_seconds: float = Field(
        default=20.0,
        ge=0,
        description="time budget to refill the cache from the events topic; 0 = off",
    )

    raw_validator_enabled: bool = Field(
        default=True, description="validate the raw topic into the events topic / dead letters"
    )
    raw_group_id: str | None = Field(
        default=None, description='consumer group; default f"{namespace}-ingest-raw-validator"'
    )
    raw_max_records: int = Field(default=1000, gt=0, description="raw records per poll")

    account_owners_enabled: bool = Field(
        default=True,
        description="keep the account -> customer index (needed by the camt and Fineract adapters)",
    )
    own_bics: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        description=(
            "comma-separated BICs of our own bank (first 8 characters compared); camt entries "
            "whose counterparty agent is another BIC are interbank"
        ),
    )
    fineract_enabled: bool = Field(default=False, description="run the Fineract event bridge")
    fineract_topic: str = Field(
        default="external-events", description="Fineract's external-event topic (not namespaced)"
    )
    fineract_group_id: str | None = Field(
        default=None, description='consumer group; default f"{namespace}-ingest-fineract"'
    )
    fineract_default_currency: str = Field(
        default="USD", pattern=r"^[A-Z]{3}$", description="currency of loan.disbursed events"
    )
    fineract_overdue_event_days: int = Field(
        default=1, ge=1, description="days_past_due reported for LoanRepaymentOverdue events"
    )

    @field_validator("own_bics", mode="before")
    @classmethod
    def _split_bics(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(b.strip().upper() for b in value.split(",") if b.strip())
        return value

    @property
    def env(self) -> Environment:
        return self.common.env

    @property
    def accept_dev_producer(self) -> bool:
        if self.dev_producer is None:
            return self.common.env is not Environment.PRODUCTION
        return self.dev_producer

    @property
    def effective_raw_group_id(self) -> str:
        return self.raw_group_id or f"{self.common.topic_namespace}-ingest-raw-validator"

    @property
    def effective_fineract_group_id(self) -> str:
        return self.fineract_group_id or f"{self.common.topic_namespace}-ingest-fineract"
