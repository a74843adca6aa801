"""Indexing an events file for training costs a few bytes a line, not Python objects per line:
100,000 customers x 1 year are ~14 M lines."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from churnwatch_state_monitor.model.replay import History, load_events

LINES = 200_000


def _write(path: Path, *, shuffled: bool) -> Path:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    # shuffled: one line out of order (the first sits last), so the file is replayed sorted
    order = [*range(1, LINES), 0] if shuffled else list(range(LINES))
    path.write_bytes(
        b"".join(
            b'{"occurred_at": "%s"}\n' % (start + timedelta(seconds=7 * i)).isoformat().encode()
            for i in order
        )
    )
    return path


def _peak(path: Path) -> tuple[int, History]:
    tracemalloc.start()
    try:
        history = load_events(path)
        return tracemalloc.get_traced_memory()[1], history
    finally:
        tracemalloc.stop()


def test_an_ordered_file_is_indexed_in_a_few_bytes_a_line(tmp_path: Path) -> None:
    peak, history = _peak(_write(tmp_path / "ordered.ndjson", shuffled=False))
    assert history.count == LINES and history.order is None
    assert history.last - history.first == 7 * (LINES - 1)
    # two 8-byte integers a line and the array's growth slack: a (time, line) tuple a line
    # took ~100 bytes
    assert peak / LINES < 40, peak / LINES


def test_an_unordered_file_is_still_replayed_in_time_order(tmp_path: Path) -> None:
    _, history = _peak(_write(tmp_path / "unordered.ndjson", shuffled=True))
    assert history.order is not None
    assert [n for _, n in history.order[:3]] == [LINES, 1, 2]  # the first line sits last
