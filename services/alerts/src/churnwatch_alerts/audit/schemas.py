"""API shapes of the audit log and its CSV / NDJSON export lines."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

EXPORT_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "customer_id",
    "alert_id",
    "detail",
    "chain_seq",
    "detail_sha256",
    "prev_hash",
    "row_hash",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); failed
# logins put caller-chosen text in ``actor``.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    customer_id: str | None
    alert_id: str | None
    detail: dict[str, Any]
    # The hash chain (audit/chain.py): an export can be re-verified outside the service.
    chain_seq: int | None
    detail_sha256: str | None
    prev_hash: str | None
    row_hash: str | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_before_id: int | None


class ChainProblemOut(BaseModel):
    kind: str
    id: int | None
    seq: int | None
    message: str


class ChainVerdictOut(BaseModel):
    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    redacted: int
    redacted_ids: list[int]
    first_problem: ChainProblemOut | None
    problems: list[ChainProblemOut]


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_lines(entries: list[AuditEntryOut], *, header: bool = True) -> bytes:
    """CSV rows (with the header line first when ``header``); detail is a JSON text cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(EXPORT_COLUMNS)
    for e in entries:
        writer.writerow(
            [
                e.id,
                e.at.isoformat(),
                _cell(e.actor),
                _cell(e.action),
                _cell(e.customer_id or ""),
                _cell(e.alert_id or ""),
                orjson.dumps(e.detail, option=orjson.OPT_SORT_KEYS).decode(),
                "" if e.chain_seq is None else e.chain_seq,
                e.detail_sha256 or "",
                e.prev_hash or "",
                e.row_hash or "",
            ]
        )
    return buffer.getvalue().encode()


def ndjson_lines(entries: list[AuditEntryOut]) -> bytes:
    """One JSON object per line."""
    return b"".join(orjson.dumps(e.model_dump(mode="json")) + b"\n" for e in entries)
