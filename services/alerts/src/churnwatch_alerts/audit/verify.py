"""Verifying the audit hash chain: names the first altered, removed or inserted row.

Walks the chain in ``chain_seq`` order inside one snapshot (REPEATABLE READ on PostgreSQL) and
checks, row by row: the seq follows the previous one (else rows were removed), ``prev_hash`` is
the previous row's hash, ``detail`` matches ``detail_sha256`` (or is an erasure's redaction
marker), and the row hash recomputed from the stored fields matches ``row_hash``. Then the end of
the chain must be the recorded head (else rows were removed from, or added to, the end), and no
row may be off the chain (inserted without the application). Optional anchors (seq and hash an
auditor noted earlier) catch a chain rewritten from some row on with recomputed hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from churnwatch_alerts.audit import chain
from churnwatch_alerts.models import AuditEntry
from churnwatch_alerts.models.audit_log import AuditChainHead

LOG = AuditEntry.__table__
CHUNK = 2000
MAX_PROBLEMS = 20
# The audit rows that authorise redaction markers, and the detail field naming the marker.
ERASURE_ACTION, ERASURE_FIELD = "privacy.erasure_requested", "erasure_id"
RETENTION_ACTION, RETENTION_FIELD = "privacy.retention_run", "run_id"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # altered | removed | inserted | anchor_mismatch
    id: int | None
    seq: int | None
    message: str


@dataclass(slots=True)
class Verdict:
    rows: int = 0
    head_seq: int = 0
    head_hash: str = chain.GENESIS
    redacted_ids: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # marker -> customer id (None: a retention run, any row) from the chained rows that
    # authorise markers, and each redacted row's (id, seq, customer id, marker)
    authorised: dict[str, str | None] = field(default_factory=dict)
    markers: list[tuple[int, int, str | None, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary: ok, counts, head, first problem and all problems found."""
        problems = [
            {"kind": p.kind, "id": p.id, "seq": p.seq, "message": p.message} for p in self.problems
        ]
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "redacted": len(self.redacted_ids),
            "redacted_ids": self.redacted_ids[:100],
            "first_problem": problems[0] if problems else None,
            "problems": problems,
        }


def _check_row(row: Row[Any], *, expected_seq: int, prev: str, verdict: Verdict) -> None:
    seq = row.chain_seq
    if seq != expected_seq:
        missing = (
            f"seq {expected_seq}" if seq == expected_seq + 1 else f"seq {expected_seq}..{seq - 1}"
        )
        verdict.problems.append(
            Problem("removed", row.id, seq, f"row(s) {missing} missing before row id {row.id}")
        )
    elif row.prev_hash != prev:
        verdict.problems.append(
            Problem(
                "altered",
                row.id,
                seq,
                f"row id {row.id} (seq {seq}) does not link to the previous row's hash "
                "(the previous row was replaced, or this row's prev_hash edited)",
            )
        )
    digest = chain.detail_digest(row.detail)
    detail = row.detail if isinstance(row.detail, dict) else {}
    if row.action == ERASURE_ACTION and isinstance(detail.get(ERASURE_FIELD), str):
        verdict.authorised[detail[ERASURE_FIELD]] = row.customer_id
    elif row.action == RETENTION_ACTION and isinstance(detail.get(RETENTION_FIELD), str):
        verdict.authorised[detail[RETENTION_FIELD]] = None
    if digest != row.detail_sha256:
        if chain.is_redaction(row.detail):
            verdict.redacted_ids.append(row.id)
            verdict.markers.append((row.id, seq, row.customer_id, detail[chain.REDACTED_KEY]))
        else:
            verdict.problems.append(
                Problem("altered", row.id, seq, f"row id {row.id} (seq {seq}): detail was altered")
            )
    recomputed = chain.row_hash(
        seq=int(seq or 0),
        at=row.at,
        actor=row.actor,
        action=row.action,
        customer_id=row.customer_id,
        alert_id=row.alert_id,
        detail_sha256=row.detail_sha256 or "",
        prev_hash=row.prev_hash or "",
    )
    if recomputed != row.row_hash:
        verdict.problems.append(
            Problem(
                "altered",
                row.id,
                seq,
                f"row id {row.id} (seq {seq}): its fields (at, actor, action, customer_id, "
                "alert_id, detail digest or links) do not match its hash",
            )
        )


