"""camt entries carry counterparty kind and id, purpose, bank transaction code, mandate, income
kind and penalty interest into ``transaction.posted`` (issue 15), in every message generation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from churnwatch_ingest.adapters.iso20022.mapping import map_camt
from churnwatch_ingest.adapters.iso20022.parse import parse_camt
from churnwatch_shared.codes import counterparty_id_for
from tests.ingest_adapters import builders as b

OWN = frozenset({"OWNBDEFFXXX"})
ACCOUNT = "DE89370400440532013000"
OWNERS = {ACCOUNT: "cust-1", "DE02120300000000202051": "cust-1", "DE75512108001245126199": "c-2"}
VERSIONS = ["02", "06", "08", "13"]


def mapped(version: str, *entries: str, owner_name: str | None = "Jana Novakova") -> list[Any]:
    xml = b.camt(
        kind="camt.053", version=version, entries=list(entries), iban=ACCOUNT, owner_name=owner_name
    )
    result = map_camt(
        parse_camt(xml, expected="camt.053"), owner_of=OWNERS.get, own_bics=OWN, producer="p"
    )
    assert [o.outcome for o in result.outcomes] == ["accepted"] * len(entries), result.outcomes
    return [e.payload for e in result.events]


@pytest.mark.parametrize("version", VERSIONS)
def test_salary_credit_is_income_from_an_employer(version: str) -> None:
    (salary,) = mapped(
        version,
        b.camt_payment(
            version=version, amount="3150.00", cd="CRDT", ref="S1",
            family=("PMNT", "RCDT", "SALA"), counterparty_name="Stavby Praha s.r.o.",
            counterparty_account="CZ6508000000192000145399", agent_bic="GIBACZPX", purpose="SALA",
        ),
    )  # fmt: skip
    assert salary.counterparty_kind == "employer" and salary.income_kind == "salary"
    assert salary.purpose_code == "SALA" and salary.bank_transaction_code == "PMNT-RCDT-SALA"
    assert salary.counterparty_id == counterparty_id_for(
        bank=None, account="CZ6508000000192000145399"
    )
    assert salary.category == "payroll_credit"


@pytest.mark.parametrize("version", VERSIONS)
def test_bills_and_premiums_by_purpose_code_under_a_mandate(version: str) -> None:
    power, premium, pension = mapped(
        version,
        b.camt_payment(
            version=version, amount="84.20", cd="DBIT", ref="D1", family=("PMNT", "IDDT", "ESDD"),
            counterparty_name="Stadtwerke Muenchen", counterparty_account="DE75512108001245126199",
            agent_bic="BYLADEMMXXX", purpose="ELEC", mandate_id="SWM-2231/77",
        ),
        b.camt_payment(
            version=version, amount="41.00", cd="DBIT", ref="D2", family=("PMNT", "ICDT", "STDO"),
            counterparty_name="Allianz Versicherungs-AG", agent_bic="COBADEFFXXX", purpose="INSU",
        ),
        b.camt_payment(
            version=version, amount="1210.00", cd="CRDT", ref="D3", family=("PMNT", "RCDT", "ESCT"),
            counterparty_name="Deutsche Rentenversicherung", agent_bic="MARKDEF1100",
            purpose="PENS",
        ),
    )  # fmt: skip
    assert power.counterparty_kind == "biller" and power.purpose_code == "ELEC"
    assert power.standing_order_id == "mandate:SWM-2231/77"
    assert "income_kind" not in power.model_fields_set
    assert premium.counterparty_kind == "insurer"
    assert premium.bank_transaction_code == "PMNT-ICDT-STDO"
    assert "counterparty_id" not in premium.model_fields_set  # a name without an account
    assert pension.counterparty_kind == "pension_fund" and pension.income_kind == "pension"


@pytest.mark.parametrize("version", VERSIONS)
def test_transfer_to_own_account_elsewhere_by_owner_index_and_by_name(version: str) -> None:
    by_index, by_name, to_someone = mapped(
        version,
        b.camt_payment(
            version=version, amount="9000.00", cd="DBIT", ref="O1", family=("PMNT", "ICDT", "ESCT"),
            counterparty_name="J. Novakova", counterparty_account="DE02120300000000202051",
            agent_bic="BYLADEM1001",
        ),
        b.camt_payment(
            version=version, amount="5000.00", cd="DBIT", ref="O2", family=("PMNT", "ICDT", "ESCT"),
            counterparty_name="  JANA   novakova ", counterparty_account="FR7630006000011234567890189",
            agent_bic="AGRIFRPPXXX",
        ),
        b.camt_payment(
            version=version, amount="50.00", cd="DBIT", ref="O3", family=("PMNT", "ICDT", "ESCT"),
            counterparty_name="Petr Svoboda", counterparty_account="FR1420041010050500013M02606",
            agent_bic="PSSTFRPPXXX",
        ),
    )  # fmt: skip
    assert by_index.counterparty_kind == "own_account"
    assert by_name.counterparty_kind == "own_account"
    assert by_name.counterparty_is_own_bank is False
    assert to_someone.counterparty_kind == "unknown"


def test_another_customers_account_at_our_bank_is_not_own() -> None:
    (payment,) = mapped(
        "08",
        b.camt_payment(
            version="08", amount="20.00", cd="DBIT", ref="X1", family=("PMNT", "ICDT", "BOOK"),
            counterparty_name="Karel Dvorak", counterparty_account="DE75512108001245126199",
        ),
    )  # fmt: skip
    assert payment.counterparty_kind == "unknown"


@pytest.mark.parametrize("version", VERSIONS)
def test_debit_interest_and_overdraft_charge_are_penalty_interest(version: str) -> None:
    charged, overdraft_fee, credited, loan_interest = mapped(
        version,
        b.camt_entry(version=version, amount="12.37", cd="DBIT", ref="I1",
                     family=("ACMT", "MDOP", "INTR")),
        b.camt_entry(version=version, amount="15.00", cd="DBIT", ref="I2",
                     family=("ACMT", "MDOP", "OVCH")),
        b.camt_entry(version=version, amount="0.41", cd="CRDT", ref="I3",
                     family=("ACMT", "MCOP", "INTR")),
        b.camt_entry(version=version, amount="88.10", cd="DBIT", ref="I4",
                     family=("LDAS", "CSLN", "INTR")),
    )  # fmt: skip
    assert charged.category == "penalty_interest" and overdraft_fee.category == "penalty_interest"
    assert credited.category == "interest"
    assert loan_interest.category == "interest" and loan_interest.counterparty_kind == "lender"
    assert "counterparty_kind" not in charged.model_fields_set  # no counterparty at all


def test_securities_purchase_and_card_payment_by_bank_transaction_code() -> None:
    fund, card = mapped(
        "06",
        b.camt_payment(
            version="06", amount="2500.00", cd="DBIT", ref="F1", family=("SECU", "SETT", "TRAD"),
            counterparty_name="Broker AG", agent_bic="BROKDEFFXXX",
        ),
        b.camt_payment(
            version="06", amount="23.90", cd="DBIT", ref="C1", family=("PMNT", "CCRD", "POSD"),
            counterparty_name="REWE Markt GmbH",
        ),
    )  # fmt: skip
    assert fund.counterparty_kind == "investment_platform"
    assert card.counterparty_kind == "merchant" and card.category == "card_spend"


def test_proprietary_purpose_is_kept_and_an_odd_code_is_dropped_not_rejected() -> None:
    kept, odd = mapped(
        "04",
        b.camt_payment(
            version="04", amount="7.00", cd="DBIT", ref="P1", family=("PMNT", "ICDT", "DMCT"),
            proprietary_purpose="Miete Maerz",
        ),
        b.camt_payment(
            version="04", amount="8.00", cd="DBIT", ref="P2", family=("PMNT", "ICDT", "dmct"),
        ),
    )  # fmt: skip
    assert kept.purpose_code == "Miete Maerz"
    assert odd.bank_transaction_code is None


def test_closing_balance_credit_line_is_the_overdraft_limit() -> None:
    xml = b.camt(
        kind="camt.053", version="08", entries=[], iban=ACCOUNT,
        closing=("310.55", "DBIT"), credit_line="2000.00",
    )  # fmt: skip
    result = map_camt(
        parse_camt(xml, expected="camt.053"), owner_of=OWNERS.get, own_bics=OWN, producer="p"
    )
    (balance,) = result.events[0].payload.balances
    assert balance.balance == Decimal("-310.55") and balance.overdraft_limit == Decimal("2000.00")


def test_bad_credit_line_rejects_the_balance_naming_it() -> None:
    xml = b.camt(
        kind="camt.053", version="08", entries=[], iban=ACCOUNT,
        closing=("1.00", "CRDT"), credit_line="-5",
    )  # fmt: skip
    result = map_camt(
        parse_camt(xml, expected="camt.053"), owner_of=OWNERS.get, own_bics=OWN, producer="p"
    )
    (outcome,) = result.outcomes
    assert outcome.outcome == "rejected" and "CdtLine/Amt '-5'" in (outcome.reason or "")
