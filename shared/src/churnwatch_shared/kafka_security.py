"""Kafka TLS and SASL settings (``CHURNWATCH_KAFKA_*``) and the one helper every client uses.

Every Kafka client of every service and tool is built with ``client_kwargs(common)`` spread into
its constructor, so a cluster that needs TLS or SASL is configured once, through the environment
(or mounted files for the secrets), for ingest, the state monitor, the alerts intake and the
tools alike. Secrets are ``SecretStr`` (masked in reprs and logs) and read from their ``*_FILE``
at the moment a client is built, so a rotated mounted secret is picked up by the next client.
"""

from __future__ import annotations

import ssl
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class SaslMechanism(StrEnum):
    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


class KafkaSecuritySettings(BaseSettings):
    """How the Kafka clients authenticate and encrypt (mixed into ``CommonSettings``)."""

    kafka_security_protocol: SecurityProtocol = Field(
        default=SecurityProtocol.PLAINTEXT,
        description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (every Kafka client)",
    )
    kafka_sasl_mechanism: SaslMechanism | None = Field(
        default=None,
        description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; required with a SASL_* protocol",
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (never logged); prefer the _FILE form"
    )
    kafka_sasl_password_file: Path | None = Field(
        default=None,
        description="file holding the SASL password (a mounted secret); wins over "
        "CHURNWATCH_KAFKA_SASL_PASSWORD",
    )
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="PEM CA bundle that signed the brokers' certificates; unset: the system CAs",
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="PEM client certificate (mutual TLS); unset: none"
    )
    kafka_ssl_keyfile: Path | None = Field(
        default=None, description="PEM private key of the client certificate"
    )
    kafka_ssl_keyfile_password_file: Path | None = Field(
        default=None, description="file holding the password of an encrypted client key"
    )
    kafka_ssl_check_hostname: bool = Field(
        default=True,
        description="check the broker certificate's name against the host connected to",
    )

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSecuritySettings:
        protocol = self.kafka_security_protocol
        where = "CHURNWATCH_KAFKA_SECURITY_PROTOCOL=" + protocol.value
        if protocol in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL):
            missing = [
                name
                for name, value in (
                    ("CHURNWATCH_KAFKA_SASL_MECHANISM", self.kafka_sasl_mechanism),
                    ("CHURNWATCH_KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                    (
                        "CHURNWATCH_KAFKA_SASL_PASSWORD or CHURNWATCH_KAFKA_SASL_PASSWORD_FILE",
                        self.kafka_sasl_password or self.kafka_sasl_password_file,
                    ),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"{where} needs {', '.join(missing)}")
        if protocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL):
            if self.kafka_ssl_certfile is None and self.kafka_ssl_keyfile is not None:
                raise ValueError("CHURNWATCH_KAFKA_SSL_KEYFILE needs CHURNWATCH_KAFKA_SSL_CERTFILE")
            for name, path in (
                ("CHURNWATCH_KAFKA_SSL_CAFILE", self.kafka_ssl_cafile),
                ("CHURNWATCH_KAFKA_SSL_CERTFILE", self.kafka_ssl_certfile),
                ("CHURNWATCH_KAFKA_SSL_KEYFILE", self.kafka_ssl_keyfile),
                (
                    "CHURNWATCH_KAFKA_SSL_KEYFILE_PASSWORD_FILE",
                    self.kafka_ssl_keyfile_password_file,
                ),
            ):
                if path is not None and not path.is_file():
                    raise ValueError(f"{name}: no readable file at {str(path)!r}")
        if (
            self.kafka_sasl_password_file is not None
            and not self.kafka_sasl_password_file.is_file()
        ):
            raise ValueError(
                "CHURNWATCH_KAFKA_SASL_PASSWORD_FILE: no readable file at "
                f"{str(self.kafka_sasl_password_file)!r}"
            )
        return self

    def sasl_password(self) -> str | None:
        """The SASL password: the file's content (stripped) when set, else the variable."""
        if self.kafka_sasl_password_file is not None:
            return self.kafka_sasl_password_file.read_text().strip()
        if self.kafka_sasl_password is not None:
            return self.kafka_sasl_password.get_secret_value()
        return None

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context from the CA, certificate and key settings."""
        from aiokafka.helpers import create_ssl_context

        key_password = (
            self.kafka_ssl_keyfile_password_file.read_text().strip()
            if self.kafka_ssl_keyfile_password_file is not None
            else None
        )
        context: ssl.SSLContext = create_ssl_context(
            cafile=self.kafka_ssl_cafile,
            certfile=self.kafka_ssl_certfile,
            keyfile=self.kafka_ssl_keyfile,
            password=key_password,
        )
        if self.kafka_ssl_cafile is None:
            context.load_default_certs()  # a public CA signed the brokers' certificates
        context.check_hostname = self.kafka_ssl_check_hostname
        return context


def client_kwargs(common: KafkaSecuritySettings | None = None) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin): protocol, SASL, TLS.

    ``common`` defaults to ``CommonSettings()`` read from the environment (tools and helpers that
    are handed only a bootstrap address). The result holds the password: never log it.
    """
    if common is None:
        from churnwatch_shared.settings import CommonSettings

        common = CommonSettings()
    protocol = common.kafka_security_protocol
    kwargs: dict[str, Any] = {"security_protocol": protocol.value}
    if protocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL):
        kwargs["ssl_context"] = common.ssl_context()
    if protocol in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL):
        assert common.kafka_sasl_mechanism is not None  # the validator requires it
        kwargs["sasl_mechanism"] = common.kafka_sasl_mechanism.value
        kwargs["sasl_plain_username"] = common.kafka_sasl_username
        kwargs["sasl_plain_password"] = common.sasl_password()
    return kwargs


def describe(common: KafkaSecuritySettings) -> dict[str, str | None]:
    """What may be logged about the Kafka security settings: no password, no key."""
    return {
        "security_protocol": common.kafka_security_protocol.value,
        "sasl_mechanism": common.kafka_sasl_mechanism.value
        if common.kafka_sasl_mechanism
        else None,
        "sasl_username": common.kafka_sasl_username,
    }


__all__ = [
    "KafkaSecuritySettings",
    "SaslMechanism",
    "SecurityProtocol",
    "client_kwargs",
    "describe",
]