def _check_markers(verdict: Verdict) -> None:
    """A redaction marker must name an erasure (of the row's customer) or a retention run that
    the chain itself records; any other marker is an edit that hides a detail."""
    for row_id, seq, customer_id, marker in verdict.markers:
        if not isinstance(marker, str) or marker not in verdict.authorised:
            reason = "names no erasure or retention run recorded in the chain"
        elif (owner := verdict.authorised[marker]) is not None and customer_id not in (
            None,
            owner,
        ):
            reason = f"names erasure {marker} of another customer"
        else:
            continue
        verdict.problems.append(
            Problem(
                "altered",
                row_id,
                seq,
                f"row id {row_id} (seq {seq}): detail replaced by a redaction marker that {reason}",
            )
        )


async def _walk(conn: AsyncConnection, *, anchors: dict[int, str], verdict: Verdict) -> None:
    head = (
        await conn.execute(select(AuditChainHead.seq, AuditChainHead.row_hash).limit(1))
    ).one_or_none()
    head_seq, head_hash = (int(head.seq), str(head.row_hash)) if head else (0, chain.GENESIS)
    expected, prev, last_id = 1, chain.GENESIS, None
    after = 0
    while len(verdict.problems) < MAX_PROBLEMS:
        stmt = select(LOG).where(LOG.c.chain_seq > after).order_by(LOG.c.chain_seq).limit(CHUNK)
        rows = (await conn.execute(stmt)).all()
        for row in rows:
            seq = int(row.chain_seq or 0)
            if seq > head_seq:
                verdict.problems.append(
                    Problem(
                        "inserted",
                        row.id,
                        seq,
                        f"row id {row.id} (seq {seq}) is past the recorded chain head "
                        f"(seq {head_seq}): inserted without the application",
                    )
                )
                break
            _check_row(row, expected_seq=expected, prev=prev, verdict=verdict)
            if seq in anchors and anchors[seq] != row.row_hash:
                verdict.problems.append(
                    Problem(
                        "anchor_mismatch",
                        row.id,
                        seq,
                        f"row id {row.id} (seq {seq}) no longer has the anchored hash "
                        f"{anchors[seq]}: the chain was rewritten",
                    )
                )
            verdict.rows += 1
            expected, prev, last_id = seq + 1, row.row_hash or "", row.id
        else:
            if len(rows) == CHUNK:
                after = int(rows[-1].chain_seq or 0)
                continue
        break
    _check_markers(verdict)
    if not verdict.problems and (expected - 1, prev) != (head_seq, head_hash):
        verdict.problems.append(
            Problem(
                "removed",
                last_id,
                expected - 1,
                f"the chain ends at seq {expected - 1} (row id {last_id}) but its recorded head "
                f"is seq {head_seq}: the last row(s) were removed",
            )
        )
    off_chain = (
        await conn.execute(
            select(AuditEntry.id, func.count().over())
            .where(AuditEntry.chain_seq.is_(None))
            .order_by(AuditEntry.id)
            .limit(1)
        )
    ).one_or_none()
    if off_chain is not None:
        verdict.problems.append(
            Problem(
                "inserted",
                int(off_chain[0]),
                None,
                f"row id {off_chain[0]} is not on the chain (and {int(off_chain[1]) - 1} more): "
                "inserted without the application",
            )
        )
    verdict.head_seq, verdict.head_hash = head_seq, head_hash


async def verify(*, engine: AsyncEngine, anchors: dict[int, str] | None = None) -> Verdict:
    """Check the whole chain in one snapshot; the verdict lists problems in chain order."""
    verdict = Verdict()
    options: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        # One snapshot: rows appended while we read neither show up half-way nor move the head.
        options["isolation_level"] = "REPEATABLE READ"
    async with engine.connect() as conn:
        conn = await conn.execution_options(**options)
        async with conn.begin():
            await _walk(conn, anchors=anchors or {}, verdict=verdict)
    return verdict
