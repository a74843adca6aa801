"""The stall watchdog flags an owned partition with unread records that stops moving."""

from __future__ import annotations

from churnwatch_state_monitor.worker.watchdog import StallWatchdog


def test_flags_only_the_partition_that_has_records_and_does_not_move() -> None:
    dog = StallWatchdog(stall_after=10)
    ends = {0: 36, 1: 10, 2: 50}  # 0: stuck behind, 1: idle and caught up, 2: busy
    committed = {0: 24, 1: 10, 2: 20}

    dog.check(ends=ends, committed=committed, now=100)
    committed[2] = 30
    assert dog.check(ends=ends, committed=committed, now=105) == set()
    committed[2] = 40
    assert dog.check(ends=ends, committed=committed, now=111) == {0}  # 11 s, 12 records behind
    assert dog.stalled == {0}
    assert dog.lag == {0: 12, 1: 0, 2: 10}

    committed[0] = 36  # caught up again
    assert dog.check(ends=ends, committed=committed, now=112) == set()


def test_partition_never_committed_counts_from_zero_and_revoked_ones_are_forgotten() -> None:
    dog = StallWatchdog(stall_after=10)
    dog.check(ends={3: 5, 4: 7}, committed={}, now=0)
    assert dog.lag == {3: 5, 4: 7}
    assert dog.check(ends={3: 5, 4: 7}, committed={}, now=11) == {3, 4}
    assert dog.check(ends={3: 5}, committed={}, now=12) == {3}  # 4 was revoked
    assert dog.lag == {3: 5}


def test_reset_restarts_the_clock() -> None:
    dog = StallWatchdog(stall_after=10)
    dog.check(ends={3: 5}, committed={3: 1}, now=0)
    dog.reset()
    assert dog.check(ends={3: 5}, committed={3: 1}, now=20) == set()  # first sight again
    assert dog.check(ends={3: 5}, committed={3: 1}, now=31) == {3}
