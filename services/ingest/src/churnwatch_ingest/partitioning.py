"""Key -> partition exactly as Kafka's default partitioner (murmur2, like the Java client).

aiokafka's ``DefaultPartitioner`` computes murmur2 byte by byte in Python; hashing the key's
4-byte words at once gives the same numbers in about half the time, and a batch hashes every one
of its keys. A key's partition must never differ from aiokafka's (single events go through
``send()``, batches through this): ``tests/ingest/test_partitioning.py`` holds the two equal.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Sequence

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


class KeyPartitioner:
    """Drop-in for aiokafka's ``DefaultPartitioner`` (same arguments, same choice)."""

    def __call__(
        self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
    ) -> int:
        if key is None:
            return random.choice(available or all_partitions)
        return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]
