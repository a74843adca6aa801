"""The alert budget: churn-level cut-offs derived from the share of the book a bank will review.

At training (``model train``) the manifest keeps the distribution of the calibrated probability
over the validation rows (every customer still a customer at each of the latest, held-out as-of
dates; both halves), as 1,001 quantiles (at 0, 0.1%, ..., 100%) of the probabilities rounded as
served, pooled over those dates and per date. From it a budget ("watch=0.15,warning=0.08,
critical=0.02": the share of the book at that level or above) is turned into cut-offs without the
data: for each level, the lowest validation probability at or above which at most the budgeted
share lies. The budget is a cap: a calibrated probability has ties (isotonic calibration is a
step map), so the share reached can be below the budget where a step holds many customers; the
shares reached are reported with the cut-offs. Pooled over the dates, a share is the book's share
at an as-of date averaged over the validation dates (weighted by their customers).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from churnwatch_state_monitor.model.artifact import ChurnModel

NAMES: Final = ("watch", "warning", "critical")
GRID: Final = 1000  # quantiles at k / GRID: the share resolution of a derived cut-off is 0.1%
ROUND: Final = 4  # probabilities are served (levels, snapshots) rounded to 4 decimals
DISTRIBUTION: Final = "score_distribution"  # the manifest's key
ACCEPTED: Final = (
    "accepted: watch=SHARE,warning=SHARE,critical=SHARE, each level once, shares of the book in "
    "(0, 1) decreasing from watch to critical, e.g. watch=0.15,warning=0.08,critical=0.02"
)


class BudgetError(ValueError):
    """A malformed budget, or one this model's validation distribution cannot meet."""


@dataclass(frozen=True, slots=True)
class Budget:
    """The share of the book at watch, warning and critical or above."""

    watch: float
    warning: float
    critical: float

    @property
    def shares(self) -> tuple[float, float, float]:
        return self.watch, self.warning, self.critical

    def text(self) -> str:
        """'watch=0.15,warning=0.08,critical=0.02'."""
        return ",".join(f"{n}={s:g}" for n, s in zip(NAMES, self.shares, strict=True))


def parse_budget(text: str, *, where: str) -> Budget:
    """'watch=0.15,warning=0.08,critical=0.02' -> a Budget; ``where``: the setting or flag, named
    in the error."""

    def refuse(problem: str) -> BudgetError:
        return BudgetError(f"{where}={text!r}: {problem}; {ACCEPTED}")

    shares: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = (part.strip() for part in item.partition("="))
        if not sep:
            raise refuse(f"{item.strip()!r} is not LEVEL=SHARE")
        if name not in NAMES:
            raise refuse(f"unknown level {name!r}")
        if name in shares:
            raise refuse(f"{name} is given twice")
        try:
            share = float(value)
        except ValueError:
            raise refuse(f"{name}'s share {value!r} is not a number") from None
        if not 0.0 < share < 1.0:  # also refuses nan
            raise refuse(f"{name}'s share {value} is not in (0, 1)")
        shares[name] = share
    missing = [n for n in NAMES if n not in shares]
    if missing:
        raise refuse(f"{', '.join(missing)} missing")
    budget = Budget(**shares)
    if not budget.watch > budget.warning > budget.critical:
        raise refuse(
            "the shares must decrease from watch to critical (a level includes those above)"
        )
    return budget


def score_distribution(*, p: Sequence[float], as_of: Sequence[int]) -> dict[str, Any]:
    """The manifest's record of the validation probabilities: quantiles pooled and per as-of."""
    import numpy as np

    served = np.round(np.asarray(p, dtype=float), ROUND)
    dates = np.asarray(as_of, dtype=np.int64)
    days = sorted(set(dates.tolist()))
    return {
        "population": "validation rows: each customer not yet churned at each validation as-of "
        "date (calibration and test halves)",
        "rows": len(served),
        "grid": GRID,
        "quantiles": _quantiles(served),
        "as_of": [
            {
                "date": datetime.fromtimestamp(day, UTC).date().isoformat(),
                "rows": int((dates == day).sum()),
                "quantiles": _quantiles(served[dates == day]),
            }
            for day in days
        ],
    }


def _quantiles(values: Any) -> list[float]:
    import numpy as np

    if not len(values):
        return []
    # inverted_cdf returns observed values, so a cut-off derived from them is a served probability
    q = np.quantile(values, np.linspace(0.0, 1.0, GRID + 1), method="inverted_cdf")
    return [round(float(v), ROUND) for v in q]


def share_at_or_above(quantiles: Sequence[float], cutoff: float) -> float:
    """The share of the rows whose probability is at least ``cutoff`` (an upper bound, within
    1 / GRID of the true share)."""
    below = bisect_left(quantiles, cutoff)  # quantile points under the cut-off
    grid = len(quantiles) - 1
    return round(min(1.0, max(0.0, 1.0 - (below - 1) / grid)), 4)


def distribution_of(manifest: dict[str, Any], *, directory: Any, where: str) -> dict[str, Any]:
    """The manifest's validation distribution, or a clear refusal for a model trained without it."""
    found = manifest.get(DISTRIBUTION)
    if not isinstance(found, dict) or not found.get("quantiles"):
        raise BudgetError(
            f"{where}: the model in {directory} (version {manifest.get('version')}) was trained "
            f"before the alert budget: its manifest.json has no {DISTRIBUTION} to derive cut-offs "
            "from; retrain it with this build's `model train`, or give explicit cut-offs instead"
        )
    return found


