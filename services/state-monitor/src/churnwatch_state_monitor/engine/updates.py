"""State updates: how each event type changes a customer's state (before its rules are judged).

One function per event type, all with the signature ``(st, cx) -> None``; ``UPDATES`` is the
table the registry routes events with. An event type with no entry (``standing_order.*``, types
added to the contract later) only counts as an event: accepted and otherwise ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from churnwatch_shared.codes import ContactInitiator
from churnwatch_shared.events import EventType, ProductKind
from churnwatch_state_monitor.engine.facts import Txn, cents
from churnwatch_state_monitor.engine.rules import Context
from churnwatch_state_monitor.engine.state import KACCT_CHARS, CustomerState
from churnwatch_state_monitor.engine.state_apply import (
    apply_account_closed,
    apply_bounce,
    apply_classification,
    apply_complaint,
    apply_contact,
    apply_product,
    apply_snapshot,
    apply_transaction,
)

Update = Callable[[CustomerState, Context], None]
_CARD: Final = ProductKind.CARD
_BY_CUSTOMER: Final = ContactInitiator.CUSTOMER
_CREDIT_CARD: Final = "credit_card"


def transaction_posted(st: CustomerState, cx: Context) -> None:
    """Buckets, balances and baselines; the balance before it is kept for the rules."""
    ev = cx.ev
    t = Txn(ev.payload, cx.fx, cx.at)
    cx.txn = t
    kacct = st.kacct  # a posting on a card account is usage on a credit line, not funds moving
    account: str | None = ev.account_id if kacct else None
    card = account is not None and f"|{account}|" in kacct
    cx.balance = apply_transaction(st, t, cx.at, alpha=cx.alpha, card=card)


def balance_snapshot(st: CustomerState, cx: Context) -> None:
    """Balances of the customer's accounts as the bank reports them."""
    p = cx.ev.payload
    apply_snapshot(st, p, cx.at, alpha=cx.alpha, fx=cx.fx)
    owed = limit = 0
    cards = False
    for b in p.balances:  # cards: what is owed (revolving credit) and the limit, for utilisation
        if b.product_kind is _CARD:
            cards = True
            owed += abs(cents(b.balance))
            if b.credit_limit is not None:
                limit += cents(b.credit_limit)
    if cards:
        st.card_owed = owed
        if limit:
            st.card_limit = limit


def product_subscribed(st: CustomerState, cx: Context) -> None:
    """A product held (and a customer-initiated activity)."""
    p = cx.ev.payload
    apply_product(st, p.product, subscribed=True, at=cx.at)
    st.last_act = max(st.last_act, cx.at)
    if p.credit_limit is not None:
        st.card_limit = cents(p.credit_limit)


def product_cancelled(st: CustomerState, cx: Context) -> None:
    """A product given up (counted for 90 days)."""
    apply_product(st, cx.ev.payload.product, subscribed=False, at=cx.at)


def account_opened(st: CustomerState, cx: Context) -> None:
    """One more account (and a customer-initiated activity); a card account is a credit line."""
    st.accounts += 1
    ev = cx.ev
    if ev.payload.product_kind is _CARD:
        mark = f"|{ev.account_id}|"
        if mark not in st.kacct and len(st.kacct) < KACCT_CHARS:
            st.kacct += mark
    st.last_act = max(st.last_act, cx.at)


def account_closed(st: CustomerState, cx: Context) -> None:
    """One account fewer."""
    st.accounts = max(0, st.accounts - 1)
    apply_account_closed(st, cx.at)


def loan_disbursed(st: CustomerState, cx: Context) -> None:
    """Loan balance up by the amount paid out (in the reporting currency)."""
    p = cx.ev.payload
    amount = cx.fx.minor(p.amount, p.currency, cx.at)
    if amount is None:
        st.nofx += 1
    else:
        st.loans += amount


def loan_repaid(st: CustomerState, cx: Context) -> None:
    """A loan repaid in full clears what was past due."""
    p = cx.ev.payload
    if p.outstanding_after is not None and p.outstanding_after == 0:
        st.dpd = 0
        st.overdue = 0


def loan_overdue(st: CustomerState, cx: Context) -> None:
    """Days past due, overdue amount, penalty interest."""
    p = cx.ev.payload
    overdue = cx.fx.minor(p.overdue_amount, p.currency, cx.at)
    st.dpd, st.overdue = p.days_past_due, 0 if overdue is None else overdue
    if p.penalty_interest is not None:
        penalty = cx.fx.minor(p.penalty_interest, p.currency, cx.at)
        st.penalty = 0 if penalty is None else penalty
    if overdue is None:
        st.nofx += 1


def loan_classified(st: CustomerState, cx: Context) -> None:
    """The worst classification; the one before is kept for the rules."""
    cx.previous = apply_classification(st, cx.ev.payload.classification)


def payment_bounced(st: CustomerState, cx: Context) -> None:
    """A bounced payment (counted for 90 days)."""
    apply_bounce(st, cx.at)


def complaint_filed(st: CustomerState, cx: Context) -> None:
    """An open complaint (counted for 90 days)."""
    apply_complaint(st, cx.at)


def complaint_resolved(st: CustomerState, cx: Context) -> None:
    """One open complaint fewer."""
    st.open_complaints = max(0, st.open_complaints - 1)


def contact_logged(st: CustomerState, cx: Context) -> None:
    """A contact the customer started counts (a churn signal); the bank's outreach does not."""
    if cx.ev.payload.initiated_by is _BY_CUSTOMER:
        apply_contact(st, cx.at)


def customer_profile(st: CustomerState, cx: Context) -> None:
    """Tier, segment, branch and the customer-since date."""
    p = cx.ev.payload
    st.tier, st.segment, st.branch = p.tier.value, p.segment.value, p.branch_id
    since = p.customer_since
    if since is not None:
        st.since = int(datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp())


def customer_assigned(st: CustomerState, cx: Context) -> None:
    """The branch serving the customer, when the assignment names one."""
    branch = cx.ev.payload.branch_id
    if branch:
        st.branch = branch


UPDATES: Final[dict[str, Update]] = {
    EventType.TRANSACTION_POSTED.value: transaction_posted,
    EventType.BALANCE_SNAPSHOT.value: balance_snapshot,
    EventType.PRODUCT_SUBSCRIBED.value: product_subscribed,
    EventType.PRODUCT_CANCELLED.value: product_cancelled,
    EventType.ACCOUNT_OPENED.value: account_opened,
    EventType.ACCOUNT_CLOSED.value: account_closed,
    EventType.LOAN_DISBURSED.value: loan_disbursed,
    EventType.LOAN_REPAID.value: loan_repaid,
    EventType.LOAN_OVERDUE.value: loan_overdue,
    EventType.LOAN_CLASSIFIED.value: loan_classified,
    EventType.PAYMENT_BOUNCED.value: payment_bounced,
    EventType.COMPLAINT_FILED.value: complaint_filed,
    EventType.COMPLAINT_RESOLVED.value: complaint_resolved,
    EventType.CUSTOMER_PROFILE.value: customer_profile,
    EventType.CUSTOMER_ASSIGNED.value: customer_assigned,
    EventType.CONTACT_LOGGED.value: contact_logged,
}
