"""The churn model learned from the bank's own outcomes (issue 16): point-in-time features from the
engine's states, training, calibration, scoring with explanations, shadow comparison and drift.

Interpreted (not part of the mypyc-compiled ``engine``); numpy/LightGBM are imported only here.
"""
