"""Settings every service shares (environment, Kafka, topic namespace, logging) and their checks."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from churnwatch_shared import topics
from churnwatch_shared.kafka_security import KafkaSecuritySettings
from churnwatch_shared.kafka_topology import KafkaTopologySettings


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class CommonSettings(KafkaSecuritySettings, KafkaTopologySettings, BaseSettings):
    """``CHURNWATCH_*`` variables read by every service (Kafka security and topic layout: mixins)."""

    # hide_input_in_errors: a refused setting must not print the SASL password beside it
    model_config = SettingsConfigDict(
        env_prefix="CHURNWATCH_", extra="ignore", hide_input_in_errors=True
    )

    env: Environment = Environment.DEVELOPMENT
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_namespace: str = Field(
        default="churnwatch",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,100}$",
        description="prefix of every topic name; tests use a fresh one per run",
    )
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def is_development(self) -> bool:
        return self.env is not Environment.PRODUCTION

    def topic(self, spec: topics.TopicSpec) -> str:
        return spec.name(self.topic_namespace)


class InsecureSettingsError(ValueError):
    """A production process was configured with a development credential."""


def refuse_dev_credentials(*, env: Environment, named: dict[str, bool]) -> None:
    """Raise when production uses any credential flagged as the documented development one.

    ``named`` maps a setting name to "this value is the development default".
    """
    if env is not Environment.PRODUCTION:
        return
    offenders = sorted(name for name, is_dev in named.items() if is_dev)
    if offenders:
        raise InsecureSettingsError(
            "production refuses the documented development credentials in: "
            + ", ".join(offenders)
            + "; set real values through the environment"
        )
