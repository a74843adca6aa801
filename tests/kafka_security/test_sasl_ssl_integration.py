"""ChurnWatch over a SASL_SSL listener: certificates and SASL users made at test time.

A private broker (deploy/kafka/kafka.sh with CHURNWATCH_KAFKA_SASL_SSL_PORT) is started for the
module. The topic tool creates the namespace over SASL_SSL (SCRAM-SHA-512); ingest, the state
monitor and the alerts service run as real processes configured only through
CHURNWATCH_KAFKA_* (password from a file) and carry one event to the manager's alert list; a
producer and a consumer built with the shared helper talk over PLAIN and SCRAM-SHA-256; a wrong
password is refused with the broker's reason in the log and the password in no log line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.settings import CommonSettings
from tests.e2e.test_pipeline import RULE, event, post
from tests.support.infra import REPO
from tests.support.processes import LOG_DIR
from tests.support.secure_broker import SecureBroker, secure_broker  # noqa: F401 - a fixture
from tests.support.stack import running_services

sys.path.insert(0, str(REPO / "deploy" / "kafka"))
from create_topics import create_topics

pytestmark = pytest.mark.integration

USER = "churnwatch"


def security_env(broker: SecureBroker, *, mechanism: str, password_file: Path) -> dict[str, str]:
    return {
        "CHURNWATCH_KAFKA_BOOTSTRAP": broker.secure_bootstrap,
        "CHURNWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "CHURNWATCH_KAFKA_SASL_MECHANISM": mechanism,
        "CHURNWATCH_KAFKA_SASL_USERNAME": USER,
        "CHURNWATCH_KAFKA_SASL_PASSWORD_FILE": str(password_file),
        "CHURNWATCH_KAFKA_SSL_CAFILE": str(broker.tls.cafile),
    }


@pytest.fixture
def password_file(secure_broker: SecureBroker, tmp_path: Path) -> Path:  # noqa: F811
    path = tmp_path / "kafka.password"
    path.write_text(secure_broker.tls.users[USER] + "\n")  # a mounted secret ends in a newline
    return path


@pytest.fixture
def secured(
    secure_broker: SecureBroker,  # noqa: F811
    password_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, str]]:
    env = security_env(secure_broker, mechanism="SCRAM-SHA-512", password_file=password_file)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env


def test_the_services_carry_an_event_to_the_manager_over_sasl_ssl_with_scram(
    secure_broker: SecureBroker,  # noqa: F811
    secured: dict[str, str],
    tmp_path: Path,
) -> None:
    namespace = f"sec{uuid.uuid4().hex[:8]}"
    created = asyncio.run(
        create_topics(bootstrap=secure_broker.secure_bootstrap, namespace=namespace, attempts=3)
    )
    assert topics.EVENTS.name(namespace) in created
    customer = f"C-sec-{uuid.uuid4().hex[:8]}"
    outflow = event(
        customer,
        "transaction.posted",
        {
            "direction": "debit",
            "amount": "600000.00",
            "currency": "CNY",
            "channel": "online",
            "category": "interbank_transfer",
            "counterparty_bank": "ICBKCNBJ",
            "counterparty_is_own_bank": False,
            "balance_after": "400000.00",
        },
        account_id="A-sec-1",
    )
    database = f"sqlite+aiosqlite:///{tmp_path / 'alerts.db'}"
    started = time.time()
    with (
        running_services(
            names=("alerts", "monitor", "ingest"),
            bootstrap=secure_broker.secure_bootstrap,
            namespace=namespace,
            data_dir=tmp_path,
            env={
                "alerts": {**secured, "CHURNWATCH_ALERTS_DATABASE_URL": database},
                "monitor": secured,
                "ingest": secured,
            },
            label="sasl-ssl",
        ) as urls,
        httpx.Client(timeout=10) as client,
    ):
        assigned = event(
            customer, "customer.assigned", {"relationship_manager_id": "rm.demo", "branch_id": "B1"}
        )
        for body in (assigned, outflow):
            answer = post(client, urls["ingest"], body)
            assert answer.status_code == 202, answer.text
        login = client.post(
            f"{urls['alerts']}/v1/auth/login", json={"username": "rm.demo", "password": "demo-only"}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        deadline = time.monotonic() + 60
        mine: list[dict] = []
        while not mine and time.monotonic() < deadline:
            listed = client.get(f"{urls['alerts']}/v1/alerts", headers=headers).json()
            items = listed["items"] if isinstance(listed, dict) else listed
            mine = [a for a in items if a["customer_id"] == customer]
            time.sleep(0.3)
        assert [a["rule_id"] for a in mine] == [RULE], "the alert never crossed SASL_SSL"
    logs = [p for p in LOG_DIR.glob("sasl-ssl-*.log") if p.stat().st_mtime >= started]
    assert len(logs) == 3
    for log_file in logs:
        assert secure_broker.tls.users[USER] not in log_file.read_text(), log_file


async def _round_trip(*, bootstrap: str, common: CommonSettings, topic: str) -> list[bytes]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **client_kwargs(common)
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=b"k", value=b"over " + topic.encode())
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"rt-{uuid.uuid4().hex[:6]}",
        **client_kwargs(common),
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=10_000)
        return [r.value for records in batch.values() for r in records]
    finally:
        await consumer.stop()


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_plain_and_scram_sha_256_clients_round_trip(
    secure_broker: SecureBroker,  # noqa: F811
    password_file: Path,
    mechanism: str,
) -> None:
    env = security_env(secure_broker, mechanism=mechanism, password_file=password_file)
    common = CommonSettings(**{k.removeprefix("CHURNWATCH_").lower(): v for k, v in env.items()})
    namespace = f"sec{uuid.uuid4().hex[:8]}"
    asyncio.run(
        create_topics(
            bootstrap=secure_broker.secure_bootstrap, namespace=namespace, attempts=3, common=common
        )
    )
    topic = topics.EVENTS.name(namespace)
    values = asyncio.run(
        _round_trip(bootstrap=secure_broker.secure_bootstrap, common=common, topic=topic)
    )
    assert values == [b"over " + topic.encode()]


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_a_wrong_password_is_refused_with_the_brokers_reason(
    secure_broker: SecureBroker,  # noqa: F811
    tmp_path: Path,
    mechanism: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = f"not-{uuid.uuid4().hex}"
    (tmp_path / "wrong").write_text(wrong)
    env = security_env(secure_broker, mechanism=mechanism, password_file=tmp_path / "wrong")
    common = CommonSettings(**{k.removeprefix("CHURNWATCH_").lower(): v for k, v in env.items()})
    caplog.set_level(logging.INFO)
    with pytest.raises(KafkaConnectionError):
        asyncio.run(
            create_topics(
                bootstrap=secure_broker.secure_bootstrap,
                namespace="never",
                attempts=1,
                common=common,
            )
        )
    reasons = [
        r.getMessage() for r in caplog.records if "SaslAuthenticationFailed" in r.getMessage()
    ]
    assert reasons, "the broker's refusal was not logged"
    assert any(
        word in reasons[0] for word in ("invalid credentials", "Invalid username or password")
    )
    assert all(wrong not in r.getMessage() for r in caplog.records)
    assert wrong not in repr(common) and wrong not in str(os.environ)
