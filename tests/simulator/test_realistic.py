"""The realistic profile: deterministic, mixed as documented, valid, and leavers really leave."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from churnwatch_shared.events import parse_event_obj
from churnwatch_simulator.realistic import (
    FATES,
    KINDS,
    RealisticBank,
    RealisticConfig,
    realistic_truth,
)

CUSTOMERS, DAYS = 800, 180


class RealRun:
    def __init__(self, *, seed: int) -> None:
        self.bank = RealisticBank(config=RealisticConfig(customers=CUSTOMERS, days=DAYS, seed=seed))
        self.events: list[dict[str, Any]] = list(self.bank.events())
        self.truth = realistic_truth(bank=self.bank)
        self.labels = {row["customer_id"]: row for row in self.truth["labels"]}
        self.by_customer: dict[str, list[dict[str, Any]]] = {}
        for e in self.events:
            self.by_customer.setdefault(e["customer_id"], []).append(e)


@pytest.fixture(scope="module")
def run() -> RealRun:
    return RealRun(seed=21)


def _digest(seed: int) -> str:
    bank = RealisticBank(config=RealisticConfig(customers=120, days=90, seed=seed))
    h = hashlib.sha256()
    for e in bank.events():
        h.update(orjson.dumps(e))
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_events() -> None:
    assert _digest(4) == _digest(4)
    assert _digest(4) != _digest(5)


def test_every_event_passes_the_contract_in_time_order(run: RealRun) -> None:
    types = Counter(parse_event_obj(e).event_type for e in run.events)
    assert types.keys() >= {
        "customer.profile",
        "transaction.posted",
        "balance.snapshot",
        "complaint.filed",
        "account.closed",
        "payment.bounced",
        "product.cancelled",
    }
    times = [datetime.fromisoformat(e["occurred_at"]) for e in run.events]
    assert all(a <= b for a, b in itertools.pairwise(times))
    ids = [e["event_id"] for e in run.events]
    assert len(set(ids)) == len(ids) and ids[0] == "real-21-1"


@pytest.mark.parametrize(("field", "shares"), [("kind", KINDS), ("fate", FATES)])
def test_each_kind_and_fate_has_its_documented_share(
    run: RealRun, field: str, shares: dict[str, float]
) -> None:
    counts = Counter(row[field] for row in run.labels.values())
    assert counts.keys() == shares.keys()
    for name, share in shares.items():
        assert abs(counts[name] / CUSTOMERS - share) <= 0.01, (name, counts[name])


def test_the_mix_is_configurable_and_checked() -> None:
    kinds = {"low_activity": 0.5, "card_centred": 0.5}
    bank = RealisticBank(config=RealisticConfig(customers=100, days=60, seed=1, kinds=kinds))
    assert Counter(p.kind for p in bank.people) == {"low_activity": 50, "card_centred": 50}
    with pytest.raises(ValueError, match="add up to 1"):
        RealisticConfig(kinds={"low_activity": 0.5})
    with pytest.raises(ValueError, match="unknown kinds"):
        RealisticConfig(kinds={"teenager": 1.0})


def _customer_initiated(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if e["event_type"] == "transaction.posted"
        and e["payload"]["category"] not in ("interest", "fee", "penalty_interest")
    ]


def test_leavers_fade_and_stop_after_their_churn_date(run: RealRun) -> None:
    leavers = [row for row in run.labels.values() if row["churns"]]
    assert {row["fate"] for row in leavers} == {"quiet_leaver", "contact_leaver"}
    before_days = during_days = before_n = during_n = 0
    for row in leavers:
        churn = date.fromisoformat(row["churn_date"])
        drift = date.fromisoformat(row["drift_start_date"])
        own = _customer_initiated(run.by_customer[row["customer_id"]])
        days = [datetime.fromisoformat(e["occurred_at"]).date() for e in own]
        assert [d for d in days if d > churn] == [], row["customer_id"]
        if row["fate"] == "quiet_leaver":
            # discretionary activity only: income and standing bills run until the churn date
            spend = [
                d
                for d, e in zip(days, own, strict=True)
                if e["payload"]["category"] in ("cash", "card_spend", "interbank_transfer")
            ]
            before_n += sum(1 for d in spend if d < drift)
            during_n += sum(1 for d in spend if drift <= d < churn)
            before_days += (drift - date(2025, 1, 1)).days
            during_days += (churn - drift).days
    # a linear fade to 15% averages ~58% of the usual rate over the drift
    assert during_n / during_days < 0.75 * before_n / before_days
    for row in leavers:
        events = run.by_customer[row["customer_id"]]
        if row["fate"] == "contact_leaver":
            assert events[-1]["event_type"] == "account.closed"
        else:  # quiet: the account stays open, the bank keeps booking, the customer is gone
            assert all(e["event_type"] != "account.closed" for e in events)
            churn = row["churn_date"]
            if churn < "2025-05-31":  # a month end after the churn date lies inside the horizon
                assert events[-1]["event_type"] == "balance.snapshot"
                assert events[-1]["occurred_at"][:10] > churn


def _customer_contact(e: dict[str, Any]) -> bool:
    return e["event_type"] == "complaint.filed" or (
        e["event_type"] == "contact.logged" and e["payload"]["initiated_by"] == "customer"
    )


def test_contact_leavers_contact_the_bank_more_than_stayers(run: RealRun) -> None:
    def rate(fate: str) -> float:
        ids = [c for c, row in run.labels.items() if row["fate"] == fate]
        n = sum(1 for c in ids for e in run.by_customer[c] if _customer_contact(e))
        return n / len(ids)

    assert rate("contact_leaver") > 5 * rate("stays")


def test_kinds_have_their_shapes(run: RealRun) -> None:
    def of(kind: str) -> list[str]:
        return [c for c, row in run.labels.items() if row["kind"] == kind]

    card = of("card_centred")
    spends = Counter(
        e["payload"]["category"]
        for c in card
        for e in run.by_customer[c]
        if e["event_type"] == "transaction.posted"
    )
    assert spends["card_spend"] > spends["cash"]
    kinds = {
        b["product_kind"]
        for c in card
        for e in run.by_customer[c]
        if e["event_type"] == "balance.snapshot"
        for b in e["payload"]["balances"]
    }
    assert kinds == {"demand", "card"}
    fx = {
        e["payload"]["currency"]
        for c in of("multi_currency")
        for e in run.by_customer[c]
        if e["event_type"] == "transaction.posted"
    }
    assert fx == {"CNY", "EUR", "USD"}
    low = [
        len(_customer_initiated(run.by_customer[c])) / (DAYS / 30)
        for c in of("low_activity")
        if run.labels[c]["fate"] == "stays"
    ]
    busy = [
        len(_customer_initiated(run.by_customer[c])) / (DAYS / 30)
        for c in of("busy")
        if run.labels[c]["fate"] == "stays"
    ]
    assert sorted(low)[len(low) // 2] < 6 < sorted(busy)[len(busy) // 2]
    penalties = [
        e
        for c in of("overdraft")
        for e in run.by_customer[c]
        if e["event_type"] == "transaction.posted"
        and e["payload"]["category"] == "penalty_interest"
        and e["payload"]["direction"] == "debit"
    ]
    assert len(penalties) > len(of("overdraft"))
    bills = [
        e
        for c in of("bill_payer")
        for e in run.by_customer[c]
        if e["event_type"] == "transaction.posted" and e["payload"]["category"] == "agency_payment"
    ]
    assert bills and all(not e["payload"]["counterparty_is_own_bank"] for e in bills)


def test_cli_writes_truth_with_the_kind_per_customer(tmp_path: Path) -> None:
    out, truth = tmp_path / "e.ndjson", tmp_path / "t.json"
    args = [
        "generate",
        "--profile",
        "realistic",
        "--customers",
        "100",
        "--days",
        "60",
        "--seed",
        "3",
    ]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "churnwatch_simulator",
            *args,
            "--out",
            str(out),
            "--truth",
            str(truth),
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(truth.read_text())
    assert data["profile"] == "realistic" and data["events"] == len(out.read_bytes().splitlines())
    assert {row["kind"] for row in data["labels"]} == set(KINDS)
    assert all(row["fate"] in FATES for row in data["labels"])
