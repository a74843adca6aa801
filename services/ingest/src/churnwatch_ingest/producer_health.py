"""What the producer can do right now, said truthfully (503 messages, /readyz), and logged once.

Why a producer gets re-created: aiokafka's idempotent producer numbers every partition's batches
(sequence numbers, per producer id). A batch that fails after it was numbered — typically one
that expired while its partition had no leader as the broker came back from an outage longer
than the request timeout — leaves a gap, and the broker then refuses every later batch of that
partition with ``OutOfOrderSequenceNumber``, for ever: aiokafka 0.14 neither resets the
sequence nor bumps the epoch. A new producer gets a new producer id whose sequences start at 0,
which is the one reset aiokafka supports. So any failed send of the current producer starts an
incident: the producer is re-created, and the incident is logged when it starts, summarised at
most every ``SUMMARY_EVERY`` seconds while it lasts, and logged again when it ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)

SUMMARY_EVERY = 10.0  # seconds between "still failing" lines of one incident
# Timeouts end as an incident only after this long without one: under load some publishes are
# acknowledged between timeouts, and each flip would otherwise log two lines.
QUIET_AFTER = 5.0


def _now() -> float:
    return time.monotonic()  # looked up at each call, so a test can stand in for the clock


def partition_list(partitions: set[int] | frozenset[int]) -> str:
    """``"1, 3, 6"`` (sorted), for messages and logs."""
    return ", ".join(str(p) for p in sorted(partitions))


@dataclass(slots=True)
class Incident:
    """One period of trouble: its cause, the partitions seen, and how often it struck."""

    summary_event: str  # the log event of a "still going on" line
    cause: str
    partitions: set[int] = field(default_factory=set)
    count: int = 0
    started: float = field(default_factory=_now)
    summarised: float = field(default_factory=_now)
    last: float = field(default_factory=_now)
    since_summary: int = 0

    def note(self, *, count: int, partitions: set[int] | frozenset[int]) -> None:
        """Count another occurrence; a summary line at most every SUMMARY_EVERY seconds."""
        self.count += count
        self.since_summary += count
        self.partitions |= partitions
        now = self.last = time.monotonic()
        if now - self.summarised >= SUMMARY_EVERY:
            log.warning(
                self.summary_event,
                cause=self.cause,
                occurrences=self.since_summary,
                partitions=partition_list(self.partitions),
                seconds=round(now - self.started, 1),
            )
            self.summarised = now
            self.since_summary = 0


class ProducerHealth:
    """The producer's incidents: failed sends (re-create) and sends not acknowledged in time."""

    def __init__(self, *, timeout: float) -> None:
        self._timeout = timeout
        self.failure: Incident | None = None  # a send failed: the producer is being re-created
        self.timeouts: Incident | None = None  # sends not acknowledged within the timeout
        self.connected = False
        self.unreachable: Incident | None = None  # connection attempts failing

    def failed(self, *, cause: str, partitions: set[int], count: int = 1) -> bool:
        """A send of the current producer failed; True when this starts an incident."""
        if self.failure is not None:
            self.failure.note(count=count, partitions=partitions)
            return False
        self.failure = Incident(
            summary_event="producer_still_failing", cause=cause, partitions=set(partitions)
        )
        self.failure.count = count
        log.error(
            "producer_failing",
            cause=cause,
            partitions=partition_list(partitions) or "unknown",
            action="re-creating the producer (new producer id); sends answer 503 until then",
        )
        return True

    def recreated(self) -> None:
        """The new producer is connected: the failure incident is over."""
        incident, self.failure = self.failure, None
        if incident is not None:
            log.info(
                "producer_recovered",
                cause=incident.cause,
                failed_sends=incident.count,
                partitions=partition_list(incident.partitions),
                seconds=round(time.monotonic() - incident.started, 1),
            )

    def unacknowledged(self, *, count: int, partitions: set[int]) -> None:
        """Sends not acknowledged within the timeout (the broker is down or slow)."""
        if self.timeouts is not None:
            self.timeouts.note(count=count, partitions=partitions)
            return
        self.timeouts = Incident(
            summary_event="produce_still_unacknowledged",
            cause="timeout",
            partitions=set(partitions),
        )
        self.timeouts.count = count
        log.warning(
            "produce_unacknowledged",
            count=count,
            timeout=self._timeout,
            partitions=partition_list(partitions) or "unknown",
        )

    def acknowledged(self) -> None:
        """Every send of a publish was acknowledged: a timeout incident ends once it is quiet."""
        incident = self.timeouts
        if incident is not None and time.monotonic() - incident.last >= QUIET_AFTER:
            self.timeouts = None
            log.info(
                "produce_acknowledged_again",
                unacknowledged=incident.count,
                seconds=round(time.monotonic() - incident.started, 1),
            )

    def connect_failed(self, *, error: str, retry_in: float) -> None:
        """A connection attempt failed; logged on the first and then summarised."""
        if self.unreachable is not None:
            self.unreachable.note(count=1, partitions=frozenset())
            return
        self.unreachable = Incident(summary_event="broker_still_unreachable", cause=error)
        self.unreachable.count = 1
        log.warning("broker_unreachable", error=error, retry_in=retry_in)

    def connect_succeeded(self) -> None:
        """Connected (again)."""
        self.connected = True
        incident, self.unreachable = self.unreachable, None
        if incident is not None:
            log.info(
                "broker_reachable",
                attempts=incident.count,
                seconds=round(time.monotonic() - incident.started, 1),
            )

    def reason(self, *, partition: int | None = None) -> str:
        """Why a send was not acknowledged, for a 503 answer (the caller says what to do)."""
        where = "" if partition is None else f"partition {partition} unavailable: "
        failure = self.failure
        if failure is not None:
            if self.unreachable is not None:
                return (
                    f"{where}broker unreachable; the producer will be re-created "
                    f"(after {failure.cause}) once it is back"
                )
            return (
                f"{where}producer being re-created after {failure.cause} "
                "(typically after a broker restart)"
            )
        if not self.connected:
            return f"{where}not connected to the Kafka broker"
        return f"{where}broker did not acknowledge within {self._timeout:g} s"

    def readiness(self) -> tuple[bool, str | None]:
        """(can produce to every partition, why not)."""
        failure = self.failure
        if failure is not None:
            failing = partition_list(failure.partitions) or "unknown"
            return False, (
                "no partition can be produced to: producer being re-created after "
                f"{failure.cause} on partitions {failing}"
                + (" (broker unreachable)" if self.unreachable is not None else "")
            )
        if not self.connected:
            return False, "producer not connected to the Kafka broker"
        return True, None
