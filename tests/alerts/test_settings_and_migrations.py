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


def test_display_time_zone_is_an_iana_name_else_the_calendars(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHURNWATCH_ALERTS_DISPLAY_TIME_ZONE", "Asia/Shanghia")
    with pytest.raises(ValueError, match=r"unknown time zone 'Asia/Shanghia' \(an IANA name"):
        AlertsSettings()
    monkeypatch.delenv("CHURNWATCH_ALERTS_DISPLAY_TIME_ZONE")
    assert AlertsSettings().display_zone is None  # no calendar either: each moment's own offset
    calendar = tmp_path / "calendar.yaml"
    calendar.write_text('version: "t"\ndefault:\n  time_zone: Europe/Prague\n')
    assert str(AlertsSettings(business_calendar_file=calendar).display_zone) == "Europe/Prague"
    both = AlertsSettings(business_calendar_file=calendar, display_time_zone="Asia/Shanghai")
    assert str(both.display_zone) == "Asia/Shanghai"


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
