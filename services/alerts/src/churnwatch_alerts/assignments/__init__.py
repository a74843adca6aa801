"""Assignments (customer → relationship manager, wealth advisor, service team, branch) and hand-over."""
