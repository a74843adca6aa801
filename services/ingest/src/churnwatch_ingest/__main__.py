"""Run the ingest service: ``python -m churnwatch_ingest`` (or ``... hash-key KEY`` for config)."""

from __future__ import annotations

import gc
import sys

import uvicorn

from churnwatch_ingest.app import create_app
from churnwatch_ingest.auth import argon2_key_hash, sha256_key_hash
from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared.logging import configure_logging

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


def main(argv: list[str] | None = None) -> int:
    """Serve the API on CHURNWATCH_INGEST_HOST:PORT until SIGINT/SIGTERM."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["hash-key"] and len(args) in (2, 3):
        # Prints the value to configure in CHURNWATCH_INGEST_PRODUCERS; the key itself is not kept.
        hashed = argon2_key_hash(args[1]) if args[2:] == ["--argon2"] else sha256_key_hash(args[1])
        sys.stdout.write(hashed + "\n")
        return 0
    settings = IngestSettings()
    configure_logging(
        service="ingest", level=settings.common.log_level, json=settings.common.log_json
    )
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
