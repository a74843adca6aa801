"""The composite churn rule: configured under ``churn`` (levels), not under ``rules``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from churnwatch_state_monitor.engine import churn as engine
from churnwatch_state_monitor.engine.engagement import Engagement
from churnwatch_state_monitor.engine_config.base import Config, RuleEntry

if TYPE_CHECKING:
    from churnwatch_state_monitor.ruleset import RuleSet


def _composite(cfg: None, rs: RuleSet) -> engine.CompositeScore:
    levels = rs.churn.levels
    return engine.CompositeScore(
        watch=levels.watch, warning=levels.warning, critical=levels.critical
    )


ENTRIES = (RuleEntry(engine.CHURN_SCORE, None, _composite),)


class EngagementModel(Config):
    """``churn.engagement``: the logistic model over engagement signals and the five states.

    ``probability = 1 / (1 + exp(-(intercept + sum(weight x signal))))``; the churn score is that
    probability in percent. Fitted offline on the bank's own history (see README "How the score
    works"); ``cohorts`` is the versioned peer table: median customer-initiated transactions per
    30-day period by ``segment:tier``, produced by ``python -m churnwatch_state_monitor.cohorts``.
    """

    intercept: float = -4.0
    own_history: float = 2.0  # fall of the newest period's count against the own baseline
    sustained: float = 0.0  # the same fall over the two newest periods (a fall that lasts)
    amount: float = 0.5  # fall of the amount against the own baseline
    inactive_months: float = 1.5  # share of the last 12 periods without a transaction
    recency: float = 2.0  # idle time beyond the customer's usual gap
    peers: float = 0.5  # rate below the cohort's median
    contacts: float = 0.8  # per customer-initiated contact in 90 days (up to 4)
    complaints: float = 0.8  # per complaint in 90 days (up to 3)
    states: float = 3.0  # the five states' composite (0..1)
    min_history: Annotated[int, Field(ge=1, le=10)] = 2
    cohorts_version: str = "unset"
    cohorts: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    default_cohort: Annotated[float, Field(gt=0)] = 2.5

    def build(self) -> Engagement:
        """The engine's record of this model."""
        return Engagement(
            intercept=self.intercept,
            w_own=self.own_history,
            w_sustained=self.sustained,
            w_amount=self.amount,
            w_inactive=self.inactive_months,
            w_recency=self.recency,
            w_peers=self.peers,
            w_contacts=self.contacts,
            w_complaints=self.complaints,
            w_states=self.states,
            min_history=self.min_history,
            cohorts=dict(self.cohorts),
            default_cohort=self.default_cohort,
        )
