"""What issue 15's own measure allows on the realistic simulator: two ceilings beside the rule score.

The detection benchmark judges a score **over time** (``bench/detection_metrics``: per customer
the maximum in the 90 days before churn or the run's end, warning at some moment of it). Here two
scorers are run day by day over the same population and fed through the same ``judge`` and
``summarise``, so their figures compare with the rule score's line for line:

- **Bayes**: at the end of every day T, the posterior P(the customer is a leaver whose churn falls
  in (T, T + H] | everything observable up to T) under the simulator's own generative model
  (``churnwatch_simulator.realistic_life``), with the customer's **true** activity rate given:
  customer-initiated transactions per day are Poisson at rate x multiplier (1; a leaver's linear
  fade from churn - L to 15% (quiet) or 50% (contact) of the rate, L uniform 45..120 days, then
  nothing; a noisy stayer's holiday of 14..30 days: nothing), a customer contact on a day with
  probability 0.03/30 (noisy stayer 0.08/30; a contact leaver 1.5/30 once fading). The prior is
  the simulator's (fate shares, the fade's length, the churn day at the simulator's density),
  but stationary: churns go on past the run's end at the same density and fades that have not
  begun weigh the same on every day, so the posterior does not learn from "the run is about to
  end, every leaver has left by then" what no bank knows (``Hypotheses``).
  Hypotheses are on a grid (lengths every 7 days, holidays every 2), so this is the ceiling up
  to that grid. Left out as simulator artefacts that no bank's customers
  share: amounts (drawn independently of the fade, except a noisy stayer's wider spread), the
  noisy stayer's one lump sum and bonus, income and bills (unchanged until the churn day).
- **Oracle**: the hidden truth, how far the leaver's fade has gone (0 for stayers). Every leaver
  fades inside its window, so it ranks perfectly: the bound of the labels themselves.

The warning line of each scorer is the cut that puts ``STAYER_BUDGET`` of the stayers at warning
or above (their maximum in the window at or over it); the rule score is also judged at the cut
of its own maximum that spends the same budget (``at_budget``), beside its configured levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import numpy as np
import orjson

from bench.detection_metrics import WARNING, Judged, Point, by_group, judge, summarise

STAYER_BUDGET = 0.10  # issue 15: stayers at warning or above <= 10%
FADING = 0  # "horizon" of P(a leaver whose fade has begun by T), churned since or not
HORIZONS = (30, 90, 365, FADING)  # days ahead the Bayes posterior asks about (H)
HEADLINE_H = FADING  # the ceiling quoted: the best AUC of HORIZONS on tuning seeds 5 and 7
LENGTHS = np.arange(45, 121, 7)  # a leaver's fade, days (the simulator draws 45..120)
HOLIDAYS = np.arange(14, 31, 2)  # a noisy stayer's holiday, days (14..30)
SHARES = {"stays": 0.72, "noisy_stays": 0.12, "quiet_leaver": 0.10, "contact_leaver": 0.06}
FLOORS = {"quiet_leaver": 0.15, "contact_leaver": 0.5}
CONTACTS = {"base": 0.03 / 30, "noisy": 0.08 / 30, "fading": 1.5 / 30}  # a day
RECENT_DAYS = 90  # the newest days left out of an estimated own rate
MIN_HISTORY_DAYS = 30
MAX_CUSTOMERS = 3_000  # the posterior costs customers x days x hypotheses: full mode samples
CHUNK = 500  # customers scored together (memory: CHUNK x hypotheses floats)
IMPOSSIBLE = 1e-6  # the multiplier of "no activity" (a transaction then rules the hypothesis out)
SPEND = frozenset({"card_spend", "international_settlement"})  # customer-initiated categories


def _spends(payload: dict[str, Any]) -> bool:
    """A posting of the customer's own choosing, as the simulator draws them (``Life._spend``):
    card purchases, cash withdrawn, transfers to a person, foreign settlements."""
    category = payload.get("category")
    if category in SPEND:
        return True
    if category == "cash":
        return payload.get("direction") == "debit"  # cash income is a credit
    return category == "interbank_transfer" and payload.get("counterparty_kind") == "person"


def observations(
    *, lines: Sequence[bytes], ids: dict[str, int], start: date, days: int, tz: tzinfo
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer and day: customer-initiated transactions, and whether they contacted the bank."""
    spend = np.zeros((len(ids), days))
    contact = np.zeros((len(ids), days))
    for line in lines:
        ev = orjson.loads(line)
        kind = ev["event_type"]
        if kind == "transaction.posted" and _spends(ev["payload"]):
            target = spend
        elif kind == "complaint.filed" or (
            kind == "contact.logged" and ev["payload"].get("initiated_by") == "customer"
        ):
            target = contact
        else:
            continue
        row = ids.get(ev["customer_id"])
        day = (datetime.fromisoformat(ev["occurred_at"]).astimezone(tz).date() - start).days
        if row is not None and 0 <= day < days:
            target[row, day] += 1
    return spend, np.minimum(contact, 1.0)  # the simulator draws at most one contact a day


