"""The versioned playbook (actions and their eligibility conditions) read from YAML."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


def _describe(exc: ValidationError, source: str) -> str:
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
    ]
    return f"playbook {source} is invalid: " + "; ".join(problems)


def parse_playbook(text: str, *, source: str = "<text>") -> Playbook:
    """Validate YAML text as a playbook; raises ``PlaybookError`` naming each bad field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlaybookError(f"playbook {source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PlaybookError(f"playbook {source} must be a YAML mapping with version and actions")
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        raise PlaybookError(_describe(exc, source)) from exc


def load_playbook(path: Path | None = None) -> Playbook:
    """Load the playbook from ``path`` (or the packaged ``playbook.yaml``)."""
    if path is None:
        text = resources.files(__package__).joinpath(PACKAGED_PLAYBOOK).read_text(encoding="utf-8")
        return parse_playbook(text, source=f"(packaged {PACKAGED_PLAYBOOK})")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlaybookError(f"cannot read playbook {path}: {exc.strerror}") from exc
    return parse_playbook(text, source=str(path))
