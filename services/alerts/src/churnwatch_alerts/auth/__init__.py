"""Authentication: JWT bearer tokens and password logins for managers."""