class Hypotheses:
    """Every (fate, fade length, churn day) and (holiday start, length) on the grid, over the run's
    days: activity multiplier and contact probability per day, prior weight, fade start, churn day.

    Stationary, so that the posterior learns nothing from where the run starts or ends: a leaver's
    churn day has the simulator's density per day at every day, before and after the run. Only
    fades that have begun by the day judged are hypotheses of their own; one that has not begun
    looks exactly like a stayer so far, and its mass (``pending``) is the same on every day."""

    def __init__(self, *, days: int) -> None:
        first = int(days * 0.15)  # the simulator's earliest fade start
        mult, crate, prior, begins, churn = [], [], [], [], []
        self.density: list[tuple[int, float]] = []  # (fade length, leavers per day)
        d = np.arange(days)
        for fate, floor in FLOORS.items():
            for grid_length in LENGTHS:
                length = min(int(grid_length), int(days * 0.6))
                # the simulator's churn days for this length, spread evenly over its range
                per_day = SHARES[fate] / len(LENGTHS) / max(1, days - first - length)
                self.density.append((length, per_day))
                for begin in range(-length, days):  # every fade under way in the run
                    c = begin + length
                    done = (d - begin) / length
                    m = np.where(d < begin, 1.0, 1.0 - (1.0 - floor) * done)
                    mult.append(np.where(d >= c, 0.0, m))
                    fading = CONTACTS["fading"] if fate == "contact_leaver" else CONTACTS["base"]
                    p = np.where(d < begin, CONTACTS["base"], fading)
                    crate.append(np.where(d >= c, 0.0, p))
                    prior.append(per_day)
                    begins.append(begin)
                    churn.append(c)
        starts = range(1, days - 30)
        for h in starts:
            for away in HOLIDAYS:
                mult.append(np.where((d >= h) & (d < h + away), 0.0, 1.0))
                crate.append(np.full(days, CONTACTS["noisy"]))
                prior.append(SHARES["noisy_stays"] / len(starts) / len(HOLIDAYS))
                begins.append(-1)
                churn.append(-1)
        mult.append(np.ones(days))  # a stayer (a noisy stayer's holiday always falls in the run)
        crate.append(np.full(days, CONTACTS["base"]))
        prior.append(SHARES["stays"])
        begins.append(-1)
        churn.append(-1)
        m = np.stack(mult, 1)  # (days, hypotheses)
        p = np.stack(crate, 1)
        base = CONTACTS["base"]
        self.log_mult = np.log(np.maximum(m, IMPOSSIBLE))
        self.extra = np.cumsum(m - 1.0, 0)  # sum over days <= T of (multiplier - 1)
        safe = np.maximum(p, 1e-12)
        self.contact_gain = np.log(safe / base) - np.log1p(-p) + np.log1p(-base)
        self.no_contact = np.cumsum(np.log1p(-p) - np.log1p(-base), 0)
        self.log_prior = np.log(np.array(prior))
        self.begin = np.array(begins)
        self.churn = np.array(churn)

    def counted(self, *, day: int) -> np.ndarray:
        """Hypotheses of their own on ``day``: stayers, holidays and the fades begun by then."""
        return self.begin <= day

    def positive(self, *, day: int, horizon: int) -> np.ndarray:
        """Begun fades of leavers churning in (day, day + horizon]; with ``FADING``, every begun
        fade (the customer is fading or has left: churn day any)."""
        begun = (self.begin <= day) & (self.churn >= 0)
        if horizon == FADING:
            return begun
        return begun & (self.churn > day) & (self.churn <= day + horizon)

    def pending(self, *, horizon: int) -> float:
        """Prior mass of leavers churning within ``horizon`` whose fade has not begun yet (they
        look like stayers so far): the same on every day."""
        return sum(per_day * max(0, horizon - length) for length, per_day in self.density)


