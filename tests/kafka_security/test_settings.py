"""The Kafka security and topic layout settings: checks and the client keyword arguments."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError

from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs, describe
from churnwatch_shared.settings import CommonSettings


def test_plaintext_by_default_adds_nothing_but_the_protocol() -> None:
    assert client_kwargs(CommonSettings()) == {"security_protocol": "PLAINTEXT"}


def test_sasl_without_credentials_names_what_is_missing_and_never_echoes_the_password() -> None:
    with pytest.raises(ValidationError) as refused:
        CommonSettings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_password="s3cret-value",
        )
    text = str(refused.value)
    assert "CHURNWATCH_KAFKA_SASL_USERNAME" in text
    assert "s3cret-value" not in text


def test_unknown_mechanism_is_refused_with_the_accepted_ones() -> None:
    with pytest.raises(ValidationError) as refused:
        CommonSettings(kafka_sasl_mechanism="GSSAPI")
    assert "SCRAM-SHA-256" in str(refused.value)


def test_password_file_wins_and_is_stripped(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    common = CommonSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="u",
        kafka_sasl_password="from-env",
        kafka_sasl_password_file=secret,
    )
    kwargs = client_kwargs(common)
    assert kwargs["sasl_plain_password"] == "from-file"
    assert kwargs["sasl_mechanism"] == "PLAIN"
    assert "ssl_context" not in kwargs
    assert "from-env" not in repr(common) and "from-file" not in str(describe(common))


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        CommonSettings(kafka_security_protocol="SSL", kafka_ssl_cafile=tmp_path / "nope.pem")
    assert "CHURNWATCH_KAFKA_SSL_CAFILE" in str(refused.value)


def test_ssl_context_verifies_and_follows_check_hostname() -> None:
    strict = client_kwargs(CommonSettings(kafka_security_protocol="SSL"))["ssl_context"]
    assert isinstance(strict, ssl.SSLContext)
    assert strict.verify_mode is ssl.CERT_REQUIRED and strict.check_hostname
    lax = client_kwargs(
        CommonSettings(kafka_security_protocol="SSL", kafka_ssl_check_hostname=False)
    )["ssl_context"]
    assert lax.verify_mode is ssl.CERT_REQUIRED and not lax.check_hostname


def test_default_layout_is_todays_one_machine_layout() -> None:
    common = CommonSettings()
    for spec in topics.ALL_TOPICS:
        assert common.partitions(spec) == spec.partitions
        assert common.replication(spec.suffix) == 1
        assert common.topic_configs(spec.suffix, {})["min.insync.replicas"] == "1"


@pytest.mark.parametrize(("rf", "isr"), [(1, 1), (2, 1), (3, 2), (5, 2)])
def test_min_insync_follows_the_replication_factor(rf: int, isr: int) -> None:
    common = CommonSettings(kafka_replication_factor=rf)
    assert common.topic_configs("events.v1", {})["min.insync.replicas"] == str(isr)


def test_customer_partitions_move_every_customer_keyed_topic_together() -> None:
    common = CommonSettings(
        kafka_customer_partitions=16, kafka_topic_partitions={"events.dlq.v1": 3}
    )
    assert {common.partitions(spec) for spec in topics.CUSTOMER_KEYED} == {16}
    assert common.partitions(topics.DEAD_LETTER) == 3
    assert common.partitions(topics.ACCOUNT_OWNERS) == 1


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"kafka_topic_partitions": {"events.v1": 16}}, "CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS"),
        ({"kafka_topic_partitions": {"nope": 2}}, "accepted: account-owners.v1"),
        ({"kafka_min_insync_replicas": 2}, "exceeds the lowest replication factor"),
        ({"kafka_topic_replication": {"nope": 3}}, "accepted:"),
    ],
)
def test_bad_layouts_are_refused_clearly(overrides: dict, named: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CommonSettings(**overrides)
    assert named in str(refused.value)
