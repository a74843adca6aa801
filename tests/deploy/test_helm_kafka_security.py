"""The chart's Kafka security and topic layout values reach every Kafka client, secrets as files."""

from __future__ import annotations

import pytest

from tests.deploy.test_helm_chart import COMPONENTS, container, env_of, objects, workload

MOUNT = "/run/secrets/churnwatch-kafka"


def _clients(which: str) -> list[dict]:
    return [workload(which, c) for c in COMPONENTS] + objects(which, "Job")


def test_default_values_keep_plaintext_and_one_machine_layout() -> None:
    for obj in _clients("default"):
        env = env_of(obj)
        assert env["CHURNWATCH_KAFKA_SECURITY_PROTOCOL"]["value"] == "PLAINTEXT"
        assert env["CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS"]["value"] == "8"
        assert env["CHURNWATCH_KAFKA_REPLICATION_FACTOR"]["value"] == "1"
        assert not any(n.startswith("CHURNWATCH_KAFKA_SASL") for n in env)
        volumes = obj["spec"]["template"]["spec"].get("volumes", [])
        assert "kafka-secrets" not in {v["name"] for v in volumes}


@pytest.mark.parametrize("component", [*COMPONENTS, "topics"])
def test_sasl_ssl_values_reach_every_client_with_the_password_as_a_mounted_file(
    component: str,
) -> None:
    obj = (
        objects("external", "Job")[0] if component == "topics" else workload("external", component)
    )
    env = env_of(obj)
    assert env["CHURNWATCH_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    assert env["CHURNWATCH_KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
    assert env["CHURNWATCH_KAFKA_REPLICATION_FACTOR"]["value"] == "3"
    assert "CHURNWATCH_KAFKA_SASL_PASSWORD" not in env  # only the _FILE form
    for name in ("CHURNWATCH_KAFKA_SASL_PASSWORD_FILE", "CHURNWATCH_KAFKA_SSL_CAFILE"):
        assert env[name]["value"].startswith(MOUNT + "/"), name
    mounts = {m["name"]: m for m in container(obj)["volumeMounts"]}
    assert mounts["kafka-secrets"]["mountPath"] == MOUNT and mounts["kafka-secrets"]["readOnly"]
    (volume,) = [
        v for v in obj["spec"]["template"]["spec"]["volumes"] if v["name"] == "kafka-secrets"
    ]
    assert {i["key"] for i in volume["secret"]["items"]} == {"kafka-sasl-password", "kafka-ca.pem"}
