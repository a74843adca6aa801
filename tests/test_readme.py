"""README stays a newcomer's reference: every setting a service reads is documented there."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from churnwatch_alerts.privacy.retention_config import RetentionSettings
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared.settings import CommonSettings
from churnwatch_shared.topics import ALL_TOPICS
from churnwatch_state_monitor.worker.settings import MonitorSettings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize(
    "settings",
    [CommonSettings, IngestSettings, MonitorSettings, AlertsSettings, RetentionSettings],
    ids=lambda s: s.__name__,
)
def test_every_setting_is_in_the_configuration_table(settings: type[BaseSettings]) -> None:
    prefix = settings.model_config.get("env_prefix", "")
    names = {f"{prefix}{field}".upper() for field in settings.model_fields if field != "common"}
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert not missing, f"README's configuration table lacks: {missing}"


def test_every_topic_is_in_the_topic_table() -> None:
    missing = [spec.suffix for spec in ALL_TOPICS if f"`{{ns}}.{spec.suffix}`" not in README]
    assert not missing, f"README's topic table lacks: {missing}"
