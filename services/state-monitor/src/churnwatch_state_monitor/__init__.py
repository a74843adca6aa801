"""ChurnWatch state monitor: ``engine`` (the pure rule engine, compiled) and ``worker`` (Kafka)."""

from churnwatch_state_monitor.engine import ENGINE_BUILD

__all__ = ["ENGINE_BUILD"]
