"""What every state's config module uses: the strict model base, common field types, ``RuleEntry``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from churnwatch_shared.alerts import Severity
from churnwatch_state_monitor.engine.rules import Rule

if TYPE_CHECKING:
    from churnwatch_state_monitor.ruleset import RuleSet

Share = Annotated[float, Field(gt=0, le=1)]
Money = Annotated[Decimal, Field(ge=0)]


class Config(BaseModel):
    """Unknown keys are refused (a misspelt threshold must not silently keep its default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleConfig(Config):
    """The keys every rule takes under ``rules.<rule id>``."""

    enabled: bool = True
    severity: Severity = Severity.WARNING


@dataclass(frozen=True)
class RuleEntry:
    """One rule in the catalog: its id (the key under ``rules:``), its config model (None: it
    has no key under ``rules:``) and how the validated config becomes the engine's rule object."""

    rule_id: str
    config: type[RuleConfig] | None
    build: Callable[[Any, RuleSet], Rule]

    @property
    def field(self) -> str:
        """The attribute of ``RuleSet.rules`` holding this rule's config (the id after the dot)."""
        return self.rule_id.split(".", 1)[1]
