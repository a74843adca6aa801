"""The one co-partitioning function chooses the partition aiokafka's default partitioner does."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from churnwatch_shared.partitioning import murmur2, partition_of, partition_of_key


def test_murmur2_matches_aiokafka_for_every_length() -> None:
    rng = random.Random(20261205)
    keys = [bytes(rng.randrange(256) for _ in range(n)) for n in range(40) for _ in range(20)]
    for key in keys:
        assert murmur2(key) == aiokafka_murmur2(key), key


def test_customer_partition_equals_the_default_partitioners_choice() -> None:
    default = DefaultPartitioner()
    for count in (1, 3, 12, 24):
        every = list(range(count))
        for n in range(300):
            customer = f"C{n:07d}" if n % 2 else f"客户-{n}"
            expected = default(customer.encode(), every, every)
            assert partition_of(customer_id=customer, partitions=count) == expected
            assert partition_of_key(key=customer.encode(), partitions=count) == expected
