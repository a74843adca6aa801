"""Our murmur2 partitioner chooses exactly the partition aiokafka's default partitioner does."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from churnwatch_ingest.partitioning import KeyPartitioner, murmur2


def test_murmur2_matches_aiokafka_for_every_length_and_byte() -> None:
    rng = random.Random(20261122)
    keys = [
        bytes(rng.randrange(256) for _ in range(length)) for length in range(70) for _ in range(40)
    ]
    keys += [b"", b"\x00", b"\xff" * 4, b"\xff" * 7, b"C0000042", "客户-7".encode()]
    for key in keys:
        assert murmur2(key) == aiokafka_murmur2(key), key


def test_known_kafka_hashes() -> None:
    # Values of org.apache.kafka.common.utils.Utils.murmur2 (signed ints, as Java prints them).
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == -985981536 & 0xFFFFFFFF
    assert murmur2(b"") == 275646681


def test_key_partitioner_agrees_with_the_default_partitioner() -> None:
    ours, theirs = KeyPartitioner(), DefaultPartitioner()
    for partitions in ([0], [0, 1, 2], list(range(12)), [3, 5, 9]):
        for n in range(500):
            key = f"cust-{n}".encode()
            assert ours(key, partitions, partitions[:1]) == theirs(key, partitions, partitions[:1])


def test_a_record_without_key_goes_to_an_available_partition() -> None:
    partition_of = KeyPartitioner()
    assert {partition_of(None, [0, 1, 2, 3], [2]) for _ in range(20)} == {2}
    assert {partition_of(None, [7], []) for _ in range(5)} == {7}