def cutoffs_for(
    budget: Budget, distribution: dict[str, Any], *, where: str
) -> tuple[float, float, float]:
    """The (watch, warning, critical) cut-offs that keep each level's share within the budget."""
    quantiles: list[float] = distribution["quantiles"]
    values = sorted(set(quantiles))
    out: list[float] = []
    for name, share in zip(NAMES, budget.shares, strict=True):
        # the lowest served probability whose share at or above stays within the budget
        fits = [v for v in values if share_at_or_above(quantiles, v) <= share]
        if not fits:
            top = values[-1]
            raise BudgetError(
                f"{where}: {name}={share:g} cannot be met by this model: "
                f"{share_at_or_above(quantiles, top):.1%} of its validation rows share its "
                f"highest probability {top:.2%} (a calibration step), so no cut-off keeps "
                f"{share:.1%} or fewer at {name} or above; give a larger share or explicit cut-offs"
            )
        out.append(fits[0])
    for (low, a), (high, b) in zip(
        zip(NAMES, out, strict=True), zip(NAMES[1:], out[1:], strict=True), strict=False
    ):
        if b <= a:
            lower = [v for v in values if v < a]
            step = (
                f"; the next lower probability, {lower[-1]:.2%}, has "
                f"{share_at_or_above(quantiles, lower[-1]):.1%} at or above"
                if lower
                else ""
            )
            raise BudgetError(
                f"{where}: {low}={getattr(budget, low):g} and {high}={getattr(budget, high):g} "
                f"give the same cut-off {a:.2%}, with {share_at_or_above(quantiles, a):.1%} of the "
                f"validation rows at or above it{step} (a calibration step); give shares further "
                "apart or explicit cut-offs"
            )
    return out[0], out[1], out[2]


def describe(
    *, cutoffs: Sequence[float], distribution: dict[str, Any] | None, hysteresis: float
) -> list[dict[str, Any]]:
    """Per level: the cut-off, the share of the validation rows at or above it (pooled and the
    range over the as-of dates) and at or above the level's exit point (hysteresis)."""
    out = []
    for name, cutoff in zip(NAMES, cutoffs, strict=True):
        level: dict[str, Any] = {"level": name, "cutoff": cutoff}
        if distribution is not None and distribution.get("quantiles"):
            q = distribution["quantiles"]
            per_date = [
                share_at_or_above(d["quantiles"], cutoff)
                for d in distribution.get("as_of", [])
                if d.get("quantiles")
            ]
            exit_at = round(cutoff * (1.0 - hysteresis), ROUND)
            level |= {
                "validation_share": share_at_or_above(q, cutoff),
                "validation_share_by_date": [min(per_date), max(per_date)] if per_date else None,
                "exit_below": exit_at,
                "validation_share_above_exit": share_at_or_above(q, exit_at),
            }
        out.append(level)
    return out


def budget_table(distribution: dict[str, Any], shares: Sequence[float]) -> list[tuple[float, Any]]:
    """(budget share, cut-off or None where a calibration step prevents it) for the model card."""
    quantiles = distribution["quantiles"]
    values = sorted(set(quantiles))
    out: list[tuple[float, Any]] = []
    for share in shares:
        fits = [v for v in values if share_at_or_above(quantiles, v) <= share]
        out.append((share, fits[0] if fits else None))
    return out


@dataclass(frozen=True, slots=True)
class Levels:
    """The cut-offs in use and where they come from (logged, and shown by ``model report``)."""

    cutoffs: tuple[float, float, float]
    source: str  # "budget", "cut-offs" (configured) or "manifest"
    budget: Budget | None

    def record(self, *, model: ChurnModel, hysteresis: float) -> dict[str, Any]:
        """What a model owner reads: source, budget, and each level's cut-off and shares."""
        return {
            "source": self.source,
            "budget": self.budget.text() if self.budget else None,
            "hysteresis": hysteresis,
            "levels": describe(
                cutoffs=self.cutoffs,
                distribution=model.manifest.get(DISTRIBUTION),
                hysteresis=hysteresis,
            ),
        }


def resolve_levels(
    *,
    model: ChurnModel,
    cutoffs: str | None,
    budget: str | None,
    cutoffs_name: str,
    budget_name: str,
) -> Levels:
    """Explicit cut-offs, or a budget's on this model, or the manifest's; both given is refused."""
    from churnwatch_state_monitor.model.artifact import parse_cutoffs

    if cutoffs and budget:
        raise BudgetError(
            f"{cutoffs_name} and {budget_name} are both set: give explicit cut-offs or an alert "
            "budget (the share of the book at each level), not both"
        )
    if budget:
        parsed = parse_budget(budget, where=budget_name)
        found = distribution_of(model.manifest, directory=model.directory, where=budget_name)
        where = f"{budget_name} on the model in {model.directory}"
        return Levels(cutoffs_for(parsed, found, where=where), "budget", parsed)
    if cutoffs:
        try:
            return Levels(parse_cutoffs(cutoffs), "cut-offs", None)
        except ValueError as exc:
            raise BudgetError(f"{cutoffs_name}: {exc}") from None
    low, mid, high = model.cutoffs
    return Levels((low, mid, high), "manifest", None)
