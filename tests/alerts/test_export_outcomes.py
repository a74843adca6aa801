"""``python -m churnwatch_alerts export-outcomes`` on the real PostgreSQL: resolutions, closures,
the audit row and clear refusals."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import select

from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.models import AuditEntry
from tests.alerts.outcome_rows import resolved_alert, store

T1 = datetime(2025, 5, 3, 23, 30, tzinfo=UTC)
T2 = datetime(2025, 6, 10, 8, 0, tzinfo=UTC)


def _export(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHURNWATCH_ALERTS_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "churnwatch_alerts", "export-outcomes", *args],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _event(kind: str, customer: str, at: str, n: int) -> bytes:
    return orjson.dumps(
        {"event_type": kind, "event_id": f"e{n}", "customer_id": customer, "occurred_at": at}
    )


async def test_export_writes_resolutions_and_closures_and_audits_the_read(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    url = make_database()
    engine = create_engine(url=url)
    await store(
        engine,
        [
            resolved_alert(alert_id="a1", customer_id="C-lost", outcome="lost", at=T2),
            resolved_alert(alert_id="a2", customer_id="C-lost", outcome="lost", at=T1),
            resolved_alert(alert_id="a3", customer_id="C-kept", outcome="retained", at=T1),
            resolved_alert(alert_id="a4", customer_id="C-fp", outcome="false_positive", at=T1),
            resolved_alert(alert_id="a5", customer_id="C-na", outcome="not_actionable", at=T1),
            resolved_alert(alert_id="a6", customer_id="C-open", outcome=None, at=T1),
            # retained first, then the relationship closed: lost on the closure day
            resolved_alert(alert_id="a7", customer_id="C-closed", outcome="retained", at=T1),
        ],
    )
    events = tmp_path / "events.ndjson"
    events.write_bytes(
        b"\n".join(
            [
                _event("account.opened", "C-closed", "2025-01-05T10:00:00+08:00", 1),
                _event("account.opened", "C-closed", "2025-01-06T10:00:00+08:00", 2),
                _event("account.closed", "C-closed", "2025-07-01T10:00:00+08:00", 3),
                _event("account.closed", "C-closed", "2025-07-20T07:00:00+08:00", 4),
                _event("account.opened", "C-two", "2025-01-05T10:00:00+08:00", 5),
                _event("account.opened", "C-two", "2025-02-05T10:00:00+08:00", 6),
                _event("account.closed", "C-two", "2025-03-01T10:00:00+08:00", 7),
                _event("transaction.posted", "C-kept", "2025-03-01T10:00:00+08:00", 8),
            ]
        )
        + b"\n"
    )
    out = tmp_path / "outcomes.csv"
    done = _export(url, "--out", str(out), "--events", str(events))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows == [
        ["customer_id", "churned_at"],
        ["C-closed", "2025-07-19"],  # the last account closed at 07:00 +08:00 = 23:00 UTC before
        ["C-fp", ""],
        ["C-kept", ""],
        ["C-lost", "2025-05-03"],  # the earlier of two losses, its UTC day
    ]
    summary = orjson.loads(done.stdout)
    assert summary["lost"] == 2 and summary["stayed"] == 2 and summary["closures"] == 1
    async with create_sessionmaker(engine=engine)() as session:
        audits = (
            (
                await session.execute(
                    select(AuditEntry).where(AuditEntry.action == "outcomes.export")
                )
            )
            .scalars()
            .all()
        )
    await engine.dispose()
    assert len(audits) == 1
    assert audits[0].actor.startswith("cli:") and audits[0].chain_seq is not None
    assert audits[0].detail["customers"] == 4 and audits[0].detail["out"] == str(out)


def test_export_refuses_bad_input_naming_it(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    url = make_database()
    missing_dir = _export(url, "--out", str(tmp_path / "nope" / "o.csv"))
    assert missing_dir.returncode == 2 and "does not exist" in missing_dir.stderr
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"event_type": "account.closed", "customer_id": "C1"}\nnot json\n')
    refused = _export(url, "--out", str(tmp_path / "o.csv"), "--events", str(bad))
    assert refused.returncode == 2 and f"{bad}:1: occurred_at None" in refused.stderr
    assert not (tmp_path / "o.csv").exists()
