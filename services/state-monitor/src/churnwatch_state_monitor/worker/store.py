"""Where customer-state records live on a worker: one store per owned EVENTS partition.

A store maps ``customer_id`` to the encoded ``CustomerState`` record and remembers how far the
partition's changelog has been applied to it (``changelog_next``: the next changelog offset to
read). The changelog topic is the durable copy; a store is a cache of it that a worker rebuilds
when it is assigned the partition (see ``changelog.restore``).

- ``MemoryStore`` (default, ``memory://``): a dict in RAM, dropped when the partition is revoked;
  every assignment restores the partition from the changelog's beginning.
- ``RocksStore`` (``rocksdb://``, rocksdict): one RocksDB database per partition
  under the data dir. Records and ``changelog_next`` are written in one atomic write batch, so
  after a crash or a reassignment only the changelog past that offset is replayed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol, cast

from rocksdict import Options, Rdict, WriteBatch

_OFFSET_KEY = b"\x00changelog-next"  # no customer id starts with NUL (ids are printable)


class PartitionStore(Protocol):
    partition: int
    changelog_next: int

    def get(self, customer_id: str) -> bytes | None: ...

    def write(self, records: Mapping[str, bytes | None], *, changelog_next: int) -> None:
        """Store ``records`` (``None``: a tombstone, the key is deleted) and the offset."""
        ...

    def items(self) -> Iterator[tuple[str, bytes]]: ...

    def __len__(self) -> int: ...

    def wipe(self) -> None: ...

    def close(self) -> None: ...


class MemoryStore:
    """Records in a dict; nothing survives the process."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.changelog_next = 0
        self._records: dict[str, bytes] = {}

    def get(self, customer_id: str) -> bytes | None:
        return self._records.get(customer_id)

    def write(self, records: Mapping[str, bytes | None], *, changelog_next: int) -> None:
        # records come exact-size from ``CustomerState.encode`` (orjson's own result would keep
        # ~8 KiB resident per record) or from the changelog; None is an erasure's tombstone
        for key, value in records.items():
            if value is None:
                self._records.pop(key, None)
            else:
                self._records[key] = value
        self.changelog_next = max(self.changelog_next, changelog_next)

    def items(self) -> Iterator[tuple[str, bytes]]:
        return iter(list(self._records.items()))

    def __len__(self) -> int:
        return len(self._records)

    def wipe(self) -> None:
        self._records.clear()
        self.changelog_next = 0

    def close(self) -> None:
        self._records.clear()


class RocksStore:
    """Records in a RocksDB database of their own (``<data_dir>/<app_id>/p<partition>``).

    Raw mode: keys are the customer id's UTF-8 bytes, values the encoded records; the changelog
    offset sits under a key no customer id can have (it starts with NUL).
    """

    def __init__(self, partition: int, *, path: Path) -> None:
        self.partition = partition
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._open()
        stored = self._db.get(_OFFSET_KEY)
        self.changelog_next = int.from_bytes(stored, "big") if stored is not None else 0

    def _open(self) -> Rdict:
        return Rdict(str(self._path), options=Options(raw_mode=True))

    def get(self, customer_id: str) -> bytes | None:
        return self._db.get(customer_id.encode())

    def write(self, records: Mapping[str, bytes | None], *, changelog_next: int) -> None:
        self.changelog_next = max(self.changelog_next, changelog_next)
        batch = WriteBatch(raw_mode=True)
        for key, value in records.items():
            if value is None:  # an erasure's tombstone
                batch.delete(key.encode())
            else:
                batch.put(key.encode(), value)
        batch.put(_OFFSET_KEY, self.changelog_next.to_bytes(8, "big"))
        self._db.write(batch)  # records and offset together, or neither

    def items(self) -> Iterator[tuple[str, bytes]]:
        for key, value in self._db.items():
            if key != _OFFSET_KEY:
                yield cast(bytes, key).decode(), value  # raw mode: every key is bytes

    def __len__(self) -> int:
        # keys(), not iter(): rocksdict's __iter__ probes with int indexes, refused in raw mode
        return sum(1 for key in self._db.keys() if key != _OFFSET_KEY)  # noqa: SIM118

    def wipe(self) -> None:
        """Forget everything (the changelog was recreated or truncated under us)."""
        self._db.close()
        Rdict.destroy(str(self._path))
        self._db = self._open()
        self.changelog_next = 0

    def close(self) -> None:
        self._db.close()


def open_store(url: str, *, partition: int, data_dir: Path, app_id: str) -> PartitionStore:
    """The store for ``partition`` named by the ``CHURNWATCH_MONITOR_STORE`` URL."""
    if url.startswith("memory://"):
        return MemoryStore(partition)
    if url.startswith("rocksdb://"):
        return RocksStore(partition, path=data_dir / app_id / f"p{partition}")
    raise ValueError(f"unsupported store {url!r}: use memory:// or rocksdb://")
