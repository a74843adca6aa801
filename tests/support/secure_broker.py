"""A private broker with a SASL_SSL listener: TLS material and SASL users made at test time.

The certificates (a throw-away CA and the broker's certificate for 127.0.0.1/localhost) are made
with ``cryptography``; the broker is the project's deploy/kafka/kafka.sh with
CHURNWATCH_KAFKA_SASL_SSL_PORT set (SCRAM users written at format time, PLAIN via JAAS). Nothing is
downloaded; the shared broker on 9092 is never touched.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from tests.support.infra import LOCAL
from tests.support.private_broker import PrivateBroker
from tests.support.processes import free_port


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _cert(
    *,
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    signer: ec.EllipticCurvePrivateKey,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())


@dataclass(frozen=True)
class TlsMaterial:
    """The CA clients trust, the broker's keystore and the SASL users."""

    cafile: Path
    keystore: Path
    keystore_password_file: Path
    users_file: Path
    users: dict[str, str]


def make_tls_material(directory: Path, *, users: dict[str, str]) -> TlsMaterial:
    """Write a CA, a broker PKCS12 keystore signed by it, and a users file under ``directory``."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(
        subject="churnwatch-test-ca",
        key=ca_key,
        issuer="churnwatch-test-ca",
        signer=ca_key,
        ca=True,
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker = _cert(
        subject="localhost", key=broker_key, issuer="churnwatch-test-ca", signer=ca_key, ca=False
    )
    password = secrets.token_hex(16)
    cafile = directory / "ca.pem"
    cafile.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    keystore = directory / "broker.p12"
    keystore.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"broker",
            broker_key,
            broker,
            [ca],
            serialization.BestAvailableEncryption(password.encode()),
        )
    )
    password_file = directory / "keystore.password"
    password_file.write_text(password)
    users_file = directory / "users"
    users_file.write_text("".join(f"{u} {p}\n" for u, p in users.items()))
    for path in (keystore, password_file, users_file):
        path.chmod(0o600)
    return TlsMaterial(cafile, keystore, password_file, users_file, dict(users))


class SecureBroker(PrivateBroker):
    """A private broker with PLAINTEXT (for set-up) and SASL_SSL listeners."""

    def __init__(self, *, users: dict[str, str]) -> None:
        super().__init__()
        self.tls = make_tls_material(self.dir, users=users)
        self.secure_port = free_port()
        self.secure_bootstrap = f"127.0.0.1:{self.secure_port}"
        self.env.update(
            CHURNWATCH_KAFKA_SASL_SSL_PORT=str(self.secure_port),
            CHURNWATCH_KAFKA_SSL_KEYSTORE=str(self.tls.keystore),
            CHURNWATCH_KAFKA_SSL_KEYSTORE_PASSWORD_FILE=str(self.tls.keystore_password_file),
            CHURNWATCH_KAFKA_SASL_USERS_FILE=str(self.tls.users_file),
        )


@pytest.fixture(scope="module")
def secure_broker() -> Iterator[SecureBroker]:
    if not (LOCAL / "kafka" / "lib" / ".version").exists():
        pytest.skip("no cached Kafka jars under .local/kafka/lib (run deploy/kafka/kafka.sh fetch)")
    broker = SecureBroker(users={"churnwatch": secrets.token_urlsafe(18)})
    try:
        broker.run("start")
        yield broker
    finally:
        broker.delete()
