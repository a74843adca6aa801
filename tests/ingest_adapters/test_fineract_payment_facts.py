"""Fineract savings transactions carry penalty interest and counterparty facts (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest

from churnwatch_ingest.adapters.accounts import AccountOwners
from churnwatch_ingest.adapters.fineract.decode import decode_message
from churnwatch_ingest.adapters.fineract.mapping import FineractMapper
from churnwatch_shared.codes import counterparty_id_for
from tests.ingest_adapters import builders as b


def _one(mapper: FineractMapper, event_type: str, payload: dict[str, Any], key: str) -> Any:
    raw = b.fineract_record(
        event_type=event_type, dataschema=b.SAVINGS_TX, payload=payload, key=key
    )
    [event] = mapper.map(decode_message(raw)).events
    return event.payload


def _open(mapper: FineractMapper, account_id: int, client_id: int) -> None:
    raw = b.fineract_record(
        event_type="SavingsActivateBusinessEvent",
        dataschema=b.SAVINGS_ACCOUNT,
        payload=b.savings_account(account_id, client_id),
        key=f"open-{account_id}",
    )
    assert mapper.map(decode_message(raw)).events == []


def _paid_to(tx: dict[str, Any], account_no: str, bank: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "id": 4,
        "paymentType": {"id": 2, "name": "Bank Transfer", "isCashPayment": False},
        "accountNumber": account_no,
    }
    if bank:
        detail["bankNumber"] = bank
    return {**tx, "paymentDetailData": detail}


@pytest.fixture
def mapper() -> FineractMapper:
    m = FineractMapper(owners=AccountOwners())
    _open(m, 11, 5)
    _open(m, 12, 5)  # the same client's second account
    _open(m, 21, 6)  # another client's account
    return m


@pytest.mark.parametrize("flag", ["overdraftInterest", "overdraftFee"])
def test_overdraft_interest_and_fee_are_penalty_interest(mapper: FineractMapper, flag: str) -> None:
    payload = _one(
        mapper,
        "SavingsWithdrawalBusinessEvent",
        b.savings_tx(11, "3.75", "-503.75", **{flag: True}),
        key=f"k-{flag}",
    )
    assert (payload.direction, payload.category) == ("debit", "penalty_interest")
    assert payload.balance_after < 0


def test_interest_posting_stays_interest_and_withheld_tax_goes_to_government(
    mapper: FineractMapper,
) -> None:
    credited = _one(
        mapper, "SavingsDepositBusinessEvent", b.savings_tx(11, "1.20", "100", interestPosting=True),
        key="k-int",
    )  # fmt: skip
    tax = _one(
        mapper, "SavingsWithdrawalBusinessEvent", b.savings_tx(11, "0.18", "99", withholdTax=True),
        key="k-tax",
    )  # fmt: skip
    assert credited.category == "interest"
    assert (tax.category, tax.counterparty_kind) == ("fee", "government")


def test_payment_to_the_same_clients_other_account_is_own_account(mapper: FineractMapper) -> None:
    own = _one(
        mapper, "SavingsWithdrawalBusinessEvent",
        _paid_to(b.savings_tx(11, "500", "10", withdrawal=True), "SA000012"), key="k-own",
    )  # fmt: skip
    other = _one(
        mapper, "SavingsWithdrawalBusinessEvent",
        _paid_to(b.savings_tx(11, "40", "10", withdrawal=True), "SA000021"), key="k-other",
    )  # fmt: skip
    outside = _one(
        mapper, "SavingsWithdrawalBusinessEvent",
        _paid_to(b.savings_tx(11, "40", "10", withdrawal=True), "0532013000", bank="37040044"),
        key="k-outside",
    )  # fmt: skip
    assert own.counterparty_kind == "own_account"
    assert own.counterparty_id == counterparty_id_for(bank=None, account="SA000012")
    assert other.counterparty_kind is None  # someone else's account: the payload cannot say who
    assert outside.counterparty_id == counterparty_id_for(bank="37040044", account="0532013000")
    assert outside.counterparty_id != other.counterparty_id
