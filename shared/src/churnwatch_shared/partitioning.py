"""Key -> partition exactly as Kafka's default partitioner (murmur2, like the Java client).

One function for everyone who must agree on where a customer's records live: ingest keys events
by customer, the state monitor batches its state and alert records per partition, and the backtest
and the state view find a customer's partition without a broker. The tables are co-partitioned
with the events topic only while all of them choose the same partition for the same key.

aiokafka's ``DefaultPartitioner`` computes murmur2 byte by byte in Python; hashing the key's
4-byte words at once gives the same numbers in about half the time.
``tests/shared/test_partitioning.py`` holds it equal to aiokafka's.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import lru_cache

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF
_WORDS: dict[int, Callable[[bytes], tuple[int, ...]]] = {}


def _words(count: int) -> Callable[[bytes], tuple[int, ...]]:
    unpack = _WORDS.get(count)
    if unpack is None:
        unpack = _WORDS[count] = struct.Struct(f"<{count}I").unpack_from
    return unpack


def murmur2(data: bytes) -> int:
    """MurmurHash2 of ``data`` (32-bit, seed 0x9747b28c), as Kafka's Utils.murmur2, unsigned."""
    length = len(data)
    h = _SEED ^ length
    count = length >> 2
    if count:
        for k in _words(count)(data):
            k = (k * _M) & _MASK
            k = ((k ^ (k >> 24)) * _M) & _MASK
            h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        base = length - tail
        if tail == 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h = ((h ^ data[base]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


# Customer keys repeat (a worker sees the same few thousand customers again and again).
@lru_cache(maxsize=65_536)
def key_hash(key: bytes) -> int:
    """The non-negative hash Kafka's default partitioner takes modulo the partition count."""
    return murmur2(key) & 0x7FFFFFFF


def partition_of_key(*, key: bytes, partitions: int) -> int:
    """The partition (0..partitions-1) Kafka's default partitioner gives a record with ``key``."""
    return key_hash(key) % partitions


def partition_of(*, customer_id: str, partitions: int) -> int:
    """The partition of a customer-keyed record (key: the customer id, UTF-8)."""
    return key_hash(customer_id.encode()) % partitions
