"""ChurnWatch wire contracts shared by ingest, the state monitor and the alerts service.

Only contracts live here: event envelope and payloads (``events``), money types (``money``), the
alert model (``alerts``), the customer five-state snapshot (``customer_state``), topic names and
partition counts (``topics``), and common settings and logging helpers.
"""
