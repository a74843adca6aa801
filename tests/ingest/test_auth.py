"""Producer API keys: hashed, scoped to event types, development key refused in production."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from churnwatch_ingest.auth import (
    DEV_API_KEY,
    argon2_key_hash,
    build_registry,
    sha256_key_hash,
)
from churnwatch_ingest.settings import IngestSettings, ProducerConfig
from churnwatch_shared.settings import CommonSettings, Environment, InsecureSettingsError
from tests.ingest.conftest import DEV_HEADERS, complaint, transaction

CORE_KEY = "core-banking-key-0123456789abcdef"
CRM_KEY = "crm-key-fedcba9876543210"
PRODUCERS = [
    ProducerConfig(
        producer="core-banking",
        key_hash=sha256_key_hash(CORE_KEY),
        event_types=("transaction.posted", "balance.snapshot"),
    ),
    ProducerConfig(producer="crm", key_hash=argon2_key_hash(CRM_KEY), event_types=("*",)),
]


@pytest.mark.integration
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic eA=="},
    ],
    ids=["none", "bad-key", "bad-bearer", "basic"],
)
async def test_missing_or_invalid_key_is_401(
    start_ingest: Callable[..., Any], make_settings: Callable[..., IngestSettings], headers: dict
) -> None:
    ingest = await start_ingest(make_settings(producers=PRODUCERS))
    for path in ("/v1/events", "/v1/events/batch"):
        response = await ingest.client.post(path, json=transaction(), headers=headers)
        assert response.status_code == 401, response.text
        assert "WWW-Authenticate" in response.headers


@pytest.mark.integration
async def test_scopes_allow_only_configured_event_types(
    start_ingest: Callable[..., Any], make_settings: Callable[..., IngestSettings]
) -> None:
    ingest = await start_ingest(make_settings(producers=PRODUCERS, dev_producer=False))
    core = {"X-API-Key": CORE_KEY}
    allowed = await ingest.client.post("/v1/events", json=transaction(), headers=core)
    assert allowed.status_code == 202, allowed.text
    forbidden = await ingest.client.post("/v1/events", json=complaint(), headers=core)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "event_type_not_allowed"
    assert set(forbidden.json()["errors"][0]["accepted"]) == {
        "transaction.posted",
        "balance.snapshot",
    }
    batch = await ingest.client.post(
        "/v1/events/batch", json=[transaction(), complaint()], headers=core
    )
    assert [r["status"] for r in batch.json()["results"]] == ["accepted", "rejected"]
    # argon2-hashed key, every type
    crm = await ingest.client.post("/v1/events", json=complaint(), headers={"X-API-Key": CRM_KEY})
    assert crm.status_code == 202, crm.text
    # the development key is off when disabled
    dev = await ingest.client.post("/v1/events", json=complaint(), headers=DEV_HEADERS)
    assert dev.status_code == 401


def _settings(env: Environment, **overrides: Any) -> IngestSettings:
    return IngestSettings(common=CommonSettings(env=env), **overrides)


def test_registry_resolves_hashed_keys() -> None:
    registry = build_registry(settings=_settings(Environment.TEST, producers=PRODUCERS))
    assert registry.authenticate(CORE_KEY).name == "core-banking"
    assert registry.authenticate(CRM_KEY).name == "crm"
    assert registry.authenticate(CRM_KEY).name == "crm"  # cached argon2 match
    assert registry.authenticate(DEV_API_KEY).name == "dev-producer"
    assert registry.authenticate("guess") is None
    assert registry.authenticate(None) is None


def test_production_refuses_the_development_key() -> None:
    with pytest.raises(InsecureSettingsError):
        build_registry(
            settings=_settings(Environment.PRODUCTION, producers=PRODUCERS, dev_producer=True)
        )
    leaked = ProducerConfig(producer="x", key_hash=sha256_key_hash(DEV_API_KEY), event_types=("*",))
    with pytest.raises(InsecureSettingsError):
        build_registry(settings=_settings(Environment.PRODUCTION, producers=[leaked]))
    registry = build_registry(settings=_settings(Environment.PRODUCTION, producers=PRODUCERS))
    assert registry.authenticate(DEV_API_KEY) is None
    with pytest.raises(ValueError, match="empty"):
        build_registry(settings=_settings(Environment.PRODUCTION))


def test_bad_key_hash_is_refused_at_start() -> None:
    bad = ProducerConfig(producer="x", key_hash="plain-text-key", event_types=("*",))
    with pytest.raises(ValueError, match="key_hash"):
        build_registry(settings=_settings(Environment.TEST, producers=[bad]))


def test_producers_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CHURNWATCH_INGEST_PRODUCERS",
        f'[{{"producer": "core-banking", "key_hash": "{sha256_key_hash(CORE_KEY)}", '
        '"event_types": ["transaction.posted"]}]',
    )
    settings = IngestSettings()
    assert settings.producers[0].producer == "core-banking"
    assert build_registry(settings=settings).authenticate(CORE_KEY).name == "core-banking"


def test_hash_key_command_prints_the_configurable_hash() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "churnwatch_ingest", "hash-key", CORE_KEY],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert out == sha256_key_hash(CORE_KEY)
