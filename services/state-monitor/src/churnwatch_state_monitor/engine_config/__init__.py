"""The rules' config models, one module per state, interpreted (pydantic) beside the compiled engine.

Each module validates its rules' keys under ``rules:`` in the rules file and builds the engine's
rule objects (``engine.<state>``) from them; ``CATALOG`` lists every rule the monitor runs. Within
one trigger, rules run in catalog order.
"""

from __future__ import annotations

from churnwatch_state_monitor.engine_config import (
    account_flow,
    churn,
    product_usage,
    risk,
    scale,
    stability,
)
from churnwatch_state_monitor.engine_config.base import RuleEntry

CATALOG: tuple[RuleEntry, ...] = (
    *scale.ENTRIES,
    *stability.ENTRIES,
    *risk.ENTRIES,
    *account_flow.ENTRIES,
    *product_usage.ENTRIES,
    *churn.ENTRIES,
)
