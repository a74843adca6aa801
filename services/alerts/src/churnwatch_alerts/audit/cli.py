"""``python -m churnwatch_alerts audit verify``: check the audit hash chain; exit 1 naming a problem.

Reads only (an auditor may run it with a read-only database role). Prints one JSON object (the
verdict) on stdout and, when the chain is broken, one line per problem on stderr; exits 0 when
the chain is whole, 1 when it is not.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from churnwatch_alerts.audit.verify import verify
from churnwatch_alerts.db import create_engine
from churnwatch_alerts.settings import AlertsSettings

_ANCHOR = re.compile(r"^(?P<seq>[1-9][0-9]{0,18}):(?P<hash>[0-9a-f]{64})$")


def _anchor(text: str) -> tuple[int, str]:
    match = _ANCHOR.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not SEQ:HASH (a chain seq, a colon, 64 lower-case hex digits: the "
            "head_seq and head_hash of an earlier verification)"
        )
    return int(match["seq"]), match["hash"]


def add_parser(subparsers: Any) -> None:
    """Add ``audit verify`` to the service's command line."""
    audit = subparsers.add_parser("audit", help="the tamper-evident audit log")
    actions = audit.add_subparsers(dest="audit_command", required=True)
    check = actions.add_parser(
        "verify", help="check the hash chain; name the first altered, removed or inserted row"
    )
    check.add_argument(
        "--database-url", help="default CHURNWATCH_ALERTS_DATABASE_URL (SQLAlchemy async URL)"
    )
    check.add_argument(
        "--anchor",
        type=_anchor,
        action="append",
        default=[],
        metavar="SEQ:HASH",
        help="a head noted earlier; the row at SEQ must still have HASH (repeatable)",
    )


async def run(*, args: argparse.Namespace, settings: AlertsSettings) -> int:
    """Run ``audit verify``; the exit code (0 whole, 1 broken)."""
    engine = create_engine(url=args.database_url or settings.database_url)
    try:
        verdict = await verify(engine=engine, anchors=dict(args.anchor))
    finally:
        await engine.dispose()
    sys.stdout.write(json.dumps(verdict.as_dict(), sort_keys=True) + "\n")
    for problem in verdict.problems:
        sys.stderr.write(f"audit chain broken: {problem.kind}: {problem.message}\n")
    return 0 if verdict.ok else 1
