"""``python -m churnwatch_alerts notifications dead-letters list|redrive``: one JSON object a line.

Works on the service's database directly (``CHURNWATCH_ALERTS_DATABASE_URL``), for operators with
database access; each redrive is audited with the actor ``cli:<operating-system user>``.
A running service picks redriven rows up at its next poll.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from sqlalchemy import true

from churnwatch_alerts import audit
from churnwatch_alerts.clock import SystemClock
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.notifications import dead_letters
from churnwatch_alerts.notifications.dead_letters import DeadLetterFilter
from churnwatch_alerts.settings import AlertsSettings


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 2**63 - 1:
        raise argparse.ArgumentTypeError(f"{value} is out of range (1 to 2**63-1)")
    return value


def add_parser(subparsers: Any) -> None:
    """Add ``notifications dead-letters list|redrive`` to the service's command line."""
    notifications = subparsers.add_parser("notifications", help="notification dead letters")
    groups = notifications.add_subparsers(dest="notifications_command", required=True)
    dead = groups.add_parser("dead-letters", help="list or redrive dead-lettered notifications")
    actions = dead.add_subparsers(dest="dead_letters_command", required=True)
    listing = actions.add_parser("list", help="dead letters, most recently dead first")
    redrive = actions.add_parser("redrive", help="send dead letters again (same delivery id)")
    for sub in (listing, redrive):
        sub.add_argument("--recipient", help="only this manager's")
        sub.add_argument("--channel", help="only this channel's (webhook, email)")
    listing.add_argument("--limit", type=_positive, default=100)
    redrive.add_argument("--id", type=_positive, action="append", dest="ids", help="repeatable")
    redrive.add_argument("--all", action="store_true", help="every dead letter that matches")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _print(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, default=str, sort_keys=True) + "\n")


async def run(*, args: argparse.Namespace, settings: AlertsSettings) -> int:
    """Run one dead-letters command; returns the process exit code."""
    if args.dead_letters_command == "redrive" and not (
        args.ids or args.recipient or args.channel or args.all
    ):
        sys.stderr.write("redrive: give --id, --recipient, --channel or --all\n")
        return 2
    filters = DeadLetterFilter(
        scope=true(),
        recipient=args.recipient,
        channel=args.channel,
        ids=tuple(args.ids) if getattr(args, "ids", None) else None,
    )
    engine = create_engine(url=settings.database_url)
    try:
        sessionmaker = create_sessionmaker(engine=engine)
        async with sessionmaker() as session, session.begin():
            if args.dead_letters_command == "list":
                _, rows = await dead_letters.list_dead(
                    session, filters=filters, limit=args.limit, offset=0
                )
                audit.record(
                    session,
                    actor=_actor(),
                    action="notification.dead_letters.listed",
                    at=SystemClock().now(),
                    detail={"returned": [r.id for r in rows], "via": "cli"},
                )
                for row in rows:
                    _print(dead_letters.describe(row))
                return 0
            rows = await dead_letters.redrive(
                session,
                filters=filters,
                actor=_actor(),
                now=SystemClock().now(),
            )
        _print({"redriven": [r.id for r in rows]})
        return 0
    finally:
        await engine.dispose()
