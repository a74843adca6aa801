"""The partition → owner URL table carried by the consumer group's assignment (worker/owners.py)."""

from __future__ import annotations

import orjson
import pytest
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata

from churnwatch_state_monitor.worker.owners import PROTOCOL, PartitionOwners, decode_table
from churnwatch_state_monitor.worker.settings import MonitorSettings

TOPIC = "ns.events.v1"


class _Cluster:
    """The one call the round-robin assignor makes on the cluster metadata."""

    def __init__(self, partitions: dict[str, int]) -> None:
        self._partitions = partitions

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        count = self._partitions.get(topic)
        return set(range(count)) if count is not None else None


def _members(urls: dict[str, str | None]) -> dict[str, ConsumerProtocolMemberMetadata]:
    out = {}
    for member_id, url in urls.items():
        if url is None:
            out[member_id] = RoundRobinPartitionAssignor.metadata([TOPIC])
        else:
            out[member_id] = PartitionOwners(url=url, topic=TOPIC).metadata([TOPIC])
    return out


def test_assignment_is_round_robin_and_every_member_gets_the_whole_table() -> None:
    leader = PartitionOwners(url="http://w0:8002", topic=TOPIC)
    members = _members({"m-a": "http://w0:8002", "m-b": "http://w1:8002", "m-c": "http://w2:8002"})
    cluster = _Cluster({TOPIC: 16})
    ours = leader.assign(cluster, members)  # type: ignore[arg-type]
    plain = RoundRobinPartitionAssignor.assign(cluster, members)  # type: ignore[arg-type]
    assert {m: a.assignment for m, a in ours.items()} == {m: a.assignment for m, a in plain.items()}
    urls = {"m-a": "http://w0:8002", "m-b": "http://w1:8002", "m-c": "http://w2:8002"}
    expected = {p: urls[m] for m, a in plain.items() for _, ps in a.assignment for p in ps}
    assert sorted(expected) == list(range(16))
    for member_id, assignment in ours.items():
        worker = PartitionOwners(url=urls[member_id], topic=TOPIC)
        worker.on_assignment(assignment)
        assert worker.table == expected  # every member, not only the owner, knows each owner
    # the same protocol as plain round-robin members: one protocol during a rolling upgrade
    assert leader.name == PROTOCOL == RoundRobinPartitionAssignor.name


def test_forget_clears_the_table_until_the_next_assignment() -> None:
    worker = PartitionOwners(url="http://w0:8002", topic=TOPIC)
    members = _members({"m-a": "http://w0:8002"})
    assignment = worker.assign(_Cluster({TOPIC: 4}), members)["m-a"]  # type: ignore[arg-type]
    worker.on_assignment(assignment)
    assert worker.owner(3) == "http://w0:8002"
    worker.forget()
    assert worker.owner(3) is None
    assert worker.table == {}


def test_a_member_without_url_is_listed_without_one() -> None:
    members = _members({"m-a": "http://w0:8002", "m-old": None})
    worker = PartitionOwners(url="http://w0:8002", topic=TOPIC)
    table = worker.assign(_Cluster({TOPIC: 4}), members)["m-a"]  # type: ignore[arg-type]
    worker.on_assignment(table)
    assert set(worker.table.values()) == {"http://w0:8002"}
    assert len(worker.table) == 2  # the old member's two partitions: no owner URL known


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[1]", orjson.dumps({"v": 99, "owners": [[TOPIC, 0, "http://x"]]})],
)
def test_a_missing_or_foreign_table_means_no_owner_known(data: bytes) -> None:
    assert decode_table(data, topic=TOPIC) == {}


def test_entries_of_other_topics_and_malformed_entries_are_skipped() -> None:
    data = orjson.dumps(
        {"v": 1, "owners": [[TOPIC, 1, "http://a"], ["other", 2, "http://b"], [TOPIC, "3", "x"]]}
    )
    assert decode_table(data, topic=TOPIC) == {1: "http://a"}


def test_advertised_url_defaults_to_host_and_port_and_a_wildcard_to_the_own_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHURNWATCH_ENV", "test")
    assert MonitorSettings(web_port=8123).resolved_advertised_url == "http://127.0.0.1:8123"
    monkeypatch.setattr("socket.gethostname", lambda: "3f2a9c1d7e00")  # a container's name
    monkeypatch.setattr("socket.gethostbyname", lambda name: {"3f2a9c1d7e00": "172.18.0.7"}[name])
    wildcard = MonitorSettings(host="0.0.0.0", web_port=8002)
    assert wildcard.resolved_advertised_url == "http://172.18.0.7:8002"
    given = MonitorSettings(advertised_url="https://w.example:9000")
    assert given.resolved_advertised_url == "https://w.example:9000"
    with pytest.raises(ValueError, match="advertised_url"):
        MonitorSettings(advertised_url="monitor-1:8002")
