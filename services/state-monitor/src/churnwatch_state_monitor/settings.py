"""State-monitor settings: ``CHURNWATCH_MONITOR_*`` variables on top of the common ones."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from churnwatch_shared.settings import CommonSettings


class MonitorSettings(BaseSettings):
    """Everything the worker reads from the environment; see the package README section."""

    model_config = SettingsConfigDict(env_prefix="CHURNWATCH_MONITOR_", extra="ignore")

    host: str = "127.0.0.1"
    web_port: int = Field(default=8002, ge=1, le=65535)
    data_dir: Path = Path(".local/state-monitor")
    app_id: str | None = Field(
        default=None, description='Kafka group and changelog prefix; default "{namespace}-state-monitor"'
    )
    rules_file: Path | None = Field(default=None, description="default: the packaged rules.yaml")
    store: str = Field(
        default="memory://",
        pattern=r"^(memory|rocksdb|aerospike)://",
        description="table store; rocksdb:// needs the `rocksdb` extra (rocksdict)",
    )
    session_timeout_s: float = Field(
        default=15.0, ge=6, le=300,
        description="consumer-group session timeout: how soon a killed worker's partitions move",
    )
    common: CommonSettings = Field(default_factory=CommonSettings)

    @property
    def resolved_app_id(self) -> str:
        return self.app_id or f"{self.common.topic_namespace}-state-monitor"

    @property
    def broker_urls(self) -> list[str]:
        return [f"kafka://{host.strip()}" for host in self.common.kafka_bootstrap.split(",")]
