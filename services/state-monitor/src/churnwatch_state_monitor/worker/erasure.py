"""Erasure on the monitor: a ``customer.erasure_requested`` event deletes the customer's state.

The event is keyed by the customer, so it comes after every earlier event of theirs on the same
EVENTS partition: those are applied first (their alerts and snapshots within the same batch are
dropped by ``batch.apply_records``). Then, in the batch's normal delivery order:

- a changelog tombstone (key = customer id, no value) for the customer's partition, which also
  deletes the key from the partition's store (``store.write`` treats a ``None`` record as a
  delete; the changelog restore applies tombstones the same way);
- a tombstone on the customer-state (snapshot) topic, and on the shadow-score topic when a
  shadow model runs; the alerts intake completes the erasure's proof on the snapshot tombstone;
- the customer leaves the partition's silence index at once, so no silence tick judges (and
  re-creates) them while the store still holds the old record.

No alert is raised. A redelivered erasure event (after a crash) erases again: idempotent. The
next batch must not read the store's old record while the delete is still in flight, so the
erased customers are handed to it as ``gone``.
"""

from __future__ import annotations

from churnwatch_state_monitor.worker.silence_scan import SilenceScanner
from churnwatch_state_monitor.worker.work import Topics, Work


class Erasures:
    """The erasures of the batch being applied, and of the one before it (``gone``)."""

    def __init__(self) -> None:
        self.erased: dict[str, int] = {}  # customer -> EVENTS partition, this batch
        self.gone: set[str] = set()  # erased by the previous batch and not written since

    def begin(self) -> dict[str, int]:
        """A fresh map for the next batch's erasures (``BatchEffects.erased``)."""
        self.erased = {}
        return self.erased

    def applied(self, work: Work, *, scanner: SilenceScanner) -> None:
        """After the batch is applied, before a silence tick: out of the silence index."""
        for customer_id, partition in self.erased.items():
            if customer_id in work.dirty:  # events after the erasure: a new state replaces it
                continue
            index = scanner.indexes.get(partition)
            if index is not None:
                index.schedule(customer_id, None)

    def sealed(self, work: Work, *, names: Topics) -> None:
        """After ``work.seal()`` (and the model's rescoring, which rebuilds the snapshots): the
        changelog, snapshot and shadow tombstones join the batch's records."""
        encoded = work.seal()
        for customer_id, partition in self.erased.items():
            if customer_id in work.dirty:
                continue
            key = customer_id.encode()
            encoded.setdefault(partition, {})[customer_id] = None  # type: ignore[assignment]
            work.snapshots.append((key, None))  # type: ignore[arg-type]
            if names.shadow:
                work.shadow.append((key, None))  # type: ignore[arg-type]
        self.gone = {c for c in self.erased if c not in work.dirty}
        self.erased = {}
