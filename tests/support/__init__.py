"""Test support: real-infrastructure fixtures' helpers (processes, Kafka) shared by every area."""
