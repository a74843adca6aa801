"""camt entries and closing balances -> ``transaction.posted`` and ``balance.snapshot``.

Policy: per entry, the rest still accepted. Each booked entry (status BOOK) becomes one
``transaction.posted``; pending/informational entries are reported as skipped; an entry that
cannot be mapped (unknown account owner, unsupported currency, bad amount...) is reported as
rejected with its reason while the message's other entries are published.

Interbank: the counterparty's agent is the creditor agent for a debit entry and the debtor agent
for a credit entry. The transfer is interbank when that agent's BIC (first 8 characters: bank,
country, location) differs from every configured own-bank BIC. No agent given: counterparty
unknown, treated as own bank (no interbank signal is invented). camt carries no channel, so every
entry is channel ``batch``. Event ids are ``iso20022:<AcctSvcrRef or NtryRef>`` (or
``iso20022:<MsgId>:<entry index>`` without a reference), so re-sending a message is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from churnwatch_ingest.adapters.iso20022.parse import (
    CamtBalance,
    CamtEntry,
    CamtMessage,
    parse_amount,
)
from churnwatch_shared.events import Event, parse_event_obj

OwnerLookup = Callable[[str], str | None]
_UNSAFE = re.compile(r"[^A-Za-z0-9._:@/-]")

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
        ref = entry.reference or f"{msg_id}:{entry.index}"
        obj_or_reason = _entry_event(
            entry,
            owner_of=owner_of,
            own=own,
            producer=producer,
            event_id=_ident(f"iso20022:{ref}"),
            now=now,
        )
        _collect(result, item, obj_or_reason)
    for n, bal in enumerate(message.closing_balances):
        obj_or_reason = _balance_event(
            bal, owner_of=owner_of, producer=producer, msg_id=msg_id, now=now
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


def _occurred_at(day: str | None, now: datetime) -> str | None:
    if day is None:
        return now.isoformat()
    try:
        return datetime.combine(
            date.fromisoformat(day), datetime.min.time(), tzinfo=UTC
        ).isoformat()
    except ValueError:
        return None


def _entry_event(
    entry: CamtEntry,
    *,
    owner_of: OwnerLookup,
    own: frozenset[str],
    producer: str,
    event_id: str,
    now: datetime,
) -> dict[str, Any] | str:
    if entry.account is None:
        return "no account (Acct/Id/IBAN or Acct/Id/Othr/Id)"
    customer = owner_of(entry.account)
    if customer is None:
        return f"unknown account {entry.account}: set its owner with PUT /v1/accounts/{{id}}/owner"
    amount = parse_amount(entry.amount)
    if amount is None or amount <= 0:
        return f"amount {entry.amount!r} is not a positive decimal"
    if entry.credit_debit not in ("CRDT", "DBIT"):
        return f"CdtDbtInd {entry.credit_debit!r} must be CRDT or DBIT"
    occurred = _occurred_at(entry.booking_date or entry.value_date, now)
    if occurred is None:
        return f"booking date {entry.booking_date!r} is not an ISO date"
    debit = entry.credit_debit == "DBIT"
    agent = entry.creditor_agent_bic if debit else entry.debtor_agent_bic
    interbank = agent is not None and agent.upper()[:8] not in own
    payload: dict[str, Any] = {
        "direction": "debit" if debit else "credit",
        "amount": format(amount, "f"),
        "currency": entry.currency,
        "channel": "batch",
        "category": _category(entry.bank_tx_code, interbank=interbank),
        "counterparty_is_own_bank": not interbank,
    }
    if agent is not None:
        payload["counterparty_bank"] = _ident(agent.upper())
    return {
        "event_id": event_id,
        "event_type": "transaction.posted",
        "occurred_at": occurred,
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
    bal: CamtBalance, *, owner_of: OwnerLookup, producer: str, msg_id: str, now: datetime
) -> dict[str, Any] | str:
    if bal.account is None:
        return "statement has no account"
    customer = owner_of(bal.account)
    if customer is None:
        return f"unknown account {bal.account}: set its owner with PUT /v1/accounts/{{id}}/owner"
    amount = parse_amount(bal.amount)
    if amount is None:
        return f"balance amount {bal.amount!r} is not a decimal"
    if bal.credit_debit == "DBIT":
        amount = -amount
    as_of = bal.date or now.date().isoformat()
    occurred = _occurred_at(as_of, now)
    if occurred is None:
        return f"balance date {bal.date!r} is not an ISO date"
    account = _ident(bal.account)
    return {
        "event_id": _ident(f"iso20022:{msg_id}:CLBD:{account}:{as_of}"),
        "event_type": "balance.snapshot",
        "occurred_at": occurred,
        "producer": producer,
        "customer_id": customer,
        "payload": {
            "as_of": as_of,
            "balances": [
                {
                    "account_id": account,
                    "product_kind": "demand",
                    "balance": format(amount, "f"),
                    "currency": bal.currency,
                }
            ],
        },
    }
