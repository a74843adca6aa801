"""Which worker owns each EVENTS partition, and at which URL: told by the consumer group itself.

Any worker answers the state query for any customer by forwarding it to the owner of the
customer's partition (web.py), so every worker needs the current partition → URL table. It
travels in the group protocol, with no extra topic or request:

- each worker's subscription carries its advertised URL (member metadata ``user_data``);
- the group leader assigns partitions exactly as aiokafka's round-robin assignor does, then puts
  the whole table (every partition's owner URL) into every member's assignment ``user_data``;
- each member keeps the table it received, and forgets it when a rebalance starts (the
  partitions are being revoked), so "no owner known" means "the group is rebalancing".

Why this over the alternatives: a compacted "workers" topic keyed by instance id must be written
on every assignment and goes stale when a worker dies (its last record still claims partitions,
and ordering records of two generations needs the generation number); asking every worker needs
a list of all their addresses and N requests per query. The group's assignment is the one
authority on ownership, and this table arrives with it, of the same generation, on every member.

The assignor takes the protocol name ``roundrobin``: it assigns exactly as aiokafka's round-robin
assignor does and only adds ``user_data``, which a plain round-robin member ignores. So during a
rolling upgrade from workers without the table the group keeps working with one protocol (a
foreign customer's query answers 503 while an old worker leads). It offers no second protocol:
aiokafka 0.14 sends one JoinGroup per configured assignor, the first with only the first
protocol (aio-libs/aiokafka#1168), so with two every member joined twice per rebalance with
different protocol lists and each second JoinGroup started another rebalance of the whole group
(4 workers on a loaded machine did not settle on 16 partitions within 180 s).
A worker whose advertised URL is missing or unreadable is listed without one (503 for its
partitions) rather than failing the assignment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson
import structlog
from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)

log = structlog.get_logger("churnwatch.state_monitor.owners")

PROTOCOL = RoundRobinPartitionAssignor.name  # "roundrobin": see the module docstring
_TABLE_VERSION = 1


def _member_url(user_data: bytes | None) -> str | None:
    """The URL a member advertised in its subscription, None when absent or unreadable."""
    try:
        body = orjson.loads(user_data or b"")
    except orjson.JSONDecodeError:
        return None
    url = body.get("url") if isinstance(body, dict) else None
    return url if isinstance(url, str) and url else None


class PartitionOwners(AbstractPartitionAssignor):
    """Round-robin assignment plus the partition → owner URL table, and this member's copy."""

    name = PROTOCOL
    version = 0

    def __init__(self, *, url: str, topic: str) -> None:
        self.url = url
        self.topic = topic
        self._owners: dict[int, str] = {}

    # The base class declares these as classmethods; aiokafka calls them on whatever object is
    # listed in ``partition_assignment_strategy``, so an instance carrying the URL works.
    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        """Our subscription with our advertised URL."""
        return ConsumerProtocolMemberMetadata(
            self.version, sorted(topics), orjson.dumps({"url": self.url})
        )

    def assign(
        self,
        cluster: ClusterMetadata,
        members: Mapping[str, ConsumerProtocolMemberMetadata],
    ) -> dict[str, ConsumerProtocolMemberAssignment]:
        """Leader only: round-robin partitions, then give every member the whole owner table."""
        plain = RoundRobinPartitionAssignor.assign(cluster, members)
        table: list[tuple[str, int, str | None]] = []
        for member_id, assignment in plain.items():
            url = _member_url(members[member_id].user_data)
            if url is None:
                log.warning("group member advertised no URL", member_id=member_id)
            for topic, partitions in assignment.assignment:
                table.extend((topic, partition, url) for partition in partitions)
        data = orjson.dumps(
            {"v": _TABLE_VERSION, "owners": sorted(table, key=lambda e: (e[0], e[1]))}
        )
        return {
            member_id: ConsumerProtocolMemberAssignment(a.version, a.assignment, data)
            for member_id, a in plain.items()
        }

    def on_assignment(self, assignment: ConsumerProtocolMemberAssignment) -> None:
        """Keep the owner table that came with our assignment (empty if none came)."""
        self._owners = decode_table(assignment.user_data, topic=self.topic)

    def forget(self) -> None:
        """A rebalance started: no owner is known until the next assignment arrives."""
        self._owners = {}

    def owner(self, partition: int) -> str | None:
        """URL of the worker that owns ``partition`` in the current generation, if known."""
        return self._owners.get(partition)

    @property
    def table(self) -> dict[int, str]:
        """The current partition → owner URL table (a copy)."""
        return dict(self._owners)


def assignment_strategy(owners: PartitionOwners) -> tuple[object, ...]:
    """The worker consumer's ``partition_assignment_strategy``."""
    return (owners,)  # one assignor: one JoinGroup per rebalance (module docstring)


def decode_table(data: bytes | None, *, topic: str) -> dict[int, str]:
    """``topic``'s partition → URL entries of an assignment's table; {} for anything else."""
    try:
        body = orjson.loads(data or b"")
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(body, dict) or body.get("v") != _TABLE_VERSION:
        return {}
    owners: dict[int, str] = {}
    for entry in body.get("owners") or []:
        if (
            isinstance(entry, list)
            and len(entry) == 3
            and entry[0] == topic
            and isinstance(entry[1], int)
            and isinstance(entry[2], str)
        ):
            owners[entry[1]] = entry[2]
    return owners
