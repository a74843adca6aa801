"""`make bench`: measure, print a table, write JSON under bench/results/ (machine, git revision).

    python bench/run.py --mode short   (under 5 minutes)
    python bench/run.py --mode full

Each benchmark runs in a fresh topic namespace on the local broker and reports its figure beside
the reference measured in the same run. Benchmarks are never part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy" / "kafka")]

from bench.kafka_reference import raw_consume_decode, raw_produce, sample_events  # noqa: E402
from churnwatch_shared import topics  # noqa: E402
from churnwatch_shared.settings import CommonSettings  # noqa: E402
from create_topics import create_topics  # noqa: E402

SIZES = {"short": 50_000, "full": 200_000}


def machine() -> dict[str, object]:
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = bool(
        subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True,
                       text=True, check=False).stdout.strip()
    )
    return {
        "git_revision": revision,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "kafka": (REPO / ".local/kafka/lib/.version").read_text().strip()
        if (REPO / ".local/kafka/lib/.version").exists() else None,
    }


async def reference(bootstrap: str, count: int) -> dict[str, float]:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap=bootstrap, namespace=namespace)
    topic = topics.EVENTS.name(namespace)
    records = sample_events(count)
    produced = await raw_produce(bootstrap=bootstrap, topic=topic, records=records)
    consumed = await raw_consume_decode(bootstrap=bootstrap, topic=topic, expected=count)
    return {"raw_produce_events_per_s": produced, "raw_consume_decode_events_per_s": consumed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(SIZES), default="short")
    args = parser.parse_args()
    bootstrap = CommonSettings().kafka_bootstrap
    count = SIZES[args.mode]
    started = time.monotonic()
    results: dict[str, object] = {"reference": asyncio.run(reference(bootstrap, count))}
    report = {
        "mode": args.mode,
        "events": count,
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "results": results,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{args.mode}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'benchmark':45s} {'value':>14s}")
    for group, figures in results.items():
        for name, value in figures.items():  # type: ignore[union-attr]
            print(f"{group + '.' + name:45s} {value:14,.0f}")
    print(f"written: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
