"""Session fixtures on real infrastructure: the local Kafka broker and the local PostgreSQL.

Both are started by the project's own deploy/ scripts when they are not already running (the
Makefile starts them before pytest; these fixtures make a single test file runnable on its own).
Each test session works in fresh topic namespaces and a fresh database, so runs never see each
other's data.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.infra import create_database, ensure_kafka, ensure_postgres  # noqa: E402
from tests.support.private_broker import private_broker  # noqa: E402, F401 - a fixture

sys.path.insert(0, str(REPO / "deploy" / "kafka"))
from create_topics import create_topics, delete_namespaces  # noqa: E402

_NAMESPACES: set[str] = set()  # created by this session, deleted when it ends


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of the real local broker (started by deploy/kafka/kafka.sh if needed).

    At the end of the session the topics of every namespace it created are deleted, so repeated
    runs do not pile up partitions that the broker must load at its next start.
    """
    bootstrap = os.environ.get("CHURNWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    ensure_kafka(bootstrap)
    yield bootstrap
    if _NAMESPACES:
        asyncio.run(delete_namespaces(bootstrap=bootstrap, namespaces=_NAMESPACES))


def _new_namespace() -> str:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    _NAMESPACES.add(namespace)
    return namespace


@pytest.fixture(scope="session")
def topic_namespace(kafka_bootstrap: str) -> str:
    """A fresh topic namespace for this session, with every ChurnWatch topic created."""
    namespace = _new_namespace()
    asyncio.run(create_topics(bootstrap=kafka_bootstrap, namespace=namespace))
    return namespace


@pytest.fixture
def make_namespace(kafka_bootstrap: str) -> Callable[[], Awaitable[str]]:
    """Factory: ``await make_namespace()`` returns another fresh namespace with its topics."""

    async def make() -> str:
        namespace = _new_namespace()
        await create_topics(bootstrap=kafka_bootstrap, namespace=namespace)
        return namespace

    return make


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL (postgresql+asyncpg) of a fresh database on the real local PostgreSQL."""
    ensure_postgres()
    return create_database(f"cw_test_{uuid.uuid4().hex[:10]}")


@pytest.fixture
def make_database() -> Callable[[], str]:
    """Factory: another fresh PostgreSQL database URL, for tests that need an empty schema."""

    def make() -> str:
        ensure_postgres()
        return create_database(f"cw_test_{uuid.uuid4().hex[:10]}")

    return make
