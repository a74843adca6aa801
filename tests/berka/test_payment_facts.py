"""The Berka loader states who is paid and why (issue 15): counterparty kinds, ISO purpose codes,
income kind, penalty interest, standing orders and their executions, card types."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from churnwatch_shared.codes import counterparty_id_for
from tests.berka.conftest import Loaded

# k_symbol -> (counterparty_kind, purpose_code, income_kind) on every posting that carries it
FACTS = {
    "SIPO": ("biller", "UBIL", None),
    "POJISTNE": ("insurer", "INSU", None),
    "UVER": ("lender", "LOAR", None),
    "DUCHOD": ("pension_fund", "PENS", "pension"),
    "UROK": (None, "INTE", None),
    "SANKC. UROK": (None, None, None),
    "SLUZBY": (None, None, None),
}


def _postings(berka: Loaded) -> list[tuple[object, dict]]:
    return [(t, berka.by_id[f"berka.t{t.trans_id}"]["payload"]) for t in berka.data.trans]


def test_purpose_codes_give_counterparty_kind_purpose_and_income(berka: Loaded) -> None:
    seen: Counter[str] = Counter()
    for t, p in _postings(berka):
        if t.k_symbol in FACTS:
            got = (p.get("counterparty_kind"), p.get("purpose_code"), p.get("income_kind"))
            assert got == FACTS[t.k_symbol], (t, p)
            seen[t.k_symbol] += 1
    assert seen["DUCHOD"] == 1770 and seen["POJISTNE"] == 644 and seen["SIPO"] == 3719


def test_all_64_penalty_interest_postings_are_penalty_interest(berka: Loaded) -> None:
    penalty = [p for t, p in _postings(berka) if t.k_symbol == "SANKC. UROK"]
    assert len(penalty) == 64
    assert {(p["category"], p["direction"]) for p in penalty} == {("penalty_interest", "debit")}


def test_partner_accounts_become_stable_counterparty_ids(berka: Loaded) -> None:
    for t, p in _postings(berka):
        if t.bank:
            assert p["counterparty_id"] == counterparty_id_for(
                bank=t.bank, account=t.partner_account
            )
            assert p.get("counterparty_kind") is not None
        else:
            assert "counterparty_id" not in p


def test_no_bill_or_premium_payment_is_an_unclassified_interbank_transfer(berka: Loaded) -> None:
    orders = {f"berka.o{o.order_id}": o for o in berka.data.orders}
    checked = 0
    for _, p in _postings(berka):
        order = orders.get(p.get("standing_order_id", ""))
        if order is not None and order.k_symbol in ("SIPO", "POJISTNE"):
            assert p["category"] == "agency_payment", p
            assert p["counterparty_kind"] in ("biller", "insurer"), p
            checked += 1
    # 3603 + 644 with the purpose on the posting, 351 with it only on their standing order
    assert checked == 3603 + 644 + 351


def test_each_executed_standing_order_is_created_before_its_first_payment(berka: Loaded) -> None:
    created = {e["payload"]["standing_order_id"]: e for e in berka.events
               if e["event_type"] == "standing_order.created"}  # fmt: skip
    executions: dict[str, list[dict]] = defaultdict(list)
    for e in berka.events:
        if e["event_type"] == "transaction.posted" and "standing_order_id" in e["payload"]:
            executions[e["payload"]["standing_order_id"]].append(e)
    assert set(created) == set(executions) and len(created) == 1150
    orders = {f"berka.o{o.order_id}": o for o in berka.data.orders}
    index = {e["event_id"]: n for n, e in enumerate(berka.events)}
    for so_id, event in created.items():
        first = executions[so_id][0]
        assert index[event["event_id"]] < index[first["event_id"]]
        assert datetime.fromisoformat(event["occurred_at"]) == datetime.fromisoformat(
            first["occurred_at"]
        )
        payload, order = event["payload"], orders[so_id]
        assert payload["counterparty_id"] == first["payload"]["counterparty_id"]
        assert (payload["amount"], payload["counterparty_bank"]) == (
            f"{order.amount:.2f}",
            order.bank_to,
        )
        assert event["customer_id"] == first["customer_id"]
    kinds = Counter(e["payload"]["counterparty_kind"] for e in created.values())
    assert kinds == {"biller": 710, "unknown": 291, "insurer": 115, "lender": 34}


def test_cards_carry_their_type(berka: Loaded) -> None:
    variants = Counter(
        e["payload"].get("variant")
        for e in berka.events
        if e["event_type"] == "product.subscribed" and e["payload"]["product"] == "credit_card"
    )
    assert set(variants) <= {"classic", "junior", "gold"} and sum(variants.values()) > 0
