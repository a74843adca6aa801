"""``python -m churnwatch_alerts value review --period 2026-11``: archive a period's value reviews.

Reviews every customer with a stored snapshot who has no review for the period yet (a second run
archives nothing new) and prints one JSON line: the period, how many were reviewed, the config
version. Exit 2 for a bad period or configuration, naming what was wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from churnwatch_alerts.clock import SystemClock
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_alerts.value.config import ValueConfigError, load_value_config
from churnwatch_alerts.value.periods import PeriodError, parse_period
from churnwatch_alerts.value.service import review_period


def add_parser(subparsers: Any) -> None:
    """Add ``value review`` to the service's command line."""
    value = subparsers.add_parser("value", help="customer value analysis")
    actions = value.add_subparsers(dest="value_command", required=True)
    run_review = actions.add_parser(
        "review", help="archive one period's value reviews (idempotent: repeats nothing)"
    )
    run_review.add_argument(
        "--period",
        required=True,
        help="YYYY-MM (CHURNWATCH_ALERTS_VALUE_PERIOD=monthly) or YYYY-Qn (quarterly); must "
        "have ended",
    )
    run_review.add_argument(
        "--database-url", help="default CHURNWATCH_ALERTS_DATABASE_URL (SQLAlchemy async URL)"
    )


async def run(*, args: argparse.Namespace, settings: AlertsSettings) -> int:
    """Run ``value review``; the exit code (0 done, 2 bad input)."""
    now = SystemClock().now()
    try:
        period = parse_period(args.period, kind=settings.value_period)
        config = load_value_config(settings.value_config_file)
    except (PeriodError, ValueConfigError) as exc:
        sys.stderr.write(f"value review: {exc}\n")
        return 2
    if period.end > now:
        sys.stderr.write(
            f"value review: period {period} has not ended yet (ends {period.end.isoformat()}); "
            "a period is reviewed once it is closed\n"
        )
        return 2
    engine = create_engine(url=args.database_url or settings.database_url)
    try:
        if settings.migrate_on_start:
            await upgrade(engine=engine)
        done = await review_period(
            create_sessionmaker(engine=engine), period=period, config=config, now=now
        )
    finally:
        await engine.dispose()
    line = {"period": done.period, "reviewed": done.reviewed, "config_version": config.version}
    sys.stdout.write(json.dumps(line) + "\n")
    return 0
