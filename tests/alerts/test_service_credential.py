"""The monitor service credential in the alerts settings: file variant, dev default, production."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared.service_auth import DEV_MONITOR_TOKEN, bearer_matches
from churnwatch_shared.settings import CommonSettings, Environment, InsecureSettingsError

PRODUCTION = {"jwt_secret": "j" * 40, "webhook_secret": "w" * 40}


def prod(**kwargs: object) -> AlertsSettings:
    return AlertsSettings(common=CommonSettings(env=Environment.PRODUCTION), **PRODUCTION, **kwargs)


def test_development_uses_the_documented_token() -> None:
    assert AlertsSettings().monitor_service_token == DEV_MONITOR_TOKEN


def test_production_refuses_to_start_without_a_real_token(tmp_path: Path) -> None:
    with pytest.raises(InsecureSettingsError, match="CHURNWATCH_ALERTS_MONITOR_TOKEN or"):
        prod().check_production()
    with pytest.raises(InsecureSettingsError, match="CHURNWATCH_ALERTS_MONITOR_TOKEN"):
        prod(monitor_token=DEV_MONITOR_TOKEN).check_production()
    with pytest.raises(InsecureSettingsError, match="at least 16"):
        prod(monitor_token="short").check_production()
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(InsecureSettingsError, match="is empty"):
        prod(monitor_token_file=empty).check_production()
    with pytest.raises(InsecureSettingsError, match="cannot be read"):
        prod(monitor_token_file=tmp_path / "missing").check_production()


def test_token_file_wins_and_is_stripped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "monitor-token"
    secret.write_text("s3cret-from-a-mounted-file\n")
    monkeypatch.setenv("CHURNWATCH_ALERTS_MONITOR_TOKEN_FILE", str(secret))
    monkeypatch.setenv("CHURNWATCH_ALERTS_MONITOR_TOKEN", "ignored-when-a-file-is-set")
    settings = prod()
    settings.check_production()
    assert settings.monitor_service_token == "s3cret-from-a-mounted-file"
    assert "s3cret" not in repr(settings)


def test_bearer_matches_only_the_exact_token() -> None:
    token = "t" * 32
    assert bearer_matches(authorization=f"Bearer {token}", token=token)
    assert bearer_matches(authorization=f"bearer {token}", token=token)
    for header in (None, "", token, f"Basic {token}", f"Bearer {token}x", "Bearer " + "t" * 31):
        assert not bearer_matches(authorization=header, token=token), header
