"""Shared simulated runs for the simulator tests (generated once per session)."""

from __future__ import annotations

from typing import Any

import pytest

from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_simulator.truth import ground_truth


class Run:
    """A finished simulation: its events and ground truth, indexed by customer."""

    def __init__(self, *, bank: SimulatedBank) -> None:
        self.bank = bank
        self.events: list[dict[str, Any]] = list(bank.events())
        self.truth = ground_truth(bank=bank)
        self.labels = {row["customer_id"]: row for row in self.truth["labels"]}
        self.by_customer: dict[str, list[dict[str, Any]]] = {}
        for event in self.events:
            self.by_customer.setdefault(event["customer_id"], []).append(event)

    def of_pattern(self, pattern: str) -> list[str]:
        return [cid for cid, row in self.labels.items() if row["pattern"] == pattern]


@pytest.fixture(scope="session")
def sim_run() -> Run:
    """600 customers over 150 days, seed 11."""
    return Run(bank=SimulatedBank(config=SimulationConfig(customers=600, days=150, seed=11)))