def own_rates(spend: np.ndarray) -> np.ndarray:
    """(customers, days): the rate an observer estimates at the end of day T from the customer's
    own history before the last ``RECENT_DAYS`` (as the engine's own baseline leaves out the
    newest periods, where a fade would be), at least the first ``MIN_HISTORY_DAYS``; one
    pseudo-transaction per 30 days of a floor of 0.1 a month keeps an idle start finite."""
    days = spend.shape[1]
    cum = np.cumsum(spend, 1)
    upto = np.maximum(np.arange(days) - RECENT_DAYS, MIN_HISTORY_DAYS - 1)
    upto = np.minimum(upto, np.arange(days))
    counted = cum[:, upto] + 0.1
    return counted / (upto + 1 + 30)[None, :]


def posterior_series(
    *, spend: np.ndarray, contact: np.ndarray, rates: np.ndarray, horizons: Sequence[int]
) -> dict[int, np.ndarray]:
    """horizon -> (customers, days): P(churn in (T, T + H] | observed on days <= T), every T.

    ``rates``: each customer's customer-initiated transactions a day (multiplier 1), one per
    customer (the true rate) or one per customer and day (an estimate as of each day)."""
    customers, days = spend.shape
    if rates.ndim == 1:
        rates = np.repeat(rates[:, None], days, 1)
    hyp = Hypotheses(days=days)
    out = {h: np.zeros((customers, days)) for h in horizons}
    pending = np.array([0.0] + [hyp.pending(horizon=h) for h in horizons])
    # per day, one matrix product sums the weights of the counted hypotheses and of each
    # horizon's positives (float32: the weights are normalised to at most 1 first)
    sums = [
        np.stack(
            [hyp.counted(day=t)] + [hyp.positive(day=t, horizon=h) for h in horizons], 1
        ).astype(np.float32)
        for t in range(days)
    ]
    for lo in range(0, customers, CHUNK):
        rows = slice(lo, min(customers, lo + CHUNK))
        n, k, lam = spend[rows], contact[rows], rates[rows]
        seen = np.zeros((n.shape[0], hyp.log_prior.size))  # sum of n x log mult + contact gains
        for t in range(days):
            for obs, gain in ((n, hyp.log_mult), (k, hyp.contact_gain)):
                who = np.flatnonzero(obs[:, t])
                if who.size:
                    seen[who] += obs[who, t, None] * gain[t][None, :]
            ll = seen - lam[:, t, None] * hyp.extra[t][None, :]
            ll += hyp.no_contact[t] + hyp.log_prior
            top = np.maximum(ll.max(1, keepdims=True), 0.0)
            weight = np.exp((ll - top).astype(np.float32))
            steady = np.exp(-top)  # a fade not begun: the likelihood of a stayer (ll 0)
            found = (weight @ sums[t]).astype(np.float64) + pending[None, :] * steady
            total = found[:, 0]  # pending[0] is 0: the counted hypotheses alone
            for i, h in enumerate(horizons, 1):
                out[h][rows, t] = found[:, i] / (total + pending[i] * steady[:, 0])
    return out


def oracle_series(*, labels: Sequence[dict[str, Any]], start: date, days: int) -> np.ndarray:
    """(customers, days): the leaver's fade progress at the end of each day (0 for stayers)."""
    out = np.zeros((len(labels), days))
    t = np.arange(days)
    for i, row in enumerate(labels):
        if not row["churns"]:
            continue
        begin = (date.fromisoformat(row["drift_start_date"]) - start).days
        churn = (date.fromisoformat(row["churn_date"]) - start).days
        progress = (t - begin) / max(1, churn - begin)  # as the simulator's ``_activity``
        out[i] = np.where(t < churn, np.clip(progress, 0.0, 1.0), 0.0)
    return out


def daily_points(
    *, scores: np.ndarray, ids: Sequence[str], start: date, tz: tzinfo
) -> dict[str, list[Point]]:
    """Each customer's daily scores as the benchmark's points: the score of day T, judged on what
    was seen through day T, stands from the day's last second (level 0: set by ``at_cut``)."""
    ends = [
        int(datetime.combine(start + timedelta(days=t + 1), time(), tzinfo=tz).timestamp()) - 1
        for t in range(scores.shape[1])
    ]
    return {
        cid: [(at, float(s), 0) for at, s in zip(ends, scores[i], strict=True)]
        for i, cid in enumerate(ids)
    }


