"""Adapters for real producer formats: Apache Fineract external events and ISO 20022 camt.053/054.

Both map foreign records onto the ChurnWatch event catalogue (``churnwatch_shared.events``) and
rely on :mod:`churnwatch_ingest.adapters.accounts` to find the customer that owns an account.
"""
