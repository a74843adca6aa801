"""ChurnWatch state monitor. The rule engine runs compiled when a fresh build exists (see native)."""

from churnwatch_state_monitor import native as _native

ENGINE_BUILD: str = _native.activate(__path__)
