"""Run the ingest service: ``python -m churnwatch_ingest`` (``--help``; ``hash-key KEY`` for config)."""

from __future__ import annotations

import argparse
import gc
import sys

import uvicorn

from churnwatch_ingest.app import create_app
from churnwatch_ingest.auth import argon2_key_hash, sha256_key_hash
from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared.logging import configure_logging
from churnwatch_shared.observability import configure_tracing

# A batch keeps ~14 tracked objects per event alive until it is answered (models, records, per-item
# answers): ~70,000 for 5,000 events, twice that with two batches in flight. A young collection
# only walks live objects, and promotes them, so with a young threshold below that working set every
# batch paid for walking its own events several times (CPython's default 700 and our former
# 10,000 alike): about 3 us of the batch CPU per event, measured. At 200,000 a batch's objects are
# mostly freed by reference counting before a collection starts; what a collection then finds is
# small (the single-event path grows the heap by ~1 object per request). Objects alive at start-up
# (modules, pydantic schemas) are frozen out of collection altogether; cycles are still collected.
GC_THRESHOLDS = (200_000, 10, 10)


def tune_gc() -> None:
    """Freeze start-up objects and collect young garbage less often (cycles are still freed)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def build_parser() -> argparse.ArgumentParser:
    """The command line: no arguments serves the API; ``hash-key`` prints a key's hash."""
    parser = argparse.ArgumentParser(
        prog="python -m churnwatch_ingest",
        usage="%(prog)s [-h] [hash-key KEY [--argon2]]",
        description=(
            "Serve the ChurnWatch ingest API on CHURNWATCH_INGEST_HOST:CHURNWATCH_INGEST_PORT "
            "(default 127.0.0.1:8001) until SIGINT/SIGTERM."
        ),
        epilog=(
            "Configuration is read from the environment: CHURNWATCH_INGEST_* for ingest and "
            "CHURNWATCH_* for the shared settings (Kafka bootstrap, topic namespace, logging); "
            "the README's Configuration section lists them."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    hash_key = commands.add_parser(
        "hash-key",
        help="print the key_hash to configure in CHURNWATCH_INGEST_PRODUCERS for an API key",
        description="Print the key_hash of an API key; the key itself is not kept anywhere.",
    )
    hash_key.add_argument("key", help="the producer's API key")
    hash_key.add_argument(
        "--argon2", action="store_true", help="an argon2id hash instead of sha256"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve the API on CHURNWATCH_INGEST_HOST:PORT until SIGINT/SIGTERM (or run a command)."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "hash-key":
        hashed = argon2_key_hash(args.key) if args.argon2 else sha256_key_hash(args.key)
        sys.stdout.write(hashed + "\n")
        return 0
    settings = IngestSettings()
    configure_logging(
        service="ingest", level=settings.common.log_level, json=settings.common.log_json
    )
    configure_tracing(service="ingest")  # CHURNWATCH_TRACING, OTEL_*: off by default
    app = create_app(settings)
    tune_gc()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="uvloop",  # both come with uvicorn[standard]; named so a missing one fails loudly
        http="httptools",
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
