"""The Berka loader on the real shipped files: counts, contract, order, stable ids, k_symbol mapping."""

from __future__ import annotations

import csv
import gzip
import itertools
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from churnwatch_berka.loader import events, select
from churnwatch_berka.mapping import ORDER_CATEGORIES, ORDER_PURPOSES
from churnwatch_berka.outcomes import rows
from churnwatch_berka.tables import BerkaDataError, load
from churnwatch_shared.events import parse_event
from tests.berka.conftest import DATA, Loaded

WINDOW_END = date(1994, 3, 31)


def _types(loaded: Loaded) -> Counter[str]:
    return Counter(e["event_type"] for e in loaded.events)


def test_load_is_fast(berka: Loaded) -> None:
    # ~2 s on an idle core; the margin is for 8 helpers sharing 2 cores.
    assert berka.seconds < 60, berka.seconds


def test_window_and_accounts_follow_the_source_tables(berka: Loaded) -> None:
    assert berka.book.until == WINDOW_END
    opened_by_end = [a for a in berka.data.accounts if a.opened <= WINDOW_END]
    assert len(berka.book.accounts) == len(opened_by_end) == 1229
    traded = {t.account_id for t in berka.data.trans}
    assert {a.account_id for a in berka.book.accounts} == traded
    types = _types(berka)
    assert (
        types["customer.profile"]
        - sum(
            1
            for cards in berka.book.cards.values()
            for c in cards
            if c.card_type == "gold" and c.issued <= WINDOW_END
        )
        == 1229
    )
    assert types["customer.assigned"] == 1229


def test_every_source_row_becomes_its_events(berka: Loaded) -> None:
    data, types = berka.data, _types(berka)
    keep = {a.account_id for a in berka.book.accounts}
    assert types["transaction.posted"] == len(data.trans) == 49_102
    loans = [x for x in data.loans if x.account_id in keep and x.granted <= WINDOW_END]
    assert types["loan.disbursed"] == len(loans) == 38
    opened = Counter(
        e["payload"]["product_kind"] for e in berka.events if e["event_type"] == "account.opened"
    )
    assert opened == {"demand": 1229, "loan": 38}
    disp_account = {d.disp_id: d.account_id for d in data.disps}
    cards = [c for c in data.cards if disp_account[c.disp_id] in keep and c.issued <= WINDOW_END]
    products = Counter(
        e["payload"]["product"] for e in berka.events if e["event_type"] == "product.subscribed"
    )
    assert products == {"credit_card": len(cards), "loan": len(loans)}
    assert types["loan.repaid"] == sum(1 for t in data.trans if t.k_symbol == "UVER") == 123
    months = sum(
        (WINDOW_END.year - a.opened.year) * 12 + WINDOW_END.month - a.opened.month + 1
        for a in berka.book.accounts
    )
    assert types["balance.snapshot"] == months
    assert "loan.classified" not in types  # the A-D outcome is ground truth, not an event


def test_every_line_passes_the_contract(berka: Loaded) -> None:
    for event in berka.events:
        parsed = parse_event(orjson.dumps(event))
        assert parsed.event_id == event["event_id"]


def test_events_are_in_event_time_order_with_unique_ids(berka: Loaded) -> None:
    times = [datetime.fromisoformat(e["occurred_at"]) for e in berka.events]
    assert all(a <= b for a, b in itertools.pairwise(times))
    assert len(berka.by_id) == len(berka.events)
    for per_customer in _by_customer(berka).values():
        assert per_customer[0]["event_type"] == "customer.profile"


def _by_customer(berka: Loaded) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in berka.events:
        out.setdefault(e["customer_id"], []).append(e)
    return out


def test_amounts_carry_czk_and_balances_are_the_source_balances(berka: Loaded) -> None:
    for e in berka.events:
        payload = e["payload"]
        if "currency" in payload:
            assert payload["currency"] == "CZK"
        for b in payload.get("balances", []):
            assert b["currency"] == "CZK"
    for t in berka.data.trans[:5000]:
        p = berka.by_id[f"berka.t{t.trans_id}"]["payload"]
        assert Decimal(p["amount"]) == t.amount and Decimal(p["balance_after"]) == t.balance
    negative = [
        e
        for e in berka.events
        if e["event_type"] == "transaction.posted" and e["payload"]["balance_after"].startswith("-")
    ]
    assert len(negative) == sum(1 for t in berka.data.trans if t.balance < 0) > 0


# (k_symbol, operation) -> (direction, category, channel, other bank) as mapping.py documents.
EXPECTED = {
    ("UROK", ""): ("credit", "interest", "batch", False),
    ("SANKC. UROK", "VYBER"): ("debit", "penalty_interest", "batch", False),
    ("SLUZBY", "VYBER"): ("debit", "fee", "batch", False),
    ("DUCHOD", "PREVOD Z UCTU"): ("credit", "payroll_credit", "batch", True),
    ("SIPO", "PREVOD NA UCET"): ("debit", "agency_payment", "batch", True),
    ("SIPO", "VYBER"): ("debit", "agency_payment", "branch", False),
    ("POJISTNE", "PREVOD NA UCET"): ("debit", "agency_payment", "batch", True),
    ("UVER", "PREVOD NA UCET"): ("debit", "loan_repayment", "batch", True),
    ("", "VKLAD"): ("credit", "cash", "branch", False),
    ("", "VYBER"): ("debit", "cash", "branch", False),
    (" ", "VYBER"): ("debit", "cash", "branch", False),
    ("", "VYBER KARTOU"): ("debit", "cash", "atm", False),
    ("", "PREVOD Z UCTU"): ("credit", "interbank_transfer", "batch", True),
    ("", "PREVOD NA UCET"): ("debit", "interbank_transfer", "batch", True),
    (" ", "PREVOD NA UCET"): ("debit", "interbank_transfer", "batch", True),
}


