"""The versioned value configuration (margins, cost to serve, thresholds) read from YAML."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from churnwatch_alerts import yaml_config

PACKAGED_CONFIG = "margins.yaml"

Rate = Annotated[Decimal, Field(ge=0, le=1)]
Money = Annotated[Decimal, Field(ge=0)]
Ratio = Annotated[Decimal, Field(gt=0, le=10)]


class ValueConfigError(ValueError):
    """The value configuration file is unreadable or invalid (the message names each field)."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DepositMargins(_Config):
    demand: Rate
    time: Rate


class Margins(_Config):
    deposits: DepositMargins
    loans: Rate
    investments: Rate


class Fees(_Config):
    card_interchange: Rate = Decimal(0)
    # "state.metric" names of snapshot metrics holding the period's fee income
    metrics: list[Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")]] = Field(
        default_factory=list
    )


class CostToServe(_Config):
    default: Money
    tiers: dict[str, Money] = Field(default_factory=dict)
    segments: dict[str, Money] = Field(default_factory=dict)

    def monthly(self, *, tier: str | None, segment: str | None) -> Decimal:
        """The monthly cost of serving a customer of this segment or tier."""
        if segment is not None and segment in self.segments:
            return self.segments[segment]
        if tier is not None and tier in self.tiers:
            return self.tiers[tier]
        return self.default


class Potential(_Config):
    trend_weight: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.5")


class Lifecycle(_Config):
    dormant_days: Annotated[int, Field(ge=1, le=3650)] = 60
    new_tenure_days: Annotated[int, Field(ge=0, le=3650)] = 180
    growth_ratio: Ratio = Decimal("0.05")
    decline_ratio: Ratio = Decimal("0.10")
    declining_churn: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.5")


class Strategy(_Config):
    low_value: Money = Decimal(50)
    exit_classifications: list[str] = Field(default_factory=lambda: ["doubtful", "loss"])


class ValueConfig(_Config):
    version: Annotated[str, Field(min_length=1, max_length=64)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    margins: Margins
    fees: Fees = Field(default_factory=Fees)
    cost_to_serve: CostToServe
    potential: Potential = Field(default_factory=Potential)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    strategy: Strategy = Field(default_factory=Strategy)


def parse_value_config(text: str, *, source: str = "<text>") -> ValueConfig:
    """Validate YAML text as a value configuration; raises ``ValueConfigError`` naming each field."""
    return yaml_config.parse(
        text, ValueConfig, what="value configuration", source=source, error=ValueConfigError
    )


def load_value_config(path: Path | None = None) -> ValueConfig:
    """Load the value configuration from ``path`` (or the packaged ``margins.yaml``)."""
    text, source = yaml_config.read(
        path,
        package=__package__,
        packaged=PACKAGED_CONFIG,
        what="value configuration",
        error=ValueConfigError,
    )
    return parse_value_config(text, source=source)
