"""``python -m churnwatch_alerts`` serves the API; ``python -m churnwatch_alerts migrate`` migrates."""

from __future__ import annotations

import argparse
import asyncio

import uvicorn

from churnwatch_alerts.app import create_app
from churnwatch_alerts.audit import cli as audit_cli
from churnwatch_alerts.db import create_engine
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.notifications import cli as notifications_cli
from churnwatch_alerts.outcomes import cli as outcomes_cli
from churnwatch_alerts.privacy import cli as privacy_cli
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_alerts.value import cli as value_cli
from churnwatch_shared.logging import configure_logging
from churnwatch_shared.observability import configure_tracing


async def _migrate(settings: AlertsSettings) -> None:
    engine = create_engine(url=settings.database_url)
    try:
        await upgrade(engine=engine)
    finally:
        await engine.dispose()


def main() -> None:
    """Entry point of the alerts service."""
    parser = argparse.ArgumentParser(prog="churnwatch_alerts", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the API and run the workers (the default)")
    commands.add_parser("migrate", help="run the database migrations and exit")
    notifications_cli.add_parser(commands)
    audit_cli.add_parser(commands)
    value_cli.add_parser(commands)
    privacy_cli.add_parser(commands)
    outcomes_cli.add_parser(commands)
    args = parser.parse_args()
    settings = AlertsSettings()
    configure_logging(
        service="alerts", level=settings.common.log_level, json=settings.common.log_json
    )
    settings.check_production()
    configure_tracing(service="alerts")  # CHURNWATCH_TRACING, OTEL_*: off by default
    if args.command == "audit":
        raise SystemExit(asyncio.run(audit_cli.run(args=args, settings=settings)))
    if args.command == outcomes_cli.COMMAND:
        raise SystemExit(asyncio.run(outcomes_cli.run(args=args, settings=settings)))
    if args.command in privacy_cli.COMMANDS:
        raise SystemExit(asyncio.run(privacy_cli.run(args=args, settings=settings)))
    if args.command == "value":
        raise SystemExit(asyncio.run(value_cli.run(args=args, settings=settings)))
    if args.command == "notifications":
        raise SystemExit(asyncio.run(notifications_cli.run(args=args, settings=settings)))
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        return
    uvicorn.run(
        create_app(settings=settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
