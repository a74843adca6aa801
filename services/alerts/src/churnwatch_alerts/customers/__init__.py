"""Customers: latest five-state snapshots and the access-controlled state endpoint."""
