"""The versioned rule set: thresholds and weights read from YAML and validated at start-up.

General settings, tiers and the churn composite are modelled here; each rule's config model is in
its state's module of ``engine_config`` (``CATALOG``), from which the ``rules:`` model is made.
``limits_of`` turns a validated rule set into the compiled engine's records, once.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar

import yaml
from pydantic import Field, ValidationError, create_model, model_validator

from churnwatch_shared.events import Tier
from churnwatch_shared.fx import FxRate, FxTable
from churnwatch_shared.money import Currency
from churnwatch_state_monitor.engine.limits import Limits
from churnwatch_state_monitor.engine.registry import Registry
from churnwatch_state_monitor.engine_config import CATALOG
from churnwatch_state_monitor.engine_config.base import Config as _Config
from churnwatch_state_monitor.engine_config.base import Money, RuleEntry
from churnwatch_state_monitor.engine_config.churn import EngagementModel
from churnwatch_state_monitor.engine_config.risk import RiskState

PACKAGED_RULES = "rules.yaml"
HOUR = 3600


class TierBand(_Config):
    threshold: Annotated[Decimal, Field(gt=0)]
    critical_band: Money

    @model_validator(mode="after")
    def _band_below_threshold(self) -> TierBand:
        if self.critical_band >= self.threshold:
            raise ValueError("critical_band must be smaller than threshold")
        return self


class Rules(_Config):
    """The ``rules:`` section: one key per rule id, each validated by its state's config model
    (``engine_config.<state>``). The model with those keys is made from a catalog by
    ``rules_model``; ``catalog`` is the one it was made from."""

    catalog: ClassVar[tuple[RuleEntry, ...]] = ()


@cache
def rules_model(catalog: tuple[RuleEntry, ...]) -> type[Rules]:
    """The ``rules:`` model for a catalog of rules (one field per rule with a config model)."""
    fields: dict[str, Any] = {}
    for entry in catalog:
        if entry.config is None:
            continue
        if entry.field in fields:
            raise ValueError(f"two rules configured as {entry.field!r} (ids differ only in state)")
        fields[entry.field] = (
            entry.config,
            Field(default_factory=entry.config, alias=entry.rule_id),
        )
    model = create_model("Rules", __base__=Rules, **fields)
    model.catalog = catalog
    return model


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
    # the five states' levels (their scores are points, not probabilities; absent: ``levels``)
    state_levels: ChurnLevels | None = None
    hysteresis: Annotated[float, Field(ge=0, le=30)] = 10
    # the calibrated scale (absent: the five states' composite is the churn score)
    engagement: EngagementModel | None = None
    # a silent customer's score is refreshed this often (event time; 0: only on events)
    refresh_days: Annotated[int, Field(ge=0, le=90)] = 7


class Fx(_Config):
    """The reporting currency (money thresholds and tier floors are in it) and the rates that
    convert other currencies into it (issue 15): configuration, see ``churnwatch_shared.fx``."""

    reporting: Currency = "CNY"
    rates: list[FxRate] = Field(default_factory=list, max_length=100_000)

    @model_validator(mode="after")
    def _rates_convert(self) -> Fx:
        self.table()  # every rate must involve the reporting currency
        return self

    def table(self) -> FxTable:
        """The rates as the engine looks them up."""
        return FxTable(reporting=self.reporting, rates=self.rates)


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
    rules: Rules = Field(default_factory=Rules)  # the model of a catalog: see ``ruleset_model``
    churn: Churn = Field(default_factory=Churn)
    fx: Fx = Field(default_factory=Fx)
    risk: RiskState = Field(default_factory=RiskState)  # risk-state settings beyond its rules


@cache
def ruleset_model(catalog: tuple[RuleEntry, ...] = CATALOG) -> type[RuleSet]:
    """The rule set model whose ``rules:`` section takes exactly the catalog's rules."""
    rules = rules_model(catalog)
    return create_model("RuleSet", __base__=RuleSet, rules=(rules, Field(default_factory=rules)))


class RuleSetError(ValueError):
    """The rules file is missing, not YAML, or fails validation; the message says where."""


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"invalid rule set {source}:"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  - {where}: {err['msg']}")
    return "\n".join(lines)


def parse_ruleset(
    text: str, *, source: str = "<text>", catalog: tuple[RuleEntry, ...] = CATALOG
) -> RuleSet:
    """Validate YAML text as a rule set of the catalog's rules; raises ``RuleSetError`` naming
    each bad field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleSetError(f"rule set {source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RuleSetError(f"rule set {source} must be a YAML mapping with at least `version`")
    try:
        return ruleset_model(catalog).model_validate(data)
    except ValidationError as exc:
        raise RuleSetError(_describe(exc, source)) from exc


def packaged_rules_text() -> str:
    """The default rules file shipped inside the package."""
    return resources.files(__package__).joinpath(PACKAGED_RULES).read_text(encoding="utf-8")


def load_ruleset(path: Path | None = None, *, catalog: tuple[RuleEntry, ...] = CATALOG) -> RuleSet:
    """Load and validate the rule set from ``path`` (or the packaged default)."""
    if path is None:
        text, source = packaged_rules_text(), f"(packaged {PACKAGED_RULES})"
        return parse_ruleset(text, source=source, catalog=catalog)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleSetError(f"cannot read rule set {path}: {exc.strerror}") from exc
    return parse_ruleset(text, source=str(path), catalog=catalog)


def build_limits(rs: RuleSet) -> Limits:
    """The engine's records for a validated rule set: its rules (built by their catalog
    entries) in a registry, and the general settings."""
    rules = rs.rules
    built = tuple(
        entry.build(None if entry.config is None else getattr(rules, entry.field), rs)
        for entry in type(rules).catalog
    )
    churn, w = rs.churn, rs.churn.weights
    return Limits(
        registry=Registry(built),
        version=rs.version,
        currency=rs.fx.reporting,
        lateness=rs.lateness_hours * HOUR,
        cooldown=rs.cooldown_hours * HOUR,
        dedup_window=rs.dedup_window,
        snapshot_every=rs.snapshot_every_events,
        alpha=rs.ewma_alpha,
        step=rs.silence_step_hours * HOUR,
        levels=(churn.levels.watch, churn.levels.warning, churn.levels.critical),
        hysteresis=churn.hysteresis,
        weights=(w.scale, w.stability, w.risk, w.account_flow, w.product_usage),
        strongest=churn.strongest_share,
        complaint_points=churn.complaint_points,
        cancellation_points=churn.cancellation_points,
        engagement=None if churn.engagement is None else churn.engagement.build(),
        refresh=0 if churn.engagement is None else churn.refresh_days * 86_400,
        state_levels=None
        if churn.state_levels is None
        else (churn.state_levels.watch, churn.state_levels.warning, churn.state_levels.critical),
        thin_buffer=int(rs.risk.thin_buffer),
    )


_LIMITS: dict[int, tuple[RuleSet, Limits]] = {}


def limits_of(rs: RuleSet) -> Limits:
    """The rule set's engine records (built on first use; a rule set is immutable)."""
    entry = _LIMITS.get(id(rs))
    if entry is not None and entry[0] is rs:
        return entry[1]
    if len(_LIMITS) >= 16:  # rule sets are few; tests build some: keep the newest
        _LIMITS.pop(next(iter(_LIMITS)))
    value = build_limits(rs)
    _LIMITS[id(rs)] = (rs, value)  # holding ``rs`` keeps its id from being reused
    return value
