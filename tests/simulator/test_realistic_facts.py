"""The realistic profile states who is paid and why (issue 15): standing orders and their
executions, card and overdraft limits, customer-initiated contacts, own-account flight, FX."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from churnwatch_shared.fx import FxRate, FxTable
from churnwatch_simulator.realistic import RealisticBank, RealisticConfig, realistic_truth

CUSTOMERS, DAYS = 600, 150


class Run:
    def __init__(self) -> None:
        self.bank = RealisticBank(config=RealisticConfig(customers=CUSTOMERS, days=DAYS, seed=33))
        self.events: list[dict[str, Any]] = list(self.bank.events())
        self.truth = realistic_truth(bank=self.bank)
        self.labels = {row["customer_id"]: row for row in self.truth["labels"]}


@pytest.fixture(scope="module")
def run() -> Run:
    return Run()


def _posted(run: Run) -> list[dict[str, Any]]:
    return [e for e in run.events if e["event_type"] == "transaction.posted"]


def test_every_bill_executes_a_standing_order_created_before_it(run: Run) -> None:
    created: dict[str, dict[str, Any]] = {}
    executions = 0
    for e in run.events:
        p = e["payload"]
        if e["event_type"] == "standing_order.created":
            created[p["standing_order_id"]] = p
        elif e["event_type"] == "transaction.posted" and p["category"] == "agency_payment":
            order = created[p["standing_order_id"]]  # KeyError: paid before it was created
            assert (order["counterparty_id"], order["counterparty_kind"], order["amount"]) == (
                p["counterparty_id"],
                p["counterparty_kind"],
                p["amount"],
            )
            assert p["counterparty_kind"] in ("biller", "insurer")
            executions += 1
    assert executions > CUSTOMERS and len(created) > CUSTOMERS // 2


def test_income_names_its_payer_and_kind(run: Run) -> None:
    kinds = Counter(
        (e["payload"]["income_kind"], e["payload"]["counterparty_kind"])
        for e in _posted(run)
        if e["payload"]["category"] == "payroll_credit"
    )
    assert set(kinds) == {("salary", "employer"), ("pension", "pension_fund")}


def test_card_snapshots_and_subscriptions_carry_the_limit(run: Run) -> None:
    limits: dict[str, Decimal] = {}
    for e in run.events:
        p = e["payload"]
        if e["event_type"] == "product.subscribed" and p["product"] == "credit_card":
            assert p["variant"] in ("classic", "gold") and p["currency"] == "CNY"
            limits[e["customer_id"]] = Decimal(p["credit_limit"])
    cards = 0
    for e in run.events:
        if e["event_type"] != "balance.snapshot":
            continue
        for b in e["payload"]["balances"]:
            if b["product_kind"] == "card":
                owed, limit = Decimal(b["balance"]), Decimal(b["credit_limit"])
                assert limit == limits[e["customer_id"]] and 0 <= owed <= limit
                cards += 1
    card_centred = sum(1 for row in run.labels.values() if row["kind"] == "card_centred")
    assert len(limits) == card_centred and cards >= card_centred


def test_overdraft_customers_show_their_limit_and_pay_penalty_interest(run: Run) -> None:
    overdraft = {c for c, row in run.labels.items() if row["kind"] == "overdraft"}
    with_limit = {
        e["customer_id"]
        for e in run.events
        if e["event_type"] == "balance.snapshot"
        for b in e["payload"]["balances"]
        if "overdraft_limit" in b
    }
    assert with_limit == overdraft
    penalised = {e["customer_id"] for e in _posted(run)
                 if e["payload"]["category"] == "penalty_interest"}  # fmt: skip
    assert penalised and penalised <= overdraft | {
        c for c, row in run.labels.items() if row["kind"] == "card_centred"
    }


def test_customer_initiated_contacts_have_no_manager_and_rise_before_leaving(run: Run) -> None:
    contacts = [e for e in run.events if e["event_type"] == "contact.logged"]
    assert contacts and all(
        e["payload"]["initiated_by"] == "customer" and "manager_id" not in e["payload"]
        for e in contacts
    )
    per_fate = Counter(run.labels[e["customer_id"]]["fate"] for e in contacts)
    fates = Counter(row["fate"] for row in run.labels.values())
    assert per_fate["contact_leaver"] / fates["contact_leaver"] > 5 * (
        per_fate["stays"] / fates["stays"]
    )


def test_only_leavers_move_money_to_their_own_account_elsewhere(run: Run) -> None:
    flight = {
        e["customer_id"]
        for e in _posted(run)
        if e["payload"].get("counterparty_kind") == "own_account"
        and not e["payload"]["counterparty_is_own_bank"]
    }
    assert flight and {run.labels[c]["fate"] for c in flight} == {"contact_leaver"}


def test_truth_carries_the_fx_configuration_for_every_foreign_currency(run: Run) -> None:
    table = FxTable(
        reporting=run.truth["reporting_currency"],
        rates=[FxRate.model_validate(r) for r in run.truth["fx_rates"]],
    )
    used = {e["payload"]["currency"] for e in _posted(run)}
    assert used - table.currencies() == set()
    assert table.factor(currency="EUR", on=run.bank.day_date(0)) == Decimal("7.8")
