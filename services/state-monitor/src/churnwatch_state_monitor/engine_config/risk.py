"""Config of the risk rules (``rules.risk.*``): validated, then built into the engine's records
(``engine.risk``)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, model_validator

from churnwatch_shared.alerts import Severity
from churnwatch_state_monitor.engine import risk as engine
from churnwatch_state_monitor.engine_config.base import Config, Money, RuleConfig, RuleEntry

if TYPE_CHECKING:
    from churnwatch_state_monitor.ruleset import RuleSet


class LoanOverdue(RuleConfig):
    severity: Severity = Severity.WATCH
    warning_days: Annotated[int, Field(ge=1)] = 30
    critical_days: Annotated[int, Field(ge=1)] = 90

    @model_validator(mode="after")
    def _ordered(self) -> LoanOverdue:
        if self.critical_days <= self.warning_days:
            raise ValueError("critical_days must be greater than warning_days")
        return self


def _overdue(cfg: LoanOverdue, rs: RuleSet) -> engine.LoanOverdue:
    return engine.LoanOverdue(
        enabled=cfg.enabled,
        severity=cfg.severity,
        warning_days=cfg.warning_days,
        critical_days=cfg.critical_days,
    )


class ClassificationDowngrade(RuleConfig):
    """Severity: for substandard; doubtful and loss are critical."""


def _downgrade(cfg: ClassificationDowngrade, rs: RuleSet) -> engine.ClassificationDowngrade:
    return engine.ClassificationDowngrade(enabled=cfg.enabled, severity=cfg.severity)


class RiskState(Config):
    """The risk state's settings beyond its rules (``risk:`` in the rules file)."""

    # a low-water mark of the funds balance under this (reporting currency, whole units) is a
    # thin buffer (``overdraft.buffer_points``): about one month of an urban household's
    # disposable income in China (NBS 2024: 54,188 CNY per person a year), not fitted to data
    thin_buffer: Money = Decimal(5000)


ENTRIES = (
    RuleEntry(engine.LOAN_OVERDUE, LoanOverdue, _overdue),
    RuleEntry(engine.CLASSIFICATION_DOWNGRADE, ClassificationDowngrade, _downgrade),
)
