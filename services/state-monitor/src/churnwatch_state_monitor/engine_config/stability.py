"""Config of the stability rules (``rules.stability.*``): validated, then built into the engine's
records (``engine.stability``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, model_validator

from churnwatch_shared.alerts import Severity
from churnwatch_state_monitor.engine import stability as engine
from churnwatch_state_monitor.engine_config.base import RuleConfig, RuleEntry, Share

if TYPE_CHECKING:
    from churnwatch_state_monitor.ruleset import RuleSet


class Dormancy(RuleConfig):
    severity: Severity = Severity.WATCH
    dormant_days: Annotated[int, Field(ge=1, le=3650)] = 60


def _dormancy(cfg: Dormancy, rs: RuleSet) -> engine.Dormancy:
    return engine.Dormancy(
        enabled=cfg.enabled,
        severity=cfg.severity,
        dormant_days=cfg.dormant_days,
        step=rs.silence_step_hours * 3600,
    )


class ActivityDrop(RuleConfig):
    severity: Severity = Severity.WATCH
    drop_ratio: Share = 0.3
    min_baseline_per_week: Annotated[float, Field(gt=0)] = 3.0
    warmup_weeks: Annotated[int, Field(ge=1, le=52)] = 4


def _drop(cfg: ActivityDrop, rs: RuleSet) -> engine.ActivityDrop:
    return engine.ActivityDrop(
        enabled=cfg.enabled,
        severity=cfg.severity,
        drop_ratio=cfg.drop_ratio,
        min_baseline=cfg.min_baseline_per_week,
        warmup_weeks=cfg.warmup_weeks,
    )


class SustainedDecline(RuleConfig):
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


def _decline(cfg: SustainedDecline, rs: RuleSet) -> engine.SustainedDecline:
    return engine.SustainedDecline(
        enabled=cfg.enabled,
        severity=cfg.severity,
        decline_ratio=cfg.decline_ratio,
        normal_ratio=cfg.normal_ratio,
        confirm=cfg.confirm,
        early=cfg.early_when_winding_down,
        min_baseline=cfg.min_baseline_per_week,
        warmup_weeks=cfg.warmup_weeks,
        alpha=rs.ewma_alpha,
    )


class ComplaintFiled(RuleConfig):
    """Severity: the default for medium complaints; high ones are critical, low ones watch."""


def _complaint(cfg: ComplaintFiled, rs: RuleSet) -> engine.ComplaintFiled:
    return engine.ComplaintFiled(enabled=cfg.enabled, severity=cfg.severity)


# order matters within a trigger: dormancy before missing payroll (silence), the fade before the
# quiet week (week closed)
ENTRIES = (
    RuleEntry(engine.DORMANCY, Dormancy, _dormancy),
    RuleEntry(engine.SUSTAINED_DECLINE, SustainedDecline, _decline),
    RuleEntry(engine.ACTIVITY_DROP, ActivityDrop, _drop),
    RuleEntry(engine.COMPLAINT_FILED, ComplaintFiled, _complaint),
)
