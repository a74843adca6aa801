"""Command line: ``python -m churnwatch_simulator {generate,send,demo}``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from churnwatch_simulator.bank import CHINA_STANDARD_TIME, SimulatedBank, SimulationConfig
from churnwatch_simulator.population import Staffing
from churnwatch_simulator.realistic import RealisticBank, RealisticConfig, realistic_truth
from churnwatch_simulator.sinks import FileSink, IngestSink, KafkaSink, Sink, pump
from churnwatch_simulator.truth import ground_truth, write_truth

DEFAULT_URL = "http://127.0.0.1:8001"
DEFAULT_API_KEY = "cw-dev-producer-key"


def _population_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=1000, help="population size")
    parser.add_argument("--days", type=int, default=180, help="simulated days (at least 14)")
    parser.add_argument("--seed", type=int, default=42, help="same seed, same bytes")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2025, 1, 1),
        help="first simulated day (China Standard Time), e.g. 2025-01-01",
    )
    parser.add_argument(
        "--snapshot-every",
        type=int,
        default=7,
        help="days between a customer's balance.snapshot events",
    )
    parser.add_argument("--managers", type=int, default=20, help="relationship managers rm.001...")
    parser.add_argument("--branches", type=int, default=5, help="branches BR001...")
    parser.add_argument("--truth", type=Path, help="write the ground truth JSON here")
    parser.add_argument(
        "--profile",
        choices=("classic", "realistic"),
        default="classic",
        help="classic: the pattern-driven bank; realistic: Berka-grounded customer kinds and fates",
    )


def _bank(args: argparse.Namespace) -> SimulatedBank | RealisticBank:
    start = datetime(args.start.year, args.start.month, args.start.day, tzinfo=CHINA_STANDARD_TIME)
    if args.profile == "realistic":
        return RealisticBank(
            config=RealisticConfig(
                customers=args.customers,
                days=args.days,
                seed=args.seed,
                start=start,
                managers=args.managers,
                branches=args.branches,
            )
        )
    config = SimulationConfig(
        customers=args.customers,
        days=args.days,
        seed=args.seed,
        start=start,
        snapshot_every=args.snapshot_every,
        staffing=Staffing(managers=args.managers, branches=args.branches),
    )
    return SimulatedBank(config=config)


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m churnwatch_simulator", description="ChurnWatch synthetic core bank"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write events (NDJSON) and ground truth (JSON) to files")
    _population_args(gen)
    gen.add_argument("--out", type=Path, required=True, help="events file (NDJSON)")

    send = sub.add_parser("send", help="send generated (or replayed) events to ingest or Kafka")
    _population_args(send)
    send.add_argument("--to", choices=("ingest", "kafka"), default="ingest")
    send.add_argument(
        "--from-file", type=Path, help="replay this NDJSON file instead of generating"
    )
    send.add_argument("--url", default=os.environ.get("CHURNWATCH_INGEST_URL", DEFAULT_URL))
    send.add_argument(
        "--api-key", default=os.environ.get("CHURNWATCH_PRODUCER_KEY", DEFAULT_API_KEY)
    )
    send.add_argument(
        "--bootstrap", default=os.environ.get("CHURNWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    )
    send.add_argument(
        "--namespace", default=os.environ.get("CHURNWATCH_TOPIC_NAMESPACE", "churnwatch")
    )
    send.add_argument("--producer", default="simulator", help="producer stamped on Kafka records")
    send.add_argument("--rate", type=float, help="events per second (default: as fast as possible)")
    send.add_argument("--batch-size", type=int, default=500)

    demo = sub.add_parser("demo", help="feed ingest the demo customers of rm.demo, then trickle")
    demo.add_argument("--url", default=os.environ.get("CHURNWATCH_INGEST_URL", DEFAULT_URL))
    demo.add_argument(
        "--api-key", default=os.environ.get("CHURNWATCH_PRODUCER_KEY", DEFAULT_API_KEY)
    )
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--once", action="store_true", help="stop after the initial history")
    demo.add_argument("--trickle-rate", type=float, default=2.0, help="live events per second")
    demo.add_argument(
        "--health-timeout", type=float, default=60.0, help="seconds to wait for ingest /healthz"
    )
    return parser


def _file_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        for line in fh:
            line = line.strip()
            if line:
                yield line


def _truth(bank: SimulatedBank | RealisticBank) -> dict[str, Any]:
    if isinstance(bank, RealisticBank):
        return realistic_truth(bank=bank)
    return ground_truth(bank=bank)


async def _generate(args: argparse.Namespace) -> None:
    bank = _bank(args)
    sink = FileSink(path=args.out)
    try:
        await pump(lines=(orjson.dumps(e) for e in bank.events()), sink=sink, batch_size=5000)
    finally:
        await sink.close()
    truth = _truth(bank)
    if args.truth:
        write_truth(truth=truth, path=args.truth)
    churners = sum(1 for row in truth["labels"] if row["churns"])
    print(
        f"wrote {truth['events']} events for {args.customers} customers over {args.days} days "
        f"to {args.out}; {churners} churn",
        file=sys.stderr,
    )


async def _send(args: argparse.Namespace) -> None:
    sink: Sink
    if args.to == "kafka":
        sink = KafkaSink(
            bootstrap=args.bootstrap, namespace=args.namespace, producer_name=args.producer
        )
        target = sink.topic
    else:
        sink = IngestSink(url=args.url, api_key=args.api_key)
        target = args.url
    bank = None
    if args.from_file:
        lines: Iterator[bytes] = _file_lines(args.from_file)
    else:
        bank = _bank(args)
        lines = (orjson.dumps(e) for e in bank.events())
    print(f"sending to {target}", file=sys.stderr)
    try:
        tally = await pump(lines=lines, sink=sink, batch_size=args.batch_size, rate=args.rate)
    finally:
        await sink.close()
    for rejection in tally.rejections[:3]:
        print(f"rejected: {orjson.dumps(rejection).decode()}", file=sys.stderr)
    if bank is not None and args.truth:
        write_truth(truth=_truth(bank), path=args.truth)


async def _demo(args: argparse.Namespace) -> None:
    from churnwatch_simulator.demo import run_demo

    await run_demo(
        url=args.url,
        api_key=args.api_key,
        seed=args.seed,
        once=args.once,
        trickle_rate=args.trickle_rate,
        health_timeout=args.health_timeout,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    if getattr(args, "days", 14) < 14:
        print("--days must be at least 14", file=sys.stderr)
        return 2
    if getattr(args, "profile", "classic") == "realistic" and args.days < 60:
        print("--days must be at least 60 with --profile realistic", file=sys.stderr)
        return 2
    run = {"generate": _generate, "send": _send, "demo": _demo}[args.command]
    try:
        asyncio.run(run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
