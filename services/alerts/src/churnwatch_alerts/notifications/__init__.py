"""Notifications: the transactional outbox, channels (inbox, webhook, email) and the dispatcher."""
