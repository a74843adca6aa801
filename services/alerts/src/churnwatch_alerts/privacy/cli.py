"""``python -m churnwatch_alerts erase|objection|retention``: the privacy API's operations.

``erase CUSTOMER_ID --reason TEXT [--by NAME]`` erases the customer (the alerts database now, the
state monitor through the erasure event) and prints the proof as JSON; exit 0 when the event is
on EVENTS (the monitor's confirmation follows), 2 when it could not be sent (run it again to
resume the same erasure). ``objection record|withdraw CUSTOMER_ID`` and ``retention`` (one run
of the retention job) print JSON too. Each is audited with the ``--by`` name (default: the OS
user, ``cli:<user>``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any

from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.privacy import objections
from churnwatch_alerts.privacy.events import KafkaErasureSender
from churnwatch_alerts.privacy.retention import run_retention
from churnwatch_alerts.privacy.service import ErasureUnsent, proof, request_erasure
from churnwatch_alerts.settings import AlertsSettings

COMMANDS = ("erase", "objection", "retention")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", help="default CHURNWATCH_ALERTS_DATABASE_URL (SQLAlchemy async URL)"
    )
    parser.add_argument("--by", help="who is acting (audited); default cli:<OS user>")


def add_parser(subparsers: Any) -> None:
    """Add ``erase``, ``objection`` and ``retention`` to the service's command line."""
    erase = subparsers.add_parser("erase", help="erase a customer everywhere; print the proof")
    erase.add_argument("customer_id")
    erase.add_argument("--reason", required=True, help="why (a ticket id); no personal data")
    _common(erase)
    objection = subparsers.add_parser("objection", help="a customer's objection to marketing")
    objection.add_argument("objection_command", choices=("record", "withdraw", "show"))
    objection.add_argument("customer_id")
    objection.add_argument("--channel", help="how the customer objected, e.g. branch, letter")
    _common(objection)
    retention = subparsers.add_parser("retention", help="run the retention job once")
    _common(retention)


def _print(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value, sort_keys=True, default=str) + "\n")


async def run(*, args: argparse.Namespace, settings: AlertsSettings) -> int:
    """Run one privacy command; the exit code."""
    engine = create_engine(url=args.database_url or settings.database_url)
    sessionmaker = create_sessionmaker(engine=engine)
    actor = args.by or f"cli:{getpass.getuser()}"
    now = datetime.now(UTC)
    try:
        if args.command == "erase":
            try:
                erasure = await request_erasure(
                    sessionmaker,
                    customer_id=args.customer_id,
                    reason=args.reason,
                    actor=actor,
                    now=now,
                    sender=KafkaErasureSender(common=settings.common),
                )
            except ErasureUnsent as exc:
                _print(proof(exc.erasure))
                sys.stderr.write(
                    f"the event for the state monitor could not be sent ({exc}); the alerts "
                    f"database is erased; run the command again to resume {exc.erasure.id}\n"
                )
                return 2
            _print(proof(erasure))
            return 0
        if args.command == "retention":
            _print(await run_retention(sessionmaker, settings=settings.retention, now=now))
            return 0
        async with sessionmaker() as session, session.begin():
            if args.objection_command == "record":
                await objections.record_objection(
                    session,
                    customer_id=args.customer_id,
                    actor=actor,
                    channel=args.channel,
                    now=now,
                )
            elif args.objection_command == "withdraw" and not await objections.withdraw(
                session, customer_id=args.customer_id, actor=actor, now=now
            ):
                sys.stderr.write(f"customer {args.customer_id} has no objection\n")
                return 1
            _print(await objections.describe(session, customer_id=args.customer_id))
        return 0
    finally:
        await engine.dispose()
