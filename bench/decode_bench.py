"""Contract decode micro-benchmark: ``parse_event`` now vs at a baseline commit, in one process.

    python bench/decode_bench.py [--baseline REF] [--events N] [--rounds R]

The events are the monitor bench's (``simulated_events``: the seeded simulator's first 200,000
events, 10,000 customers), every k-th of them so N cover the whole stream. The baseline's
contract modules (``churnwatch_shared``: events, payloads, vocabularies, codes, money, text) are
read with ``git show REF:...`` into a temporary package and imported beside the working tree's,
so both decode the same bytes in the same process. They take turns every 1,000 events (AB, BA,
...) and CPU time is summed per side (``time.process_time``), as the shared machine's load moves wall-clock figures. Before timing,
both must give equal models (``model_dump``) on the first 5,000 events. Not part of the tests.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from bench.monitor_worker import simulated_events
from churnwatch_shared.events import parse_event

_MODULES = ("__init__", "codes", "event_vocab", "events", "payloads", "money", "text")
_PACKAGE = "churnwatch_shared_baseline"
_CHUNK = 1_000


def baseline_parser(*, ref: str, into: Path) -> Callable[[bytes], object]:
    """``parse_event`` of commit ``ref``'s contract modules, imported under another name."""
    package = into / _PACKAGE
    package.mkdir()
    for name in _MODULES:
        source = subprocess.run(
            ["git", "show", f"{ref}:shared/src/churnwatch_shared/{name}.py"],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (package / f"{name}.py").write_text(source.replace("churnwatch_shared", _PACKAGE))
    sys.path.insert(0, str(into))
    parser: Callable[[bytes], object] = importlib.import_module(f"{_PACKAGE}.events").parse_event
    return parser


def main() -> None:
    """Print us/event (CPU) per round and the ratio current / baseline of the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD~1")
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    records = [value for _, value in simulated_events(count=200_000, customers=10_000)]
    sample = records[:: max(1, len(records) // args.events)][: args.events]
    with tempfile.TemporaryDirectory() as tmp:
        old = baseline_parser(ref=args.baseline, into=Path(tmp))
        for raw in sample[:5_000]:
            assert old(raw).model_dump() == parse_event(raw).model_dump(), raw  # type: ignore[attr-defined]
        sides: dict[str, Callable[[bytes], object]] = {"current": parse_event, "baseline": old}
        times: dict[str, list[float]] = {name: [] for name in sides}
        for round_ in range(args.rounds):
            spent = dict.fromkeys(sides, 0.0)
            # both sides take turns every chunk of events, so load drift lands on both alike
            for chunk, first in enumerate(range(0, len(sample), _CHUNK)):
                part = sample[first : first + _CHUNK]
                order = list(sides) if (round_ + chunk) % 2 == 0 else list(sides)[::-1]
                for name in order:
                    decode = sides[name]
                    start = time.process_time()
                    for raw in part:
                        decode(raw)
                    spent[name] += time.process_time() - start
            for name in sides:
                times[name].append(spent[name] / len(sample) * 1e6)
    for name, values in times.items():
        rounds = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:9s} median {statistics.median(values):.2f} us/event (rounds {rounds})")
    ratio = statistics.median(times["current"]) / statistics.median(times["baseline"])
    print(f"current / baseline (medians): {ratio:.3f}")


if __name__ == "__main__":
    main()
