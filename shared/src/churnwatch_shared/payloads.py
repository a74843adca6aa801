"""The typed payload of each event type (version 1 of the wire contract).

One model per ``event_type``; the envelope that carries them and the catalogue are in
``churnwatch_shared.events``, which re-exports every model here. Unknown fields are refused so a
producer's typo surfaces as a 422 instead of silently missing data.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from churnwatch_shared.codes import (
    BankTransactionCode,
    ContactChannel,
    ContactInitiator,
    CounterpartyKind,
    Frequency,
    IncomeKind,
    PurposeCode,
    Topic,
)
from churnwatch_shared.event_vocab import (
    Channel,
    ComplaintOutcome,
    ComplaintSeverity,
    ContactKind,
    Direction,
    LoanClassification,
    Product,
    ProductKind,
    Segment,
    Tier,
    TransactionCategory,
)
from churnwatch_shared.money import Amount, Currency, Identifier, NonNegativeAmount, PositiveAmount
from churnwatch_shared.text import Label, Text


class Contract(BaseModel):
    """Base of every wire model: unknown fields refused, immutable, strings stripped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class TransactionPosted(Contract):
    direction: Direction
    amount: PositiveAmount
    currency: Currency
    channel: Channel
    category: TransactionCategory
    counterparty_bank: Identifier | None = Field(
        default=None, description="BIC or bank code of the counterparty's bank; null when unknown"
    )
    counterparty_is_own_bank: bool = Field(
        default=True, description="false when money moves to or from another bank"
    )
    balance_after: Amount | None = None
    customer_initiated: bool | None = Field(
        default=None,
        description="null: derived from category (fees and interest are bank-initiated)",
    )
    counterparty_kind: CounterpartyKind | None = Field(
        default=None, description="who is on the other side; null: the producer did not say"
    )
    counterparty_id: Identifier | None = Field(
        default=None,
        description="opaque, stable id of the counterparty (e.g. a hash of its bank and account), "
        "the same on every posting to or from it: recurring payees are recognised by it",
    )
    purpose_code: PurposeCode | None = None
    bank_transaction_code: BankTransactionCode | None = None
    standing_order_id: Identifier | None = Field(
        default=None,
        description="the standing order (or direct-debit mandate) this posting executes",
    )
    income_kind: IncomeKind | None = Field(
        default=None, description="credits only: the credit is salary, pension, benefit or other"
    )

    @model_validator(mode="after")
    def _income_is_a_credit(self) -> TransactionPosted:
        if self.income_kind is not None and self.direction is not Direction.CREDIT:
            raise ValueError(
                f"income_kind {self.income_kind.value!r} is allowed on credits only "
                f"(direction is {self.direction.value!r})"
            )
        return self


class AccountBalance(Contract):
    account_id: Identifier
    product_kind: ProductKind
    balance: Amount = Field(
        description="demand, time deposit, investment: funds held (negative: overdrawn); "
        "loan and card: the amount owed, positive (a card's credit balance is negative)"
    )
    currency: Currency
    overdraft_limit: NonNegativeAmount | None = Field(
        default=None, description="demand accounts: how far below zero the balance may go"
    )
    credit_limit: NonNegativeAmount | None = Field(
        default=None, description="cards (revolving credit): the limit; utilisation = balance/limit"
    )


class BalanceSnapshot(Contract):
    as_of: date
    balances: list[AccountBalance] = Field(min_length=1, max_length=500)


class AccountOpened(Contract):
    product_kind: ProductKind
    currency: Currency


class AccountClosed(Contract):
    product_kind: ProductKind
    reason: Annotated[Text, Field(max_length=200)] | None = None


class ProductSubscribed(Contract):
    product: Product
    variant: Annotated[Label, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="the product's variant, e.g. a card type: classic, gold, junior"
    )
    credit_limit: NonNegativeAmount | None = None
    currency: Currency | None = Field(default=None, description="required with credit_limit")

    @model_validator(mode="after")
    def _limit_has_a_currency(self) -> ProductSubscribed:
        if self.credit_limit is not None and self.currency is None:
            raise ValueError("credit_limit needs a currency (ISO 4217, e.g. CNY)")
        return self


class ProductCancelled(Contract):
    product: Product
    reason: Annotated[Text, Field(max_length=200)] | None = None


class LoanDisbursed(Contract):
    loan_id: Identifier
    amount: PositiveAmount
    currency: Currency
    maturity_date: date | None = None


class LoanRepaid(Contract):
    loan_id: Identifier
    amount: PositiveAmount
    currency: Currency
    outstanding_after: NonNegativeAmount | None = None


class LoanOverdue(Contract):
    loan_id: Identifier
    days_past_due: int = Field(ge=0, le=36500)
    overdue_amount: NonNegativeAmount
    currency: Currency
    penalty_interest: NonNegativeAmount | None = None


class LoanClassified(Contract):
    loan_id: Identifier
    classification: LoanClassification
    balance: NonNegativeAmount
    currency: Currency


class PaymentBounced(Contract):
    amount: PositiveAmount
    currency: Currency
    reason: Annotated[Text, Field(max_length=200)]


class ComplaintFiled(Contract):
    complaint_id: Identifier
    category: Annotated[Label, Field(min_length=1, max_length=64)]
    severity: ComplaintSeverity = ComplaintSeverity.MEDIUM
    channel: Channel | None = None


class ComplaintResolved(Contract):
    complaint_id: Identifier
    outcome: ComplaintOutcome


class ContactLogged(Contract):
    manager_id: Identifier | None = Field(
        default=None,
        description="the manager who reached out or took the contact; "
        "required when initiated_by is bank",
    )
    kind: ContactKind
    initiated_by: ContactInitiator = Field(
        default=ContactInitiator.BANK,
        description="customer: the customer reached out (a churn signal); bank: outreach",
    )
    channel: ContactChannel | None = None
    topic: Topic | None = None

    @model_validator(mode="after")
    def _outreach_names_its_manager(self) -> ContactLogged:
        if self.initiated_by is ContactInitiator.BANK and self.manager_id is None:
            raise ValueError(
                "manager_id is required when initiated_by is 'bank' (the bank's outreach names "
                "its manager); it may be omitted only when initiated_by is 'customer'"
            )
        return self


class CustomerProfile(Contract):
    segment: Segment
    tier: Tier
    branch_id: Identifier
    customer_since: date | None = Field(default=None, description="start of the relationship")
    display_name: Annotated[Label, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="shown to the assigned manager only; never logged"
    )


class CustomerAssigned(Contract):
    relationship_manager_id: Identifier | None = None
    wealth_advisor_id: Identifier | None = None
    service_team_id: Identifier | None = None
    branch_id: Identifier | None = None


class StandingOrderCreated(Contract):
    """A recurring payment the customer set up (its executions carry ``standing_order_id``)."""

    standing_order_id: Identifier
    counterparty_id: Identifier | None = None
    counterparty_kind: CounterpartyKind | None = None
    counterparty_bank: Identifier | None = None
    counterparty_is_own_bank: bool | None = None
    amount: PositiveAmount
    currency: Currency
    purpose_code: PurposeCode | None = None
    frequency: Frequency = Frequency.MONTHLY


class StandingOrderCancelled(Contract):
    standing_order_id: Identifier
    reason: Annotated[Text, Field(max_length=200)] | None = None


class CustomerErasureRequested(Contract):
    """An erasure of everything ChurnWatch holds on the customer (proof: ``erasure_id``)."""

    erasure_id: Identifier
