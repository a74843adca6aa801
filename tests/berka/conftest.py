"""The shipped Berka files, loaded and mapped once per test session."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from churnwatch_berka.loader import Book, events, select
from churnwatch_berka.tables import Berka, load

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "berka"


class Loaded:
    """The data set, the selected book, its events and how long the load took."""

    def __init__(self) -> None:
        started = time.perf_counter()
        self.data: Berka = load(directory=DATA)
        self.book: Book = select(data=self.data)
        self.events: list[dict[str, Any]] = events(book=self.book)
        self.seconds = time.perf_counter() - started
        self.by_id = {e["event_id"]: e for e in self.events}


@pytest.fixture(scope="session")
def berka() -> Loaded:
    """Every account of the shipped prefix window."""
    if not DATA.is_dir():
        pytest.fail(f"Berka data not found at {DATA}")
    return Loaded()
