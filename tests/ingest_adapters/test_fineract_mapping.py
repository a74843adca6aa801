"""Fineract records -> our events, and the records that must be refused."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from churnwatch_ingest.adapters.accounts import AccountOwners
from churnwatch_ingest.adapters.fineract.decode import MalformedRecord, decode_message
from churnwatch_ingest.adapters.fineract.mapping import FineractMapper
from tests.ingest_adapters import builders as b


def _map(mapper: FineractMapper, raw: bytes):
    return mapper.map(decode_message(raw))


@pytest.fixture
def mapper() -> FineractMapper:
    return FineractMapper(owners=AccountOwners())


@pytest.mark.parametrize("int_id", [True, False])
@pytest.mark.parametrize("single_object", [True, False])
def test_deposit_after_account_activation(
    mapper: FineractMapper, int_id: bool, single_object: bool
) -> None:
    opened = b.fineract_record(
        event_type="SavingsActivateBusinessEvent", dataschema=b.SAVINGS_ACCOUNT,
        payload=b.savings_account(11, 5), key="k-open", int_id=int_id, single_object=single_object,
    )  # fmt: skip
    assert _map(mapper, opened).events == []
    deposit = b.fineract_record(
        event_type="SavingsDepositBusinessEvent", dataschema=b.SAVINGS_TX,
        payload=b.savings_tx(11, "250.50", "1250.50", deposit=True), key="k-dep", int_id=int_id,
        msg_id=2**31 - 1 if int_id else 2**40,
    )  # fmt: skip
    [event] = _map(mapper, deposit).events
    assert event.event_type == "transaction.posted"
    assert event.event_id == "k-dep"
    assert event.customer_id == "fineract:default:client:5"
    assert event.account_id == "fineract:default:savings:11"
    assert event.producer == "fineract:default"
    assert event.payload.direction == "credit"
    assert event.payload.amount == Decimal("250.50")
    assert event.payload.balance_after == Decimal("1250.50")
    assert event.payload.currency == "CNY"
    assert event.occurred_at.isoformat() == "2025-03-01T10:15:30+00:00"


def test_withdrawal_transfer_flag_is_internal_transfer(mapper: FineractMapper) -> None:
    mapper._owners.remember(account_id="fineract:default:savings:3", customer_id="c3", source="t")
    raw = b.fineract_record(
        event_type="SavingsWithdrawalBusinessEvent", dataschema=b.SAVINGS_TX,
        payload=b.savings_tx(3, "10", "0", withdrawal=True, initiateTransfer=True), key="w1",
    )  # fmt: skip
    [event] = _map(mapper, raw).events
    assert (event.payload.direction, event.payload.category) == ("debit", "internal_transfer")


def test_client_create_gives_profile_and_assignment(mapper: FineractMapper) -> None:
    raw = b.fineract_record(
        event_type="ClientCreateBusinessEvent", dataschema=b.CLIENT, payload=b.client(5), key="c5"
    )
    profile, assigned = _map(mapper, raw).events
    assert profile.event_type == "customer.profile"
    assert profile.payload.branch_id == "fineract:default:office:1"
    assert str(profile.payload.customer_since) == "2020-01-15"
    assert assigned.event_type == "customer.assigned"
    assert assigned.payload.relationship_manager_id == "fineract:default:staff:7"
    assert {profile.event_id, assigned.event_id} == {"c5:profile", "c5:assigned"}


def test_client_close_closes_known_accounts(mapper: FineractMapper) -> None:
    _map(mapper, b.fineract_record(
        event_type="SavingsActivateBusinessEvent", dataschema=b.SAVINGS_ACCOUNT,
        payload=b.savings_account(21, 9), key="o21"))  # fmt: skip
    events = _map(mapper, b.fineract_record(
        event_type="ClientCloseBusinessEvent", dataschema=b.CLIENT, payload=b.client(9), key="x9")).events  # fmt: skip
    assert [(e.event_type, e.account_id) for e in events] == [
        ("account.closed", "fineract:default:savings:21")
    ]


def test_loan_lifecycle(mapper: FineractMapper) -> None:
    disbursed = _map(mapper, b.fineract_record(
        event_type="LoanDisbursalBusinessEvent", dataschema=b.LOAN_ACCOUNT,
        payload=b.loan_account(40, 5, "10000"), key="l1")).events  # fmt: skip
    assert disbursed[0].event_type == "loan.disbursed"
    assert disbursed[0].payload.amount == Decimal(10000)
    repaid = _map(mapper, b.fineract_record(
        event_type="LoanTransactionMakeRepaymentPostBusinessEvent", dataschema=b.LOAN_TX,
        payload=b.loan_tx(40, "500"), key="l2")).events  # fmt: skip
    assert (repaid[0].event_type, repaid[0].customer_id) == (
        "loan.repaid",
        "fineract:default:client:5",
    )
    overdue = _map(mapper, b.fineract_record(
        event_type="LoanRepaymentOverdueBusinessEvent", dataschema=b.LOAN_DUE,
        payload=b.loan_due(40, "320.5"), key="l3")).events  # fmt: skip
    assert overdue[0].payload.overdue_amount == Decimal("320.5")
    assert overdue[0].payload.days_past_due == 1
    bucket = _map(mapper, b.fineract_record(
        event_type="LoanDelinquencyRangeChangeBusinessEvent", dataschema=b.LOAN_DELINQUENCY,
        payload=b.loan_delinquency(40, 30, "900"), key="l4")).events  # fmt: skip
    assert (bucket[0].payload.days_past_due, bucket[0].payload.overdue_amount) == (30, Decimal(900))


def test_unsupported_type_is_skipped_not_decoded(mapper: FineractMapper) -> None:
    raw = b.fineract_record(
        event_type="LoanChargebackTransactionBusinessEvent", dataschema=b.LOAN_TX,
        payload=b.loan_tx(1, "1"), key="u1",
    )  # fmt: skip
    mapped = _map(mapper, raw)
    assert mapped.events == [] and mapped.skipped is not None and "unsupported" in mapped.skipped


def test_transaction_on_unknown_account_is_refused(mapper: FineractMapper) -> None:
    raw = b.fineract_record(
        event_type="SavingsDepositBusinessEvent", dataschema=b.SAVINGS_TX,
        payload=b.savings_tx(999, "1", "1"), key="d9",
    )  # fmt: skip
    with pytest.raises(MalformedRecord, match="unknown_account"):
        _map(mapper, raw)


# --- hostile records ---------------------------------------------------------------------------


def test_truncated_envelope() -> None:
    raw = b.fineract_record(event_type="ClientCreateBusinessEvent", dataschema=b.CLIENT,
                            payload=b.client(1), key="t")  # fmt: skip
    with pytest.raises(MalformedRecord, match="truncated"):
        decode_message(raw[: len(raw) // 2])


def test_truncated_payload(mapper: FineractMapper) -> None:
    message = decode_message(b.fineract_record(
        event_type="ClientCreateBusinessEvent", dataschema=b.CLIENT, payload=b.client(1), key="t"))  # fmt: skip
    cut = replace(message, data=message.data[:5])
    with pytest.raises(MalformedRecord, match=r"truncated|undecodable"):
        mapper.map(cut)


def test_wrong_schema_name_is_refused(mapper: FineractMapper) -> None:
    raw = b.fineract_record(
        event_type="SavingsDepositBusinessEvent", dataschema=b.CLIENT, payload=b.client(1), key="ws"
    )
    with pytest.raises(MalformedRecord, match="wrong_schema"):
        _map(mapper, raw)


@pytest.mark.parametrize("raw", [b"", b"\x00", b"\xc3\x01\x00", b"\xff" * 64])
def test_garbage_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedRecord):
        decode_message(raw)


def test_amount_finer_than_contract_is_refused(mapper: FineractMapper) -> None:
    mapper._owners.remember(account_id="fineract:default:savings:3", customer_id="c3", source="t")
    raw = b.fineract_record(
        event_type="SavingsDepositBusinessEvent", dataschema=b.SAVINGS_TX,
        payload=b.savings_tx(3, "0.12345678", "1"), key="fine",
    )  # fmt: skip
    with pytest.raises(MalformedRecord, match="invalid_mapping"):
        _map(mapper, raw)
