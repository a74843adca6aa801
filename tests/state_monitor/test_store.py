"""Partition stores: records and the changelog offset they reflect, in RAM or in RocksDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.worker.store import MemoryStore, RocksStore, open_store


def _stores(tmp_path: Path) -> list:
    return [MemoryStore(3), RocksStore(3, path=tmp_path / "p3")]


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_write_get_items_and_offset(kind: str, tmp_path: Path) -> None:
    store = open_store(f"{kind}://", partition=3, data_dir=tmp_path, app_id="app")
    assert (store.get("c1"), len(store), store.changelog_next) == (None, 0, 0)
    store.write({"c1": b"one", "c2": b"two"}, changelog_next=10)
    store.write({"c1": b"uno"}, changelog_next=7)  # an older offset never moves it back
    assert store.get("c1") == b"uno"
    assert dict(store.items()) == {"c1": b"uno", "c2": b"two"}
    assert (len(store), store.changelog_next) == (2, 10)
    store.wipe()
    assert (dict(store.items()), store.changelog_next) == ({}, 0)
    store.close()


def test_rocksdb_keeps_records_and_offset_across_reopen(tmp_path: Path) -> None:
    store = RocksStore(5, path=tmp_path / "p5")
    store.write({"cust-ü": b"\x00\x01state"}, changelog_next=42)
    store.close()
    again = RocksStore(5, path=tmp_path / "p5")
    assert again.get("cust-ü") == b"\x00\x01state"
    assert again.changelog_next == 42
    assert len(again) == 1  # the offset key is not a customer
    again.close()


def test_open_store_refuses_unknown_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported store"):
        open_store("aerospike://", partition=0, data_dir=tmp_path, app_id="app")


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_encoded_state_records_stay_at_their_own_size_in_the_store() -> None:
    """orjson output sits in an ~8 KiB allocation; ``CustomerState.encode`` copies it to its own
    size, so a million customers in a memory store do not cost 8 GiB."""
    store = MemoryStore(0)
    state = CustomerState(
        seen="AbCdEfGh" * 12,
        segment="retail",
        branch="BR001",
        flow=[[n, 2, 3, 4, 5, 6, 7, 8] for n in range(6)],
    )
    before = _rss()
    for chunk in range(10):
        records = {}
        for n in range(2_000):
            state.events = chunk * 2_000 + n
            records[f"c{chunk}-{n}"] = state.encode()
        store.write(records, changelog_next=chunk)
    per_record = (_rss() - before) / len(store)
    assert per_record < 2_000, f"{per_record:.0f} resident bytes per ~{len(state.encode())} B"
