"""The duplicate cache: least recently used pairs are forgotten first, capacity 0 remembers none."""

from __future__ import annotations

from churnwatch_ingest.recent_ids import RecentEventIds


def test_forgets_the_least_recently_used_pair_first() -> None:
    recent = RecentEventIds(capacity=3)
    recent.remember_keys([("p", "e1"), ("p", "e2"), ("p", "e3")])
    assert recent.seen(producer="p", event_id="e1")  # e1 is now the most recently used
    recent.remember(producer="p", event_id="e4")
    assert len(recent) == 3
    assert not recent.seen_key(("p", "e2"))
    assert all(recent.seen_key(("p", e)) for e in ("e1", "e3", "e4"))


def test_remembering_a_known_pair_refreshes_it_instead_of_adding_it() -> None:
    recent = RecentEventIds(capacity=2)
    recent.remember_keys([("p", "a"), ("p", "b"), ("p", "a")])
    assert len(recent) == 2
    recent.remember_keys([("p", "c")])
    assert recent.seen_key(("p", "a")) and recent.seen_key(("p", "c"))
    assert not recent.seen_key(("p", "b"))


def test_pairs_are_per_producer_and_capacity_zero_disables() -> None:
    recent = RecentEventIds(capacity=10)
    recent.remember(producer="p", event_id="e")
    assert not recent.seen(producer="q", event_id="e")
    off = RecentEventIds(capacity=0)
    off.remember_keys([("p", "e")])
    assert len(off) == 0 and not off.seen_key(("p", "e"))


def test_a_burst_larger_than_the_capacity_keeps_the_newest() -> None:
    recent = RecentEventIds(capacity=100)
    recent.remember_keys(("p", str(n)) for n in range(1000))
    assert len(recent) == 100
    assert recent.seen_key(("p", "999")) and recent.seen_key(("p", "900"))
    assert not recent.seen_key(("p", "899"))
