"""The composite churn rule: configured under ``churn`` (levels), not under ``rules``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from churnwatch_state_monitor.engine import churn as engine
from churnwatch_state_monitor.engine_config.base import RuleEntry

if TYPE_CHECKING:
    from churnwatch_state_monitor.ruleset import RuleSet


def _composite(cfg: None, rs: RuleSet) -> engine.CompositeScore:
    levels = rs.churn.levels
    return engine.CompositeScore(
        watch=levels.watch, warning=levels.warning, critical=levels.critical
    )


ENTRIES = (RuleEntry(engine.CHURN_SCORE, None, _composite),)
