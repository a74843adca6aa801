"""Contract decode micro-benchmark: ``parse_event`` now vs at a baseline commit, in one process.

    python bench/decode_bench.py [--baseline REF] [--events N] [--rounds R]
    python bench/decode_bench.py --fast [--events N] [--rounds R]

``--fast``: the monitor's hot-path decode (``wire_decode.decode_event``) against ``parse_event``
and a bare ``orjson.loads``, per fast-path event type, on the stream's mix after onboarding
(``simulated_events(count=300,000)[100,000:]``) and on the onboarding itself (the first 100,000:
mostly product.subscribed, customer.profile and customer.assigned), the same way (turns every
1,000 events, CPU time per side); both decodes must give equal fields on every event of each
sample first.

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

import orjson

from bench.monitor_worker import simulated_events
from churnwatch_shared.events import parse_event
from churnwatch_shared.wire_decode import decode_event, decode_fast

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


def _timed(
    sides: dict[str, Callable[[bytes], object]], sample: list[bytes], *, rounds: int
) -> dict[str, list[float]]:
    """CPU us/event of each side per round, the sides taking turns every ``_CHUNK`` events."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for round_ in range(rounds):
        spent = dict.fromkeys(sides, 0.0)
        # the sides take turns every chunk of events, so load drift lands on all alike
        for chunk, first in enumerate(range(0, len(sample), _CHUNK)):
            part = sample[first : first + _CHUNK]
            names = list(sides)
            shift = (round_ + chunk) % len(names)
            for name in names[shift:] + names[:shift]:
                decode = sides[name]
                start = time.process_time()
                for raw in part:
                    decode(raw)
                spent[name] += time.process_time() - start
        for name in sides:
            times[name].append(spent[name] / len(sample) * 1e6)
    return times


def _fields(obj: object) -> object:
    """A decoded event as plain values: pydantic's ``model_dump`` shape for either decode."""
    dump = getattr(obj, "model_dump", None)
    if dump is not None:
        return dump()
    if isinstance(obj, list):
        return [_fields(x) for x in obj]
    names = getattr(obj, "__struct_fields__", None)
    if names is None:
        return obj
    out = {name: _fields(getattr(obj, name)) for name in names}
    tag = getattr(obj, "event_type", None)
    return out if tag is None else {"event_type": tag, **out}


def fast_main(*, events: int, rounds: int) -> None:
    """Print ``decode_event`` vs ``parse_event`` vs ``orjson.loads`` (CPU us/event) per kind."""
    everything = [value for _, value in simulated_events(count=300_000, customers=10_000)]
    onboarding, stream = everything[:100_000], everything[100_000:]
    kinds: dict[str, list[bytes]] = {
        "transaction.posted": [],
        "balance.snapshot": [],
        "product.subscribed": [],
    }
    for raw in everything:
        kind = kinds.get(orjson.loads(raw)["event_type"])
        if kind is not None:
            kind.append(raw)
    samples = {
        **{name: raws[:events] for name, raws in kinds.items()},
        "mix": stream[:: max(1, len(stream) // events)][:events],
        "onboarding": onboarding[:: max(1, len(onboarding) // events)][:events],
    }
    for name, sample in samples.items():
        fast = sum(decode_fast(raw) is not None for raw in sample)
        for raw in sample:
            assert _fields(decode_event(raw)) == _fields(parse_event(raw)), raw
        sides: dict[str, Callable[[bytes], object]] = {
            "decode_event": decode_event,
            "parse_event": parse_event,
            "orjson.loads": orjson.loads,
        }
        times = _timed(sides, sample, rounds=rounds)
        medians = {side: statistics.median(values) for side, values in times.items()}
        print(f"{name}: {len(sample)} events, {fast / len(sample):.1%} on the fast path")
        for side, values in times.items():
            rounds_text = " ".join(f"{v:.2f}" for v in values)
            print(f"  {side:12s} median {medians[side]:.2f} us/event (rounds {rounds_text})")
        ratios = [a / b for a, b in zip(times["decode_event"], times["parse_event"], strict=True)]
        print(
            f"  decode_event / parse_event: {medians['decode_event'] / medians['parse_event']:.3f}"
            f" (rounds {' '.join(f'{r:.3f}' for r in ratios)}); saved "
            f"{medians['parse_event'] - medians['decode_event']:.2f} us/event"
        )


def main() -> None:
    """Print us/event (CPU) per round and the ratio current / baseline of the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD~1")
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--fast", action="store_true", help="decode_event vs parse_event")
    args = parser.parse_args()
    if args.fast:
        fast_main(events=args.events, rounds=args.rounds)
        return
    records = [value for _, value in simulated_events(count=200_000, customers=10_000)]
    sample = records[:: max(1, len(records) // args.events)][: args.events]
    with tempfile.TemporaryDirectory() as tmp:
        old = baseline_parser(ref=args.baseline, into=Path(tmp))
        for raw in sample[:5_000]:
            assert old(raw).model_dump() == parse_event(raw).model_dump(), raw  # type: ignore[attr-defined]
        sides: dict[str, Callable[[bytes], object]] = {"current": parse_event, "baseline": old}
        times = _timed(sides, sample, rounds=args.rounds)
    for name, values in times.items():
        rounds = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:9s} median {statistics.median(values):.2f} us/event (rounds {rounds})")
    ratio = statistics.median(times["current"]) / statistics.median(times["baseline"])
    print(f"current / baseline (medians): {ratio:.3f}")


if __name__ == "__main__":
    main()
