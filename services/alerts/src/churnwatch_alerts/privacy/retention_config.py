"""Retention limits per kind of data (``CHURNWATCH_ALERTS_RETENTION_*``, days; 0 keeps forever)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RetentionSettings(BaseSettings):
    """How long each kind of data is kept; the retention job removes what is older."""

    model_config = SettingsConfigDict(env_prefix="CHURNWATCH_ALERTS_RETENTION_", extra="ignore")

    enabled: bool = Field(default=True, description="run the retention job in the app lifespan")
    interval_seconds: float = Field(default=24 * 3600.0, gt=0)
    # the first run after start-up waits this long (a restart loop must not run it every time)
    first_run_after_seconds: float = Field(default=300.0, ge=0)
    # resolved alerts (with their versions, notifications and delivery log), counted from
    # resolution; open alerts are never removed
    closed_alerts_days: int = Field(default=730, ge=0)
    case_entries_days: int = Field(default=730, ge=0)
    notifications_days: int = Field(default=180, ge=0)
    value_reviews_days: int = Field(default=730, ge=0)
    suggestion_outcomes_days: int = Field(default=730, ge=0)
    score_history_days: int = Field(default=400, ge=0)
    # audit rows are never deleted (the hash chain); their details are redacted after this
    audit_detail_days: int = Field(default=3650, ge=0)