def cut_for_share(judged: Sequence[Judged], *, share: float) -> float:
    """The lowest warning line that puts at most ``share`` of the stayers at it or above (their
    maximum in the window): above the score of the stayer just outside the budget."""
    stayers = sorted((j.score for j in judged if not j.leaver), reverse=True)
    if not stayers:
        raise ValueError("no stayers to spend a warning budget on")
    allowed = int(share * len(stayers))
    if allowed >= len(stayers):
        return float(stayers[-1])
    return float(np.nextafter(stayers[allowed], np.inf))


def at_cut(series: dict[str, list[Point]], *, cut: float) -> dict[str, list[Point]]:
    """The same points with the level at warning where the score reaches ``cut``."""
    return {
        cid: [(at, s, WARNING if s >= cut else 0) for at, s, _ in points]
        for cid, points in series.items()
    }


def judged_at_budget(
    *, series: dict[str, list[Point]], labels: Sequence[dict[str, Any]], **window: Any
) -> tuple[float, dict[str, list[Judged]]]:
    """(cut, judged by kind and fate): the warning line that spends ``STAYER_BUDGET``."""
    first = judge(labels=labels, series=series, group_key="kind", **window)
    cut = cut_for_share(first, share=STAYER_BUDGET)
    leveled = at_cut(series, cut=cut)
    return cut, {
        key: judge(labels=labels, series=leveled, group_key=key, **window)
        for key in ("kind", "fate")
    }


def _name(horizon: int) -> str:
    return "bayes_fading" if horizon == FADING else f"bayes_h{horizon}"


def _report(cut: float, judged: dict[str, list[Judged]]) -> dict[str, Any]:
    return {
        "warning_cut": round(cut, 6),
        "overall": summarise(judged["kind"]),
        "per_kind": by_group(judged["kind"]),
        "per_fate": by_group(judged["fate"]),
    }


def ceilings(
    *,
    lines: Sequence[bytes],
    truth: dict[str, Any],
    rule_series: dict[str, list[Point]],
    run_start: date,
    run_end: date,
    tz: tzinfo,
    limit: int = MAX_CUSTOMERS,
) -> dict[str, Any]:
    """The Bayes ceilings (each horizon), the oracle and the rule score at the same budget, on
    the first ``limit`` customers (the simulator deals kinds and fates at random, so they are a
    random sample; the rule score is judged on the same ones)."""
    from bench.model_ceiling import true_rates

    labels = truth["labels"][:limit]
    ids = [row["customer_id"] for row in labels]
    days = (run_end - run_start).days + 1
    window = {"run_start": run_start, "run_end": run_end, "tz": tz}
    spend, contact = observations(
        lines=lines, ids={c: i for i, c in enumerate(ids)}, start=run_start, days=days, tz=tz
    )
    rates = true_rates(truth)
    lam = np.array([rates[c] / 30.0 for c in ids])
    out: dict[str, Any] = {
        "customers": len(labels),
        "definition": (
            f"warning line of each scorer: the cut that puts {STAYER_BUDGET:.0%} of stayers at "
            "warning (max in window); bayes_h<H>: daily P(churn in (T, T+H] | observed through "
            "T), simulator's model, true rate given; bayes_fading: P(a leaver whose fade has "
            "begun by T); _own_rate: the rate estimated from the customer's history before the "
            "last 90 days; oracle: hidden fade progress; "
            "rule_at_budget: the rule score at its own cut spending the same budget"
        ),
        "headline": _name(HEADLINE_H),
    }
    posteriors = posterior_series(spend=spend, contact=contact, rates=lam, horizons=HORIZONS)
    for h, scores in posteriors.items():
        series = daily_points(scores=scores, ids=ids, start=run_start, tz=tz)
        out[_name(h)] = _report(*judged_at_budget(series=series, labels=labels, **window))
    # the same posterior with the rate estimated from the customer's own history, as the engine
    # must: how much of the ceiling is knowing the true rate
    estimated = posterior_series(
        spend=spend, contact=contact, rates=own_rates(spend), horizons=(HEADLINE_H,)
    )[HEADLINE_H]
    series = daily_points(scores=estimated, ids=ids, start=run_start, tz=tz)
    out[f"{_name(HEADLINE_H)}_own_rate"] = _report(
        *judged_at_budget(series=series, labels=labels, **window)
    )
    oracle = daily_points(
        scores=oracle_series(labels=labels, start=run_start, days=days),
        ids=ids,
        start=run_start,
        tz=tz,
    )
    out["oracle"] = _report(*judged_at_budget(series=oracle, labels=labels, **window))
    out["rule_at_budget"] = _report(*judged_at_budget(series=rule_series, labels=labels, **window))
    return out
