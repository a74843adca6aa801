"""``python -m churnwatch_alerts export-outcomes --out OUTCOMES.csv [--events EVENTS.ndjson]``.

Writes the bank's churn outcomes for ``python -m churnwatch_state_monitor.model train
--outcomes``: managers' resolutions (lost / retained) from the alerts database and, with
``--events``, the closures of customers' last accounts in the event history. The export reads
customer data, so it is audited (``outcomes.export``, actor ``cli:<OS user>``, the counts) in
the same transaction as the read; no file is written when the audit row cannot be. Prints one
JSON line of counts; exit 2 for bad input, naming what was wrong.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from churnwatch_alerts.audit.writer import record
from churnwatch_alerts.clock import SystemClock
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.outcomes.export import (
    Outcomes,
    OutcomesExportError,
    add_closures,
    add_resolutions,
    render,
    write_atomically,
)
from churnwatch_alerts.settings import AlertsSettings

COMMAND = "export-outcomes"


def add_parser(subparsers: Any) -> None:
    """Add ``export-outcomes`` to the service's command line."""
    export = subparsers.add_parser(
        COMMAND, help="write OUTCOMES.csv (customer_id,churned_at) for retraining the churn model"
    )
    export.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    export.add_argument(
        "--events",
        type=Path,
        help="NDJSON event history: a customer whose last open account closed is lost that day",
    )
    export.add_argument(
        "--database-url", help="default CHURNWATCH_ALERTS_DATABASE_URL (SQLAlchemy async URL)"
    )


async def run(*, args: argparse.Namespace, settings: AlertsSettings) -> int:
    """Run ``export-outcomes``; the exit code (0 written, 2 bad input)."""
    outcomes = Outcomes()
    try:
        if args.events is not None:
            add_closures(args.events, outcomes)
        if not args.out.parent.is_dir():
            raise OutcomesExportError(
                f"--out {args.out}: directory {args.out.parent} does not exist"
            )
    except OutcomesExportError as exc:
        sys.stderr.write(f"{COMMAND}: {exc}\n")
        return 2
    engine = create_engine(url=args.database_url or settings.database_url)
    try:
        if settings.migrate_on_start:
            await upgrade(engine=engine)
        async with create_sessionmaker(engine=engine)() as session, session.begin():
            await add_resolutions(session, outcomes)
            record(
                session,
                actor=f"cli:{getpass.getuser()}",
                action="outcomes.export",
                at=SystemClock().now(),
                detail={
                    **outcomes.summary(),
                    "out": str(args.out),
                    "events": str(args.events) if args.events else None,
                },
            )
    finally:
        await engine.dispose()
    try:
        write_atomically(args.out, render(outcomes.churned.items()))
    except OutcomesExportError as exc:
        sys.stderr.write(f"{COMMAND}: {exc}\n")
        return 2
    sys.stdout.write(json.dumps({"out": str(args.out), **outcomes.summary()}) + "\n")
    return 0
