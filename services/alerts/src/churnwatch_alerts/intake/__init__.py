"""Kafka intake: alerts, customer-state snapshots and assignment/profile events into the database."""
