"""A fix for a record-losing race at the end of faust-streaming 0.15.3's table recovery.

What happens without it (seen as "a partition assigned to the worker never progresses"):

1. After a rebalance, Recovery restores the changelogs with the consumer's flow *active* (it calls
   ``flow_control.resume()`` / ``consumer.resume_flow()`` to read them) while the source
   partitions are paused in Faust (not in its active set).
2. ``Recovery.on_recovery_completed`` then resumes the source partitions and awaits
   ``consumer.perform_seek()`` (a round trip through the consumer thread to the broker). The flow
   is still active, so the fetcher may hand freshly fetched source records (e.g. events produced
   during the rebalance) to the stream's queue in the meantime; aiokafka's position moves past
   them.
3. Next it calls ``app.flow_control.resume()``, which *clears every stream queue* even though the
   flow was already running. The records queued in step 2 are dropped without being processed
   or acked; the committed offset stays behind, aiokafka's position is at the end, so nothing
   fetches them again until the next rebalance. Those customers' alerts never come.

A second hole of the same kind: whenever Faust drops fetched records because the flow is stopped, it
relies on ``perform_seek`` (seek to committed offsets) to fetch them again; but a source partition
with *no* committed offset (e.g. a worker that stopped before its first commit) is not seeked at all,
so records fetched and dropped there are gone for good. ``ReplayUncommittedConsumer`` seeks such
partitions back to their earliest offset instead; replaying is safe because the state record keeps
the newest applied source offset (redelivered events are recognised and skipped, no second alert).

The fix stops the flow (exactly as Faust does when partitions are revoked) before Faust resumes
and seeks the source partitions, so no source record can be delivered before the seek and the
queue clear; Faust's own ``on_recovery_completed`` then resumes the flow. Records fetched while
the flow is stopped are not lost: Faust seeks back to the committed offsets when a fetch returns
with the flow inactive, and the completion itself seeks every partition to its committed offset.
"""

from __future__ import annotations

import asyncio

import structlog
from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import Consumer, ensure_aiokafka_TP

log = structlog.get_logger("churnwatch.state_monitor.rebalance")


class SeekBeforeResumeRecovery(Recovery):
    """Recovery whose completion cannot lose records fetched between resume and seek."""

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        """Stop delivering records, then let Faust resume, seek and restart the flow."""
        self.app.consumer.stop_flow()
        self.app.flow_control.suspend()
        await asyncio.sleep(0)  # let a drain loop blocked on delivery see the stop first
        await super().on_recovery_completed(generation_id)


class MonitorTableManager(TableManager):
    """Faust's table manager with :class:`SeekBeforeResumeRecovery` as its recovery service."""

    @property
    def recovery(self) -> Recovery:
        """Recovery service used by this table manager."""
        if self._recovery is None:
            self._recovery = SeekBeforeResumeRecovery(
                self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery


class ReplayUncommittedConsumer(Consumer):
    """Faust's aiokafka consumer; seeks also source partitions that have no committed offset."""

    async def perform_seek(self) -> None:
        """Seek to committed offsets; partitions never committed go back to their beginning."""
        await super().perform_seek()
        uncommitted = [tp for tp in self.assignment()
                       if not self._is_changelog_tp(tp) and not self._committed_offset.get(tp)]
        if not uncommitted:
            return
        try:
            await self._thread.seek_to_beginning(*(ensure_aiokafka_TP(tp) for tp in uncommitted))
        except Exception as exc:  # noqa: BLE001 - a new rebalance re-seeks anyway
            log.warning("could not rewind uncommitted partitions", error=repr(exc))
            return
        for tp in uncommitted:
            self._read_offset[tp] = None
