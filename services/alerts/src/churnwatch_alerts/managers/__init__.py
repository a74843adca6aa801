"""Managers: who logs in, receives alerts and sits in the escalation chain."""
