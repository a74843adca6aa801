"""aiokafka's ``DefaultPartitioner`` over the shared murmur2 (``churnwatch_shared.partitioning``).

A key's partition must never differ from aiokafka's (single events go through ``send()``, batches
through this): ``tests/ingest/test_partitioning.py`` holds the two equal.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from churnwatch_shared.partitioning import key_hash, murmur2

__all__ = ["KeyPartitioner", "murmur2"]


class KeyPartitioner:
    """Drop-in for aiokafka's ``DefaultPartitioner`` (same arguments, same choice)."""

    def __call__(
        self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
    ) -> int:
        if key is None:
            return random.choice(available or all_partitions)
        return all_partitions[key_hash(key) % len(all_partitions)]
