"""State-monitor settings: ``CHURNWATCH_MONITOR_*`` variables on top of the common ones.

State store: ``memory://`` (default) keeps every customer record in the worker's RAM and rebuilds
it from the changelog topic when a partition is assigned (time grows with customers: see
bench/monitor_bench.py). For large customer counts (~1M per worker) set
``CHURNWATCH_MONITOR_STORE=rocksdb://`` (rocksdict, installed by ``make``): records then live on
disk under ``CHURNWATCH_MONITOR_DATA_DIR`` and an assignment only replays the changelog past the
offset stored with them. Each worker needs its own data dir.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from churnwatch_shared.service_auth import resolve_service_token
from churnwatch_shared.settings import CommonSettings, Environment

# aiokafka's default request timeout, kept as the floor of the worker's (group_timeouts_ms).
_AIOKAFKA_REQUEST_TIMEOUT_MS = 40_000


def _own_address() -> str:
    """The address this machine's name resolves to (a container's or pod's IP, reachable by its
    peers on their network), else its fully qualified name."""
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return socket.getfqdn()


class MonitorSettings(BaseSettings):
    """Everything the worker reads from the environment; see the package README section."""

    model_config = SettingsConfigDict(env_prefix="CHURNWATCH_MONITOR_", extra="ignore")

    host: str = "127.0.0.1"
    web_port: int = Field(default=8002, ge=1, le=65535)
    data_dir: Path = Path(".local/state-monitor")
    app_id: str | None = Field(
        default=None,
        description='Kafka group and changelog prefix; default "{namespace}-state-monitor"',
    )
    rules_file: Path | None = Field(default=None, description="default: the packaged rules.yaml")
    model_dir: Path | None = Field(
        default=None,
        description="churn MODEL_DIR (model train): snapshots carry its probability; none: rules",
    )
    shadow_model_dir: Path | None = Field(
        default=None,
        description="candidate MODEL_DIR scored beside the live one, to metrics and a shadow topic",
    )
    model_cutoffs: str | None = Field(
        default=None,
        description="watch,warning,critical probabilities (default: the model's, 0.2,0.4,0.7)",
    )
    model_budget: str | None = Field(
        default=None,
        description="alert budget instead of cut-offs: the share of the book at watch, warning, "
        "critical or above (watch=0.15,warning=0.08,critical=0.02), turned into cut-offs on the "
        "model's validation distribution (model/budget.py)",
    )
    model_levels: Literal["model", "rules"] = Field(
        default="model",
        description="with a model: 'model' = the churn level and churn-risk alerts come from its "
        "probability (model/levels.py); 'rules' = from the rule composite (model on snapshots only)",
    )
    model_hysteresis: float = Field(
        default=0.2,
        ge=0.0,
        lt=1.0,
        description="a model level is left only below cut-off x (1 - this)",
    )
    model_level_days: int = Field(
        default=7,
        ge=1,
        le=92,
        description="the model judges a customer's level at their first event of each period "
        "of this many days (and at each silence due)",
    )
    store: str = Field(
        default="memory://",
        pattern=r"^(memory|rocksdb)://",
        description="state store: memory:// (RAM, restored from the changelog) or rocksdb:// "
        "(on disk under the data dir, restored past its stored offset)",
    )
    instance_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,200}$",
        description="static consumer-group membership id, stable per worker (e.g. the pod name): "
        "a restarted worker takes its partitions back at once instead of after the session "
        "timeout (a worker stopped for good hands its partitions over only after the session "
        "timeout); unset means dynamic membership",
    )
    session_timeout_s: float = Field(
        default=15.0,
        ge=6,
        le=300,
        description="consumer-group session timeout: how soon a killed worker's partitions move",
    )
    rebalance_timeout_s: float = Field(
        default=60.0,
        ge=6,
        le=600,
        description="how long the group coordinator waits for every member to rejoin in a "
        "rebalance: a member rejoins only after its revoke (the batch in flight finished and "
        "committed) or its state restore is done; the consumer's request timeout is kept 5 s "
        "above it (JoinGroup is held that long)",
    )
    producer_linger_s: float = Field(
        default=0.005,
        ge=0,
        le=1,
        description="producer batching delay of alerts, changelog and snapshot records",
    )
    fetch_max_wait_ms: int = Field(
        default=100,
        ge=1,
        le=1500,
        description="longest a fetch waits at the broker for new records; the fetcher keeps one "
        "fetch in flight, so a long wait delays every partition's next records (measured with "
        "1500: e2e p50 ~1.1 s at 2,000 events/s)",
    )
    batch_max_events: int = Field(
        default=50_000,
        ge=1,
        le=100_000,
        description="most EVENTS records applied per batch; a batch's state records, alerts and "
        "offset commit are sent once per batch, a customer's state encoded once however many of "
        "its events the batch holds (a full batch takes ~0.5 s; only a backlog fills one)",
    )
    transactions: bool = Field(
        default=True,
        description="on: each source partition's alerts, state records, snapshots and offsets in "
        "one Kafka transaction (transactional id '<app id>-<partition>'), so a paused worker "
        "that lost its partitions is fenced and writes nothing (transactions.py); off: the "
        "idempotent producer and the lease guard only",
    )
    transaction_timeout_s: float = Field(
        default=60.0,
        ge=5,
        le=900,
        description="how long the broker keeps a crashed worker's transaction open before it "
        "aborts it, unless the partition's next writer starts first (read_committed readers "
        "of its partitions wait meanwhile); at most the broker's transaction.max.timeout.ms",
    )
    framework_log_level: str = Field(
        default="WARNING",
        pattern=r"^(DEBUG|INFO|WARNING|ERROR)$",
        description="level of the faust/aiokafka/mode loggers; above INFO on the hot path costs "
        "~15% throughput (perf notes), INFO shows rebalance and recovery steps",
    )
    watchdog_interval_s: float = Field(
        default=5.0,
        ge=0.5,
        le=300,
        description="how often the stall watchdog checks owned partitions",
    )
    stall_after_s: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="an assigned partition with unread records and no progress for this long is "
        "reported stalled (logged, /readyz 503)",
    )
    scan_interval_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="how often silent customers are judged against each partition's event-time "
        "watermark (dormancy, missing payroll); 0 disables the timer (then only events do)",
    )
    scan_budget: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="most customers judged per silence tick (the rest wait for the next tick)",
    )
    fault_kill_at: str | None = Field(
        default=None,
        pattern=r"^(after_alerts_acked|after_state_durable):.+$",
        description="TEST ONLY fault injection '<point>:<event_id>': SIGKILL the worker at that "
        "point of that event (see faults.py); refused in production",
    )
    fault_pause_at: str | None = Field(
        default=None,
        pattern=r"^(before_delivery|after_alerts_acked|after_state_durable):.+$",
        description="TEST ONLY '<point>:<event_id>': SIGSTOP the worker once at that point of that "
        "event's batch (a paused zombie; see faults.py); refused in production",
    )
    service_token: str | None = Field(
        default=None,
        repr=False,
        description="service credential the state view requires (Authorization: Bearer); the "
        "documented dev token outside production, refused in production",
    )
    service_token_file: Path | None = Field(
        default=None, description="file holding the service token (wins over SERVICE_TOKEN)"
    )
    advertised_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/\s]+$",
        description="this worker's web URL as the other workers reach it (state queries they "
        "forward here); default http://<host>:<web port>, with a wildcard host (0.0.0.0, ::) "
        "the address this machine's name resolves to (a container's IP)",
    )
    forward_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="how long a state query forwarded to the partition's owner may take",
    )
    common: CommonSettings = Field(default_factory=CommonSettings)

    @model_validator(mode="after")
    def _no_faults_in_production(self) -> MonitorSettings:
        if self.fault_kill_at and self.common.env is Environment.PRODUCTION:
            raise ValueError("CHURNWATCH_MONITOR_FAULT_KILL_AT is refused in production")
        if self.fault_pause_at and self.common.env is Environment.PRODUCTION:
            raise ValueError("CHURNWATCH_MONITOR_FAULT_PAUSE_AT is refused in production")
        return self

    @model_validator(mode="after")
    def _model_levels(self) -> MonitorSettings:
        # refused at start-up, before a model is loaded: both set, or either malformed
        if self.model_cutoffs and self.model_budget:
            raise ValueError(
                "CHURNWATCH_MONITOR_MODEL_CUTOFFS and CHURNWATCH_MONITOR_MODEL_BUDGET are both "
                "set: give explicit cut-offs or an alert budget, not both"
            )
        if self.model_budget:
            from churnwatch_state_monitor.model.budget import parse_budget

            parse_budget(self.model_budget, where="CHURNWATCH_MONITOR_MODEL_BUDGET")
        if self.model_cutoffs:
            from churnwatch_state_monitor.model.artifact import parse_cutoffs

            try:
                parse_cutoffs(self.model_cutoffs)
            except ValueError as exc:
                raise ValueError(f"CHURNWATCH_MONITOR_MODEL_CUTOFFS: {exc}") from None
        return self

    @model_validator(mode="after")
    def _service_token_in_production(self) -> MonitorSettings:
        # Refuse to start (production) without a real credential rather than at the first read.
        self.resolved_service_token  # noqa: B018
        return self

    @property
    def resolved_service_token(self) -> str:
        """The state view's credential: the file, the value, or the dev token outside production."""
        return resolve_service_token(
            env=self.common.env,
            value=self.service_token,
            file=self.service_token_file,
            name="CHURNWATCH_MONITOR_SERVICE_TOKEN",
        )

    @property
    def resolved_advertised_url(self) -> str:
        """The URL other workers forward state queries to (see ``advertised_url``)."""
        if self.advertised_url:
            return self.advertised_url
        host = self.host
        if host in ("0.0.0.0", "::", ""):  # a wildcard is no address: this machine's own is
            host = _own_address()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.web_port}"

    @property
    def heartbeat_interval_s(self) -> float:
        """Consumer-group heartbeat interval: a third of the session timeout, at most 3 s."""
        return min(3.0, self.session_timeout_s / 3)

    def group_timeouts_ms(self) -> dict[str, int]:
        """The consumer-group timeouts the worker's events consumer is built with (aiokafka kwargs)."""
        rebalance_ms = int(self.rebalance_timeout_s * 1000)
        return {
            "session_timeout_ms": int(self.session_timeout_s * 1000),
            "heartbeat_interval_ms": int(self.heartbeat_interval_s * 1000),
            "rebalance_timeout_ms": rebalance_ms,
            # The coordinator answers a JoinGroup only when every member has rejoined or the
            # rebalance timeout passed, and aiokafka sends it with the client-wide request
            # timeout (unlike Java's client, which lengthens it for JoinGroup): kept above the
            # rebalance timeout, and never below aiokafka's own 40 s default.
            "request_timeout_ms": max(_AIOKAFKA_REQUEST_TIMEOUT_MS, rebalance_ms + 5_000),
        }

    @property
    def resolved_app_id(self) -> str:
        return self.app_id or f"{self.common.topic_namespace}-state-monitor"

    @property
    def broker_urls(self) -> list[str]:
        return [f"kafka://{host.strip()}" for host in self.common.kafka_bootstrap.split(",")]
