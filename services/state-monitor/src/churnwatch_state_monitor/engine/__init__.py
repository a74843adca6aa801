"""The rule engine: pure, Kafka-free, compiled as a whole by mypyc (see ``native``).

Runs compiled when a fresh build exists; this ``__init__`` is never compiled, it only chooses.
"""

from churnwatch_state_monitor import native as _native

ENGINE_BUILD: str = _native.activate(__path__)
