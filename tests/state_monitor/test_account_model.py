"""Issue 15 account model: money leaving by counterparty kind and recurring payees, overdraft in
the risk state, amounts in the reporting currency (a currency without a rate is left out)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from churnwatch_shared.fx import FxRate, FxTable
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import (
    RuleSetError,
    load_ruleset,
    packaged_rules_text,
    parse_ruleset,
)
from tests.state_monitor.events import T0
from tests.state_monitor.test_detection_causes import Book, final_snapshot, run

FLOW_RULES = ("account_flow.large_interbank_outflow", "account_flow.interbank_outflow_share")


def payer(customer: str, *, kind: str | None, months: int, standing_order: bool = False) -> Book:
    """A salary each month, then 4,000 of a 6,000 balance to the same payee at another bank."""
    b = Book(customer)
    b.profile()
    b.balances(0, b.demand("2000.00"))
    balance = 2000
    for month in range(months):
        balance += 4000
        b.post(month * 30 + 1, "4000.00", direction="credit", category="payroll_credit",
               channel="batch", balance_after=f"{balance}.00")  # fmt: skip
        balance -= 4000
        extra: dict[str, Any] = {"counterparty_kind": kind} if kind else {}
        if standing_order:
            extra["standing_order_id"] = f"{customer}-so"
        b.post(month * 30 + 3, "4000.00", category="interbank_transfer", channel="online",
               counterparty_is_own_bank=False, counterparty_id=f"{customer}-payee",
               balance_after=f"{balance}.00", **extra)  # fmt: skip
    return b


def flow_alert_days(rec: Any) -> list[str]:
    return [a["occurred_at"][:10] for a in rec.alerts if a["rule_id"] in FLOW_RULES]


def test_unknown_payee_is_leaving_until_it_recurs_in_three_of_four_months() -> None:
    rec, _ = run(*payer("rent-1", kind=None, months=6).events)
    days = flow_alert_days(rec)
    # months 1 and 2 are one-off large shares to an unknown payee; from month 3 it recurs
    assert days, "a one-off transfer of two thirds of the balance to an unknown payee"
    month3 = (T0 + timedelta(days=60)).date().isoformat()
    assert all(d < month3 for d in days), days


@pytest.mark.parametrize("kind", ["biller", "insurer", "lender", "person", "government"])
def test_named_spending_counterparties_are_never_money_leaving(kind: str) -> None:
    rec, _ = run(*payer(f"k-{kind}", kind=kind, months=3).events)
    assert flow_alert_days(rec) == []


def test_a_standing_order_is_a_recurring_payee() -> None:
    rec, _ = run(*payer("so-1", kind="unknown", months=3, standing_order=True).events)
    assert flow_alert_days(rec) == []


@pytest.mark.parametrize("kind", ["own_account", "investment_platform"])
def test_own_account_and_investment_platform_elsewhere_are_leaving_even_when_regular(
    kind: str,
) -> None:
    rec, _ = run(*payer(f"k-{kind}", kind=kind, months=4).events)
    assert len(flow_alert_days(rec)) >= 3


def test_overdraft_reaches_the_risk_state_with_readable_reasons() -> None:
    b = Book("od-1")
    b.profile()
    b.balances(0, b.demand("100.00", overdraft_limit="3000.00"))
    b.post(2, "600.00", category="cash", channel="atm", balance_after="-500.00")
    b.post(20, "900.00", direction="credit", category="cash", channel="branch",
           balance_after="400.00")  # fmt: skip
    b.post(30, "700.00", category="cash", channel="atm", balance_after="-300.00")
    b.post(31, "9.00", category="penalty_interest", channel="batch", balance_after="-309.00")
    rec, monitor = run(*b.events)
    risk = final_snapshot(rec, monitor, "od-1")["states"]["risk"]
    assert risk["score"] > 0
    m = risk["metrics"]
    assert (m["overdrafts_12m"], m["overdraft_penalties_90d"]) == (2, 1)
    assert (m["negative_balance"], m["overdraft_limit"], m["currency"]) == (
        "-309.00",
        "3000.00",
        "CNY",
    )
    assert m["overdraft_penalty_interest_90d"] == "9.00"
    codes = {code for code, _, _ in monitor_reasons(monitor, rec, "od-1")}
    assert {"overdrawn", "overdraft_penalty_interest", "overdrafts_12m"} <= codes


def monitor_reasons(monitor: Monitor, rec: Any, customer: str) -> list[tuple[str, Any, float]]:
    from churnwatch_state_monitor.engine.scoring import score_with
    from churnwatch_state_monitor.ruleset import limits_of

    # the five states' own reasons: engagement reasons (fall against own history, peers) may
    # rank above them in the churn score's top three
    lim = limits_of(monitor.rs)  # shared (cached per rule set): restored below
    engagement, lim.engagement = lim.engagement, None
    try:
        return score_with(rec.states[customer], lim).reasons
    finally:
        lim.engagement = engagement


def test_an_amount_without_a_rate_is_left_out_and_counted_not_a_crash() -> None:
    b = Book("chf-1")
    b.profile()
    b.balances(1, b.demand("20000.00"), b.demand("5000.00", currency="CHF"))
    b.post(3, "700.00", currency="CHF", category="card_spend", channel="pos")
    eur = FxTable(reporting="CNY", rates=[FxRate(base="EUR", quote="CNY", rate="7.8",
                                                 as_of=T0.date())])  # fmt: skip
    monitor = Monitor(ruleset=load_ruleset(), fx=eur)
    rec, _ = run(*b.events, monitor=monitor)
    scale = final_snapshot(rec, monitor, "chf-1")["states"]["scale"]["metrics"]
    assert scale["financial_assets"] == "20000.00"
    assert scale["amounts_without_fx_rate"] == 2
    assert monitor.fx.skipped == {"CHF": 2}


def test_rates_come_from_the_rules_file_and_must_involve_the_reporting_currency() -> None:
    base = packaged_rules_text()
    rs = parse_ruleset(base + '\nfx:\n  reporting: CNY\n  rates:\n    - {base: EUR, quote: CNY, '
                       'rate: "7.8", as_of: 2020-01-01}\n')  # fmt: skip
    b = Book("gold-yaml")
    b.profile(tier="gold")
    b.balances(1, b.demand("70000.00"))
    b.balances(31, b.demand("20000.00"), b.demand("5000.00", currency="EUR"))
    rec, monitor = run(*b.events, monitor=Monitor(ruleset=rs))
    scale = final_snapshot(rec, monitor, "gold-yaml")["states"]["scale"]["metrics"]
    assert scale["financial_assets"] == "59000.00"
    with pytest.raises(RuleSetError, match="reporting currency"):
        parse_ruleset(base + '\nfx:\n  rates:\n    - {base: EUR, quote: USD, rate: "1.1", '
                      'as_of: 2020-01-01}\n')  # fmt: skip
    usd = FxTable(reporting="USD", rates=[])
    with pytest.raises(ValueError, match="thresholds are in CNY"):
        Monitor(ruleset=load_ruleset(), fx=usd)


def test_card_account_postings_are_usage_not_funds() -> None:
    b = Book("card-acct")
    b.profile()
    card = {"account_id": "card-acct-K", "product_kind": "card", "balance": "0.00",
            "currency": "CNY", "credit_limit": "10000.00"}  # fmt: skip
    b.balances(0, b.demand("3000.00"), card)
    for week in range(6):
        b.post(week * 7 + 1, "900.00", account="K", category="card_spend", channel="pos",
               counterparty_kind="merchant", counterparty_is_own_bank=False)  # fmt: skip
    rec, monitor = run(*b.events)
    snap = final_snapshot(rec, monitor, "card-acct")
    flow = snap["states"]["account_flow"]["metrics"]
    assert flow["outflow_30d"] == "0.00"  # the funds did not move
    assert rec.states["card-acct"].liquid == 300000  # a card posting is no funds balance
    assert orjson.loads(orjson.dumps(snap))["states"]["account_flow"]["score"] == 0
