"""Alembic migrations, run from the packaged ``migrations`` folder on any supported URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

PACKAGE_DIR = Path(__file__).resolve().parent


def alembic_config(*, url: str | None = None) -> Config:
    """The packaged alembic.ini with its script location resolved and an optional URL."""
    config = Config(str(PACKAGE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade_on(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(*, engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` over the service's own engine."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade_on, revision)
