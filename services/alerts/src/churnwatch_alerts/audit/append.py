"""Chaining audit rows when their transaction commits, one chain however many writers append.

``writer.record`` adds the row and notes it in ``session.info``; right before the commit this
module flushes the transaction's other changes, locks the single ``audit_chain_head`` row
(``UPDATE``: a row lock on PostgreSQL held to the commit, the database write lock on SQLite), reads
the head, gives the noted rows the next ``chain_seq`` values and hashes, and moves the head.
A second transaction appending at the same time waits on that lock and then reads the new head, so
the chain never forks; the unique index on ``chain_seq`` refuses a fork even if it were tried.

The lock is taken last, after every other row lock of the transaction (the flush first), and
held only for the commit: two transactions cannot deadlock on it, and a request that wrote its
audit row early does not serialise the others for its whole duration.
"""

from __future__ import annotations

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session, SessionTransaction

from churnwatch_alerts.audit import chain
from churnwatch_alerts.models import AuditEntry
from churnwatch_alerts.models.audit_log import AuditChainHead
from churnwatch_alerts.models.base import utcnow

PENDING_KEY = "churnwatch.audit.unchained"
HEAD_ID = 1


def note(session: Session, entry: AuditEntry) -> None:
    """Remember ``entry`` for chaining at the commit of ``session``'s transaction."""
    session.info.setdefault(PENDING_KEY, []).append(entry)


def _still_in_transaction(session: Session, entry: AuditEntry) -> bool:
    # A row added inside a savepoint that was rolled back is no longer in the session: giving it
    # a seq would leave a gap that the verifier reports as a removed row.
    state = inspect(entry)
    return entry in session and (state.pending or state.persistent) and entry.chain_seq is None


def _lock_head(session: Session) -> tuple[int, str]:
    locked = session.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(seq=AuditChainHead.seq)
    )
    if locked.rowcount == 0:  # type: ignore[attr-defined]
        # Only a schema made without the migrations lacks the head row.
        session.add(AuditChainHead(id=HEAD_ID, seq=0, row_hash=chain.GENESIS))
        session.flush()
    head = session.execute(
        select(AuditChainHead.seq, AuditChainHead.row_hash).where(AuditChainHead.id == HEAD_ID)
    ).one()
    return int(head.seq), str(head.row_hash)


def chain_pending(session: Session) -> None:
    """Give the transaction's unchained audit rows their place in the chain (before commit)."""
    noted: list[AuditEntry] = session.info.pop(PENDING_KEY, [])
    entries = [e for e in noted if _still_in_transaction(session, e)]
    if not entries:
        return
    unflushed = [e for e in entries if inspect(e).pending]
    for entry in unflushed:
        session.expunge(entry)
    session.flush()
    seq, prev = _lock_head(session)
    for entry in entries:
        if entry.at is None:
            entry.at = utcnow()
        seq += 1
        entry.chain_seq = seq
        entry.detail_sha256 = chain.detail_digest(entry.detail)
        entry.prev_hash = prev
        entry.row_hash = prev = chain.row_hash(
            seq=seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            customer_id=entry.customer_id,
            alert_id=entry.alert_id,
            detail_sha256=entry.detail_sha256,
            prev_hash=entry.prev_hash,
        )
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(seq=seq, row_hash=prev)
    )
    session.add_all(unflushed)


def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Only when the outermost transaction ends: a rolled-back savepoint leaves the rows added
    # outside it to be chained (rows inside it drop out in _still_in_transaction).
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


event.listen(Session, "before_commit", chain_pending)
event.listen(Session, "after_transaction_end", _forget)
