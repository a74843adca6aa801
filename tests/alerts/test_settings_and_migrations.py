"""Production refusals, and migrations on SQLite through ``python -m churnwatch_alerts migrate``."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared.settings import CommonSettings, Environment, InsecureSettingsError


def test_production_refuses_dev_jwt_secret_and_dev_logins() -> None:
    production = CommonSettings(env=Environment.PRODUCTION)
    with pytest.raises(InsecureSettingsError, match="CHURNWATCH_ALERTS_JWT_SECRET"):
        AlertsSettings(common=production, webhook_secret="w" * 40).check_production()
    with pytest.raises(InsecureSettingsError, match="CHURNWATCH_ALERTS_DEV_LOGINS"):
        AlertsSettings(
            common=production, jwt_secret="j" * 40, webhook_secret="w" * 40, dev_logins=True
        ).check_production()
    ok = AlertsSettings(
        common=production, jwt_secret="j" * 40, webhook_secret="w" * 40, monitor_token="m" * 40
    )
    ok.check_production()
    assert ok.seed_dev_logins is False
    assert AlertsSettings().seed_dev_logins is True


def test_env_prefix_and_default_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHURNWATCH_TOPIC_NAMESPACE", "nsx")
    monkeypatch.setenv("CHURNWATCH_ALERTS_PORT", "9123")
    settings = AlertsSettings()
    assert settings.port == 9123 and settings.effective_group_id == "nsx-alerts"


def test_migrate_command_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "alerts.db"
    env = {"CHURNWATCH_ALERTS_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "PATH": "/usr/bin:/bin"}
    for _ in range(2):  # idempotent
        subprocess.run(
            [sys.executable, "-m", "churnwatch_alerts", "migrate"], env=env, check=True, timeout=60
        )
    tables = {r[0] for r in sqlite3.connect(db).execute("select name from sqlite_master")}
    assert {
        "alerts",
        "assignments",
        "managers",
        "audit_log",
        "customer_state",
        "notifications",
        "delivery_log",
        "alembic_version",
    } <= tables
