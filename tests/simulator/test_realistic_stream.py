"""The realistic profile generated in bounded memory: the same bytes as the whole-population sort
(digests pinned from that implementation), whatever the batch size, and a peak that stays flat."""

from __future__ import annotations

import hashlib
import tracemalloc

import orjson
import pytest

from churnwatch_simulator import realistic_spill
from churnwatch_simulator.realistic import RealisticBank, RealisticConfig, realistic_truth

# sha256 of the NDJSON and of the truth JSON written by the generator before it streamed
# (one in-memory sort of every customer's drafts, commit e87035a), for these populations
PINNED = {
    (57, 90, 5): (
        2219,
        "e512ebb21350ac18c7df1901aef8c13ef3987bfd0a73791962d0ef8924dfd5e7",
        "2e31b7065dabf55dff244c80418104b0dee787c122dd01d3f473f240aad9ab5d",
    ),
    (300, 120, 7): (
        15076,
        "c5003bdd0f4ff6a581a51fbac265b7a0800ca98165101fe2e98cc7d33a0b92d2",
        "428aa2b3b30429b3c1008fa7085ab2c83497d41ff49b1518e0c2f756bc2aad1a",
    ),
}


def _digests(customers: int, days: int, seed: int, batch: int) -> tuple[int, str, str]:
    bank = RealisticBank(config=RealisticConfig(customers=customers, days=days, seed=seed))
    h = hashlib.sha256()
    for e in bank.events(batch_customers=batch):
        h.update(orjson.dumps(e) + b"\n")
    truth = hashlib.sha256(orjson.dumps(realistic_truth(bank=bank))).hexdigest()
    return bank.events_emitted, h.hexdigest(), truth


@pytest.mark.parametrize("population", sorted(PINNED))
@pytest.mark.parametrize("batch", [1, 7, 64, 1_000])
def test_streamed_events_are_byte_identical_to_the_in_memory_sort(
    population: tuple[int, int, int], batch: int
) -> None:
    assert _digests(*population, batch) == PINNED[population]


def test_batch_size_must_be_positive() -> None:
    bank = RealisticBank(config=RealisticConfig(customers=5, days=60, seed=1))
    with pytest.raises(ValueError, match="batch_customers must be at least 1"):
        next(bank.events(batch_customers=0))


def _peak_bytes(customers: int, batch: int) -> int:
    bank = RealisticBank(config=RealisticConfig(customers=customers, days=90, seed=3))
    tracemalloc.start()
    try:
        n = sum(1 for _ in bank.events(batch_customers=batch))
        assert n == bank.events_emitted > customers * 10
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_population(monkeypatch: pytest.MonkeyPatch) -> None:
    # runs are read back in chunks; small chunks make the bound visible on a small population
    monkeypatch.setattr(realistic_spill, "CHUNK_DRAFTS", 200)
    whole = _peak_bytes(1_200, 1_200)  # one batch: every draft in memory at once
    streamed = _peak_bytes(1_200, 100)
    doubled = _peak_bytes(2_400, 100)
    assert streamed < whole / 3, (streamed, whole)
    # twice the customers: only the per-customer records (truth) grow, not the drafts held
    assert doubled - streamed < whole / 5, (doubled, streamed, whole)
