"""The versioned playbook (actions and their eligibility conditions) read from YAML."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from churnwatch_alerts import yaml_config
from churnwatch_shared.customer_state import StateLevel

PACKAGED_PLAYBOOK = "playbook.yaml"

MetricName = Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class PlaybookError(ValueError):
    """The playbook file is unreadable or invalid (the message names each field)."""


class ActionKind(StrEnum):
    RETENTION = "retention"
    SERVICE = "service"
    # offers (cross-selling while maintaining): never to a customer who objected to marketing
    MARKETING = "marketing"


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricTest(_Config):
    """``metric op value``, or ``metric op share x other metric``."""

    metric: MetricName
    op: Literal[">", ">=", "<", "<=", "=="]
    value: Decimal | None = None
    of: MetricName | None = None
    share: Annotated[Decimal, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _one_right_side(self) -> MetricTest:
        if (self.value is None) == (self.of is None):
            raise ValueError("give either value, or of with share")
        if (self.of is None) != (self.share is None):
            raise ValueError("of and share go together")
        return self


class When(_Config):
    churn_level_at_least: StateLevel | None = None
    alert_rules_any: list[str] = Field(default_factory=list)
    reason_codes_any: list[str] = Field(default_factory=list)
    alert_text_any: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    metrics: list[MetricTest] = Field(default_factory=list)
    strategy_any: list[Literal["deepen", "maintain", "reduce", "exit"]] = Field(
        default_factory=list
    )
    lifecycle_any: list[Literal["new", "growth", "mature", "declining", "dormant"]] = Field(
        default_factory=list
    )
    tiers_any: list[str] = Field(default_factory=list)


class Action(_Config):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    kind: ActionKind
    priority: Annotated[int, Field(ge=0, le=1000)] = 50
    due_within_hours: Annotated[int, Field(ge=1, le=24 * 90)] | None = None
    suppresses: list[ActionKind] = Field(default_factory=list)
    when: When


class Playbook(_Config):
    version: Annotated[str, Field(min_length=1, max_length=64)]
    actions: Annotated[dict[Code, Action], Field(min_length=1)]


def parse_playbook(text: str, *, source: str = "<text>") -> Playbook:
    """Validate YAML text as a playbook; raises ``PlaybookError`` naming each bad field."""
    return yaml_config.parse(text, Playbook, what="playbook", source=source, error=PlaybookError)


def load_playbook(path: Path | None = None) -> Playbook:
    """Load the playbook from ``path`` (or the packaged ``playbook.yaml``)."""
    text, source = yaml_config.read(
        path, package=__package__, packaged=PACKAGED_PLAYBOOK, what="playbook", error=PlaybookError
    )
    return parse_playbook(text, source=source)
