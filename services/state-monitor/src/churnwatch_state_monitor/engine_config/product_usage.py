"""Config of the product-usage rules (``rules.product_usage.*``): validated, then built into the
engine's records (``engine.product_usage``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from churnwatch_state_monitor.engine import product_usage as engine
from churnwatch_state_monitor.engine_config.base import RuleConfig, RuleEntry

if TYPE_CHECKING:
    from churnwatch_state_monitor.ruleset import RuleSet


class ProductCancelled(RuleConfig):
    critical_count_90d: Annotated[int, Field(ge=1, le=8)] = 2


def _cancelled(cfg: ProductCancelled, rs: RuleSet) -> engine.ProductCancelled:
    return engine.ProductCancelled(
        enabled=cfg.enabled, severity=cfg.severity, critical_count_90d=cfg.critical_count_90d
    )


ENTRIES = (RuleEntry(engine.PRODUCT_CANCELLED, ProductCancelled, _cancelled),)
