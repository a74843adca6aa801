"""The outcome loop: the bank's churn outcomes exported from the alerts database for retraining."""
