"""The versioned rule set: thresholds and weights read from YAML and validated at start-up."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from churnwatch_shared.alerts import Severity
from churnwatch_shared.events import Tier
from churnwatch_state_monitor.engine.state import DAY, cents

PACKAGED_RULES = "rules.yaml"

Share = Annotated[float, Field(gt=0, le=1)]
Money = Annotated[Decimal, Field(ge=0)]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierBand(_Config):
    threshold: Annotated[Decimal, Field(gt=0)]
    critical_band: Money

    @model_validator(mode="after")
    def _band_below_threshold(self) -> TierBand:
        if self.critical_band >= self.threshold:
            raise ValueError("critical_band must be smaller than threshold")
        return self


class LargeInterbankOutflow(_Config):
    enabled: bool = True
    severity: Severity = Severity.WARNING
    min_share: Share = 0.5
    min_amount: Money = Decimal(1000)
    critical_share: Share = 0.9


class InterbankOutflowShare(_Config):
    enabled: bool = True
    severity: Severity = Severity.WARNING
    min_share_7d: Share = 0.5
    min_share_30d: Share = 0.5
    min_amount: Money = Decimal(10000)
    # separate debits to other banks within the 30-day window: one large purchase is not a pattern
    min_transfers_30d: Annotated[int, Field(ge=1, le=50)] = 3
    # the account-flow score counts the share in full only for money steadily moving away: the
    # transfers without the largest one still this share of the funds (one big purchase is not
    # that) and the 30-day net outflow this share of them (a busy business account is not that)
    pattern_rest_share: Share = 0.35
    pattern_net_share: Share = 0.35


class PayrollMissing(_Config):
    enabled: bool = True
    severity: Severity = Severity.WARNING
    min_payrolls_seen: Annotated[int, Field(ge=1, le=24)] = 2
    grace_days: Annotated[int, Field(ge=0, le=60)] = 10


class Dormancy(_Config):
    enabled: bool = True
    severity: Severity = Severity.WATCH
    dormant_days: Annotated[int, Field(ge=1, le=3650)] = 60


class ActivityDrop(_Config):
    enabled: bool = True
    severity: Severity = Severity.WATCH
    drop_ratio: Share = 0.3
    min_baseline_per_week: Annotated[float, Field(gt=0)] = 3.0
    warmup_weeks: Annotated[int, Field(ge=1, le=52)] = 4


class SustainedDecline(_Config):
    enabled: bool = True
    severity: Severity = Severity.WARNING
    # four closed weeks together below this share of the usual weekly activity ...
    decline_ratio: Share = 0.4
    # ... and not one of them back at this share of it (a holiday ends, a fade does not)
    normal_ratio: Share = 0.7
    # both the newest four closed weeks and the four before (five weeks) must qualify
    confirm: bool = True
    # ... unless the four weeks wind down: each older week busier than the newest (a fade
    # tapers off; a holiday stops all at once, its silent weeks equally silent)
    early_when_winding_down: bool = True
    min_baseline_per_week: Annotated[float, Field(gt=0)] = 3.0
    warmup_weeks: Annotated[int, Field(ge=1, le=52)] = 6

    @model_validator(mode="after")
    def _ordered(self) -> SustainedDecline:
        if self.decline_ratio > self.normal_ratio:
            raise ValueError("decline_ratio must not exceed normal_ratio")
        return self


class SimpleRule(_Config):
    enabled: bool = True
    severity: Severity = Severity.WARNING


class ProductCancelled(_Config):
    enabled: bool = True
    severity: Severity = Severity.WARNING
    critical_count_90d: Annotated[int, Field(ge=1, le=8)] = 2


class LoanOverdue(_Config):
    enabled: bool = True
    severity: Severity = Severity.WATCH
    warning_days: Annotated[int, Field(ge=1)] = 30
    critical_days: Annotated[int, Field(ge=1)] = 90

    @model_validator(mode="after")
    def _ordered(self) -> LoanOverdue:
        if self.critical_days <= self.warning_days:
            raise ValueError("critical_days must be greater than warning_days")
        return self


class Rules(_Config):
    large_interbank_outflow: LargeInterbankOutflow = Field(
        default_factory=LargeInterbankOutflow, alias="account_flow.large_interbank_outflow"
    )
    interbank_outflow_share: InterbankOutflowShare = Field(
        default_factory=InterbankOutflowShare, alias="account_flow.interbank_outflow_share"
    )
    payroll_missing: PayrollMissing = Field(
        default_factory=PayrollMissing, alias="account_flow.payroll_missing"
    )
    dormancy: Dormancy = Field(default_factory=Dormancy, alias="stability.dormancy")
    activity_drop: ActivityDrop = Field(
        default_factory=ActivityDrop, alias="stability.activity_drop"
    )
    sustained_decline: SustainedDecline = Field(
        default_factory=SustainedDecline, alias="stability.sustained_decline"
    )
    complaint_filed: SimpleRule = Field(
        default_factory=SimpleRule, alias="stability.complaint_filed"
    )
    product_cancelled: ProductCancelled = Field(
        default_factory=ProductCancelled, alias="product_usage.product_cancelled"
    )
    loan_overdue: LoanOverdue = Field(default_factory=LoanOverdue, alias="risk.loan_overdue")
    classification_downgrade: SimpleRule = Field(
        default_factory=SimpleRule, alias="risk.classification_downgrade"
    )
    tier_critical_band: SimpleRule = Field(
        default_factory=SimpleRule, alias="scale.tier_critical_band"
    )


class ChurnLevels(_Config):
    watch: Annotated[float, Field(gt=0, lt=100)] = 40
    warning: Annotated[float, Field(gt=0, lt=100)] = 60
    critical: Annotated[float, Field(gt=0, le=100)] = 80

    @model_validator(mode="after")
    def _ordered(self) -> ChurnLevels:
        if not self.watch < self.warning < self.critical:
            raise ValueError("levels must rise: watch < warning < critical")
        return self


class ChurnWeights(_Config):
    scale: Annotated[float, Field(ge=0)] = 0.2
    stability: Annotated[float, Field(ge=0)] = 0.2
    risk: Annotated[float, Field(ge=0)] = 0.15
    account_flow: Annotated[float, Field(ge=0)] = 0.25
    product_usage: Annotated[float, Field(ge=0)] = 0.2

    @model_validator(mode="after")
    def _sum_to_one(self) -> ChurnWeights:
        total = self.scale + self.stability + self.risk + self.account_flow + self.product_usage
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1.0, got {total:g}")
        return self


class Churn(_Config):
    weights: ChurnWeights = Field(default_factory=ChurnWeights)
    # composite = strongest_share * strongest state + (1 - strongest_share) * weighted mean, so
    # one state far gone is enough to raise the level; the rest add to it
    strongest_share: Annotated[float, Field(ge=0, le=1)] = 0.6
    complaint_points: Annotated[float, Field(ge=0, le=100)] = 40
    cancellation_points: Annotated[float, Field(ge=0, le=100)] = 15
    levels: ChurnLevels = Field(default_factory=ChurnLevels)
    hysteresis: Annotated[float, Field(ge=0, le=30)] = 10


class RuleSet(_Config):
    """Every threshold the monitor uses; ``version`` is stamped on each alert and snapshot."""

    version: Annotated[str, Field(min_length=1, max_length=64)]
    lateness_hours: Annotated[int, Field(ge=0, le=168)] = 72
    dedup_window: Annotated[int, Field(ge=1, le=64)] = 12
    snapshot_every_events: Annotated[int, Field(ge=1, le=10_000)] = 1
    ewma_alpha: Annotated[float, Field(gt=0, le=1)] = 0.2
    cooldown_hours: Annotated[int, Field(ge=0, le=24 * 365)] = 168
    # grid (event time) on which silence rules (dormancy, missing payroll) are evaluated
    silence_step_hours: Annotated[int, Field(ge=1, le=24 * 7)] = 24
    tiers: dict[Tier, TierBand] = Field(default_factory=dict)
    rules: Rules = Field(default_factory=Rules)
    churn: Churn = Field(default_factory=Churn)


class RuleSetError(ValueError):
    """The rules file is missing, not YAML, or fails validation; the message says where."""


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"invalid rule set {source}:"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  - {where}: {err['msg']}")
    return "\n".join(lines)


def parse_ruleset(text: str, *, source: str = "<text>") -> RuleSet:
    """Validate YAML text as a rule set; raises ``RuleSetError`` naming each bad field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleSetError(f"rule set {source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RuleSetError(f"rule set {source} must be a YAML mapping with at least `version`")
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        raise RuleSetError(_describe(exc, source)) from exc


def packaged_rules_text() -> str:
    """The default rules file shipped inside the package."""
    return resources.files(__package__).joinpath(PACKAGED_RULES).read_text(encoding="utf-8")


def load_ruleset(path: Path | None = None) -> RuleSet:
    """Load and validate the rule set from ``path`` (or the packaged default)."""
    if path is None:
        return parse_ruleset(packaged_rules_text(), source=f"(packaged {PACKAGED_RULES})")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleSetError(f"cannot read rule set {path}: {exc.strerror}") from exc
    return parse_ruleset(text, source=str(path))


class Derived:
    """Numbers the per-event path needs, derived from a rule set once (cents, seconds, tuples)."""

    __slots__ = (
        "cancellation_points",
        "complaint_points",
        "decline_after",
        "dormant",
        "dormant_days",
        "drop_min_baseline",
        "drop_warmup",
        "grace_days",
        "hysteresis",
        "large_min_amount",
        "levels",
        "min_payrolls",
        "min_transfers",
        "net_share",
        "rest_share",
        "share_min_amount",
        "step",
        "strongest",
        "tier_floors",
        "weakest",
        "weights",
    )

    def __init__(self, rs: RuleSet) -> None:
        rules, churn = rs.rules, rs.churn
        # tier -> (threshold, lower edge of the critical band), cents
        self.tier_floors: dict[str, tuple[int, int]] = {
            tier.value: (cents(band.threshold), cents(band.threshold) - cents(band.critical_band))
            for tier, band in rs.tiers.items()
        }
        self.large_min_amount = cents(rules.large_interbank_outflow.min_amount)
        self.share_min_amount = cents(rules.interbank_outflow_share.min_amount)
        share = rules.interbank_outflow_share
        self.min_transfers = share.min_transfers_30d
        self.rest_share, self.net_share = share.pattern_rest_share, share.pattern_net_share
        self.step = rs.silence_step_hours * 3600
        self.dormant_days = rules.dormancy.dormant_days
        self.dormant = rules.dormancy.dormant_days * DAY
        self.drop_warmup = rules.activity_drop.warmup_weeks
        self.drop_min_baseline = rules.activity_drop.min_baseline_per_week
        self.decline_after = rules.sustained_decline.warmup_weeks + 4  # weeks before it can judge
        self.min_payrolls = rules.payroll_missing.min_payrolls_seen
        self.grace_days = rules.payroll_missing.grace_days
        self.levels = (churn.levels.watch, churn.levels.warning, churn.levels.critical)
        self.hysteresis = churn.hysteresis
        w = churn.weights
        self.weights = (w.scale, w.stability, w.risk, w.account_flow, w.product_usage)
        self.strongest = churn.strongest_share
        self.weakest = 1 - churn.strongest_share
        self.complaint_points = churn.complaint_points
        self.cancellation_points = churn.cancellation_points


_DERIVED: dict[int, tuple[RuleSet, Derived]] = {}


def derived(rs: RuleSet) -> Derived:
    """The rule set's derived numbers (computed on first use; a rule set is immutable)."""
    entry = _DERIVED.get(id(rs))
    if entry is not None and entry[0] is rs:
        return entry[1]
    if len(_DERIVED) >= 16:  # rule sets are few; tests build some: keep the newest
        _DERIVED.pop(next(iter(_DERIVED)))
    value = Derived(rs)
    _DERIVED[id(rs)] = (rs, value)  # holding ``rs`` keeps its id from being reused
    return value
