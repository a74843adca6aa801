"""Settings of the alerts service: ``CHURNWATCH_ALERTS_*`` composed with the common ``CHURNWATCH_*``."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from churnwatch_alerts.calendar import Calendars, cached_calendars, known_zone
from churnwatch_alerts.models.manager import Role
from churnwatch_alerts.privacy.retention_config import RetentionSettings
from churnwatch_alerts.value.periods import PeriodKind
from churnwatch_shared.alerts import Severity
from churnwatch_shared.service_auth import DEV_MONITOR_TOKEN, resolve_service_token
from churnwatch_shared.settings import CommonSettings, Environment, refuse_dev_credentials

DEV_JWT_SECRET = "churnwatch-dev-jwt-secret-not-for-production"
DEV_WEBHOOK_SECRET = "churnwatch-dev-webhook-secret-not-for-production"
DEV_PASSWORD = "demo-only"

# Time a manager has to acknowledge an alert before it climbs to the supervisor (seconds).
DEFAULT_SLA_SECONDS: dict[Severity, int] = {
    Severity.CRITICAL: 15 * 60,
    Severity.WARNING: 4 * 3600,
    Severity.WATCH: 24 * 3600,
}


# ingest's documented development producer key (churnwatch_ingest.auth.DEV_API_KEY).
DEV_INGEST_KEY = "cw-dev-producer-key"


class AlertsSettings(BaseSettings):
    """One settings object for the alerts service (env prefix ``CHURNWATCH_ALERTS_``)."""

    model_config = SettingsConfigDict(env_prefix="CHURNWATCH_ALERTS_", extra="ignore")

    common: CommonSettings = Field(default_factory=CommonSettings)

    host: str = "127.0.0.1"
    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///.local/alerts.db"
    migrate_on_start: bool = True
    jwt_secret: str = DEV_JWT_SECRET
    jwt_ttl_seconds: int = Field(default=8 * 3600, gt=0)
    # Refusals (failed logins, denied reads) written one by one per principal and address each
    # minute; the rest are counted into one summary row (audit/refusals.py).
    refusal_audit_per_minute: int = Field(default=5, ge=1, le=1000)
    # Failed password logins before 429: per username, and per client address (auth/throttle.py).
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_address: int = Field(default=50, ge=1, le=100_000)
    login_failure_window_seconds: int = Field(default=300, ge=1, le=86_400)
    group_id: str | None = Field(default=None, description='default f"{namespace}-alerts"')
    context_group_id: str | None = Field(
        default=None,
        description='group of the snapshot/assignment consumer; default f"{group_id}-context"',
    )
    consume: bool = Field(default=True, description="run the Kafka intake in the app lifespan")
    dev_logins: bool | None = Field(
        default=None, description="seed rm.demo/lead.demo; default on outside production"
    )
    intake_batch_size: int = Field(default=500, gt=0)
    intake_stuck_after_seconds: float = Field(
        default=30.0, gt=0, description="records pending this long: /readyz reports it stuck"
    )
    escalation_enabled: bool = True
    escalation_interval_seconds: float = Field(default=5.0, gt=0)
    escalation_max_level: int = Field(default=3, ge=0)
    sla_seconds: dict[Severity, int] = Field(default_factory=lambda: dict(DEFAULT_SLA_SECONDS))
    business_calendar_file: Path | None = Field(
        default=None,
        description="YAML of business hours, time zone and holidays per branch (calendar/); "
        "SLAs count business time of the customer's branch; unset: 24x7",
    )
    notifications_enabled: bool = True
    outbox_interval_seconds: float = Field(default=1.0, gt=0)
    webhook_secret: str = DEV_WEBHOOK_SECRET
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int | None = Field(
        default=None, ge=1, description="optional cap on attempts since written or redriven"
    )
    notify_concurrency: int = Field(default=16, ge=1, description="sends in flight, all endpoints")
    notify_endpoint_concurrency: int = Field(
        default=2,
        ge=1,
        description="sends in flight to one endpoint (a webhook URL, the SMTP host)",
    )
    notify_attempt_deadline_seconds: float = Field(
        default=15.0, gt=0, description="hard limit on one attempt on any channel"
    )
    notify_lease_seconds: float = Field(
        default=60.0, gt=0, description="a claimed send whose outcome was never recorded is retried"
    )
    retry_base_seconds: float = Field(default=30.0, gt=0, description="first retry delay")
    retry_factor: float = Field(default=2.0, ge=1.0, description="growth of the delay per attempt")
    retry_max_delay_seconds: float = Field(default=3600.0, gt=0, description="cap of one delay")
    retry_jitter: float = Field(
        default=0.2, ge=0.0, lt=1.0, description="each delay shortened by up to this random share"
    )
    retry_give_up_after_seconds: float = Field(
        default=48 * 3600.0, gt=0, description="dead letter after this long since written/redriven"
    )
    digest_period_seconds: int = Field(default=24 * 3600, gt=0, description="aligned to epoch")
    digest_interval_seconds: float = Field(default=60.0, gt=0)
    digest_lookback_periods: int = Field(default=3, ge=1, description="closed periods to revisit")
    inbox_url: str | None = Field(default=None, description="public /inbox URL put in emails")
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "churnwatch@localhost"
    monitor_url: str = Field(
        default="http://127.0.0.1:8002",
        description="state-monitor worker base URL(s), comma-separated; each worker answers for "
        "the customers of the partitions it owns",
    )
    monitor_token: str | None = Field(
        default=None,
        repr=False,
        description="service credential for the monitor's state view; dev token outside production",
    )
    monitor_token_file: Path | None = Field(
        default=None, description="file holding the monitor token (wins over MONITOR_TOKEN)"
    )
    monitor_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    reporting_currency: str = Field(
        default="CNY", pattern=r"^[A-Z]{3}$", description="currency shown beside every amount"
    )
    display_time_zone: str | None = Field(
        default=None,
        description="IANA zone in which reasons and evidence name days (e.g. Asia/Shanghai); "
        "unset: the business calendar's default zone, else each moment's own UTC offset",
    )
    # Contacts logged on a case go to ingest as contact.logged events (the monitor sees them).
    ingest_url: str = Field(default="http://127.0.0.1:8001", description="ingest base URL")
    ingest_api_key: str | None = Field(
        default=None,
        repr=False,
        description="producer key for contact.logged; the dev producer key outside production",
    )
    ingest_api_key_file: Path | None = Field(
        default=None, description="file holding the ingest producer key (wins over INGEST_API_KEY)"
    )
    # Single sign-on (OpenID Connect, authorization code flow with PKCE); off while unset.
    oidc_issuer: str | None = Field(
        default=None, description="issuer URL (https; http only on loopback)"
    )
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = Field(
        default=None, repr=False, description="none: public client"
    )
    oidc_client_secret_file: Path | None = Field(
        default=None, description="wins over CLIENT_SECRET"
    )
    oidc_provider_name: str = Field(
        default="single sign-on", max_length=64, description="button text"
    )
    oidc_redirect_url: str | None = Field(
        default=None, description="public URL of /v1/auth/oidc/callback; default from the request"
    )
    oidc_scopes: str = "openid profile email"
    oidc_username_claim: str = Field(default="preferred_username", description="→ manager id")
    oidc_role_claim: str = Field(default="groups", description="claim with the user's groups")
    oidc_role_map: dict[str, Role] = Field(default_factory=dict, description="group → role (JSON)")
    oidc_team_claim: str | None = "team"
    oidc_branch_claim: str | None = None
    oidc_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Value analysis and next best action (issue 17).
    value_reviews_enabled: bool = Field(
        default=True, description="run the periodic value review job in the app lifespan"
    )
    value_period: PeriodKind = Field(default=PeriodKind.MONTHLY, description="monthly|quarterly")
    value_interval_seconds: float = Field(
        default=3600.0, gt=0, description="how often the job looks for unreviewed customers"
    )
    value_config_file: Path | None = Field(
        default=None, description="margins and cost-to-serve YAML; default the packaged one"
    )
    playbook_file: Path | None = Field(
        default=None, description="next-best-action playbook YAML; default the packaged one"
    )
    playbook_control_share: float = Field(
        default=0.1, ge=0.0, lt=1.0, description="share of customers who get no suggestion"
    )
    # Retention limits per kind of data (privacy/retention.py): CHURNWATCH_ALERTS_RETENTION_*.
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    playbook_control_salt: str = Field(
        default="churnwatch-playbook-1",
        min_length=1,
        description="hashed with the customer id: a new salt draws a new control group",
    )

    @model_validator(mode="after")
    def _lease_outlives_an_attempt(self) -> AlertsSettings:
        # A lease that ends while its send may still be running would let a second send start.
        if self.notify_lease_seconds <= self.notify_attempt_deadline_seconds:
            raise ValueError(
                "CHURNWATCH_ALERTS_NOTIFY_LEASE_SECONDS must be greater than "
                f"CHURNWATCH_ALERTS_NOTIFY_ATTEMPT_DEADLINE_SECONDS "
                f"({self.notify_lease_seconds} <= {self.notify_attempt_deadline_seconds})"
            )
        return self

    @model_validator(mode="after")
    def _calendar_readable(self) -> AlertsSettings:
        # A bad calendar stops the start with the file and field named, not the first escalation.
        cached_calendars(self.business_calendar_file)
        return self

    @property
    def calendars(self) -> Calendars:
        """The business calendars SLAs are counted in (24x7 unless a file is configured)."""
        return cached_calendars(self.business_calendar_file)

    _known_zone = field_validator("display_time_zone")(known_zone)

    @property
    def display_zone(self) -> tzinfo | None:
        """The bank's zone for the days reasons name: the setting, else the business calendar's
        default zone; None: each moment's own offset (as the producer sent it)."""
        if self.display_time_zone is not None:
            return ZoneInfo(self.display_time_zone)
        return self.calendars.default.zone

    @model_validator(mode="after")
    def _oidc_complete(self) -> AlertsSettings:
        if self.oidc_issuer is None:
            return self
        issuer = urlsplit(self.oidc_issuer)
        loopback = issuer.hostname in ("127.0.0.1", "::1", "localhost")
        if issuer.scheme != "https" and not (issuer.scheme == "http" and loopback):
            raise ValueError(
                f"CHURNWATCH_ALERTS_OIDC_ISSUER must be an https URL (http only on loopback), "
                f"got {self.oidc_issuer!r}"
            )
        if not self.oidc_client_id:
            raise ValueError("CHURNWATCH_ALERTS_OIDC_CLIENT_ID is required with OIDC_ISSUER")
        if not self.oidc_role_map:
            raise ValueError(
                "CHURNWATCH_ALERTS_OIDC_ROLE_MAP is required with OIDC_ISSUER: a JSON object of "
                f"group → role, roles one of {[r.value for r in Role]}"
            )
        return self

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_issuer is not None

    @property
    def password_logins_allowed(self) -> bool:
        """Local passwords are for development: production with single sign-on refuses them."""
        return not (self.oidc_enabled and self.common.env is Environment.PRODUCTION)

    @property
    def oidc_secret(self) -> str | None:
        if self.oidc_client_secret_file is not None:
            return self.oidc_client_secret_file.read_text(encoding="utf-8").strip()
        return self.oidc_client_secret

    @property
    def env(self) -> Environment:
        return self.common.env

    @property
    def effective_group_id(self) -> str:
        return self.group_id or f"{self.common.topic_namespace}-alerts"

    @property
    def effective_context_group_id(self) -> str:
        return self.context_group_id or f"{self.effective_group_id}-context"

    @property
    def seed_dev_logins(self) -> bool:
        if self.dev_logins is None:
            return self.common.env is not Environment.PRODUCTION
        return self.dev_logins

    @property
    def monitor_urls(self) -> list[str]:
        return [u.strip().rstrip("/") for u in self.monitor_url.split(",") if u.strip()]

    @property
    def monitor_service_token(self) -> str:
        """The monitor credential (file, value, or the dev token outside production)."""
        return resolve_service_token(
            env=self.common.env,
            value=self.monitor_token,
            file=self.monitor_token_file,
            name="CHURNWATCH_ALERTS_MONITOR_TOKEN",
        )

    @property
    def ingest_producer_key(self) -> str | None:
        """The producer key (file, value, or the dev key outside production); None: not set."""
        if self.ingest_api_key_file is not None:
            return self.ingest_api_key_file.read_text(encoding="utf-8").strip() or None
        if self.ingest_api_key:
            return self.ingest_api_key
        return None if self.common.env is Environment.PRODUCTION else DEV_INGEST_KEY

    def check_production(self) -> None:
        """Refuse the documented development secrets and logins in production."""
        refuse_dev_credentials(
            env=self.common.env,
            named={
                "CHURNWATCH_ALERTS_JWT_SECRET": self.jwt_secret == DEV_JWT_SECRET,
                "CHURNWATCH_ALERTS_WEBHOOK_SECRET": self.webhook_secret == DEV_WEBHOOK_SECRET,
                "CHURNWATCH_ALERTS_DEV_LOGINS": self.dev_logins is True,
                "CHURNWATCH_ALERTS_MONITOR_TOKEN": self.monitor_token == DEV_MONITOR_TOKEN,
                "CHURNWATCH_ALERTS_INGEST_API_KEY": self.ingest_api_key == DEV_INGEST_KEY,
            },
        )
        self.monitor_service_token  # noqa: B018 - raises when production has no real token
