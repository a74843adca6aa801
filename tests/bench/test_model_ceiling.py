"""The model benchmark's ceilings on a small realistic population (bench/model_ceiling.py)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import orjson

from bench.model_ceiling import append_to_card, ceilings, true_rates
from bench.model_quality import weekly_mondays
from churnwatch_simulator.bank import CHINA_STANDARD_TIME
from churnwatch_simulator.realistic import (
    BUSY_PER_MONTH,
    LOW_ACTIVITY_PER_MONTH,
    RealisticBank,
    RealisticConfig,
    realistic_truth,
)


def _population(tmp_path: Path) -> tuple[Path, dict]:
    start = datetime(2025, 1, 1, tzinfo=CHINA_STANDARD_TIME)
    bank = RealisticBank(config=RealisticConfig(customers=400, days=365, seed=11, start=start))
    events = tmp_path / "events.ndjson"
    events.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in bank.events()))
    return events, realistic_truth(bank=bank)


def test_ceilings_on_the_held_out_rows(tmp_path: Path) -> None:
    events, truth = _population(tmp_path)
    rates = true_rates(truth)
    kinds = {row["customer_id"]: row["kind"] for row in truth["labels"]}
    for cid, rate in rates.items():  # the simulator's own draw, per kind
        if kinds[cid] == "low_activity":
            assert LOW_ACTIVITY_PER_MONTH[0] <= rate <= LOW_ACTIVITY_PER_MONTH[1]
        if kinds[cid] == "busy":
            assert BUSY_PER_MONTH[0] <= rate <= BUSY_PER_MONTH[1]
    weeks = weekly_mondays(first=date(2025, 8, 25), last=date(2025, 11, 24))
    short = ceilings(truth=truth, events=events, as_of=weeks, horizon_days=30)
    assert short["positives"] > 0 and short["positives_not_yet_fading"] == 0
    assert 0.5 < short["bayes_auc"] <= short["oracle_auc"]
    months = ["2025-08-01", "2025-09-01", "2025-10-01"]
    long = ceilings(truth=truth, events=events, as_of=months, horizon_days=90)
    # at 90 days some positives have not begun to fade: the oracle itself falls below 1
    assert long["positives_not_yet_fading"] > 0 and long["oracle_auc"] < 0.99
    card = tmp_path / "MODEL_CARD.md"
    card.write_text("# Churn model\n", encoding="utf-8")
    append_to_card(out=tmp_path, bounds=long, horizon_days=90)
    text = card.read_text(encoding="utf-8")
    assert f"**{long['oracle_auc']}**" in text and f"**{long['bayes_auc']}**" in text


def test_weekly_mondays() -> None:
    days = weekly_mondays(first=date(2025, 1, 29), last=date(2025, 2, 17))
    assert days == ["2025-02-03", "2025-02-10", "2025-02-17"]
