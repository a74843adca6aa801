"""Run the ingest service: ``python -m churnwatch_ingest`` (or ``... hash-key KEY`` for config)."""

from __future__ import annotations

import sys

import uvicorn
from churnwatch_shared.logging import configure_logging

from churnwatch_ingest.app import create_app
from churnwatch_ingest.auth import argon2_key_hash, sha256_key_hash
from churnwatch_ingest.settings import IngestSettings


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
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
