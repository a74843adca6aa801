"""The closed vocabularies of the event payloads (direction, channel, category, product, ...).

Values are the wire strings; adding one is a compatible change, renaming or removing one is not
(stored events and every producer carry them). Re-exported by ``churnwatch_shared.events``.
"""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"


class Channel(StrEnum):
    BRANCH = "branch"
    ATM = "atm"
    ONLINE = "online"
    MOBILE = "mobile"
    POS = "pos"
    BATCH = "batch"


class TransactionCategory(StrEnum):
    CASH = "cash"
    INTERNAL_TRANSFER = "internal_transfer"
    INTERBANK_TRANSFER = "interbank_transfer"
    PAYROLL_CREDIT = "payroll_credit"
    CARD_SPEND = "card_spend"
    FEE = "fee"
    INTEREST = "interest"
    # interest or a charge for a negative balance (overdraft) or an overdue amount
    PENALTY_INTEREST = "penalty_interest"
    LOAN_REPAYMENT = "loan_repayment"
    INVESTMENT_BUY = "investment_buy"
    INVESTMENT_REDEEM = "investment_redeem"
    INTERNATIONAL_SETTLEMENT = "international_settlement"
    AGENCY_COLLECTION = "agency_collection"
    AGENCY_PAYMENT = "agency_payment"
    REMITTANCE = "remittance"
    OTHER = "other"


# Categories the bank books on its own initiative; they are not a sign of customer activity.
BANK_INITIATED_CATEGORIES: frozenset[TransactionCategory] = frozenset(
    {TransactionCategory.FEE, TransactionCategory.INTEREST, TransactionCategory.PENALTY_INTEREST}
)


class ProductKind(StrEnum):
    """Balance-bearing account kinds, as in a core bank's general ledger."""

    DEMAND = "demand"
    TIME_DEPOSIT = "time_deposit"
    LOAN = "loan"
    INVESTMENT = "investment"
    CARD = "card"


class Product(StrEnum):
    """Products and services a customer subscribes to (product-usage state)."""

    ONLINE_BANKING = "online_banking"
    MOBILE_BANKING = "mobile_banking"
    DEBIT_CARD = "debit_card"
    CREDIT_CARD = "credit_card"
    FUND = "fund"
    TREASURY_BOND = "treasury_bond"
    WEALTH_PRODUCT = "wealth_product"
    INSURANCE = "insurance"
    SECURITIES_LINK = "securities_link"
    PAYROLL_AGENCY = "payroll_agency"
    TIME_DEPOSIT = "time_deposit"
    LOAN = "loan"


class LoanClassification(StrEnum):
    """China's five-category loan classification, from best to worst."""

    NORMAL = "normal"
    SPECIAL_MENTION = "special_mention"
    SUBSTANDARD = "substandard"
    DOUBTFUL = "doubtful"
    LOSS = "loss"


class Segment(StrEnum):
    RETAIL = "retail"
    CORPORATE = "corporate"


class Tier(StrEnum):
    MASS = "mass"
    GOLD = "gold"
    PLATINUM = "platinum"
    DIAMOND = "diamond"
    PRIVATE_BANKING = "private_banking"


class ComplaintSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ComplaintOutcome(StrEnum):
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"
    WITHDRAWN = "withdrawn"


class ContactKind(StrEnum):
    CALL = "call"
    VISIT = "visit"
    MEETING = "meeting"
    MESSAGE = "message"
