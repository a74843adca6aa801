"""Scale rules: assets falling into (or below) the critical band under the customer's tier floor.

Tier floors in cents; the config model that validates the rule and builds this record (with the
rules file's ``tiers``) is in ``churnwatch_state_monitor.engine_config.scale``.
"""

from __future__ import annotations

from typing import Final

from churnwatch_shared.alerts import CustomerStateName, Severity
from churnwatch_shared.events import EventType
from churnwatch_state_monitor.engine.facts import money_str
from churnwatch_state_monitor.engine.rules import Context, Finding, Rule
from churnwatch_state_monitor.engine.state import CustomerState

TIER_CRITICAL_BAND: Final = "scale.tier_critical_band"

_STATE: Final = CustomerStateName.SCALE


def band_in(st: CustomerState, tier_floors: dict[str, tuple[int, int]]) -> int:
    """0 at/above the tier threshold (or never reached it), 1 inside the critical band, 2 below
    (``tier_floors``: tier -> threshold, lower edge of the band; cents)."""
    tier = st.tier
    floors = tier_floors.get(tier) if tier else None
    if floors is None:
        return 0
    threshold, lowest = floors
    assets = st.demand + st.time_dep + st.invest
    if st.peak_assets < threshold or assets >= threshold:
        return 0
    return 1 if assets >= lowest else 2


class TierCriticalBand(Rule):
    """Assets crossing down into the critical band below the tier threshold, or below the band.

    Fires only on the crossing (from at/above the threshold, or from the band to below it), never
    for a customer who never held the tier's assets. Records the band judged in ``st.band``, also
    when the rule is disabled (the scale score reads the band).
    """

    def __init__(
        self, *, enabled: bool, severity: Severity, tier_floors: dict[str, tuple[int, int]]
    ) -> None:
        super().__init__(
            rule_id=TIER_CRITICAL_BAND,
            code="band",
            state=_STATE,
            on=(EventType.BALANCE_SNAPSHOT.value, EventType.CUSTOMER_PROFILE.value),
            enabled=enabled,
            severity=severity,
        )
        # tier -> (threshold, lower edge of the critical band), cents; read by the scale score
        self.tier_floors = tier_floors

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        previous, current = st.band, band_in(st, self.tier_floors)
        st.band = current
        if current <= previous or st.peak_assets == 0:
            return None
        if not self.enabled:
            return None
        threshold = self.tier_floors[st.tier][0]  # type: ignore[index]
        assets = st.assets
        severity = self.severity if current == 1 else Severity.CRITICAL
        where = "inside the critical band" if current == 1 else "below the critical band"
        return Finding(
            rule_id=TIER_CRITICAL_BAND,
            state=_STATE,
            severity=severity,
            title=f"Assets {where} of tier {st.tier}",
            condition_key=f"{st.tier}:{severity}",
            code="tier_critical_band",
            text=(
                f"financial assets of {money_str(assets)} {cx.fx.reporting} {where} below the "
                f"{st.tier} threshold of {money_str(threshold)} {cx.fx.reporting}"
            ),
            observed=money_str(assets),
            baseline=money_str(threshold),
            window="snapshot",
            evidence=[cx.event_id],
        )
