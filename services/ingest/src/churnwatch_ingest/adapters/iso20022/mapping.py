"""camt entries and closing balances -> ``transaction.posted`` and ``balance.snapshot``.

Policy: per entry, the rest still accepted. Each booked entry (status BOOK) becomes one
``transaction.posted``; pending/informational entries are reported as skipped; an entry that
cannot be mapped (unknown account owner, unsupported currency, bad amount...) is reported as
rejected with its reason while the message's other entries are published.

Interbank: the counterparty's agent is the creditor agent for a debit entry and the debtor agent
for a credit entry. The transfer is interbank when that agent's BIC (first 8 characters: bank,
country, location) differs from every configured own-bank BIC. No agent given: counterparty
unknown, treated as own bank (no interbank signal is invented). camt carries no channel, so every
entry is channel ``batch``.

Event ids, the same on every resend of a message: ``iso20022:<AcctSvcrRef>`` (the bank's own
reference, unique at the bank); without it ``iso20022:<MsgId>:<Stmt Id>:<account>:<NtryRef>``
(NtryRef is unique only within its statement), or ``...:<account>:n<position in the statement>``
without any reference. Ids longer than the contract's 128 characters are shortened to
``iso20022:h<sha256 prefix>`` of the same text.

Time: ``occurred_at`` is the booking date (or date-time), else the value date, else the
statement's ``CreDtTm``, else the message's ``GrpHdr/CreDtTm``, and only without any of them the
ingest clock. A date-time without an offset is taken as UTC. A closing balance without a date is
as of the date of the same creation times.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from churnwatch_ingest.adapters.iso20022.facts import payment_facts, penalty_interest
from churnwatch_ingest.adapters.iso20022.parse import (
    CamtBalance,
    CamtEntry,
    CamtMessage,
    amount_or_reason,
)
from churnwatch_shared.events import Event, parse_event_obj

OwnerLookup = Callable[[str], str | None]
_UNSAFE = re.compile(r"[^A-Za-z0-9._:@/-]")
_MAX_ID = 128  # the contract's Identifier length

# BkTxCd sub-family -> our category (families ICDT/RCDT are transfers, decided by the agent BIC).
_SUBFAMILY_CATEGORY = {
    "CWDL": "cash",
    "CDPT": "cash",
    "CHRG": "fee",
    "FEES": "fee",
    "COMM": "fee",
    "INTR": "interest",
    "SALA": "payroll_credit",
    "POSD": "card_spend",
    "POSP": "card_spend",
}


@dataclass(slots=True)
class EntryOutcome:
    """What happened to one entry or balance: accepted, skipped or rejected, with the reason."""

    item: str
    outcome: str
    reason: str | None = None
    event_id: str | None = None


@dataclass(slots=True)
class MappingResult:
    events: list[Event] = field(default_factory=list)
    outcomes: list[EntryOutcome] = field(default_factory=list)


def _ident(text: str) -> str:
    cleaned = _UNSAFE.sub("-", text)
    return cleaned if cleaned[:1].isalnum() else f"x{cleaned}"


def _event_id(text: str) -> str:
    ident = _ident(text)
    if len(ident) <= _MAX_ID:
        return ident
    return f"iso20022:h{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def _entry_id(entry: CamtEntry, *, msg_id: str) -> str:
    if entry.servicer_reference:
        return _event_id(f"iso20022:{entry.servicer_reference}")
    # Only unique within the statement: scoped by message, statement and account.
    local = entry.entry_reference or f"n{entry.report_index}"
    return _event_id(f"iso20022:{msg_id}:{entry.report_id}:{entry.account or '-'}:{local}")


def map_camt(
    message: CamtMessage,
    *,
    owner_of: OwnerLookup,
    own_bics: frozenset[str],
    producer: str,
    received_at: datetime | None = None,
) -> MappingResult:
    """Map every entry and closing balance, collecting one outcome per item."""
    result = MappingResult()
    own = frozenset(b.upper()[:8] for b in own_bics)
    now = received_at or datetime.now(UTC)
    msg_id = _ident(message.message_id or "no-msgid")
    for entry in message.entries:
        item = f"Ntry[{entry.index}]"
        if entry.status != "BOOK":
            result.outcomes.append(
                EntryOutcome(item, "skipped", f"status {entry.status or 'missing'} is not booked")
            )
            continue
        obj_or_reason = _entry_event(
            entry,
            owner_of=owner_of,
            own=own,
            producer=producer,
            event_id=_entry_id(entry, msg_id=msg_id),
            now=now,
            where=item,
        )
        _collect(result, item, obj_or_reason)
    for n, bal in enumerate(message.closing_balances):
        obj_or_reason = _balance_event(
            bal,
            owner_of=owner_of,
            producer=producer,
            msg_id=msg_id,
            now=now,
            where=f"Bal[CLBD][{n}]",
        )
        _collect(result, f"Bal[CLBD][{n}]", obj_or_reason)
    return result


def _collect(result: MappingResult, item: str, obj_or_reason: dict[str, Any] | str) -> None:
    if isinstance(obj_or_reason, str):
        result.outcomes.append(EntryOutcome(item, "rejected", obj_or_reason))
        return
    try:
        event = parse_event_obj(obj_or_reason)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        result.outcomes.append(EntryOutcome(item, "rejected", f"{where}: {first['msg']}"))
        return
    result.events.append(event)
    result.outcomes.append(EntryOutcome(item, "accepted", event_id=event.event_id))


def _moment(text: str) -> datetime | None:
    """An ISO date (midnight UTC) or date-time (UTC when it carries no offset), else None."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _fallback_moment(created_at: str | None, now: datetime) -> datetime:
    """The creation time of the statement (or message) when valid, else the ingest clock."""
    moment = _moment(created_at) if created_at else None
    return moment or now