@pytest.mark.parametrize(
    "k_symbol", ["UROK", "SANKC. UROK", "SLUZBY", "DUCHOD", "SIPO", "POJISTNE", "UVER", "", " "]
)
def test_each_k_symbol_is_mapped_as_documented(berka: Loaded, k_symbol: str) -> None:
    seen = 0
    orders = {f"berka.o{o.order_id}": o for o in berka.data.orders}
    for t in berka.data.trans:
        if t.k_symbol != k_symbol:
            continue
        p = berka.by_id[f"berka.t{t.trans_id}"]["payload"]
        got = (p["direction"], p["category"], p["channel"], not p["counterparty_is_own_bank"])
        expected = EXPECTED[(k_symbol, t.operation)]
        order = orders.get(p.get("standing_order_id", ""))
        if k_symbol in ("", " ") and order is not None:
            # a payment without a purpose takes its standing order's (mapping.ORDER_CATEGORIES)
            purpose = ORDER_PURPOSES[order.k_symbol]
            expected = (*expected[:1], ORDER_CATEGORIES.get(purpose, expected[1]), *expected[2:])
        assert got == expected, (t, p)
        if t.bank:
            assert p["counterparty_bank"] == t.bank
        seen += 1
    assert seen > 0


def test_penalty_interest_and_loans_by_status_in_outcomes(berka: Loaded) -> None:
    table = rows(book=berka.book)
    assert len(table) == 1229
    assert sum(int(r["penalty_interest_postings"]) for r in table) == 64
    assert Counter(r["loan_status"] for r in table if r["loan_status"]) == {
        "A": 106,
        "C": 29,
        "B": 18,
        "D": 7,
    }
    assert sum(int(r["pension_credits"]) for r in table) == 1770
    # 3719 SIPO postings plus 323 payments of SIPO standing orders that carry no purpose code
    assert sum(int(r["household_payments"]) for r in table) == 3719 + 323


def _cli(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "churnwatch_berka", *args],
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
        cwd=tmp,
    )


def test_cli_is_byte_stable_and_ids_survive_an_accounts_limit(tmp_path: Path) -> None:
    outs = []
    for name, extra in (("a", []), ("b", []), ("c", ["--accounts", "50"])):
        out = tmp_path / f"{name}.ndjson"
        result = _cli("events", "--data", str(DATA), "--out", str(out), *extra, tmp=tmp_path)
        assert result.returncode == 0, result.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    full = {orjson.loads(line)["event_id"]: line for line in outs[0].splitlines()}
    small = [orjson.loads(line) for line in outs[2].splitlines()]
    assert len({e["customer_id"] for e in small}) == 50
    assert all(full[e["event_id"]] == orjson.dumps(e) for e in small)


def test_cli_outcomes_csv(tmp_path: Path) -> None:
    out = tmp_path / "outcomes.csv"
    result = _cli("outcomes", "--data", str(DATA), "--out", str(out), tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    with out.open(newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 1229 and sum(int(r["penalty_interest_postings"]) for r in table) == 64


def test_missing_data_directory_is_a_clear_error(tmp_path: Path) -> None:
    result = _cli(
        "events", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "x"), tmp=tmp_path
    )
    assert (
        result.returncode == 2
        and "not a directory" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_a_bad_value_names_file_line_and_column(tmp_path: Path) -> None:
    for f in DATA.glob("*.gz"):
        shutil.copy(f, tmp_path / f.name)
    loan = tmp_path / "loan.asc.gz"
    lines = gzip.decompress(loan.read_bytes()).decode().splitlines(keepends=True)
    lines[3] = (
        lines[3]
        .replace('"A"', '"E"')
        .replace('"B"', '"E"')
        .replace('"C"', '"E"')
        .replace('"D"', '"E"')
    )
    loan.write_bytes(gzip.compress("".join(lines).encode()))
    with pytest.raises(
        BerkaDataError, match=r"loan\.asc\.gz:4: column status='E'; expected one of A, B, C, D"
    ):
        load(directory=tmp_path)


def test_an_unknown_purpose_code_is_refused(berka: Loaded) -> None:
    import dataclasses

    bad = dataclasses.replace(berka.data.trans[0], k_symbol="XYZ")
    data = dataclasses.replace(berka.data, trans=[bad])
    with pytest.raises(BerkaDataError, match="k_symbol 'XYZ'; expected one of"):
        select(data=data, until=WINDOW_END)


def test_loan_status_events_only_on_request(berka: Loaded) -> None:
    with_status = events(book=berka.book, loan_status_events=True)
    classified = Counter(
        e["payload"]["classification"] for e in with_status if e["event_type"] == "loan.classified"
    )
    in_window = Counter(
        x.status for xs in berka.book.loans.values() for x in xs if x.granted <= WINDOW_END
    )
    assert classified["loss"] == in_window["B"] and classified["substandard"] == in_window["D"]
    assert sum(classified.values()) == 38
