"""Command line: ``python -m churnwatch_berka {events,outcomes,replay}``.

python -m churnwatch_berka events --data ../shared/data/berka --out berka.ndjson [--accounts N]
python -m churnwatch_berka outcomes --data ../shared/data/berka --out outcomes.csv
python -m churnwatch_berka replay --data ../shared/data/berka --workdir out/ [--summary s.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

import orjson

from churnwatch_berka.loader import Book, events, select
from churnwatch_berka.outcomes import rows, to_csv
from churnwatch_berka.replay import ReplayError, alert_shares, run_backtest
from churnwatch_berka.tables import BerkaDataError, load

DEFAULT_DATA = Path("../shared/data/berka")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m churnwatch_berka", description="Berka (PKDD'99) data as ChurnWatch events"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("events", "write the events (NDJSON, event-time order)"),
        ("outcomes", "write per-customer ground facts (CSV): loan status A-D, penalty interest..."),
        ("replay", "load, replay through the backtest, write per-rule alert shares (JSON)"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Berka data directory")
        cmd.add_argument("--accounts", type=_positive, help="first N accounts by opening date")
        cmd.add_argument(
            "--until",
            type=date.fromisoformat,
            help="end of the replay window (default: the last booked transaction)",
        )
        if name == "replay":
            cmd.add_argument("--workdir", type=Path, help="keep events, outcomes, alerts here")
            cmd.add_argument("--summary", type=Path, help="write the JSON summary here too")
        else:
            cmd.add_argument("--out", type=Path, required=True, help="output file")
        if name != "outcomes":
            cmd.add_argument(
                "--loan-status-events",
                action="store_true",
                help="also emit each loan's final status (A-D, known only in 1998) as "
                "loan.classified at the window's end: leaks the outcome, for demonstrations",
            )
    return parser


def _write_events(book: Book, path: Path, loan_status_events: bool) -> int:
    evs = events(book=book, loan_status_events=loan_status_events)
    with path.open("wb") as fh:
        for event in evs:
            fh.write(orjson.dumps(event) + b"\n")
    return len(evs)


def _replay(book: Book, workdir: Path, loan_status_events: bool) -> dict[str, object]:
    workdir.mkdir(parents=True, exist_ok=True)
    ev, oc, al = workdir / "events.ndjson", workdir / "outcomes.csv", workdir / "alerts.ndjson"
    _write_events(book, ev, loan_status_events)
    oc.write_text(to_csv(rows=rows(book=book)))
    summary = run_backtest(events=ev, alerts=al, states=workdir / "states.ndjson")
    purposes = {f"berka.t{tid}": p.purpose for tid, p in book.postings.items()}
    return alert_shares(alerts=al, outcomes=oc, purposes=purposes, backtest=summary)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        book = select(data=load(directory=args.data), accounts=args.accounts, until=args.until)
        if args.command == "events":
            n = _write_events(book, args.out, args.loan_status_events)
            print(
                f"wrote {n} events for {len(book.accounts)} customers to {args.out}",
                file=sys.stderr,
            )
        elif args.command == "outcomes":
            args.out.write_text(to_csv(rows=rows(book=book)))
            print(f"wrote {len(book.accounts)} customers to {args.out}", file=sys.stderr)
        else:
            if args.workdir is not None:
                result = _replay(book, args.workdir, args.loan_status_events)
            else:
                with tempfile.TemporaryDirectory(prefix="berka-") as tmp:
                    result = _replay(book, Path(tmp), args.loan_status_events)
            text = orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
            if args.summary is not None:
                args.summary.write_bytes(text + b"\n")
            sys.stdout.write(text.decode() + "\n")
    except (BerkaDataError, ValueError, ReplayError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
