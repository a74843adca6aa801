"""Bounded-memory time ordering of the realistic profile's drafts (an external merge sort).

Customers are simulated a batch at a time; each batch's drafts are sorted by the run's order key
(occurred second, customer index, sequence) and spilled to a temporary file in chunks, and the
sorted runs are merged with ``heapq.merge``. The key is unique per draft, so the merged order is
exactly the order of one in-memory sort of the whole population; memory holds one batch while it
is spilled and one chunk per run while merging, whatever the population size.
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import IO

from churnwatch_simulator.realistic_ledger import Draft

ORDER = itemgetter(0, 1, 2)  # (second, customer index, sequence): unique per draft
CHUNK_DRAFTS = 2_000  # drafts per pickled chunk: what one run holds in memory while merging


def _spill(drafts: list[Draft], fh: IO[bytes]) -> None:
    for i in range(0, len(drafts), CHUNK_DRAFTS):
        pickle.dump(drafts[i : i + CHUNK_DRAFTS], fh, protocol=pickle.HIGHEST_PROTOCOL)


def _read(path: Path) -> Iterator[Draft]:
    with path.open("rb") as fh:
        while True:
            try:
                chunk: list[Draft] = pickle.load(fh)
            except EOFError:
                return
            yield from chunk


def time_ordered(batches: Iterable[list[Draft]]) -> Iterator[Draft]:
    """Every draft of ``batches`` in the run's order; a single batch is sorted in memory, more
    are spilled to sorted runs on disk and merged."""
    it = iter(batches)
    first = next(it, None)
    if first is None:
        return
    second = next(it, None)
    if second is None:
        first.sort(key=ORDER)
        yield from first
        return
    with tempfile.TemporaryDirectory(prefix="cw-sim-runs-") as tmp:
        runs: list[Path] = []
        for batch in chain((first, second), it):  # lazily: one batch is simulated at a time
            batch.sort(key=ORDER)
            path = Path(tmp) / f"run-{len(runs):05d}.pickle"
            with path.open("wb") as fh:
                _spill(batch, fh)
            batch.clear()  # the caller's list: its drafts are on disk now
            runs.append(path)
        yield from heapq.merge(*(_read(p) for p in runs), key=ORDER)