def _entry_event(
    entry: CamtEntry,
    *,
    owner_of: OwnerLookup,
    own: frozenset[str],
    producer: str,
    event_id: str,
    now: datetime,
    where: str,
) -> dict[str, Any] | str:
    if entry.account is None:
        return "no account (Acct/Id/IBAN or Acct/Id/Othr/Id)"
    customer = owner_of(entry.account)
    if customer is None:
        return f"unknown account {entry.account}: set its owner with PUT /v1/accounts/{{id}}/owner"
    amount = amount_or_reason(entry.amount, where=f"{where}/Amt")
    if isinstance(amount, str):
        return amount
    if amount <= 0:
        return f"{where}/Amt {entry.amount!r} must be greater than 0"
    if entry.credit_debit not in ("CRDT", "DBIT"):
        return f"CdtDbtInd {entry.credit_debit!r} must be CRDT or DBIT"
    day = entry.booking_date or entry.value_date
    if day is None:
        occurred = _fallback_moment(entry.created_at, now)
    else:
        found = _moment(day)
        if found is None:
            return f"booking/value date {day!r} is not an ISO date or date-time"
        occurred = found
    debit = entry.credit_debit == "DBIT"
    agent = entry.creditor_agent_bic if debit else entry.debtor_agent_bic
    interbank = agent is not None and agent.upper()[:8] not in own
    category = _category(entry.bank_tx_code, interbank=interbank)
    payload: dict[str, Any] = {
        "direction": "debit" if debit else "credit",
        "amount": format(amount, "f"),
        "currency": entry.currency,
        "channel": "batch",
        "category": "penalty_interest" if penalty_interest(entry, debit=debit) else category,
        "counterparty_is_own_bank": not interbank,
    }
    if agent is not None:
        payload["counterparty_bank"] = _ident(agent.upper())
    payload.update(
        payment_facts(entry, debit=debit, customer=customer, agent_bic=agent, owner_of=owner_of)
    )
    return {
        "event_id": event_id,
        "event_type": "transaction.posted",
        "occurred_at": occurred.isoformat(),
        "producer": producer,
        "customer_id": customer,
        "account_id": _ident(entry.account),
        "payload": payload,
    }


def _category(codes: tuple[str, ...], *, interbank: bool) -> str:
    for code in reversed(codes):
        if code in _SUBFAMILY_CATEGORY:
            return _SUBFAMILY_CATEGORY[code]
    if interbank:
        return "interbank_transfer"
    if any(c in ("ICDT", "RCDT", "RDDT", "IDDT") for c in codes):
        return "internal_transfer"
    return "other"


def _balance_event(
    bal: CamtBalance,
    *,
    owner_of: OwnerLookup,
    producer: str,
    msg_id: str,
    now: datetime,
    where: str,
) -> dict[str, Any] | str:
    if bal.account is None:
        return "statement has no account"
    customer = owner_of(bal.account)
    if customer is None:
        return f"unknown account {bal.account}: set its owner with PUT /v1/accounts/{{id}}/owner"
    amount = amount_or_reason(bal.amount, where=f"{where}/Amt")
    if isinstance(amount, str):
        return amount
    if bal.credit_debit == "DBIT":
        amount = -amount
    as_of = bal.date or _fallback_moment(bal.created_at, now).date().isoformat()
    occurred = _moment(as_of)
    if occurred is None:
        return f"balance date {bal.date!r} is not an ISO date"
    account = _ident(bal.account)
    balance: dict[str, Any] = {
        "account_id": account,
        "product_kind": "demand",
        "balance": format(amount, "f"),
        "currency": bal.currency,
    }
    if bal.credit_line is not None:
        limit = amount_or_reason(bal.credit_line, where=f"{where}/CdtLine/Amt")
        if isinstance(limit, str):
            return limit
        balance["overdraft_limit"] = format(limit, "f")
    return {
        "event_id": _event_id(f"iso20022:{msg_id}:CLBD:{account}:{as_of}"),
        "event_type": "balance.snapshot",
        "occurred_at": occurred.isoformat(),
        "producer": producer,
        "customer_id": customer,
        "payload": {
            "as_of": as_of,
            "balances": [balance],
        },
    }
