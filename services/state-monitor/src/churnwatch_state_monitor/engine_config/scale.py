"""Config of the scale rules (``rules.scale.*``, with the rules file's ``tiers``): validated, then
built into the engine's records (``engine.scale``; money in cents)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from churnwatch_state_monitor.engine import scale as engine
from churnwatch_state_monitor.engine.facts import cents
from churnwatch_state_monitor.engine_config.base import RuleConfig, RuleEntry

if TYPE_CHECKING:
    from churnwatch_state_monitor.ruleset import RuleSet


class TierCriticalBand(RuleConfig):
    """Severity: inside the band; below it (tier lost) is critical. Bands: ``tiers``."""


def _band(cfg: TierCriticalBand, rs: RuleSet) -> engine.TierCriticalBand:
    # tier -> (threshold, lower edge of the critical band), cents
    floors = {
        tier.value: (cents(band.threshold), cents(band.threshold) - cents(band.critical_band))
        for tier, band in rs.tiers.items()
    }
    return engine.TierCriticalBand(enabled=cfg.enabled, severity=cfg.severity, tier_floors=floors)


ENTRIES = (RuleEntry(engine.TIER_CRITICAL_BAND, TierCriticalBand, _band),)
