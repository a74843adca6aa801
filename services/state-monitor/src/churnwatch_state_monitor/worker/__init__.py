"""The Kafka worker runtime around the engine: consume, apply, changelog, store, deliver, serve."""
