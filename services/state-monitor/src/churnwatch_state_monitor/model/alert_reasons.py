"""The churn model's reasons on the churn-risk alerts a manager sees (issue 16 item 3).

With a model loaded, every churn-risk alert gets the model's top tree-SHAP contributions appended
to its rule reasons, as ``Reason`` entries of the shared alert contract: code ``model.<feature>``,
the feature's state, the manager wording ("card spending, last 4 weeks: 300 CNY (usually 1,200
CNY; peers 900 CNY)"), ``observed`` = the customer's value, ``baseline`` = their own usual value,
``weight`` = the contribution in log-odds. The rule reasons stay first: they say which rule raised
the alert; the model's say what moves the probability.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import orjson

from churnwatch_shared.alerts import AlertKind, CustomerStateName
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model.artifact import ChurnModel, Contribution
from churnwatch_state_monitor.model.features import REGISTRY

CODE_PREFIX: Final = "model."
TOP: Final = 3
# the engagement measures are activity, which the stability state judges
_STATE: Final = {"engagement": CustomerStateName.STABILITY.value}
_TEXT_MAX: Final = 500


def reason_dicts(contributions: Sequence[Contribution]) -> list[dict[str, Any]]:
    """``Reason`` dicts (shared alert contract) of a customer's top contributions."""
    out = []
    for c in contributions:
        state = REGISTRY[c.feature].state
        out.append(
            {
                "code": f"{CODE_PREFIX}{c.feature}"[:64],
                "state": _STATE.get(state, state),
                "text": c.text[:_TEXT_MAX],
                "observed": c.value,
                "baseline": c.baseline,
                "window": "model",
                "weight": c.contribution,
            }
        )
    return out


def explain_alerts(
    *,
    model: ChurnModel,
    alerts: Sequence[tuple[bytes, bytes]],
    state_of: Callable[[str], tuple[CustomerState, int] | None],
) -> list[tuple[bytes, bytes]]:
    """``alerts`` (key, JSON) with model reasons added to each churn-risk alert whose customer's
    (state, as-of) ``state_of`` knows; one ``pred_contrib`` call for all of them."""
    picked: list[tuple[int, dict[str, Any], CustomerState, int]] = []
    for i, (_, value, *_) in enumerate(alerts):  # (key, value[, headers]): worker/lineage.py
        if b'"churn_risk"' not in value:  # cheap pre-filter; the kind is checked after parsing
            continue
        alert = orjson.loads(value)
        if alert.get("kind") != AlertKind.CHURN_RISK.value:
            continue
        known = state_of(alert["customer_id"])
        if known is not None:
            picked.append((i, alert, known[0], known[1]))
    if not picked:
        return list(alerts)
    explained = model.explain(
        [(st, at) for _, _, st, at in picked],
        cohorts=[f"{st.segment or '-'}/{st.tier or '-'}" for _, _, st, _ in picked],
        top=TOP,
    )
    out = list(alerts)
    for (i, alert, _, _), why in zip(picked, explained, strict=True):
        alert["reasons"] = [*alert["reasons"], *reason_dicts(why)]
        out[i] = (alerts[i][0], orjson.dumps(alert), *alerts[i][2:])  # headers kept
    return out
