"""What the realistic simulator's labels allow: two ceilings on a model's held-out rows.

- **Oracle**: the hidden truth as the score, how far each leaver's fade has gone at the as-of
  time T (0 for stayers and for leavers whose fade begins after T). A leaver whose fade has not
  begun is generated exactly like a stayer up to T, so no scorer of anything observable at T
  ranks better; at a 90-day horizon ~15% of positives are such leavers.
- **Bayes**: the posterior P(churn in (T, T+H] | observable at T) under the simulator's own
  generative model (``churnwatch_simulator.realistic_life``): each customer's own-initiated
  transactions per day are Poisson at their rate times an activity multiplier (1; for a leaver a
  linear fade from churn - L to churn, L uniform 45..120 days, down to 15% (quiet) or 50%
  (contact); for a noisy stayer 0 during one holiday of 14..30 days), contacts arrive at 0.03 a
  month (noisy stayer 0.08, a contact leaver 1.5 once fading). The customer's **true** rate is
  given (read from the simulator, not estimated), amounts carry no information (drawn
  independently of the fade) and balances are sums of the same transactions. Ranking by this
  posterior is (up to the grid over churn days and lengths) the best any model of the
  observable behaviour can do.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

WINDOW = 120  # days before T a fade can have begun (the longest fade)
LENGTHS = np.arange(45, 121, 5)
HOLIDAYS = np.arange(14, 31, 4)
SHARES = {"stays": 0.72, "noisy_stays": 0.12, "quiet_leaver": 0.10, "contact_leaver": 0.06}
FLOORS = {"quiet_leaver": 0.15, "contact_leaver": 0.5}
CHURN_SPAN = 250.0  # days over which churn dates spread (prior density per day)


def true_rates(truth: dict[str, Any]) -> dict[str, float]:
    """customer_id -> own-initiated transactions a month, as the simulator drew them."""
    from churnwatch_simulator.bank import CHINA_STANDARD_TIME
    from churnwatch_simulator.realistic import RealisticBank, RealisticConfig
    from churnwatch_simulator.realistic_life import Life

    d = date.fromisoformat(truth["start"][:10])
    start = datetime(d.year, d.month, d.day, tzinfo=CHINA_STANDARD_TIME)
    bank = RealisticBank(
        config=RealisticConfig(
            customers=truth["customers"], days=truth["days"], seed=truth["seed"], start=start
        )
    )
    # a fresh bank: each person's generator draws the same rate as in the run
    return {p.customer_id: Life(person=p, days=truth["days"], start=d).rate for p in bank.people}


def _daily(events: Path, ids: dict[str, int], start: date, days: int) -> tuple[np.ndarray, ...]:
    spend = np.zeros((len(ids), days + 1))
    contact = np.zeros((len(ids), days + 1))
    with events.open("rb") as fh:
        for line in fh:
            ev = orjson.loads(line)
            kind = ev["event_type"]
            if kind == "transaction.posted":
                if ev["payload"].get("channel") == "batch":  # salary, bills, card repayment
                    continue
                target = spend
            elif kind in ("complaint.filed", "contact.logged"):
                target = contact
            else:
                continue
            day = (date.fromisoformat(ev["occurred_at"][:10]) - start).days
            target[ids[ev["customer_id"]], day] += 1
    return spend, contact


def _hypotheses(horizon: int) -> tuple[np.ndarray, ...]:
    """Per hypothesis over the WINDOW days before T: log multiplier, sum(multiplier - 1),
    daily contact probability, prior weight, and whether it is a positive."""
    days = np.arange(-WINDOW, 0)
    cols: list[tuple[np.ndarray, np.ndarray, float, bool]] = []
    for fate, floor in FLOORS.items():
        for offset in range(1, horizon + WINDOW + 1):  # churn day - T
            for length in LENGTHS:
                begin = offset - length
                done = np.clip((days - begin) / length, 0.0, None)
                mult = np.where(days < begin, 1.0, 1 - (1 - floor) * done)
                rate = 1.5 if fate == "contact_leaver" else 0.03
                crate = np.where(days >= begin, rate, 0.03) / 30
                w = SHARES[fate] / CHURN_SPAN / len(LENGTHS)
                cols.append((mult, crate, w, offset <= horizon))
    for start in range(-WINDOW, 0):  # a noisy stayer's holiday seen in the window
        for length in HOLIDAYS:
            mult = np.where((days >= start) & (days < start + length), 1e-9, 1.0)
            w = SHARES["noisy_stays"] / 365 / len(HOLIDAYS)
            cols.append((mult, np.full(WINDOW, 0.08 / 30), w, False))
    cols.append((np.ones(WINDOW), np.full(WINDOW, 0.03 / 30), SHARES["stays"], False))
    cols.append((np.ones(WINDOW), np.full(WINDOW, 0.08 / 30), SHARES["noisy_stays"] / 2, False))
    mult = np.stack([c[0] for c in cols], 1)
    crate = np.stack([c[1] for c in cols], 1)
    return (
        np.log(mult),
        (mult - 1).sum(0),
        np.log(crate),
        np.log1p(-crate),
        np.array([c[2] for c in cols]),
        np.array([c[3] for c in cols]),
    )


def ceilings(
    *, truth: dict[str, Any], events: Path, as_of: list[str], horizon_days: int
) -> dict[str, Any]:
    """Oracle and Bayes AUC on the model's held-out rows: the validation dates ``as_of``, the
    customers of the test half (the training split's hash), those not churned by T."""
    from sklearn.metrics import roc_auc_score

    start = date.fromisoformat(truth["start"][:10])
    labels = truth["labels"]
    ids = {row["customer_id"]: i for i, row in enumerate(labels)}
    rates = true_rates(truth)
    lam = np.array([rates[row["customer_id"]] / 30.0 for row in labels])
    spend, contact = _daily(events, ids, start, truth["days"])
    log_mult, extra, log_c, log_no_c, prior, positive = _hypotheses(horizon_days)
    test = np.array([zlib.crc32(r["customer_id"].encode()) % 2 == 1 for r in labels])
    ys: list[int] = []
    oracle: list[float] = []
    bayes: list[float] = []
    for text in as_of:
        t = date.fromisoformat(text)
        ti = (t - start).days
        seen = spend[:, ti - WINDOW : ti]
        contacted = (contact[:, ti - WINDOW : ti] > 0).astype(float)
        ll = seen @ log_mult - lam[:, None] * extra[None, :]
        ll += contacted @ log_c + (1 - contacted) @ log_no_c
        ll -= ll.max(1, keepdims=True)
        weight = np.exp(ll) * prior[None, :]
        posterior = weight[:, positive].sum(1) / weight.sum(1)
        for i, row in enumerate(labels):
            churn = date.fromisoformat(row["churn_date"]) if row["churn_date"] else None
            if not test[i] or (churn is not None and churn <= t):
                continue
            ys.append(int(churn is not None and churn <= t + timedelta(days=horizon_days)))
            progress = 0.0
            if churn is not None:
                begin = date.fromisoformat(row["drift_start_date"])
                progress = max(0.0, (t - begin).days / max(1, (churn - begin).days))
            oracle.append(progress)
            bayes.append(float(posterior[i]))
    y = np.array(ys)
    fade = np.array(oracle)
    return {
        "rows": len(y),
        "positives": int(y.sum()),
        "oracle_auc": round(float(roc_auc_score(y, fade)), 4),
        "positives_not_yet_fading": round(float((fade[y == 1] == 0).mean()), 3),
        "bayes_auc": round(float(roc_auc_score(y, np.array(bayes))), 4),
    }


def append_to_card(*, out: Path, bounds: dict[str, Any], horizon_days: int) -> None:
    """Add the ceilings (simulator-only figures) to the MODEL_CARD.md of a benchmark run."""
    card = out / "MODEL_CARD.md"
    text = card.read_text(encoding="utf-8")
    text += (
        "\n## What the labels allow (simulator benchmark only)\n\n"
        f"On the same held-out rows ({bounds['rows']:,}, {bounds['positives']:,} positives), "
        f"{horizon_days}-day horizon:\n\n"
        f"- Oracle AUC (the simulator's hidden fade progress as the score): "
        f"**{bounds['oracle_auc']}**; {bounds['positives_not_yet_fading']:.0%} of the positives "
        "have not begun to fade at the as-of date and look exactly like stayers.\n"
        f"- Bayes AUC (the posterior under the simulator's own model of behaviour, given each "
        f"customer's true activity rate): **{bounds['bayes_auc']}**, about the best any model "
        "of the observable behaviour can rank (`bench/model_ceiling.py`).\n"
    )
    card.write_text(text, encoding="utf-8")
