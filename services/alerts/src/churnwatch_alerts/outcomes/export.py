"""Churn outcomes from managers' resolutions and the bank's account closures.

``customer_id,churned_at`` as the model's training CLI reads it: a customer is lost on the day a
manager resolved one of their alerts as ``lost`` or on the day their last open account closed in
the event history, whichever came first; a customer with only ``retained`` or ``false_positive``
resolutions stayed (empty ``churned_at``). ``not_actionable`` says nothing about churn, so such
customers are not written (the training CLI counts absent customers as stayed).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import AlertRecord, AlertStatus, Outcome

_STAYED = (Outcome.RETAINED.value, Outcome.FALSE_POSITIVE.value)
_JUDGED = (Outcome.LOST.value, *_STAYED)


class OutcomesExportError(ValueError):
    """The export cannot run (what, where, what is accepted)."""


@dataclass
class Outcomes:
    """Per customer the churn date (None = stayed) and where each loss came from."""

    churned: dict[str, date | None] = field(default_factory=dict)
    lost_resolutions: int = 0
    retained_resolutions: int = 0
    closures: int = 0

    def lose(self, customer_id: str, day: date) -> None:
        """Mark the customer lost on ``day`` unless an earlier loss is known."""
        known = self.churned.get(customer_id)
        if known is None or day < known:
            self.churned[customer_id] = day

    def stay(self, customer_id: str) -> None:
        """Mark the customer as stayed unless a loss is known."""
        self.churned.setdefault(customer_id, None)

    def summary(self) -> dict[str, int]:
        """Counts for the audit row and the command's output (no customer ids)."""
        lost = sum(1 for d in self.churned.values() if d is not None)
        return {
            "customers": len(self.churned),
            "lost": lost,
            "stayed": len(self.churned) - lost,
            "lost_resolutions": self.lost_resolutions,
            "retained_resolutions": self.retained_resolutions,
            "closures": self.closures,
        }


async def add_resolutions(session: AsyncSession, outcomes: Outcomes) -> None:
    """Add every resolved alert's judged outcome (lost: the day of the resolution, in UTC)."""
    stmt = select(AlertRecord.customer_id, AlertRecord.outcome, AlertRecord.resolved_at).where(
        AlertRecord.status == AlertStatus.RESOLVED.value, AlertRecord.outcome.in_(_JUDGED)
    )
    for customer_id, outcome, resolved_at in (await session.execute(stmt)).all():
        if outcome == Outcome.LOST.value and resolved_at is not None:
            outcomes.lost_resolutions += 1
            outcomes.lose(customer_id, resolved_at.astimezone(UTC).date())
        elif outcome in _STAYED:
            outcomes.retained_resolutions += 1
            outcomes.stay(customer_id)


def add_closures(path: Path, outcomes: Outcomes) -> None:
    """Add the day each customer's last open account closed in an NDJSON event history.

    Accounts opened in the history minus those closed; when none was seen opening (the history
    starts after it), the first closure counts as the last one. The alerts database keeps no
    account events (no rule alerts on a closure), so closures come from the bank's event file.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise OutcomesExportError(f"{path}: cannot read events ({exc.strerror})") from exc
    opened: dict[str, int] = {}
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            kind, customer_id, at = _closure_fields(line, where=f"{path}:{number}")
            if kind == "account.opened":
                opened[customer_id] = opened.get(customer_id, 0) + 1
            elif kind == "account.closed":
                left = opened.get(customer_id, 0) - 1
                opened[customer_id] = max(0, left)
                if left <= 0:
                    outcomes.closures += 1
                    outcomes.lose(customer_id, at)


def _closure_fields(line: bytes, *, where: str) -> tuple[str, str, date]:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise OutcomesExportError(f"{where}: not a JSON object ({exc})") from exc
    if not isinstance(event, dict):
        raise OutcomesExportError(f"{where}: expected a JSON object (one event per line)")
    kind = event.get("event_type")
    customer_id = event.get("customer_id")
    if not isinstance(kind, str) or not isinstance(customer_id, str) or not customer_id:
        raise OutcomesExportError(f"{where}: an event needs event_type and customer_id strings")
    if kind not in ("account.opened", "account.closed"):
        return kind, customer_id, date.min
    try:
        at = datetime.fromisoformat(str(event.get("occurred_at")))
    except ValueError as exc:
        raise OutcomesExportError(
            f"{where}: occurred_at {event.get('occurred_at')!r} is not an ISO date-time"
        ) from exc
    if at.tzinfo is None:
        raise OutcomesExportError(f"{where}: occurred_at needs a time zone offset")
    return kind, customer_id, at.astimezone(UTC).date()


def render(rows: Iterable[tuple[str, date | None]]) -> str:
    """The CSV text: header, then one row per customer sorted by id."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("customer_id", "churned_at"))
    for customer_id, day in sorted(rows):
        writer.writerow((customer_id, day.isoformat() if day else ""))
    return buffer.getvalue()


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: a reader never sees half a file."""
    if not path.parent.is_dir():
        raise OutcomesExportError(f"--out {path}: directory {path.parent} does not exist")
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise OutcomesExportError(f"--out {path}: cannot write ({exc.strerror})") from exc
